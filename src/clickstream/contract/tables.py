"""Every warehouse table, declared once. Silver is built from the event contract."""

from __future__ import annotations

from dataclasses import dataclass

from clickstream.contract.schema import EVENT_FIELDS, FieldType


@dataclass(frozen=True)
class Column:
    name: str
    type: FieldType
    description: str
    nullable: bool = True
    # Long raw text: DuckDB stores it zstd-compressed, about 3x faster to write than its default
    # string compression and about 3x smaller (measured on 150k raw event lines).
    long_text: bool = False
    # Money in pipeline.reporting_currency: dashboards and LookML label it with the currency's code.
    reporting_money: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    description: str
    columns: tuple[Column, ...]
    # Keys the warehouse partitions / clusters by; DuckDB ignores them, BigQuery uses them.
    partition_by: str | None = None
    cluster_by: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


S, TS, D, DBL, DEC, INT, B, J, SL = (
    FieldType.STRING,
    FieldType.TIMESTAMP,
    FieldType.DATE,
    FieldType.DOUBLE,
    FieldType.DECIMAL,
    FieldType.INTEGER,
    FieldType.BOOLEAN,
    FieldType.JSON,
    FieldType.STRING_LIST,
)

_LINEAGE = (
    Column("source_file", S, "Landing file the line came from, relative to the landing root.", False),
    Column("line_number", INT, "1-based physical line number in the source file.", False),
    Column("batch_id", INT, "Micro-batch that committed the row.", False),
)

BRONZE = Table(
    "bronze_events",
    "bronze",
    "Every input line exactly as it arrived, with where and when it came from.",
    (
        Column(
            "raw_line",
            S,
            "The line, decoded as UTF-8 (invalid bytes replaced), without its line break.",
            False,
            long_text=True,
        ),
        *_LINEAGE,
        Column("ingested_at", TS, "When the batch that read the line started (UTC).", False),
    ),
    partition_by="ingested_at",
)

QUARANTINE = Table(
    "quarantine_events",
    "bronze",
    "Lines that could not become a silver event, with the first reason found.",
    (
        Column("raw_line", S, "The rejected line.", False, long_text=True),
        Column("reason", S, "Reason code, e.g. malformed_json or missing_required:event_id.", False),
        *_LINEAGE,
        Column("ingested_at", TS, "When the batch that read the line started (UTC).", False),
    ),
    partition_by="ingested_at",
    cluster_by=("reason",),
)

SILVER_DERIVED = (
    Column("event_date", D, "UTC date of event_ts; the partition key.", False),
    Column("channel", S, "Acquisition channel from UTM and referrer: paid, email, social, organic_search, referral, direct.", False),
    Column("revenue", DEC, "price x coalesce(quantity, 1) in `currency`: positive for purchases, negative for refunds, else null."),
)

# Written by the warehouse commit, not the row-level transform: it needs the fx_rates table.
SILVER_CONVERTED = (
    Column(
        "reporting_revenue",
        DEC,
        "revenue in pipeline.reporting_currency at the event date's fx_rates rate; null without a rate "
        "(counted in pipeline_batches.unconverted_revenue_events).",
        reporting_money=True,
    ),
)

SILVER = Table(
    "silver_events",
    "silver",
    "Typed, cleansed events; one row per event_id.",
    (
        *(Column(f.name, f.type, f.description, not f.required) for f in EVENT_FIELDS),
        *SILVER_DERIVED,
        *SILVER_CONVERTED,
        *_LINEAGE,
    ),
    partition_by="event_date",
    cluster_by=("event_id",),
)

GOLD_KPI_MINUTE = Table(
    "gold_kpi_minute",
    "gold",
    "Traffic and commerce per minute of event time.",
    (
        Column("window_start", TS, "Start of the minute (UTC).", False),
        Column("events", INT, "Events in the minute.", False),
        Column("page_views", INT, "page_view events.", False),
        Column("add_to_carts", INT, "add_to_cart events.", False),
        Column("purchases", INT, "purchase events.", False),
        Column("unique_users", INT, "Exact distinct users.", False),
        Column("unique_sessions", INT, "Exact distinct sessions.", False),
        Column("revenue", DEC, "Purchase revenue in the reporting currency (events without a rate left out).", False, reporting_money=True),
    ),
    partition_by="window_start",
)

