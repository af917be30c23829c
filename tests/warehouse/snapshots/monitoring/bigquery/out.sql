-- source.series_range
SELECT
  MIN(window_start),
  MAX(window_start)
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`;

-- source.series
SELECT
  window_start,
  events,
  page_views,
  purchases,
  CAST(revenue AS FLOAT64),
  unique_users
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  window_start >= ? AND window_start < ?;

-- source.newest_read
SELECT
  MAX(modified_at)
FROM `my-project`.`clickstream_ops`.`pipeline_files`;

-- source.read_files
SELECT
  source_file
FROM `my-project`.`clickstream_ops`.`pipeline_files`
WHERE
  EXISTS(
    SELECT
      1
    FROM UNNEST(?) AS _col
    WHERE
      _col = source_file
  );

-- source.lag
SELECT
  MAX(TIMESTAMP_DIFF(b.committed_at, f.modified_at, MICROSECOND))
FROM `my-project`.`clickstream_ops`.`pipeline_batches` AS b
JOIN `my-project`.`clickstream_ops`.`pipeline_files` AS f
  USING (batch_id)
WHERE
  b.committed_at >= ?;

-- source.field_sample
SELECT
  raw_line
FROM `my-project`.`clickstream_bronze`.`bronze_events`
WHERE
  ingested_at >= ? AND ingested_at < ? AND STARTS_WITH(LTRIM(raw_line, ' '), '{')
ORDER BY
  ingested_at DESC,
  source_file NULLS LAST,
  line_number NULLS LAST
LIMIT 20000;

-- source.quarantine_lines
SELECT
  COALESCE(SUM(CASE WHEN started_at >= ? THEN bronze_rows ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN started_at < ? THEN bronze_rows ELSE 0 END), 0)
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  started_at >= ?;

-- source.quarantine_recent
SELECT
  reason,
  COUNT(*)
FROM `my-project`.`clickstream_bronze`.`quarantine_events`
WHERE
  ingested_at >= ?
GROUP BY
  reason;

-- source.baseline_lines
SELECT
  DIV(TIMESTAMP_DIFF(started_at, ?, MICROSECOND), ?) AS w,
  SUM(bronze_rows) AS n
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  started_at >= ? AND started_at < ?
GROUP BY
  w
HAVING
  SUM(bronze_rows) > 0;

-- source.baseline_quarantine
SELECT
  DIV(TIMESTAMP_DIFF(ingested_at, ?, MICROSECOND), ?) AS w,
  reason,
  COUNT(*) AS c
FROM `my-project`.`clickstream_bronze`.`quarantine_events`
WHERE
  ingested_at >= ? AND ingested_at < ?
GROUP BY
  w,
  reason;

-- source.rejected_files
WITH r AS (
  SELECT
    f.reason,
    f.source_file,
    ROW_NUMBER() OVER (PARTITION BY f.reason ORDER BY f.source_file NULLS LAST) AS n,
    COUNT(*) OVER (PARTITION BY f.reason) AS c
  FROM `my-project`.`clickstream_ops`.`pipeline_files` AS f
  JOIN `my-project`.`clickstream_ops`.`pipeline_batches` AS b
    USING (batch_id)
  WHERE
    f.status = 'rejected' AND b.committed_at >= ?
)
SELECT
  reason,
  c,
  source_file
FROM r
WHERE
  n <= 20000
ORDER BY
  reason NULLS LAST,
  source_file NULLS LAST;

-- source.unconverted_revenue
SELECT
  COALESCE(SUM(unconverted_revenue_events), 0)
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  committed_at >= ?;

-- source.unconverted_currencies
SELECT DISTINCT
  s.currency
FROM `my-project`.`clickstream_silver`.`silver_events` AS s
JOIN `my-project`.`clickstream_ops`.`pipeline_batches` AS b
  USING (batch_id)
WHERE
  b.committed_at >= ?
  AND b.unconverted_revenue_events > 0
  AND NOT s.revenue IS NULL
  AND s.reporting_revenue IS NULL
ORDER BY
  1 NULLS LAST
LIMIT 10;

-- source.dq_failures
WITH runs AS (
  SELECT
    layer,
    run_id,
    MAX(window_start) AS w,
    MAX(validated_at) AS v
  FROM `my-project`.`clickstream_ops`.`dq_results`
  WHERE
    validated_at >= ?
  GROUP BY
    layer,
    run_id
), ranked AS (
  SELECT
    layer,
    run_id,
    ROW_NUMBER() OVER (PARTITION BY layer ORDER BY w DESC, v DESC, run_id DESC) AS n
  FROM runs
)
SELECT
  d.suite,
  d.expectation,
  d.column_name,
  d.window_start,
  d.observed_value,
  d.unexpected_count
FROM `my-project`.`clickstream_ops`.`dq_results` AS d
JOIN ranked AS r
  ON r.layer = d.layer AND r.run_id = d.run_id
WHERE
  r.n = 1 AND NOT d.success AND d.severity = 'critical';

-- lifecycle.open_episodes
SELECT
  alert_id,
  dedup_key,
  alert_type,
  severity,
  status,
  subject,
  message,
  observed,
  expected,
  details,
  opened_at,
  last_notified_at,
  resolved_at,
  last_seen_at
FROM `my-project`.`clickstream_ops`.`alerts`
WHERE
  status <> 'resolved';

-- lifecycle.recently_resolved
SELECT
  alert_id,
  dedup_key,
  alert_type,
  severity,
  status,
  subject,
  message,
  observed,
  expected,
  details,
  opened_at,
  last_notified_at,
  resolved_at,
  last_seen_at
FROM `my-project`.`clickstream_ops`.`alerts`
WHERE
  status = 'resolved'
  AND resolved_at >= ?
  AND EXISTS(
    SELECT
      1
    FROM UNNEST(?) AS _col
    WHERE
      _col = dedup_key
  )
ORDER BY
  resolved_at NULLS LAST;

-- lifecycle.insert
INSERT INTO `my-project`.`clickstream_ops`.`alerts` (
  alert_id,
  dedup_key,
  alert_type,
  severity,
  status,
  subject,
  message,
  observed,
  expected,
  details,
  opened_at,
  last_seen_at,
  last_notified_at,
  notify_count,
  resolved_at,
  notified_channels,
  failed_channels
)
VALUES
  (?, ?, ?, ?, ?, ?, ?, ?, ?, PARSE_JSON(?), ?, ?, ?, ?, ?, ?, ?);

-- lifecycle.refresh
UPDATE `my-project`.`clickstream_ops`.`alerts` SET severity = ?, subject = ?, message = ?, observed = ?, expected = ?, details = PARSE_JSON(?), last_seen_at = ?
WHERE
  alert_id = ?;

-- lifecycle.refresh_notified
UPDATE `my-project`.`clickstream_ops`.`alerts` SET severity = ?, subject = ?, message = ?, observed = ?, expected = ?, details = PARSE_JSON(?), last_seen_at = ?, status = 'renotified', last_notified_at = ?, notify_count = notify_count + 1
WHERE
  alert_id = ?;

-- lifecycle.reopen
UPDATE `my-project`.`clickstream_ops`.`alerts` SET status = 'open', resolved_at = NULL
WHERE
  alert_id = ?;

-- lifecycle.resolve
UPDATE `my-project`.`clickstream_ops`.`alerts` SET status = 'resolved', resolved_at = ?
WHERE
  alert_id = ?;

-- lifecycle.delivery
UPDATE `my-project`.`clickstream_ops`.`alerts` SET notified_channels = ?, failed_channels = ?
WHERE
  alert_id = ?;

-- history.series
SELECT
  window_start,
  events,
  page_views,
  purchases,
  CAST(revenue AS FLOAT64),
  unique_users
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  window_start >= ? AND window_start < ?;

-- history.batches
SELECT
  batch_id,
  started_at,
  committed_at,
  bronze_rows,
  min_event_ts,
  max_event_ts
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  started_at <= ?
ORDER BY
  batch_id NULLS LAST;

-- history.files
SELECT
  batch_id,
  modified_at
FROM `my-project`.`clickstream_ops`.`pipeline_files`
WHERE
  modified_at <= ?;

-- history.quarantine
SELECT
  batch_id,
  reason,
  COUNT(*) AS n
FROM `my-project`.`clickstream_bronze`.`quarantine_events`
WHERE
  ingested_at >= ? AND ingested_at <= ?
GROUP BY
  batch_id,
  reason;

-- history.unconverted
SELECT
  batch_id,
  unconverted_revenue_events
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  committed_at >= ? AND started_at <= ? AND unconverted_revenue_events > 0;

-- history.unconverted_currencies
SELECT DISTINCT
  b.batch_id,
  s.currency
FROM `my-project`.`clickstream_silver`.`silver_events` AS s
JOIN `my-project`.`clickstream_ops`.`pipeline_batches` AS b
  ON s.batch_id = b.batch_id
WHERE
  b.committed_at >= ?
  AND b.started_at <= ?
  AND b.unconverted_revenue_events > 0
  AND NOT s.revenue IS NULL
  AND s.reporting_revenue IS NULL;

-- history.field_lines
SELECT
  batch_id,
  raw_line
FROM (
  SELECT
    batch_id,
    raw_line,
    ROW_NUMBER() OVER (PARTITION BY batch_id ORDER BY source_file NULLS LAST, line_number NULLS LAST) AS n
  FROM `my-project`.`clickstream_bronze`.`bronze_events`
  WHERE
    ingested_at >= ? AND ingested_at < ? AND STARTS_WITH(LTRIM(raw_line, ' '), '{')
) AS s
WHERE
  n <= 20000;

