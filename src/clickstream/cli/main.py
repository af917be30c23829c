"""The `clickstream` command line."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import tempfile
import threading
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.text import Text

from clickstream.cli.schema import app as schema_app
from clickstream.errors import ClickstreamError, ConfigError

app = typer.Typer(
    name="clickstream",
    help=(
        "Streaming clickstream analytics: event files landing in a folder become bronze, silver and "
        "gold tables in an embedded DuckDB warehouse, exactly once.\n\n"
        "Quick start: `clickstream demo` (generates traffic, runs the pipeline, shows live KPIs)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: with Rich markup, "[default: ...]" in an option's help is read as a tag and vanishes.
    rich_markup_mode=None,
)
app.add_typer(schema_app, name="schema")
ledger_app = typer.Typer(help="Change the file ledger on purpose (pipeline_files).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(ledger_app, name="ledger")
monitor_app = typer.Typer(invoke_without_command=True, rich_markup_mode=None)
app.add_typer(monitor_app, name="monitor")
console = Console()
err_console = Console(stderr=True)
# Set by the --debug option (the app callback), read by main() when a command fails.
_debug = False


@app.callback()
def _options(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On an unexpected error, print the traceback instead of writing it to a log file "
        "($XDG_STATE_HOME/clickstream/, default ~/.local/state/clickstream/).",
    ),
) -> None:
    global _debug
    _debug = debug


def _plain(*parts: str | tuple[str, str]) -> Text:
    """A line whose text is shown as is: paths, messages and data never read as Rich markup."""
    return Text.assemble(*parts)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str) -> float:
    """'90', '30s', '10m', '2h' or '1d' in seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{option} {text!r} is not a duration: use a number with s, m, h or d, e.g. 30s or 10m")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _overrides(**sections: dict[str, Any]) -> dict[str, Any]:
    """Only the flags the user gave, so the config file and environment still apply to the rest."""
    def given(values: dict[str, Any]) -> dict[str, Any]:
        return {k: given(v) if isinstance(v, dict) else v for k, v in values.items() if v is not None}

    return given(sections)


ConfigOption = typer.Option(None, "--config", "-c", help="YAML settings file (see README, 'Configuration').")
LandingOption = typer.Option(
    None, "--landing", help="Landing folder, or gs://bucket/prefix, to ingest from [default: data/landing]."
)
WarehouseOption = typer.Option(None, "--warehouse", help="DuckDB warehouse file [default: data/warehouse.duckdb].")
WarehouseKindOption = typer.Option(
    None, "--warehouse-kind", help="duckdb or bigquery (project and datasets from the config's gcp section) [default: duckdb]."
)