GOLD_SESSIONS = Table(
    "gold_sessions",
    "gold",
    "One row per session.",
    (
        Column("session_id", S, "Session id.", False),
        Column("user_id", S, "User of the session's first event."),
        Column("session_start", TS, "First event time.", False),
        Column("session_end", TS, "Last event time.", False),
        Column("duration_s", DBL, "session_end - session_start in seconds.", False),
        Column("page_views", INT, "page_view events.", False),
        Column("events", INT, "All events.", False),
        Column("is_engaged", B, "At least 2 page views or any purchase.", False),
        Column("bounced", B, "Not engaged.", False),
        Column("converted", B, "Has a purchase.", False),
        Column("revenue", DEC, "Purchase revenue in the reporting currency (events without a rate left out).", False, reporting_money=True),
        Column("landing_page", S, "page_url of the first page view."),
        Column("exit_page", S, "page_url of the last page view."),
        Column("device", S, "First known device."),
        Column("country", S, "First known country."),
        Column("channel", S, "Channel of the first event.", False),
        Column("funnel_step", INT, "Furthest ordered step: 0 none, 1 page_view, 2 then add_to_cart, 3 then purchase.", False),
    ),
    partition_by="session_start",
    cluster_by=("session_id",),
)

GOLD_FUNNEL_HOURLY = Table(
    "gold_funnel_hourly",
    "gold",
    "Sessions by start hour reaching page_view, then add_to_cart, then purchase, in that order.",
    (
        Column("hour", TS, "Hour the sessions started in.", False),
        Column("sessions", INT, "Sessions started.", False),
        Column("viewed", INT, "Sessions with a page view.", False),
        Column("added_to_cart", INT, "...then an add_to_cart.", False),
        Column("purchased", INT, "...then a purchase.", False),
    ),
    partition_by="hour",
)

GOLD_TOP_PAGES_HOURLY = Table(
    "gold_top_pages_hourly",
    "gold",
    "Page views per page and hour, ranked.",
    (
        Column("hour", TS, "Hour of the page views.", False),
        Column("page_url", S, "Page.", False),
        Column("page_views", INT, "page_view events.", False),
        Column("unique_users", INT, "Exact distinct users.", False),
        Column("rank", INT, "1 = most viewed in the hour (ties by page_url).", False),
    ),
    partition_by="hour",
)

GOLD_TOP_PRODUCTS_DAILY = Table(
    "gold_top_products_daily",
    "gold",
    "Commerce per product and day, ranked by revenue.",
    (
        Column("day", D, "UTC date.", False),
        Column("product_id", S, "Product.", False),
        Column("views", INT, "page_view events with the product.", False),
        Column("add_to_carts", INT, "add_to_cart events.", False),
        Column("purchases", INT, "purchase events.", False),
        Column("units", INT, "Units purchased.", False),
        Column("revenue", DEC, "Purchase revenue in the reporting currency (events without a rate left out).", False, reporting_money=True),
        Column("rank", INT, "1 = highest revenue of the day (ties by purchases, views, product_id).", False),
    ),
    partition_by="day",
)

GOLD_REVENUE_DAILY = Table(
    "gold_revenue_daily",
    "gold",
    "Money per UTC day and currency: gross, refunded and net, in the currency and in the reporting currency.",
    (
        Column("day", D, "UTC date.", False),
        Column("currency", S, "ISO 4217 code the events were in (a missing code counts as the reporting currency).", False),
        Column("purchases", INT, "purchase events.", False),
        Column("refunds", INT, "refund events.", False),
        Column("revenue", DEC, "Purchase revenue in `currency`.", False),
        Column("refunded", DEC, "Refunded amount in `currency` (positive).", False),
        Column("net_revenue", DEC, "revenue - refunded, in `currency`.", False),
        Column(
            "reporting_net_revenue", DEC, "net_revenue in the reporting currency; null when no event of the day had a rate.", reporting_money=True
        ),
        Column("unconverted_events", INT, "Purchases and refunds without a rate for their date.", False),
    ),
    partition_by="day",
)

