-- status.totals
SELECT
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_ops`.`pipeline_files`
    WHERE
      status IS DISTINCT FROM 'rejected' AND status IS DISTINCT FROM 'partial'
  ) AS files,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_ops`.`pipeline_files`
    WHERE
      status = 'rejected'
  ) AS rejected_files,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_ops`.`pipeline_files`
    WHERE
      status = 'partial'
  ) AS partial_files,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS batches,
  (
    SELECT
      COALESCE(SUM(input_lines), 0)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS input_lines,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_bronze`.`bronze_events`
  ) AS bronze,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_silver`.`silver_events`
  ) AS silver,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_bronze`.`quarantine_events`
  ) AS quarantine,
  (
    SELECT
      COALESCE(SUM(duplicates), 0)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS duplicates,
  (
    SELECT
      COALESCE(SUM(unconverted_revenue_events), 0)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS unconverted_revenue_events,
  (
    SELECT
      MAX(max_event_ts)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS watermark,
  (
    SELECT
      MAX(committed_at)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS last_commit;

-- status.quarantine_reasons
SELECT
  reason,
  COUNT(*) AS `rows`
FROM `my-project`.`clickstream_bronze`.`quarantine_events`
GROUP BY
  1
ORDER BY
  2 DESC,
  1 NULLS LAST;

-- status.recent_batches
SELECT
  batch_id,
  ARRAY_LENGTH(files) AS files,
  input_lines,
  silver_inserted,
  quarantined,
  duplicates,
  ROUND(read_s + transform_s + commit_s, 3) AS seconds,
  ROUND(max_event_lag_s, 1) AS max_lag_s,
  committed_at
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
ORDER BY
  batch_id DESC
LIMIT ?;

-- status.rejected_files
SELECT
  f.reason,
  f.source_file,
  f.size_bytes,
  f.modified_at,
  f.batch_id,
  b.committed_at
FROM `my-project`.`clickstream_ops`.`pipeline_files` AS f
LEFT JOIN `my-project`.`clickstream_ops`.`pipeline_batches` AS b
  ON b.batch_id = f.batch_id
WHERE
  f.status = 'rejected'
ORDER BY
  f.batch_id DESC,
  f.source_file NULLS LAST
LIMIT ?;

-- status.partial_files
SELECT
  source_file,
  offset_bytes AS read_bytes,
  size_bytes,
  ROUND(100.0 * offset_bytes / GREATEST(size_bytes, 1), 1) AS percent_read,
  lines,
  offset_line AS last_line,
  batch_id
FROM `my-project`.`clickstream_ops`.`pipeline_files`
WHERE
  status = 'partial'
ORDER BY
  source_file NULLS LAST
LIMIT ?;

-- monitor.alerts
SELECT
  opened_at AS opened,
  severity,
  alert_type AS type,
  status,
  resolved_at AS resolved,
  LEFT(message, 90) AS message
FROM `my-project`.`clickstream_ops`.`alerts`
ORDER BY
  CASE WHEN status = 'resolved' THEN 1 ELSE 0 END NULLS LAST,
  opened_at DESC
LIMIT ?;

-- monitor.open_alerts
SELECT
  COUNT(*)
FROM `my-project`.`clickstream_ops`.`alerts`
WHERE
  status <> 'resolved';

-- demo.latest gold minutes (gold_kpi_minute)
SELECT
  window_start AS minute_utc,
  events,
  page_views AS views,
  add_to_carts AS carts,
  purchases AS buys,
  unique_users AS users,
  unique_sessions AS sessions,
  ROUND(revenue, 2) AS revenue
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
ORDER BY
  window_start DESC
LIMIT 8;

-- demo.totals
SELECT
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_silver`.`silver_events`
  ) AS silver,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_bronze`.`quarantine_events`
  ) AS quarantine,
  (
    SELECT
      COALESCE(SUM(duplicates), 0)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS duplicates,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_gold`.`gold_sessions`
  ) AS sessions,
  (
    SELECT
      COUNT(*)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
  ) AS batches,
  (
    SELECT
      ROUND(MAX(max_event_lag_s), 1)
    FROM `my-project`.`clickstream_ops`.`pipeline_batches`
    WHERE
      batch_id > (
        SELECT
          MAX(batch_id) - 5
        FROM `my-project`.`clickstream_ops`.`pipeline_batches`
      )
  ) AS lag_s;

-- demo.data quality (dq_results, latest windows)
SELECT
  window_start AS window_utc,
  layer,
  COUNT(*) AS checks,
  SUM(CASE WHEN NOT success THEN 1 ELSE 0 END) AS failed,
  SUM(CASE WHEN NOT success AND severity = 'critical' THEN 1 ELSE 0 END) AS critical
FROM `my-project`.`clickstream_ops`.`dq_results`
GROUP BY
  window_utc,
  layer
ORDER BY
  window_start DESC,
  layer NULLS LAST
LIMIT 6;

-- demo.alerts (latest)
SELECT
  opened_at AS opened,
  severity,
  alert_type AS type,
  status,
  CASE WHEN LENGTH(message) > 90 THEN LEFT(message, 89) || '…' ELSE message END AS message
FROM `my-project`.`clickstream_ops`.`alerts`
ORDER BY
  CASE WHEN status = 'resolved' THEN 1 ELSE 0 END NULLS LAST,
  opened_at DESC
LIMIT 4;

