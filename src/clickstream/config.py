"""One typed settings object for the whole platform.

Precedence, highest first: explicit values (CLI flags), environment variables
(`CLICKSTREAM_ENGINE__POLL_INTERVAL_S=0.5`), the YAML file given with `--config`, defaults.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from clickstream.contract.schema import DEFAULT_EVENT_TYPES
from clickstream.errors import ConfigError

MiB = 1024 * 1024
# Identifiers that end up inside SQL text (BigQuery project, dataset) or URLs (bucket): validated here,
# so nothing from config can inject SQL. Project ids may carry a domain prefix (example.com:project).
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_LOCATION = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,40}$")
# A size as DuckDB settings accept it, e.g. "512MB" or "1.5GiB".
DUCKDB_SIZE = r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"


# Beyond these, a number is a typo or an attack: a timedelta or SQL interval overflows, or "wait
# 1e300 seconds" silently means "never". Durations (`*_s`, `*_days`) get a calendar bound.
_MAX_SECONDS = 10 * 366 * 86400.0
_MAX_DAYS = 10 * 366.0
_MAX_NUMBER = 1e12


def _bound_floats(name: str, value: Any) -> None:
    limit = _MAX_SECONDS if name.endswith("_s") else _MAX_DAYS if name.endswith("_days") else _MAX_NUMBER
    values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else (value,)
    for v in values:
        if isinstance(v, float) and abs(v) > limit:
            raise ValueError(f"must be at most {limit:g} in size")


class _Section(BaseModel):
    # allow_inf_nan=False: every float setting, in every section, rejects inf and nan ("Input
    # should be a finite number"); floats compared with nan are never out of range otherwise.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _not_absurd(cls, value: Any, info: ValidationInfo) -> Any:
        _bound_floats(info.field_name or "", value)
        return value


def _lower(value: Any) -> Any:
    """Choices typed on a command line or in YAML match whatever their case: CSV is csv."""
    return value.strip().lower() if isinstance(value, str) else value


GCS_SCHEME = "gs://"


def is_gcs(path: object) -> bool:
    """True for a `gs://bucket/prefix` landing location."""
    return isinstance(path, str) and path.startswith(GCS_SCHEME)


def local_or_gcs(value: Any) -> Any:
    """A local path as a Path; a `gs://bucket/prefix` location kept as text, its bucket validated."""
    if isinstance(value, str) and not value.startswith(GCS_SCHEME):
        return Path(value)
    if is_gcs(value):
        bucket = value[len(GCS_SCHEME) :].split("/", 1)[0]
        if not _BUCKET.match(bucket):
            raise ValueError(f"{value!r} does not name a valid GCS bucket: use gs://bucket/prefix")
    return value


class LandingSettings(_Section):
    # A local folder (Path) or a GCS location kept as the string `gs://bucket/prefix`.
    path: Union[str, Path] = Field(
        Path("data/landing"), description="Folder where event files land, or gs://bucket/prefix."
    )
    patterns: list[str] = Field(
        ["*.jsonl", "*.ndjson", "*.json", "*.csv"],
        description="Glob patterns (searched recursively) of files to ingest.",
    )
    format: Literal["auto", "contract", "jsonl", "csv", "rees46", "snowplow", "segment", "ga4", "mapping"] = Field(
        "auto",
        description=(
            "Event format. Contract events: auto or contract (by extension: .csv is CSV, the rest JSON lines), "
            "jsonl, csv. Foreign events through an adapter: rees46, snowplow, segment, ga4, or mapping "
            "(with mapping_file)."
        ),
    )
    mapping_file: Path | None = Field(
        None, description="YAML mapping of foreign columns to contract fields, for format: mapping."
    )
    min_file_age_s: float = Field(
        0.0,
        ge=0,
        description="Ignore files modified more recently than this; for producers that cannot rename.",
    )
    follow_symlinks: bool = Field(
        False,
        description="Read files that symlinks in the landing folder point to; off, a symlink is a rejected ledger row.",
    )

    @field_validator("path", mode="before")
    @classmethod
    def _local_or_gcs(cls, value: Any) -> Any:
        return local_or_gcs(value)

    _format_case = field_validator("format", mode="before")(_lower)

    @field_validator("patterns")
    @classmethod
    def _relative_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            # Globbing an absolute pattern or one that climbs out with `..` would read files outside
            # the landing zone (and pathlib refuses the former with a traceback).
            escapes = not pattern.strip() or PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).anchor
            if escapes or ".." in re.split(r"[/\\]", pattern):
                raise ValueError(
                    f"pattern {pattern!r} must be a glob relative to landing.path, like *.jsonl or 2026/*/*.csv: "
                    "put the folder in landing.path and keep only the file pattern here"
                )
        return value

    @model_validator(mode="after")
    def _mapping_needs_file(self) -> "LandingSettings":
        if self.format == "mapping" and self.mapping_file is None:
            raise ValueError("format mapping needs mapping_file: the YAML mapping of columns to contract fields")
        return self


class WarehouseSettings(_Section):
    kind: Literal["duckdb", "bigquery"] = Field(
        "duckdb", description="duckdb (a local file, the default) or bigquery (datasets from the gcp section)."
    )
    path: Path = Field(Path("data/warehouse.duckdb"), description="DuckDB warehouse file.")
    memory_limit: str = Field("1GB", pattern=DUCKDB_SIZE, description="Memory limit of the warehouse's DuckDB.")
    checkpoint_threshold: str = Field(
        "256MB",
        pattern=DUCKDB_SIZE,
        description="WAL size that triggers a checkpoint; larger means fewer, longer checkpoints.",
    )

    _kind_case = field_validator("kind", mode="before")(_lower)


class SparkSettings(_Section):
    """The Spark engine (`engine.name: spark`): Structured Streaming over the landing zone."""

    master: str | None = Field(
        "local[*]",
        description="Spark master URL (local[*], spark://host:port, yarn); null on Databricks/Dataproc, which set it.",
    )
    app_name: str = Field("clickstream", description="Spark application name.")
    source: Literal["files", "cloudFiles"] = Field(
        "files", description="files: Spark's file source (anywhere); cloudFiles: Databricks Auto Loader."
    )
    landing_uri: str | None = Field(
        None,
        description="Landing zone as executors see it (gs://bucket/landing, dbfs:/...); default: landing.path.",
    )
    checkpoint: str | None = Field(
        None,
        description="Streaming checkpoint (local path or gs://); default: beside the warehouse, <warehouse>.spark-checkpoint.",
    )
    staging: str | None = Field(
        None,
        description="Where executors stage each batch's rows as Parquet (gs://bucket/prefix, dbfs:/..., a folder every "
        "node mounts); default: <checkpoint>/staging. On gs:// a BigQuery warehouse loads them from there.",
    )
    trigger_interval_s: float = Field(1.0, gt=0, le=3600, description="Micro-batch interval in continuous mode.")
    batch_limit: Literal["bytes", "files"] = Field(
        "bytes",
        description=(
            "Which of engine.max_bytes_per_batch / max_files_per_batch bounds a batch of Spark's file source, "
            "which takes one or the other (Auto Loader takes both)."
        ),
    )
    schema_location: str | None = Field(
        None, description="cloudFiles.schemaLocation for Auto Loader; default: <checkpoint>/schema."
    )
    use_notifications: bool = Field(
        False, description="cloudFiles.useNotifications: file events (Pub/Sub on GCS) instead of directory listing."
    )
    conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark configuration, e.g. spark.executor.memory: 4g."
    )


class DatasetSettings(_Section):
    """BigQuery dataset per layer (Terraform's modules/bigquery creates the same names)."""

    bronze: str = "clickstream_bronze"
    silver: str = "clickstream_silver"
    gold: str = "clickstream_gold"
    ops: str = "clickstream_ops"
    staging: str = Field("clickstream_staging", description="Per-batch staging tables, dropped after each commit.")

    @field_validator("bronze", "silver", "gold", "ops", "staging")
    @classmethod
    def _dataset_id(cls, value: str) -> str:
        if not _DATASET.match(value):
            raise ValueError("a BigQuery dataset id is letters, digits and underscores (at most 1024)")
        return value


class GcpSettings(_Section):
    """Where the production warehouse and landing zone live. Credentials: Application Default Credentials."""

    project: str | None = Field(None, description="GCP project of the BigQuery datasets and query jobs.")
    location: str = Field("US", description="BigQuery location of the datasets and jobs, e.g. US, EU, europe-west1.")
    datasets: DatasetSettings = DatasetSettings()
    bucket: str | None = Field(None, description="Landing bucket; the gcp profile lands in gs://<bucket>/<landing_prefix>.")
    landing_prefix: str = Field("landing", description="Object prefix of the landing zone inside the bucket.")
    credentials: Literal["adc", "anonymous"] = Field(
        "adc",
        description="adc: Application Default Credentials (gcloud auth application-default login, or the "
        "service account of the VM / job); anonymous: only for local emulators.",
    )
    bigquery_endpoint: str | None = Field(None, description="Override of the BigQuery API endpoint (an emulator).")
    storage_endpoint: str | None = Field(
        None, description="Override of the GCS endpoint (an emulator); STORAGE_EMULATOR_HOST is used when unset."
    )
    create_tables: bool = Field(
        True, description="Create missing datasets and tables from the contract (Terraform normally owns them)."
    )

    @field_validator("project")
    @classmethod
    def _project_id(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.match(value):
            raise ValueError("a GCP project id is 6-30 lowercase letters, digits and hyphens, starting with a letter")
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if not _LOCATION.match(value):
            raise ValueError("a BigQuery location looks like US, EU or europe-west1")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET.match(value):
            raise ValueError("a GCS bucket name is 3-222 lowercase letters, digits, dots, hyphens and underscores")
        return value

    @field_validator("landing_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if any(part in ("", ".", "..") for part in value.split("/")) and value:
            raise ValueError("the landing prefix is a plain object path like landing or events/landing")
        return value


class EngineSettings(_Section):
    name: Literal["duckdb", "spark"] = Field(
        "duckdb", description="duckdb: embedded, no JVM (default); spark: Structured Streaming, scales out."
    )
    max_files_per_batch: int = Field(100, ge=1, description="Upper bound on files in one batch.")
    max_bytes_per_batch: int = Field(
        64 * MiB, ge=1024, description="Upper bound on raw bytes in one batch (one larger file still goes alone)."
    )
    file_chunk_bytes: int = Field(
        64 * MiB,
        ge=1024,
        description="A local file larger than this is read in slices of about this many bytes (cut at line ends), "
        "each its own batch, so memory does not grow with the size of one file; the ledger records how far each "
        "batch got. The embedded engine only (Spark reads whole files).",
    )
    poll_interval_s: float = Field(1.0, gt=0, le=3600, description="How often continuous mode lists the landing zone.")
    watch_filesystem: bool = Field(True, description="Wake up on file-system events instead of waiting for the next poll.")
    threads: int | None = Field(None, ge=1, description="DuckDB threads; default all cores.")
    memory_limit: str = Field(
        "512MB",
        pattern=DUCKDB_SIZE,
        description="Memory limit of the engine's in-memory DuckDB that runs the transform.",
    )
    spark: SparkSettings = SparkSettings()

    _name_case = field_validator("name", mode="before")(_lower)


class PipelineSettings(_Section):
    event_types: list[str] = Field(list(DEFAULT_EVENT_TYPES), min_length=1)
    dedup_horizon_days: float = Field(3.0, gt=0, description="How far back (event time) duplicates are detected.")
    future_tolerance_s: float = Field(300.0, ge=0, description="Events further in the future than this are quarantined.")
    max_line_bytes: int = Field(1 * MiB, ge=256, description="Longer lines are quarantined as line_too_long.")
    min_event_ts: datetime = Field(
        datetime(2000, 1, 1),
        description="Events before this instant (naive UTC) are bad_timestamp: a clock at zero, not a late event.",
    )
    reporting_currency: str = Field(
        "USD",
        description="ISO 4217 code gold revenue is reported in; other currencies are converted with pipeline.fx_rates_file.",
    )
    fx_rates_file: Path | None = Field(
        None,
        description="CSV of exchange rates (currency,date,rate: one unit of currency in the reporting currency); "
        "loaded into the fx_rates table whenever it changes. Without it only the reporting currency has revenue in gold.",
    )

    @field_validator("reporting_currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{value!r} is not an ISO 4217 code: use three letters such as USD or EUR")
        return code

    @field_validator("min_event_ts")
    @classmethod
    def _naive_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value

    @field_validator("event_types")
    @classmethod
    def _lower_event_types(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in value]
        if any(not v for v in cleaned):
            raise ValueError("event types must be non-empty strings")
        return cleaned


class DashboardSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the local dashboard listens on (loopback by default).")
    port: int = Field(8050, ge=0, le=65535, description="Port of the local dashboard; 0 picks a free one.")
    allowed_hosts: list[str] = Field(["localhost", "127.0.0.1", "[::1]"], description="Host headers the dashboard answers (besides dashboard.host); any other gets a 400.")
    refresh_s: float = Field(5.0, gt=0, le=5, description="How often the page re-reads the warehouse; at most 5 s.")
    definition: Path | None = Field(None, description="Dashboard definition YAML [default: the one shipped in the package].")
    cache_ttl_s: float = Field(
        10.0,
        ge=0,
        description="Seconds a dashboard read is reused for every viewer with the same filters, on a warehouse that bills "
        "each query by bytes scanned (BigQuery: at least 10 MB per query job), so a page polling every few seconds does "
        "not run a refresh per viewer per poll; 0 reads every time. The DuckDB dashboard always reads live.",
    )


class OperatorSettings(_Section):
    enabled: bool = Field(True, description="Serve /healthz, /metrics and /status inside `clickstream run` (continuous) and `demo`.")
    host: str = Field("127.0.0.1", description="Address the operator endpoint listens on (loopback by default).")
    port: int = Field(9464, ge=0, le=65535, description="Port of the operator endpoint; 0 picks a free one.")
    stale_s: float = Field(
        300.0,
        gt=0,
        description="/healthz answers 503 when files wait and no batch has committed for this long.",
    )


class CollectSettings(_Section):
    """The HTTP collector (`clickstream collect`): Segment and Snowplow trackers in, landing files out."""

    host: str = Field("127.0.0.1", description="Address the collector listens on; 0.0.0.0 in a container.")
    port: int = Field(8090, ge=0, le=65535, description="Port of the collector; 0 picks a free one.")
    segment_landing: Union[str, Path, None] = Field(
        None,
        description="Where Segment events land (a folder or gs://bucket/prefix) as JSON lines for landing.format segment; "
        "default: landing.path when landing.format is segment, else Segment endpoints are off.",
    )
    snowplow_landing: Union[str, Path, None] = Field(
        None,
        description="Where Snowplow events land as enriched-column CSV for landing.format snowplow; "
        "default: landing.path when landing.format is snowplow, else Snowplow endpoints are off.",
    )
    spool_dir: Path | None = Field(
        None,
        description="Local folder of the spool files the collector appends to and fsyncs; for a local landing "
        "folder it must be on the same file system [default: <landing>/.spool; for gs:// data/collect-spool].",
    )
    rotate_s: float = Field(5.0, gt=0, le=3600, description="A spool file moves into the landing zone at least this often.")
    rotate_bytes: int = Field(64 * MiB, ge=1024, description="... or as soon as it is this large.")
    write_keys_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Env var holding the accepted Segment write keys, comma-separated; null: any key is accepted.",
    )
    cors_origins: list[str] = Field(
        [],
        description="Origins browser trackers may send from, e.g. https://shop.example.com; [\"*\"]: any. "
        "A request from another origin gets a 403.",
    )
    max_body_bytes: int = Field(500_000, ge=1024, description="Largest request body after gzip (Segment's batch limit, 500 KB).")
    max_event_bytes: int = Field(32 * 1024, ge=256, description="Largest single event (Segment's limit, 32 KB).")
    rate_limit_per_s: float = Field(
        500.0, ge=0, description="Requests per second one client address may send (a token bucket); 0: no limit."
    )
    rate_burst: int = Field(1000, ge=1, description="Requests a client may send at once before the rate limit applies.")
    trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind Cloud Run or a load balancer)."
    )
    min_free_bytes: int = Field(
        256 * MiB, ge=0, description="Answer 503 (the tracker retries) when the spool's disk has less free space than this."
    )
    network_cookie: bool = Field(
        False, description="Snowplow: set a first-party network user id cookie and fill network_userid from it."
    )
    cookie_name: str = Field("sp", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Name of the network user id cookie.")
    cookie_domain: str | None = Field(None, description="Domain of the network user id cookie [default: the collector's host].")
    cookie_max_age_days: float = Field(365.0, gt=0, le=3650, description="Lifetime of the network user id cookie.")
    upload_retry_s: float = Field(5.0, gt=0, le=3600, description="gs:// landing: wait between attempts to upload a rotated file.")

    @field_validator("segment_landing", "snowplow_landing", mode="before")
    @classmethod
    def _landing_local_or_gcs(cls, value: Any) -> Any:
        return None if value is None else local_or_gcs(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for origin in value:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/")):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], like https://shop.example.com, or *")
        return [o.rstrip("/") for o in value]


class QualitySettings(_Section):
    enabled: bool = Field(True, description="Validate each completed window inside `clickstream run` (continuous mode).")
    window_s: int = Field(
        3600, ge=60, le=86400, description="Length of a validated window; an hour, shorter in the demo. Must divide a day."
    )
    grace_s: float = Field(300.0, ge=0, description="Wait this long after a window ends (late files) before validating it.")
    check_interval_s: float = Field(60.0, gt=0, description="How often the scheduler in `clickstream run` looks for due windows.")
    catch_up_windows: int = Field(24, ge=1, description="After a restart, validate at most this many missed windows back.")
    max_quarantine_rate: float = Field(
        0.05, ge=0, le=1, description="Bronze warning when more of a window's lines than this are quarantined."
    )
    min_silver_rows: int = Field(
        1, ge=0, description="Silver rows a window must have; fewer is a missing hour of data (critical). 0 disables."
    )
    samples: int = Field(5, ge=0, le=100, description="Unexpected values kept per failed expectation.")
    results_dir: Path | None = Field(
        Path("data/quality"), description="Where each run's GX validation result JSON is written; null: not written."
    )
    # A local folder (Path) or a GCS location kept as the string `gs://bucket/prefix`.
    docs_dir: Union[str, Path, None] = Field(
        None, description="Render GX Data Docs HTML here (a folder or gs://bucket/prefix) after each run; null: not rendered."
    )

    @field_validator("docs_dir", mode="before")
    @classmethod
    def _docs_local_or_gcs(cls, value: Any) -> Any:
        return None if value is None else local_or_gcs(value)

    @field_validator("window_s")
    @classmethod
    def _divides_a_day(cls, value: int) -> int:
        if 86400 % value:
            raise ValueError("must divide a day (e.g. 60, 300, 900, 3600)")
        return value


class DatabricksDeploySettings(_Section):
    """The Databricks Asset Bundle `clickstream deploy databricks` writes."""

    bundle_name: str = Field("clickstream", pattern=r"^[A-Za-z0-9_-]+$", description="Bundle and job name prefix.")
    host: str | None = Field(None, description="Workspace URL, e.g. https://1234567890.1.gcp.databricks.com.")
    spark_version: str = Field("16.4.x-scala2.13", description="Databricks Runtime of the job cluster.")
    node_type_id: str = Field("n2-highmem-4", description="GCP machine type of the job cluster's nodes.")
    num_workers: int = Field(2, ge=0, description="Workers of the job cluster.")
    service_account: str | None = Field(None, description="Google service account the cluster runs as.")


class DataprocDeploySettings(_Section):
    """The Dataproc Serverless batch `clickstream deploy dataproc` writes."""

    project: str | None = Field(None, description="GCP project of the batch.")
    region: str = Field("europe-west1", description="Dataproc region.")
    runtime_version: str = Field("2.3", description="Serverless for Apache Spark runtime version.")
    artifacts_uri: str | None = Field(
        None, description="gs:// folder the wheel, entry point and config are uploaded to; default: <bucket>/deploy."
    )
    container_image: str | None = Field(
        None, description="Custom image with clickstream's dependencies (duckdb, pyarrow, ...) installed."
    )
    service_account: str | None = Field(None, description="Service account the batch runs as.")
    subnetwork_uri: str | None = Field(None, description="Subnetwork of the batch.")


class DeploySettings(_Section):
    databricks: DatabricksDeploySettings = DatabricksDeploySettings()
    dataproc: DataprocDeploySettings = DataprocDeploySettings()


Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
ALERT_TYPES: tuple[str, ...] = ("volume", "freshness", "metric", "schema_drift", "quarantine", "data_quality")
CHANNEL_TYPES: tuple[str, ...] = ("log", "slack", "webhook", "email", "pagerduty")
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SeasonalSettings(_Section):
    """The robust seasonal test shared by the volume and metric detectors."""

    window_min: int = Field(15, ge=1, le=1440, description="Minutes summed into one observation (a rolling window).")
    season: Literal["day", "week"] = Field(
        "day", description="Baseline from the same time of day (day) or of the week (week) in earlier periods."
    )
    baseline_periods: int = Field(7, ge=1, le=60, description="Earlier days (or weeks) the baseline looks back over.")
    min_baseline_periods: int = Field(3, ge=1, description="Fewer earlier periods with data than this: no verdict yet.")
    neighbours: int = Field(
        2, ge=0, le=12, description="Also sample this many windows either side of the same time in each earlier period."
    )
    z: float = Field(6.0, gt=0, description="Deviation, in robust standard deviations (1.4826 x MAD), that is anomalous.")
    min_rel_change: float = Field(0.3, ge=0, description="And at least this relative change from the baseline median.")
    grace_s: float = Field(120.0, ge=0, description="Minutes younger than this are still filling with late events: not judged.")


class VolumeSettings(SeasonalSettings):
    enabled: bool = True
    z: float = Field(4.0, gt=0, description="Deviation, in robust standard deviations (1.4826 x MAD), that is anomalous.")
    min_abs_change: float = Field(100.0, ge=0, description="And at least this many events more or fewer per window.")
    # Spikes are judged apart from drops: on NAB's realTweets (bench/nab.py) spikes judged like drops
    # (15 min, z 4, +50%) opened ~29 false alerts a week per series; bursts of a few minutes are
    # normal traffic, a surge that lasts two hours is news. Drops keep the short window: a lost
    # half of the traffic must page within minutes.
    min_rel_spike: float = Field(
        1.0, ge=0, description="Upwards the relative bar is higher: a busy day (+30%) is not an incident, doubled traffic may be."
    )
    spike_window_min: int | None = Field(
        120, ge=1, le=1440,
        description="Spikes are judged over this window (None: window_min): a long one ignores bursts of a few minutes.",
    )
    spike_z: float | None = Field(8.0, gt=0, description="The deviation a spike needs, in robust standard deviations (None: z).")
    # Surges come in clusters (news, a campaign, a bot's waves): on realTweets one in five false
    # spike alerts opened within 6 hours of the previous one resolving (bench/nab.py).
    spike_suppress_s: float = Field(
        21600.0, ge=0,
        description="A spike back within this long of its episode resolving continues that episode (a 'still open' "
        "update at most every renotify_s, not a new alert); drops use monitoring.suppress_s.",
    )
    drop_severity: Severity = "critical"
    spike_severity: Severity = "warning"


class MetricSettings(SeasonalSettings):
    enabled: bool = True
    window_min: int = Field(30, ge=1, le=1440, description="Minutes summed into one observation (a rolling window).")
    z: float = Field(5.0, gt=0, description="Deviation, in robust standard deviations (1.4826 x MAD), that is anomalous.")
    metrics: list[Literal["revenue", "purchases", "conversion_rate", "unique_users"]] = Field(
        ["revenue", "purchases", "conversion_rate", "unique_users"],
        description="Gold metrics judged after allowing for the event volume (volume has its own detector).",
    )
    min_abs_change: dict[str, float] = Field(
        {"revenue": 500.0, "purchases": 10.0, "conversion_rate": 0.005, "unique_users": 100.0},
        description="Per metric: the smallest change worth an alert, in the metric's unit per window.",
    )
    severity: Severity = "warning"


class FreshnessSettings(_Section):
    enabled: bool = True
    max_file_gap_s: float = Field(600.0, gt=0, description="No new file landed for this long: the feed has stalled.")
    max_pending_s: float = Field(600.0, gt=0, description="A landed file waiting this long unread: the pipeline has stalled.")
    max_lag_s: float = Field(900.0, gt=0, description="Landing-to-gold lag of a recent batch above this: the pipeline is behind.")
    severity: Severity = "critical"
    lag_severity: Severity = "warning"


class SchemaDriftSettings(_Section):
    enabled: bool = True
    window_s: float = Field(900.0, gt=0, description="Recent lines (by ingest time) compared with the contract and the baseline.")
    baseline_s: float = Field(3600.0, gt=0, description="The lines ingested in this span before the recent window are the baseline.")
    sample_rows: int = Field(20000, ge=100, description="Raw JSON lines sampled per window to list fields and their types.")
    min_lines: int = Field(200, ge=1, description="Fewer recent lines than this: no verdict.")
    min_share: float = Field(0.01, gt=0, le=1, description="A new field or a changed type must be in at least this share of lines.")
    missing_share: float = Field(
        0.5, gt=0, le=1, description="A field present in the baseline is missing when its share falls below this fraction of it."
    )
    ignore_fields: list[str] = Field([], description="Extra raw fields that are expected (not drift).")
    severity: Severity = "warning"


class QuarantineSettings(_Section):
    enabled: bool = True
    window_s: float = Field(900.0, gt=0, description="Recent quarantine (by ingest time) compared with the baseline before it.")
    baseline_s: float = Field(
        86400.0, gt=0, description="Span before the recent window used as the baseline rate (long, so a surge barely moves it)."
    )
    jump_factor: float = Field(5.0, ge=1, description="A reason jumped when its share of recent lines is this many times its baseline share...")
    min_rate: float = Field(0.02, gt=0, le=1, description="...and the reasons that jumped are together at least this share of recent lines...")
    min_count: int = Field(20, ge=1, description="...and at least this many rows.")
    severity: Severity = "warning"


class RejectedFilesSettings(_Section):
    enabled: bool = True
    window_s: float = Field(
        3600.0, gt=0, description="Landing files rejected (not read) by batches committed this recently open an alert, one per reason."
    )
    severity: Severity = "warning"


class UnconvertedRevenueSettings(_Section):
    enabled: bool = True
    window_s: float = Field(
        3600.0,
        gt=0,
        description="Purchases and refunds without an exchange rate (pipeline_batches.unconverted_revenue_events) in batches "
        "committed this recently open an alert: gold revenue leaves them out until pipeline.fx_rates_file has their rate.",
    )
    severity: Severity = "warning"


class DataQualityAlertSettings(_Section):
    enabled: bool = True
    lookback_s: float = Field(86400.0, gt=0, description="Only windows validated this recently are considered.")
    severity: Severity = "critical"


class ChannelSettings(_Section):
    """One notification channel. Secrets are never in the file: it names the environment variable that holds them."""

    name: str = Field(..., min_length=1, description="Name used in logs and in the alerts table.")
    type: Literal["log", "slack", "webhook", "email", "pagerduty"]
    min_severity: Severity = Field("info", description="Only alerts at least this severe go to the channel.")
    types: list[str] = Field([], description="Only these alert types (empty: all): " + ", ".join(ALERT_TYPES) + ".")
    url: str | None = Field(None, description="webhook: endpoint URL (not secret); pagerduty: Events API URL override.")
    url_env: str | None = Field(None, pattern=_ENV_NAME, description="slack, webhook: env var holding the (secret) URL.")
    secret_env: str | None = Field(None, pattern=_ENV_NAME, description="webhook: env var holding the HMAC-SHA256 signing key.")
    routing_key_env: str | None = Field(None, pattern=_ENV_NAME, description="pagerduty: env var holding the integration key.")
    smtp_host: str | None = Field(None, description="email: SMTP server.")
    smtp_port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="email: upgrade the connection with STARTTLS before logging in.")
    username: str | None = Field(None, description="email: SMTP login (password from password_env).")
    password_env: str | None = Field(None, pattern=_ENV_NAME, description="email: env var holding the SMTP password.")
    sender: str | None = Field(None, description="email: From address.")
    recipients: list[str] = Field([], description="email: To addresses.")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Per attempt.")
    retries: int = Field(3, ge=1, le=10, description="Attempts before the channel gives up on a notification.")
    backoff_s: float = Field(0.5, ge=0, le=60, description="First wait between attempts; doubles each time.")

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALERT_TYPES))
        if unknown:
            raise ValueError(f"unknown alert type(s) {', '.join(unknown)}: use {', '.join(ALERT_TYPES)}")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @model_validator(mode="after")
    def _needs(self) -> "ChannelSettings":
        needs = {
            "slack": ("url_env",),
            "webhook": (),
            "email": ("smtp_host", "sender", "recipients"),
            "pagerduty": ("routing_key_env",),
            "log": (),
        }[self.type]
        missing = [n for n in needs if not getattr(self, n)]
        if self.type == "webhook" and not (self.url or self.url_env):
            missing.append("url or url_env")
        if self.type == "email" and self.username and not self.password_env:
            missing.append("password_env (username is set)")
        if missing:
            raise ValueError(f"channel {self.name!r} of type {self.type} needs {', '.join(missing)}")
        return self