@app.command()
def run(
    landing: Optional[str] = LandingOption,
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    once: bool = typer.Option(False, "--once", help="Drain the backlog, then exit (like Spark's availableNow)."),
    fmt: Optional[str] = typer.Option(
        None,
        "--format",
        help="What the landed files hold: contract events (auto, by extension), or rees46, snowplow, segment, ga4; "
        "mapping needs landing.mapping_file in --config [default: auto].",
    ),
    config: Optional[Path] = ConfigOption,
    max_files: Optional[int] = typer.Option(None, "--max-files", help="At most this many files per batch."),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", help="At most this many raw bytes per batch."),
    poll_interval: Optional[float] = typer.Option(None, "--poll-interval", help="Seconds between landing-zone listings."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-batch output."),
    engine_name: Optional[str] = typer.Option(
        None,
        "--engine",
        help="duckdb (embedded, default) or spark (Structured Streaming; needs clickstream[spark] and Java 17).",
    ),
    master: Optional[str] = typer.Option(
        None, "--master", help="Spark engine: master URL, e.g. local[4] or spark://host:7077 [default: local[*]]."
    ),
    checkpoint: Optional[str] = typer.Option(
        None,
        "--checkpoint",
        help="Spark engine: streaming checkpoint (path or gs://) [default: <warehouse>.spark-checkpoint].",
    ),
) -> None:
    """Ingest landed files into bronze, silver and gold: continuously, or the backlog with --once.

    With --engine spark the same transforms run on Spark Structured Streaming (availableNow with
    --once, a processing-time trigger otherwise); the landing zone must then be storage every
    executor can read, and the checkpoint must stay with the warehouse it was written with.
    Continuous mode also validates each completed window (quality settings) and runs the monitoring
    detectors every monitoring.interval_s, recording alerts and notifying the configured channels.
    """
    from clickstream.cli.render import print_batch, print_summary
    from clickstream.services.platform import Platform

    settings = _load(
        config,
        landing={"path": landing, "format": fmt},
        warehouse={"path": warehouse, "kind": warehouse_kind},
        engine={
            "name": engine_name,
            "max_files_per_batch": max_files,
            "max_bytes_per_batch": max_bytes,
            "poll_interval_s": poll_interval,
            # Spark's file source takes one bound: the one given on the command line.
            "spark": {
                "master": master,
                "checkpoint": checkpoint,
                "batch_limit": "files" if max_files is not None and max_bytes is None else ("bytes" if max_bytes else None),
            },
        },
    )
    channels = None if once else _channels(settings)
    # Continuous mode validates each completed window and runs the detectors, each in a thread with
    # its own reader: ingestion never waits for them.
    platform = Platform(settings, quality=not once, monitoring=not once, operator=not once, channels=channels)
    _stop_on_signals(platform.stop_event)
    with platform:
        if not quiet:
            mode = "draining the backlog" if once else f"watching {settings.landing.path} (Ctrl-C to stop)"
            err_console.print(
                _plain(("clickstream run", "bold"), f" ({settings.engine.name} engine): {mode} into {platform.warehouse.label}"),
                highlight=False,
            )
            if platform.operator_server is not None:
                err_console.print(f"operator endpoint: {platform.operator_server.url}/healthz, /metrics, /status", highlight=False, markup=False)
        summary = platform.run_pipeline(once, on_batch=None if quiet else print_batch(err_console))
    if not quiet:
        print_summary(err_console, summary)
    if once and summary.interrupted:
        raise typer.Exit(130)
    if once and summary.too_late_files:
        names = ", ".join(repr(f.name) for f in summary.too_late_files)
        # Warned per file above; exit 1 so a script notices that read files reached nothing.
        err_console.print(
            f"warning: {len(summary.too_late_files)} files were mostly quarantined as too_late ({names}): raise "
            "pipeline.dedup_horizon_days or use a new --warehouse, then `clickstream ledger forget FILE` to read them again",
            highlight=False, markup=False, soft_wrap=True,
        )
        raise typer.Exit(1)


def _channels(settings):
    """Resolve channel secrets up front, so a missing env var stops the command before any work."""
    if not settings.monitoring.enabled:
        return None
    from clickstream.monitoring.notifiers import build_channels

    return build_channels(settings.monitoring)


@monitor_app.callback(invoke_without_command=True)
def monitor(
    ctx: typer.Context,
    landing: Optional[Path] = typer.Option(
        None, "--landing", help="Landing folder the freshness checks watch for new and unread files [default: data/landing]."
    ),
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    once: bool = typer.Option(False, "--once", help="One pass of the detectors, then exit."),
    config: Optional[Path] = ConfigOption,
    interval: Optional[float] = typer.Option(None, "--interval", help="Seconds between passes [default: monitoring.interval_s, 60]."),
) -> None:
    """Run the detectors (volume, freshness, gold metrics, schema drift, quarantine, data quality) over a
    warehouse, record alerts in its `alerts` table and notify the configured channels.

    Each pass opens, re-notifies or resolves alerts; an alert is sent once per episode (see
    monitoring.renotify_s and suppress_s). Channels and routing come from the `monitoring` section of
    --config; secrets only from the environment variables it names. `clickstream run` already runs the
    detectors in-process every monitoring.interval_s, so use this command on a warehouse no pipeline is
    running on (DuckDB lets one process open the file), or from cron with --once.

    `clickstream monitor backtest` replays the detectors over the warehouse's history instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    from clickstream.cli.render import arrow_table
    from clickstream.services.monitoring import run_monitor

    settings = _load(
        config, landing={"path": landing}, warehouse={"path": warehouse, "kind": warehouse_kind},
        monitoring={"interval_s": interval},
    )
    stop = threading.Event()
    _stop_on_signals(stop)

    # A log channel already writes each notification to this terminal; echoing it too showed every alert twice.
    logged = {c.name for c in settings.monitoring.channels if c.type == "log"}

    def show(report) -> None:  # noqa: ANN001 - a monitoring TickReport
        for n in report.notifications:
            ok, failed = report.delivery.get(n.alert_id, ([], []))
            if logged & set(ok):
                continue
            console.print(f"{n.title}: {n.alert.message} → {', '.join(ok) or 'no channel'}"
                          + (f" (failed: {', '.join(failed)})" if failed else ""), highlight=False, markup=False, soft_wrap=True)  # fmt: skip

    summary = run_monitor(settings, once, stop, on_tick=show)
    console.print(arrow_table(f"alerts ({summary.open_count} open)", summary.latest, "%H:%M:%S"))


_STEP_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def _setting_overrides(pairs: list[str]) -> dict[str, Any]:
    """`--set volume.z=5` pairs as nested monitoring settings; values read as YAML (5, 0.3, true, [a, b])."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r} is not KEY=VALUE: use e.g. --set volume.z=5 or --set quarantine.min_rate=0.05")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = out
        parts = [p.strip() for p in key.strip().removeprefix("monitoring.").split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@monitor_app.command("backtest")
def monitor_backtest(
    start: Optional[datetime] = typer.Option(
        None, "--from", formats=_STEP_FORMATS, metavar="TIME", help="First check, UTC, e.g. 2026-11-20 or '2026-11-20 06:00' [default: 7 days before --to, or the first batch]."
    ),
    end: Optional[datetime] = typer.Option(None, "--to", formats=_STEP_FORMATS, metavar="TIME", help="Last check (UTC) [default: the newest batch's commit]."),
    step: str = typer.Option("5m", "--step", help="Time between replayed checks, e.g. 1m or 5m (the live monitor checks every monitoring.interval_s)."),
    config: Optional[Path] = ConfigOption,
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    overrides: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE", help="Override a monitoring setting for this backtest, e.g. --set volume.z=5 (repeatable)."
    ),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the episodes to this .json or .csv file."),
    backfilled: bool = typer.Option(
        False, "--backfilled", help="The history was loaded in bulk: judge gold minutes as of their event time "
        "(freshness, quarantine, schema drift and unconverted revenue, whose facts are by ingest time, see nothing).",
    ),
) -> None:
    """Replay the detectors (volume, gold metrics, freshness from the ledger, quarantine, schema drift,
    unconverted revenue) over the warehouse's history, as of every --step, and show which alert episodes would have opened
    and resolved. Sends nothing and writes nothing to the warehouse.

    Compare two sensitivities by running it twice, e.g. with --set volume.z=4 and --set volume.z=6.
    """
    from clickstream.cli.render import print_backtest
    from clickstream.services.monitoring import run_backtest

    step_s = parse_duration(step, "--step")
    if step_s <= 0:
        raise ConfigError(f"--step {step!r} must be longer than 0: use e.g. 1m or 5m")
    if out is not None and out.suffix.lower() not in (".json", ".csv"):
        raise ConfigError(f"--out {out} must end in .json or .csv")
    settings = _load(config, warehouse={"path": warehouse, "kind": warehouse_kind}, monitoring=_setting_overrides(overrides))
    result = run_backtest(settings, start, end, timedelta(seconds=step_s), backfilled)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.to_json() if out.suffix.lower() == ".json" else result.to_csv(), encoding="utf-8")
    print_backtest(console, result)
    if out is not None:
        console.print(_plain(f"{len(result.episodes)} episodes written to ", (str(out), "bold")))


