-- bronze fact landed_files
SELECT
  COUNT(*)
FROM `my-project`.`clickstream_ops`.`pipeline_files` AS f
JOIN `my-project`.`clickstream_ops`.`pipeline_batches` AS b
  USING (batch_id)
WHERE
  b.started_at >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
  AND b.started_at < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- bronze asset bronze_columns
SELECT
  *
FROM `my-project`.`clickstream_bronze`.`bronze_events`
LIMIT 0;

-- bronze asset bronze_events
SELECT
  LEFT(raw_line, 120) AS raw_line,
  source_file,
  line_number
FROM `my-project`.`clickstream_bronze`.`bronze_events`
WHERE
  ingested_at >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
  AND ingested_at < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- bronze asset bronze_quarantine_rate
SELECT
  b.n AS bronze_rows,
  q.n AS quarantined,
  CAST(q.n AS FLOAT64) / NULLIF(b.n, 0) AS quarantine_rate
FROM (
  SELECT
    COUNT(*) AS n
  FROM `my-project`.`clickstream_bronze`.`bronze_events`
  WHERE
    ingested_at >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
    AND ingested_at < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP)
) AS b, (
  SELECT
    COUNT(*) AS n
  FROM `my-project`.`clickstream_bronze`.`quarantine_events`
  WHERE
    ingested_at >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
    AND ingested_at < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP)
) AS q;

-- silver asset silver_events
WITH ledger AS (
  SELECT
    batch_id,
    started_at,
    MAX(max_event_ts) OVER (ORDER BY batch_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_before
  FROM `my-project`.`clickstream_ops`.`pipeline_batches`
)
SELECT
  s.event_id,
  s.event_ts,
  s.event_type,
  s.user_id,
  s.session_id,
  CAST(s.price AS FLOAT64) AS price,
  s.quantity,
  s.currency,
  s.country,
  CAST(TIMESTAMP_DIFF(l.started_at, s.event_ts, MICROSECOND) AS FLOAT64) / 1e6 + 300.0 AS future_margin_s,
  CAST(TIMESTAMP_DIFF(s.event_ts, l.watermark_before, MICROSECOND) AS FLOAT64) / 1e6 + 259200.0 AS late_margin_s
FROM `my-project`.`clickstream_silver`.`silver_events` AS s
LEFT JOIN ledger AS l
  USING (batch_id)
WHERE
  s.event_ts >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
  AND s.event_ts < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- gold fact silver_rows
SELECT
  COUNT(*)
FROM `my-project`.`clickstream_silver`.`silver_events`
WHERE
  event_ts >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
  AND event_ts < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- gold asset gold_kpi_minute
SELECT
  window_start,
  CAST(events AS INT64) AS events,
  CAST(page_views AS INT64) AS page_views,
  CAST(add_to_carts AS INT64) AS add_to_carts,
  CAST(purchases AS INT64) AS purchases,
  CAST(unique_users AS INT64) AS unique_users,
  CAST(unique_sessions AS INT64) AS unique_sessions,
  CAST(revenue AS FLOAT64) AS revenue
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  window_start >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
  AND window_start < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- gold asset gold_funnel_hourly
SELECT
  hour,
  sessions,
  viewed,
  added_to_cart,
  purchased,
  CAST(purchased AS FLOAT64) / NULLIF(sessions, 0) AS conversion_rate
FROM `my-project`.`clickstream_gold`.`gold_funnel_hourly`
WHERE
  hour >= TIMESTAMP_TRUNC(CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP), HOUR)
  AND hour < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP);

-- gold asset gold_reconciliation
WITH s AS (
  SELECT
    TIMESTAMP_TRUNC(event_ts, MINUTE) AS window_start,
    COUNT(*) AS events,
    COUNTIF(event_type = 'page_view') AS page_views,
    COUNTIF(event_type = 'add_to_cart') AS add_to_carts,
    COUNTIF(event_type = 'purchase') AS purchases,
    COUNT(DISTINCT user_id) AS unique_users,
    COUNT(DISTINCT session_id) AS unique_sessions,
    COALESCE(SUM(IF(event_type = 'purchase', reporting_revenue, NULL)), 0) AS revenue
  FROM `my-project`.`clickstream_silver`.`silver_events`
  WHERE
    event_ts >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
    AND event_ts < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP)
  GROUP BY
    1
), g AS (
  SELECT
    *
  FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
  WHERE
    window_start >= CAST('2026-11-25 10:00:00.000000' AS TIMESTAMP)
    AND window_start < CAST('2026-11-25 11:00:00.000000' AS TIMESTAMP)
)
SELECT
  COALESCE(g.window_start, s.window_start) AS window_start,
  CAST(COALESCE(g.events, 0) AS FLOAT64) AS gold_events,
  CAST(COALESCE(s.events, 0) AS FLOAT64) AS silver_events,
  CAST(COALESCE(g.page_views, 0) AS FLOAT64) AS gold_page_views,
  CAST(COALESCE(s.page_views, 0) AS FLOAT64) AS silver_page_views,
  CAST(COALESCE(g.add_to_carts, 0) AS FLOAT64) AS gold_add_to_carts,
  CAST(COALESCE(s.add_to_carts, 0) AS FLOAT64) AS silver_add_to_carts,
  CAST(COALESCE(g.purchases, 0) AS FLOAT64) AS gold_purchases,
  CAST(COALESCE(s.purchases, 0) AS FLOAT64) AS silver_purchases,
  CAST(COALESCE(g.unique_users, 0) AS FLOAT64) AS gold_unique_users,
  CAST(COALESCE(s.unique_users, 0) AS FLOAT64) AS silver_unique_users,
  CAST(COALESCE(g.unique_sessions, 0) AS FLOAT64) AS gold_unique_sessions,
  CAST(COALESCE(s.unique_sessions, 0) AS FLOAT64) AS silver_unique_sessions,
  CAST(COALESCE(g.revenue, 0) AS FLOAT64) AS gold_revenue,
  CAST(COALESCE(s.revenue, 0) AS FLOAT64) AS silver_revenue
FROM g
FULL OUTER JOIN s
  ON g.window_start = s.window_start;

