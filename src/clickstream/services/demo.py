"""`clickstream demo`: generated live traffic through the whole platform, and what its live view reads."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from clickstream.config import Settings
from clickstream.errors import WarehouseError
from clickstream.services.platform import Platform
from clickstream.warehouse import Reader

# Short column names so the live view fits an 80-column terminal; times are formatted by the renderer.
LIVE_VIEW = {
    "latest gold minutes (gold_kpi_minute)": """SELECT window_start AS minute_utc, events, page_views AS views,
  add_to_carts AS carts, purchases AS buys, unique_users AS users, unique_sessions AS sessions,
  round(revenue, 2) AS revenue
FROM gold_kpi_minute ORDER BY window_start DESC LIMIT 8""",
    "totals": """SELECT (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT count(*) FROM gold_sessions) AS sessions,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT round(max(max_event_lag_s), 1) FROM pipeline_batches
     WHERE batch_id > (SELECT max(batch_id) - 5 FROM pipeline_batches)) AS lag_s""",
    "data quality (dq_results, latest windows)": """SELECT window_start AS window_utc, layer, count(*) AS checks,
  sum(CASE WHEN NOT success THEN 1 ELSE 0 END) AS failed,
  sum(CASE WHEN NOT success AND severity = 'critical' THEN 1 ELSE 0 END) AS critical
FROM dq_results GROUP BY window_start, layer ORDER BY window_start DESC, layer LIMIT 6""",
    "alerts (latest)": """SELECT opened_at AS opened, severity, alert_type AS type, status, CASE WHEN length(message) > 90 THEN left(message, 89) || '…' ELSE message END AS message
FROM alerts ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, opened_at DESC LIMIT 4""",
}


def fresh_demo_dir(root: Path = Path("data"), now: datetime | None = None) -> Path:
    """A new, empty folder for one demo under `root`, named by its UTC start: a demo that reused an
    earlier one's warehouse would show that run's alerts, a stalled-feed alert for the gap between
    the runs and failed data-quality checks for the empty minutes in between."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 100):
        path = root / (f"demo-{stamp}" if n == 1 else f"demo-{stamp}-{n}")
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue  # another demo started in the same second
        except OSError as exc:
            raise WarehouseError(f"cannot create {path}: {exc.strerror}; pass a writable --data-dir") from exc
        return path
    raise WarehouseError(f"{root} already holds 99 demos started at {stamp}: pass --data-dir")


def earlier_demos(root: Path, current: Path) -> tuple[int, int]:
    """How many demo folders besides `current` lie under `root`, and the bytes they hold."""
    folders, size = 0, 0
    for path in root.glob("demo-*"):
        if path == current or not path.is_dir():
            continue
        folders += 1
        size += sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return folders, size


def read_live_view(reader: Reader) -> dict[str, pa.Table]:
    """The live view's tables, on one snapshot."""
    return dict(zip(LIVE_VIEW, reader.read([(sql, []) for sql in LIVE_VIEW.values()])))


def _with_shop_rates(settings: Settings) -> Settings:
    """The generated shop sells in 15 currencies: without rates of its own, the demo uses the shop's."""
    if settings.pipeline.fx_rates_file is not None:
        return settings
    from clickstream.clock import utc_now
    from clickstream.generator.catalogue import fx_rates_csv

    today = utc_now().date()
    path = settings.landing.path.parent / "fx_rates.csv"
    path.write_text(fx_rates_csv([today + timedelta(days=d) for d in range(-2, 8)], settings.pipeline.reporting_currency))
    return settings.model_copy(update={"pipeline": settings.pipeline.model_copy(update={"fx_rates_file": path})})


def start_demo(settings: Settings, rate: float, seconds: float | None, channels=None) -> Platform:
    """The platform with the dashboard, a pipeline thread and a generator thread writing live traffic
    with a malformed surge partway through (so the monitor has something to raise and resolve)."""
    from clickstream.generator import Faults, generate_stream

    landing = settings.landing.path
    try:
        landing.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create {landing}: {exc.strerror}; pass a writable --data-dir") from exc
    faults = Faults(duplicates=0.01, malformed=0.005, late=0.01, incident="malformed_surge", incident_span=(0.25, 0.45))
    settings = _with_shop_rates(settings)
    platform = Platform(settings, dashboard=True, operator=True, channels=channels).start()
    try:
        platform.threads["generator"] = platform.background(
            "generator",
            lambda: generate_stream(
                landing, rate=rate, duration=seconds, seed=int(time.time()), faults=faults, stop=platform.stop_event
            ),
        )
        platform.start_pipeline()
    except BaseException:
        platform.stop()
        raise
    return platform