FX_RATES = Table(
    "fx_rates",
    "ops",
    "Exchange rates from pipeline.fx_rates_file: one unit of `currency` is worth `rate` units of the reporting currency.",
    (
        Column("currency", S, "ISO 4217 code.", False),
        Column("rate_date", D, "UTC date the rate applies to (gaps in the file are filled with the previous rate).", False),
        Column("rate", DEC, "Units of the reporting currency per unit of `currency`.", False),
    ),
)

PIPELINE_FILES = Table(
    "pipeline_files",
    "ops",
    "The file ledger: every landing file consumed or rejected, once (a large file's row advances with each slice).",
    (
        Column("source_file", S, "Path relative to the landing root (bytes that are not UTF-8 spelled \\xNN).", False),
        Column("size_bytes", INT, "Size when read.", False),
        Column("modified_at", TS, "Modification time when read.", False),
        Column("lines", INT, "Data lines read (CSV headers excluded).", False),
        Column("batch_id", INT, "Batch that consumed it.", False),
        # Nullable: warehouses created before file-level rejection get the column added empty.
        Column(
            "status",
            S,
            "consumed (read into bronze), partial (a large file read in slices, not all committed yet: see offset_bytes) "
            "or rejected (not read, see reason); null in older rows: consumed.",
        ),
        Column("reason", S, "Why a rejected file was not read: name_not_utf8, symlink, symlink_loop, permission_denied, unreadable, name_reused."),
        Column(
            "offset_bytes",
            INT,
            "A file read in slices (engine.file_chunk_bytes): bytes committed so far, where the next slice starts "
            "(its size once consumed); null for a file read whole in one batch.",
        ),
        Column("offset_line", INT, "A file read in slices: the last physical line number committed so far; null for a file read whole."),
    ),
)

PIPELINE_BATCHES = Table(
    "pipeline_batches",
    "ops",
    "The batch ledger: one row per committed micro-batch.",
    (
        Column("batch_id", INT, "Sequential batch id.", False),
        Column("engine", S, "Engine that ran the batch.", False),
        Column("files", SL, "Files recorded in the ledger (consumed or rejected).", False),
        Column("bytes", INT, "Raw bytes read.", False),
        Column("input_lines", INT, "Data lines read.", False),
        Column("bronze_rows", INT, "Rows appended to bronze.", False),
        Column("quarantined", INT, "Rows appended to quarantine.", False),
        Column("silver_inserted", INT, "New silver rows.", False),
        Column("duplicates", INT, "Valid rows dropped as duplicates (in the batch or already in silver).", False),
        Column("min_event_ts", TS, "Oldest event time inserted."),
        Column("max_event_ts", TS, "Newest event time inserted."),
        Column("started_at", TS, "Batch start (UTC).", False),
        Column("committed_at", TS, "Commit time (UTC).", False),
        Column("read_s", DBL, "Seconds reading files.", False),
        Column("transform_s", DBL, "Seconds parsing and validating.", False),
        Column("commit_s", DBL, "Seconds in the warehouse transaction.", False),
        Column("max_event_lag_s", DBL, "committed_at - oldest event time inserted."),
        Column("unconverted_revenue_events", INT, "Inserted purchases and refunds whose currency had no rate for their date."),
        Column("damaged_values", J, "Attributes set to NULL because they were damaged, by reason, e.g. {\"mangled_number:category_id\": 3}."),
        Column(
            "offset_bytes",
            INT,
            "A batch that read a slice of one large file: the byte offset in it where the batch stopped (the next "
            "slice starts there); null when the batch read whole files.",
        ),
        Column("offset_line", INT, "A batch that read a slice of one large file: the last physical line number it read; null otherwise."),
    ),
)