class MonitoringSettings(_Section):
    enabled: bool = Field(True, description="Run the detectors inside `clickstream run` (continuous mode).")
    interval_s: float = Field(60.0, gt=0, description="How often the detectors run.")
    renotify_s: float = Field(3600.0, ge=0, description="An alert still open is notified again after this long.")
    clear_s: float = Field(
        600.0, ge=0, description="An alert resolves once its condition has stayed away this long (no flapping)."
    )
    suppress_s: float = Field(
        900.0, ge=0, description="An alert that comes back this soon after resolving reopens silently (no flapping)."
    )
    source: str = Field("clickstream", description="Names this deployment in notifications (PagerDuty source).")
    volume: VolumeSettings = VolumeSettings()
    metrics: MetricSettings = MetricSettings()
    freshness: FreshnessSettings = FreshnessSettings()
    schema_drift: SchemaDriftSettings = SchemaDriftSettings()
    quarantine: QuarantineSettings = QuarantineSettings()
    rejected_files: RejectedFilesSettings = RejectedFilesSettings()
    unconverted_revenue: UnconvertedRevenueSettings = UnconvertedRevenueSettings()
    data_quality: DataQualityAlertSettings = DataQualityAlertSettings()
    channels: list[ChannelSettings] = Field(
        [ChannelSettings(name="log", type="log")], description="Where notifications go; the log channel by default."
    )

    @model_validator(mode="after")
    def _unique_channel_names(self) -> "MonitoringSettings":
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique, repeated: {', '.join(dupes)}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLICKSTREAM_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    profile: Literal["local", "gcp"] = Field(
        "local",
        description="local: landing folder and DuckDB file; gcp: landing in gs://<gcp.bucket>/<gcp.landing_prefix> "
        "and the BigQuery warehouse, unless landing.path or warehouse.kind say otherwise.",
    )
    landing: LandingSettings = LandingSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    gcp: GcpSettings = GcpSettings()
    engine: EngineSettings = EngineSettings()
    pipeline: PipelineSettings = PipelineSettings()
    dashboard: DashboardSettings = DashboardSettings()
    operator: OperatorSettings = OperatorSettings()
    collect: CollectSettings = CollectSettings()
    quality: QualitySettings = QualitySettings()
    deploy: DeploySettings = DeploySettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @model_validator(mode="after")
    def _apply_profile(self) -> "Settings":
        if self.profile == "gcp":
            if "kind" not in self.warehouse.model_fields_set:
                self.warehouse.kind = "bigquery"
            if "path" not in self.landing.model_fields_set:
                if self.gcp.bucket is None:
                    raise ValueError("profile gcp lands in gs://<gcp.bucket>/...: set gcp.bucket (or landing.path)")
                self.landing.path = f"{GCS_SCHEME}{self.gcp.bucket}/{self.gcp.landing_prefix}".rstrip("/")
        if self.warehouse.kind == "bigquery" and self.gcp.project is None:
            raise ValueError("warehouse.kind bigquery needs gcp.project: the project of the datasets and jobs")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    # Set by load_settings for the duration of one Settings() call; pydantic-settings builds
    # sources from the class, so the file's content cannot be passed in any other way.
    data: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist: pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML{_yaml_position(exc)}: fix its syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections (landing, engine, ...)")
    return data


