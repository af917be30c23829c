"""The collector as a service: spools, the GCS shipper and uvicorn, started and stopped together."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clickstream.config import Settings, is_gcs
from clickstream.errors import ConfigError, LandingError
from clickstream.serving import BackgroundServer

log = logging.getLogger("clickstream.collect")
DEFAULT_GCS_SPOOL = Path("data/collect-spool")


@dataclass(frozen=True)
class Target:
    protocol: str  # "segment" | "snowplow"
    landing: Path | str  # a local folder or gs://bucket/prefix
    suffix: str  # what the adapter of that landing zone reads: .jsonl (segment), .csv (snowplow)


def targets(settings: Settings) -> list[Target]:
    """Where each collected protocol lands; a ConfigError when nothing would be collected."""
    c, landing = settings.collect, settings.landing
    found = []
    for protocol, explicit, suffix in (("segment", c.segment_landing, ".jsonl"), ("snowplow", c.snowplow_landing, ".csv")):
        where = explicit if explicit is not None else (landing.path if landing.format == protocol else None)
        if where is not None:
            found.append(Target(protocol, where, suffix))
    if not found:
        raise ConfigError(
            "the collector has nowhere to land events: set landing.format to segment or snowplow (the pipeline then "
            "reads what the collector writes), or set collect.segment_landing / collect.snowplow_landing"
        )
    if len(found) == 2 and str(found[0].landing) == str(found[1].landing):
        raise ConfigError(
            "collect.segment_landing and collect.snowplow_landing are the same place: a landing zone is read in one "
            "format, so give each protocol its own folder (and its own pipeline with landing.format segment / snowplow)"
        )
    return found


def _write_keys(settings: Settings) -> frozenset[str] | None:
    name = settings.collect.write_keys_env
    if name is None:
        return None
    keys = frozenset(k.strip() for k in os.environ.get(name, "").split(",") if k.strip())
    if not keys:
        raise ConfigError(f"collect.write_keys_env names {name}, which holds no write key: export {name}=key1,key2")
    return keys


class CollectorServer(BackgroundServer):
    """The collector app in a background thread (the CLI's main thread keeps the signals)."""

    def __init__(self, app: Any, host: str, port: int):
        try:
            import uvicorn  # noqa: F401 - only to say which extra is missing
        except ModuleNotFoundError as exc:
            raise ConfigError("uvicorn is not installed; the collector needs it: pip install 'clickstream[collect]'") from exc
        super().__init__(
            app, host, port, name="collector", busy_hint="pass another --port or set collect.port", error=ConfigError,
            # Per-request access lines would log every tracker's query string and cost more than the request.
            access_log=False, server_header=False, timeout_keep_alive=30,
        )  # fmt: skip


@dataclass
class RunningCollector:
    server: CollectorServer
    spools: dict[str, Any]
    shippers: dict[str, Any] = field(default_factory=dict)
    collector: Any = None

    @property
    def url(self) -> str:
        return self.server.url.rstrip("/")

    def stop(self) -> int:
        """Stop taking requests, land every spool file, finish uploads; files still waiting for GCS."""
        self.server.stop()
        for spool in self.spools.values():
            spool.stop()
        return sum(s.stop() for s in self.shippers.values())


def _spool_folder(settings: Settings, target: Target) -> Path:
    base = settings.collect.spool_dir
    if base is None:
        base = DEFAULT_GCS_SPOOL if is_gcs(target.landing) else Path(target.landing) / ".spool"
    return Path(base) / target.protocol


def start_collector(settings: Settings) -> RunningCollector:
    """Recover what a previous process left in the spools, then listen (uvicorn in a background thread)."""
    try:
        from clickstream.ingest.collect.app import Collector, collector_app
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("starlette", "uvicorn"):
            raise
        raise ConfigError(f"{exc.name} is not installed; the collector needs it: pip install 'clickstream[collect]'") from exc
    from clickstream.ingest.collect import snowplow
    from clickstream.ingest.collect.spool import Shipper, Spool, check_same_disk, local_delivery

    c = settings.collect
    keys = _write_keys(settings)
    spools, shippers = {}, {}
    for target in targets(settings):
        folder = _spool_folder(settings, target)
        if is_gcs(target.landing):
            from clickstream.ingest.gcs import GcsStore

            # No bucket check here: the collector's grant (objectCreator) cannot read the bucket. A failing
            # upload shows on /healthz and in the log, and the file waits in the spool.
            store = GcsStore.from_settings(settings.gcp)
            shipper = Shipper(folder / "ready", str(target.landing), store, c.upload_retry_s)
            deliver = shipper.deliver
            shippers[target.protocol] = shipper
        else:
            landing = Path(target.landing)
            if not landing.is_dir():
                raise LandingError(f"landing folder {landing} does not exist: create it or set landing.path / collect.{target.protocol}_landing")
            check_same_disk(folder, landing)
            deliver = local_delivery(landing)
        header = snowplow.header() if target.protocol == "snowplow" else b""
        spools[target.protocol] = Spool(folder, target.suffix, deliver, c.rotate_s, c.rotate_bytes, c.min_free_bytes, header)
    for shipper in shippers.values():
        shipper.start()
    for spool in spools.values():
        spool.start()
    collector = Collector(c, spools.get("segment"), spools.get("snowplow"), keys, shippers)
    server = CollectorServer(collector_app(collector), c.host, c.port)
    try:
        server.start()
    except Exception:
        for spool in spools.values():
            spool.stop()
        raise
    return RunningCollector(server, spools, shippers, collector)