DQ_RESULTS = Table(
    "dq_results",
    "ops",
    "Data-quality results: one row per Great Expectations expectation evaluated on one window of one layer.",
    (
        Column("run_id", S, "Validation run (one per window and layer).", False),
        Column("window_start", TS, "Start of the validated window (UTC): event time for silver and gold, ingest time for bronze.", False),
        Column("window_end", TS, "End of the window, exclusive (an hour, or shorter in the demo).", False),
        Column("layer", S, "bronze, silver or gold.", False),
        Column("suite", S, "Expectation suite, <layer>.<asset>.", False),
        Column("expectation", S, "GX expectation type, e.g. expect_column_values_to_be_unique.", False),
        Column("column_name", S, "Column (or columns, comma-separated) the expectation is about."),
        Column("kwargs", J, "The expectation's arguments as JSON."),
        Column("success", B, "Whether the expectation held.", False),
        Column("severity", S, "critical, warning or info (GX severity); a critical failure fails `clickstream validate`.", False),
        Column("observed_value", J, "GX observed value as JSON, for table and aggregate expectations."),
        Column("element_count", INT, "Rows the expectation looked at."),
        Column("unexpected_count", INT, "Rows that broke it."),
        Column("unexpected_samples", J, "Up to `quality.samples` offending values as JSON."),
        Column("validated_at", TS, "When the run finished (UTC).", False),
    ),
    partition_by="window_start",
    cluster_by=("layer", "severity"),
)

ALERTS = Table(
    "alerts",
    "ops",
    "Monitoring alerts: one row per episode of a condition, from when it opens until it resolves.",
    (
        Column("alert_id", S, "Episode id.", False),
        Column("dedup_key", S, "What the alert is about, e.g. volume:events:drop; one open episode per key.", False),
        Column("alert_type", S, "volume, freshness, metric, schema_drift, quarantine, rejected_files, unconverted_revenue or data_quality.", False),
        Column("severity", S, "critical, warning or info.", False),
        Column("status", S, "open, renotified (still open, notified again) or resolved.", False),
        Column("subject", S, "What was measured, e.g. events, revenue, price, malformed_json."),
        Column("message", S, "Human summary of the latest observation.", False),
        Column("observed", DBL, "Latest observed value."),
        Column("expected", DBL, "Expected value (baseline median or threshold)."),
        Column("details", J, "Detector specifics as JSON (window, baseline spread, findings)."),
        Column("opened_at", TS, "When the episode opened (UTC).", False),
        Column("last_seen_at", TS, "Latest check that still saw the condition (UTC).", False),
        Column("last_notified_at", TS, "Latest notification (UTC)."),
        Column("notify_count", INT, "Trigger and re-notify notifications sent.", False),
        Column("resolved_at", TS, "When the condition cleared (UTC); null while open."),
        Column("notified_channels", SL, "Channels that accepted the latest notification."),
        Column("failed_channels", SL, "Channels that gave up on the latest notification after retries."),
    ),
    partition_by="opened_at",
    cluster_by=("status", "alert_type"),
)

BRONZE_TABLES = (BRONZE, QUARANTINE)
GOLD_TABLES = (GOLD_KPI_MINUTE, GOLD_SESSIONS, GOLD_FUNNEL_HOURLY, GOLD_TOP_PAGES_HOURLY, GOLD_TOP_PRODUCTS_DAILY, GOLD_REVENUE_DAILY)
OPS_TABLES = (PIPELINE_FILES, PIPELINE_BATCHES, DQ_RESULTS, ALERTS, FX_RATES)
ALL_TABLES: tuple[Table, ...] = (*BRONZE_TABLES, SILVER, *GOLD_TABLES, *OPS_TABLES)
TABLES_BY_NAME = {t.name: t for t in ALL_TABLES}