def _yaml_position(exc: yaml.YAMLError) -> str:
    """' at line L, column C: <problem>' for a YAML syntax error, as an editor numbers them (from 1)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or exc.__class__.__name__
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}"


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant, or None when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings section a validation error's location points into, if it is a section."""
    annotation: Any = Settings
    for key in loc:
        if _is_model(annotation) and isinstance(key, str) and key in annotation.model_fields:
            annotation = _unwrap(annotation.model_fields[key].annotation)
        elif get_origin(annotation) is list and isinstance(key, int):
            annotation = _unwrap(get_args(annotation)[0])
        elif get_origin(annotation) is dict:
            annotation = _unwrap(get_args(annotation)[1])
        else:
            return None
    return annotation if _is_model(annotation) else None


def describe_validation_error(exc: ValidationError, origin: str = "config") -> str:
    """One line naming every bad setting, its value and what is expected."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        # pydantic prefixes our own validators' messages with "Value error, ": noise to a user.
        msg = err["msg"].removeprefix("Value error, ")
        hint = ""
        if err["type"] == "extra_forbidden" and err["loc"]:
            section = _model_at(tuple(err["loc"][:-1]))
            meant = closest(str(err["loc"][-1]), section.model_fields) if section is not None else None
            hint = f" (did you mean `{meant}`?)" if meant else ""
        parts.append(f"{where}: {msg}{shown}{hint}")
    return f"invalid {origin}: " + "; ".join(parts)


ENV_PREFIX = "CLICKSTREAM_"
# CLICKSTREAM_ variables that belong to the test suite and tools, not to the settings.
NOT_SETTINGS = frozenset({"CLICKSTREAM_UPDATE_SNAPSHOTS", "CLICKSTREAM_UPDATE_SCREENSHOT", "CLICKSTREAM_EMULATORS_VENV"})


def _unwrap(annotation: Any) -> Any:
    """The type a value must have, without Optional around it."""
    args = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) in (Union, UnionType) else []
    return args[0] if len(args) == 1 else annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _json_example(annotation: Any, default: Any) -> str:
    if get_origin(annotation) is list:
        items = default[:2] if isinstance(default, list) and len(default) >= 2 else ["a", "b"]
        return "a JSON list, e.g. '" + json.dumps(items) + "'"
    if get_origin(annotation) is dict:
        return "a JSON object, e.g. '{\"key\": 1}'"
    return "a JSON object of its settings, e.g. '{\"key\": 1}'"


def check_environment(environ: Mapping[str, str]) -> None:
    """Every CLICKSTREAM_ variable names a setting, and those holding a list or mapping are JSON.

    pydantic-settings ignores a variable that matches no section, so a typo would silently leave
    the default in force; and it reports a non-JSON list without naming the variable.
    """
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS:
            continue
        annotation: Any = Settings
        default: Any = None
        path: list[str] = []
        keys = upper[len(ENV_PREFIX) :].lower().split("__")
        for depth, key in enumerate(keys):
            if _is_model(annotation):
                field = annotation.model_fields.get(key)
                if field is None:
                    meant = closest(key, annotation.model_fields)
                    guess = f" (did you mean {ENV_PREFIX}{'__'.join([*path, meant, *keys[depth + 1 :]]).upper()}?)" if meant else ""
                    where = f"section {'.'.join(path)} has" if path else "sections are"
                    raise ConfigError(
                        f"environment variable {name} is not a setting{guess} "
                        f"({where} {', '.join(annotation.model_fields)}; "
                        "the form is CLICKSTREAM_<SECTION>__<KEY>, e.g. CLICKSTREAM_ENGINE__POLL_INTERVAL_S): fix or unset it"
                    )
                annotation, default = _unwrap(field.annotation), field.default
            elif get_origin(annotation) is dict:
                annotation, default = _unwrap(get_args(annotation)[1]), None
            else:
                raise ConfigError(
                    f"environment variable {name} is not a setting ({'.'.join(path)} is a single value): fix or unset it"
                )
            path.append(key)
        complex_value = _is_model(annotation) or get_origin(annotation) in (list, dict)
        if complex_value and value.strip():
            try:
                json.loads(value)
            except ValueError:
                raise ConfigError(
                    f"environment variable {name} is not JSON: write {_json_example(annotation, default)}"
                ) from None


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the settings from defaults, an optional YAML file, the environment and explicit overrides."""
    check_environment(os.environ)
    _YamlSource.data = _read_yaml(config_file) if config_file else {}
    nested = _deep_merge({}, overrides or {})
    try:
        return Settings(**nested)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc) + ": fix the value in the config file, env or flag") from exc
    except SettingsError as exc:
        # check_environment catches the known cases first; this names at least the section.
        raise ConfigError(f"cannot read the settings from the environment ({exc}): check the CLICKSTREAM_ variables") from exc
    finally:
        _YamlSource.data = {}