@app.command()
def generate(
    out: str = typer.Option("data/landing", "--out", "-o", help="Folder, or gs://bucket/prefix, to write event files into."),
    events: int = typer.Option(100_000, "--events", "-n", min=1, help="Unique valid events to write (batch mode)."),
    files: int = typer.Option(10, "--files", "-f", min=1, help="Number of files (batch mode)."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed and --start give identical files."),
    start: Optional[datetime] = typer.Option(None, "--start", help="Event time of the first event (UTC) [default: now - span]."),
    span: str = typer.Option("1d", "--span", help="Event-time span the batch covers, e.g. 6h or 1d."),
    rate: Optional[float] = typer.Option(None, "--rate", help="Continuous mode: events per second, timestamps near now."),
    duration: Optional[str] = typer.Option(None, "--duration", help="Continuous mode: how long, e.g. 10m [default: until Ctrl-C]."),
    duplicates: float = typer.Option(0.0, "--duplicates", min=0, max=1, help="Fraction of events duplicated, e.g. 0.01."),
    malformed: float = typer.Option(0.0, "--malformed", min=0, max=1, help="Malformed lines per event, e.g. 0.005."),
    late: float = typer.Option(0.0, "--late", min=0, max=1, help="Fraction of events delivered in a later file, e.g. 0.01."),
    schema_drift: bool = typer.Option(False, "--schema-drift", help="Add an unknown field and string prices midway."),
    prefix: str = typer.Option(
        "events", "--prefix", help="File name prefix, to add a second generated feed to a folder that holds one."
    ),
    config: Optional[Path] = ConfigOption,
    incident: Optional[str] = typer.Option(
        None,
        "--incident",
        help=(
            "Inject an incident over the third quarter of the span (or of --duration) for monitoring to catch: "
            "traffic_drop (80% fewer events), revenue_spike (5x purchase quantities), schema_drift (a new field, "
            "string prices), malformed_surge (0.2 malformed lines per event) or stalled_feed (no files land, "
            "then the backlog; streaming only)."
        ),
    ),
) -> None:
    """Write realistic clickstream files (with optional injected faults) and a _manifest.json."""
    from clickstream.config import is_gcs

    options = (events, files, fmt, seed, start, span, rate, duration, duplicates, malformed, late, schema_drift, incident, prefix)
    if not is_gcs(out):
        _generate(Path(out), *options)
        return
    import tempfile

    from clickstream.ingest.upload import GcsUploader

    settings = _load(config, landing={"path": out})
    # Files are written to a temporary folder as usual and each completed one is uploaded in order.
    with tempfile.TemporaryDirectory(prefix="clickstream-generate-") as tmp:
        uploader = GcsUploader(settings, Path(tmp), out).start()
        try:
            _generate(Path(tmp), *options, shown_as=out)
        finally:
            uploaded = uploader.finish()
    console.print(f"uploaded {uploaded} files to {out}", highlight=False, markup=False)


def _generate(out: Path, events, files, fmt, seed, start, span, rate, duration, duplicates, malformed, late,  # noqa: ANN001
              schema_drift, incident, prefix, shown_as: str | None = None) -> None:
    from clickstream.generator import Faults, generate_batch, generate_stream
    from clickstream.generator.faults import INCIDENT_KINDS

    shown = shown_as or str(out)
    fmt, incident = fmt.strip().lower(), incident.strip().lower() if incident is not None else None
    if fmt not in ("jsonl", "csv"):
        raise ConfigError(f"--format {fmt!r} is not supported: use jsonl or csv")
    if incident is not None and incident not in INCIDENT_KINDS:
        raise ConfigError(f"--incident {incident!r} is not an incident: use one of {', '.join(INCIDENT_KINDS)}")
    if incident == "stalled_feed" and rate is None:
        raise ConfigError("--incident stalled_feed stops files landing, so it needs streaming mode: add --rate and --duration")
    faults = Faults(duplicates=duplicates, malformed=malformed, late=late, schema_drift=schema_drift, incident=incident)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output folder {out}: {exc.strerror}; choose a writable --out") from exc
    if rate is not None:
        if rate <= 0:
            raise ConfigError("--rate must be greater than 0 events per second")
        seconds = parse_duration(duration, "--duration") if duration else None
        stop = threading.Event()
        _stop_on_signals(stop)
        err_console.print(
            f"writing ~{rate:g} events/s into {shown} ({'until Ctrl-C' if seconds is None else duration})", markup=False
        )
        manifest = generate_stream(
            out, rate=rate, duration=seconds, seed=seed, fmt=fmt, faults=faults, stop=stop, prefix=prefix
        )
    else:
        if start is not None and start.tzinfo is not None:
            start = start.astimezone(timezone.utc).replace(tzinfo=None)
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task(f"generating {events:,} events", total=events)
            manifest = generate_batch(
                out,
                events=events,
                files=files,
                fmt=fmt,
                seed=seed,
                start=start,
                span=timedelta(seconds=parse_duration(span, "--span")),
                faults=faults,
                progress=lambda done, total: progress.update(task, completed=done),
                prefix=prefix,
            )
    console.print(
        f"wrote {len(manifest.files)} files to {shown}: {manifest.unique_valid_events:,} unique valid events, "
        f"{manifest.duplicates:,} duplicates, {manifest.malformed_lines:,} malformed lines, "
        f"{manifest.late_events:,} late events (manifest: {shown}/_manifest.json)",
        markup=False,
    )


@app.command()
def status(
    warehouse: Optional[Path] = WarehouseOption,
    config: Optional[Path] = ConfigOption,
    batches: int = typer.Option(10, "--batches", help="How many recent batches to list."),
    warehouse_kind: Optional[str] = WarehouseKindOption,
) -> None:
    """Show the ledger: files, batches, row counts per layer, quarantine reasons, damaged values and lag (read-only)."""
    from clickstream.cli.render import arrow_table
    from clickstream.services.status import current_status

    settings = _load(config, warehouse={"path": warehouse, "kind": warehouse_kind})
    status = current_status(settings, batches)
    console.print(arrow_table(f"clickstream status: {status.label}", status.totals))
    console.print(arrow_table("quarantine by reason", status.quarantine_reasons))
    if status.damaged_values.num_rows:
        console.print(arrow_table("damaged values set to NULL, events kept (see README, 'Bad input')", status.damaged_values))
    console.print(arrow_table(f"last {batches} batches", status.recent_batches))
    if status.rejected_files.num_rows:
        console.print(arrow_table("rejected files (see README, 'Bad input')", status.rejected_files))
    if status.partial_files.num_rows:
        console.print(arrow_table("files partly read (large files go in slices; the next run reads on)", status.partial_files))


@app.command()
def demo(
    duration: Optional[str] = typer.Option(None, "--duration", help="Stop after this long, e.g. 60 or 5m [default: until Ctrl-C]."),
    rate: float = typer.Option(500.0, "--rate", help="Generated events per second."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir",
        help="Holds landing/, warehouse.duckdb and quality/; pass one to reuse it [default: a new data/demo-<UTC time>/ each run].",
    ),
    port: Optional[int] = typer.Option(None, "--port", help="Dashboard port [default: dashboard.port, 8050]."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Generate live traffic, run the pipeline on it and show the latest gold minutes as they change.

    A quarter of the way in, the generated feed has a malformed surge for a fifth of the run: the
    in-process monitor raises a quarantine alert, logs it, and resolves it once the surge is over.
    """
    seconds = parse_duration(duration, "--duration") if duration else None
    if rate <= 0:
        raise ConfigError("--rate must be greater than 0 events per second")
    if data_dir is None:
        from clickstream.cli.render import count
        from clickstream.services.demo import earlier_demos, fresh_demo_dir

        data_dir = fresh_demo_dir()
        console.print(_plain("demo data: ", (str(data_dir), "bold"), " (new for this run; --data-dir DIR reuses a folder)"))
        folders, size = earlier_demos(data_dir.parent, data_dir)
        if folders:
            console.print(
                f"{count(folders, 'earlier demo folder')} in {data_dir.parent}/ {'holds' if folders == 1 else 'hold'} {size / 2**20:,.1f} MiB: "
                f"rm -r {data_dir.parent}/demo-* frees them",
                highlight=False, markup=False,
            )
    # Validation every minute instead of every hour, so the demo shows it within its run.
    settings = _load(
        config,
        landing={"path": data_dir / "landing"},
        warehouse={"path": data_dir / "warehouse.duckdb"},
        dashboard={"port": port},
        quality={
            "window_s": 60,
            "grace_s": 10,
            "check_interval_s": 5,
            "catch_up_windows": 5,
            "results_dir": data_dir / "quality" / "results",
            "docs_dir": data_dir / "quality" / "docs",
        },
        # Seconds instead of minutes, so the demo's malformed surge is alerted on and resolved within its run.
        monitoring={
            "interval_s": 3,
            "clear_s": 8,
            "suppress_s": 30,
            "freshness": {"max_file_gap_s": 30, "max_pending_s": 30, "max_lag_s": 60},
            "quarantine": {"window_s": 12, "baseline_s": 3600},
            "schema_drift": {"window_s": 12, "baseline_s": 3600},
        },
    )
    _run_demo(settings, rate, seconds)


def _run_demo(settings, rate: float, seconds: float | None) -> None:  # noqa: ANN001 - Settings
    """The platform with a generator, and a live view of the warehouse read through the platform's reader."""
    import time

    from rich.console import Group
    from rich.live import Live

    from clickstream.cli.render import arrow_table
    from clickstream.services.demo import read_live_view, start_demo

    channels = _channels(settings)
    platform = start_demo(settings, rate, seconds, channels)
    _stop_on_signals(platform.stop_event)
    stop, started = platform.stop_event, time.monotonic()
    try:
        console.print(
            _plain(("clickstream demo", "bold"), f": ~{rate:g} events/s into {settings.landing.path} → {platform.warehouse.label}. "
                   f"{'Ctrl-C to stop' if seconds is None else f'Running for {seconds:g}s (Ctrl-C stops early)'}."),
            highlight=False,
        )
        console.print(_plain("dashboard: ", (platform.dashboard_server.url, "bold"),
                             f" (refreshes every {settings.dashboard.refresh_s:g}s)"))  # fmt: skip
        if platform.operator_server is not None:
            console.print(f"operator endpoint: {platform.operator_server.url}/healthz, /metrics, /status", highlight=False, markup=False)
        if "quality" in platform.threads:
            q = settings.quality
            console.print(f"data quality: every {q.window_s}s window validated {q.grace_s:g}s after it ends "
                          f"→ dq_results, Data Docs in {q.docs_dir}", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        if "monitor" in platform.threads:
            console.print(
                f"monitoring: detectors every {settings.monitoring.interval_s:g}s → alerts table and "
                f"{', '.join(c.name for c in channels or [])}; a malformed surge is injected "
                + (f"{seconds * 0.25:.0f}-{seconds * 0.45:.0f}s in" if seconds else "30-60s in"),
                highlight=False,
                markup=False,
            )
        view = platform.reader()

        def live_view(elapsed: float) -> Group:
            tables = read_live_view(view)
            return Group(*(arrow_table(f"{title}, {elapsed:.0f}s" if i == 0 else title, t, "%H:%M:%S")
                           for i, (title, t) in enumerate(tables.items())))  # fmt: skip

        if console.is_terminal:
            with Live(console=console, refresh_per_second=2, transient=False) as live:
                while not stop.is_set():
                    elapsed = time.monotonic() - started
                    if seconds is not None and elapsed >= seconds:
                        break
                    live.update(live_view(elapsed))
                    stop.wait(1.0)
        else:
            # Piped to a file or a CI log, a live display would show only once, at the end.
            last = None
            while not stop.is_set():
                elapsed = time.monotonic() - started
                if seconds is not None and elapsed >= seconds:
                    break
                if last is None or elapsed - last >= 15:
                    console.print(live_view(elapsed))
                    last = elapsed
                stop.wait(1.0)
            console.print(live_view(time.monotonic() - started))
    finally:
        platform.stop()
    platform.raise_errors()
    where = settings.warehouse.path
    console.print(
        f"demo stopped cleanly; inspect with `clickstream status --warehouse {where}` or query {where}",
        highlight=False,
        markup=False,
    )


def parse_hour(text: str) -> datetime:
    """'2026-11-28T10', '2026-11-28T10:00' or '2026-11-28 10:00:00' (UTC) as a naive UTC datetime."""
    cleaned = text.strip().replace(" ", "T")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}", cleaned):
        cleaned += ":00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ConfigError(f"--hour {text!r} is not an hour: use YYYY-MM-DDTHH (UTC), e.g. 2026-11-28T10") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


@app.command()
def validate(
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    config: Optional[Path] = ConfigOption,
    layer: str = typer.Option("all", "--layer", help="bronze, silver, gold or all."),
    hour: Optional[str] = typer.Option(None, "--hour", help="Window to validate, e.g. 2026-11-28T10 (UTC) [default: the last completed one]."),
    force: bool = typer.Option(False, "--force", help="Validate again even if results for the window and layer exist."),
    docs: Optional[str] = typer.Option(None, "--docs", help="Render GX Data Docs HTML into this folder, or gs://bucket/prefix."),
    results: Optional[Path] = typer.Option(None, "--results", help="Write GX validation JSON here [default: data/quality]."),
) -> None:
    """Run the Great Expectations suites on one completed window; exit 1 if a critical expectation failed.

    On BigQuery the suites run as GX query assets in BigQuery (the window's rows stay there); on DuckDB
    the window's rows are validated through pandas. Results go to dq_results in either warehouse.
    """
    from clickstream.cli.render import print_validation, print_validation_window
    from clickstream.services.quality import default_window, validate_window

    layers = ("bronze", "silver", "gold") if layer == "all" else (layer,)
    if layer not in ("bronze", "silver", "gold", "all"):
        raise ConfigError(f"--layer {layer!r} is not a layer: use bronze, silver, gold or all")
    settings = _load(
        config, warehouse={"path": warehouse, "kind": warehouse_kind}, quality={"docs_dir": docs, "results_dir": results}
    )
    window = parse_hour(hour) if hour else default_window(settings)
    print_validation_window(console, settings, window, layers)
    report = validate_window(settings, layers, window, force)
    print_validation(console, settings, report)
    if report.critical_failed:
        raise typer.Exit(1)


DefinitionOption = typer.Option(None, "--definition", help="Dashboard definition YAML [default: the shipped one].")


@app.command()
def lookml(
    out: Path = typer.Option(Path("looker"), "--out", "-o", help="Folder to write the LookML project into."),
    definition: Optional[Path] = DefinitionOption,
    config: Optional[Path] = ConfigOption,
) -> None:
    """Generate a LookML project (model, views, dashboard) and looker_dashboard.json from the contract."""
    from clickstream.dashboards import load_definition
    from clickstream.services.dashboard import dashboard_extra

    with dashboard_extra():
        from clickstream.dashboards.lookml import write_project

    settings = _load(config, dashboard={"definition": definition})
    try:
        written = write_project(
            load_definition(settings.dashboard.definition, settings.pipeline.reporting_currency),
            out,
            datasets=settings.gcp.datasets,
            project=settings.gcp.project,
        )
    except OSError as exc:
        raise ConfigError(f"cannot write LookML into {out}: {exc.strerror}; choose a writable --out") from exc
    console.print(
        f"wrote {len(written)} files to {out}: " + ", ".join(str(p.relative_to(out)) for p in written),
        highlight=False,
        markup=False,
    )


@app.command()
def dashboard(
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on [default: 127.0.0.1]."),
    port: Optional[int] = typer.Option(None, "--port", help="Port to listen on [default: 8050]."),
    definition: Optional[Path] = DefinitionOption,
    config: Optional[Path] = ConfigOption,
) -> None:
    """Serve the live dashboard, read-only, until Ctrl-C.

    On DuckDB, over a warehouse file no pipeline holds (`demo` serves it inside a live run); on
    BigQuery, beside a running pipeline, with results cached for dashboard.cache_ttl_s so a page
    refreshing every few seconds does not run a query job every few seconds.
    """
    from clickstream.services.dashboard import open_dashboard_reader, start_dashboard

    settings = _load(
        config, warehouse={"path": warehouse, "kind": warehouse_kind},
        dashboard={"host": host, "port": port, "definition": definition},
    )
    wh, reader = open_dashboard_reader(settings)
    try:
        server = start_dashboard(settings, reader)
        console.print(f"dashboard on {server.url} over {reader.label} (read-only; Ctrl-C to stop)", highlight=False, markup=False)
        try:
            while server.thread.is_alive():
                server.thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    finally:
        reader.close()
        wh.close()


@app.command()
def collect(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on [default: collect.host, 127.0.0.1; 0.0.0.0 in a container]."),
    port: Optional[int] = typer.Option(None, "--port", help="Port to listen on [default: collect.port, 8090]."),
    landing: Optional[str] = typer.Option(
        None, "--landing", help="Landing folder, or gs://bucket/prefix, to land collected files in [default: landing.path, data/landing]."
    ),
    landing_format: Optional[str] = typer.Option(
        None, "--format", help="segment or snowplow: which trackers to accept, landed as that adapter reads them [default: landing.format]."
    ),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Collect events from Segment and Snowplow trackers over HTTP and land them as files, until Ctrl-C.

    Endpoints. Segment's HTTP Tracking API: POST /v1/track, /v1/page, /v1/screen, /v1/identify,
    /v1/group, /v1/alias and /v1/batch (write key as the Basic auth user name; gzip bodies; 500 KB a
    request, 32 KB an event). Snowplow's tracker protocol: GET /i (pixel) and POST
    /com.snowplowanalytics.snowplow/tp2. GET /healthz for probes.

    A request is answered 200 only once its events are appended to a spool file and fsync'd; a spool
    file moves into the landing zone by rename every collect.rotate_s seconds or collect.rotate_bytes
    (for gs://, it is uploaded and then deleted), where `clickstream run` picks it up exactly once.
    The landing zone's landing.format (segment or snowplow) says which trackers are accepted; set
    collect.segment_landing and collect.snowplow_landing to take both, each into its own folder.
    Browser trackers need their page's origin in collect.cors_origins. Answers: 400 for a malformed
    request, 401 for a wrong write key, 403 for an origin not allowed, 413 for a body too large, 429
    when a client is over collect.rate_limit_per_s, 503 when the disk is nearly full (trackers retry).
    """
    from clickstream.services.collect import start_collector, targets

    settings = _load(config, landing={"path": landing, "format": landing_format}, collect={"host": host, "port": port})
    stop = threading.Event()
    _stop_on_signals(stop)
    running = start_collector(settings)
    for t in targets(settings):
        console.print(f"collecting {t.protocol} events into {t.landing} (*{t.suffix})", highlight=False, markup=False)
    console.print(f"collector on {running.url} (/v1/*, /i, /com.snowplowanalytics.snowplow/tp2, /healthz; Ctrl-C to stop)",
                  highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    try:
        while not stop.is_set() and running.server.thread.is_alive():
            stop.wait(0.5)
    finally:
        waiting = running.stop()
    if waiting:
        err_console.print(
            f"warning: {waiting} rotated files could not be uploaded yet; they stay in the spool and go up on the next start",
            highlight=False, markup=False,
        )
        raise typer.Exit(1)


@app.command()
def deploy(
    target: str = typer.Argument(..., help="databricks (Asset Bundle with a continuous Auto Loader job) or dataproc (Serverless batch)."),
    out: Path = typer.Option(Path("deploy"), "--out", "-o", help="Folder to write the descriptors into."),
    config: Optional[Path] = ConfigOption,
    landing_uri: Optional[str] = typer.Option(
        None, "--landing-uri", help="Landing zone on shared storage, e.g. gs://my-bucket/landing [default: engine.spark.landing_uri]."
    ),
    checkpoint: Optional[str] = typer.Option(
        None, "--checkpoint", help="Streaming checkpoint on shared storage, e.g. gs://my-bucket/checkpoints/clickstream."
    ),
) -> None:
    """Write the job definitions that run the Spark engine on Databricks or Dataproc, from the config.

    The job runs the same entry point as a laptop (`clickstream run --engine spark`) with a copy of
    the settings (clickstream.yaml) whose landing zone and checkpoint are on shared storage."""
    import os

    from clickstream.engine import deploy as descriptors

    settings = _load(config, engine={"spark": {"landing_uri": landing_uri, "checkpoint": checkpoint}})
    if target == "databricks":
        root = Path.cwd() if (Path.cwd() / "pyproject.toml").exists() else None
        project_root = os.path.relpath(root, out.resolve()) if root else ".."
        descriptor = descriptors.databricks_bundle(settings, project_root)
    elif target == "dataproc":
        descriptor = descriptors.dataproc_batch(settings)
    else:
        raise ConfigError(f"unknown deploy target {target!r}: use databricks or dataproc")
    for path in descriptors.write(descriptor, out):
        console.print(f"wrote {path}", highlight=False, markup=False)
    if target == "dataproc" and not settings.deploy.dataproc.container_image:
        # The Serverless runtime has PySpark but not duckdb or pyarrow, which the job imports.
        err_console.print(
            "note: deploy.dataproc.container_image is not set, so the batch runs on the stock runtime without "
            "duckdb and pyarrow: set it to an image with clickstream's dependencies installed",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    from clickstream.warehouse import capabilities_of

    if capabilities_of(settings).lives_on_this_machine:
        err_console.print(
            f"note: warehouse.kind is {settings.warehouse.kind}, a file on the driver's disk that a cluster job loses; "
            "production jobs write to BigQuery (warehouse.kind: bigquery)",
            highlight=False,
            markup=False,
        )


@ledger_app.command("forget")
def ledger_forget(
    file: str = typer.Argument(..., help="The landing file, as `clickstream status` names it (path below the landing folder)."),
    landing: Optional[str] = LandingOption,
    warehouse: Optional[Path] = WarehouseOption,
    warehouse_kind: Optional[str] = WarehouseKindOption,
    config: Optional[Path] = ConfigOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a file's ledger row so that the next `clickstream run` reads it again.

    Bronze and quarantine keep the lines already read from it; silver deduplicates by event_id, so
    events already in silver are not doubled. Use it after raising pipeline.dedup_horizon_days for a
    file quarantined as too_late, or after fixing a rejected file in place."""
    from clickstream.services.ledger import forget

    settings = _load(config, landing={"path": landing}, warehouse={"path": warehouse, "kind": warehouse_kind})

    def confirm(entry) -> bool:  # noqa: ANN001 - a ledger entry
        what = {
            "rejected": f"rejected ({entry.reason})",
            "partial": f"partly read, {entry.lines} lines so far; it is read again from its start",
        }.get(entry.status or "", f"consumed, {entry.lines} lines")
        console.print(
            f"{entry.name!r} is in the ledger ({what}, batch {entry.batch_id}); forgetting it makes the next run read "
            "it again: bronze keeps the old lines, silver dedups by event_id",
            highlight=False, markup=False, soft_wrap=True,
        )
        return yes or typer.confirm("forget it?", default=False)

    entry = forget(settings, file, confirm)
    if entry is None:
        err_console.print("nothing changed", highlight=False, markup=False)
        raise typer.Exit(1)
    console.print(f"forgot {entry.name!r}: the next `clickstream run` reads it again", highlight=False, markup=False)


def _load(config: Optional[Path], **sections: dict[str, Any]):
    from clickstream.config import load_settings

    return load_settings(config, _overrides(**sections))


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum, frame):  # noqa: ANN001 - signal's signature
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The log channel's "resolved" lines are INFO, and as much the product as the alerts themselves.
    logging.getLogger("clickstream.alerts").setLevel(logging.INFO)
    try:
        # Standalone mode: the CLI library reports usage errors itself (exit code 2).
        app()
    except ClickstreamError as exc:
        if _debug:
            traceback.print_exc()
        _print_error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if _debug:
            traceback.print_exc()
            sys.exit(2)
        where = _write_crash_log()
        kept = f"the traceback is in {where}" if where else "no log could be written"
        # The exception's text stays in the log: it may quote a URL or a token the user would paste on.
        _print_error(f"unexpected error ({type(exc).__name__}): {kept}; please report it, or rerun with --debug to see it")
        sys.exit(2)


def _print_error(message: str) -> None:
    # The message is text, not markup: Rich would eat "[dashboard]" in "pip install 'clickstream[dashboard]'".
    err_console.print(_plain(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)


def _crash_dirs() -> list[Path]:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return [Path(state) / "clickstream", Path(tempfile.gettempdir()) / "clickstream"]


def _write_crash_log() -> Path | None:
    """The current exception's traceback in a private file (no environment, no settings values)."""
    text = (
        f"clickstream {' '.join(sys.argv[1:2])} failed at {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} "
        f"(python {sys.version.split()[0]})\n\n{traceback.format_exc()}"
    )
    name = f"crash-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{os.getpid()}.log"
    for folder in _crash_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return None


if __name__ == "__main__":
    main()
