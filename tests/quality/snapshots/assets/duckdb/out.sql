-- bronze fact landed_files
SELECT count(*) FROM pipeline_files f JOIN pipeline_batches b USING (batch_id) WHERE b.started_at >= TIMESTAMP '2026-11-25 10:00:00.000000' AND b.started_at < TIMESTAMP '2026-11-25 11:00:00.000000';

-- bronze asset bronze_columns
SELECT * FROM bronze_events LIMIT 0;

-- bronze asset bronze_events
SELECT left(raw_line, 120) AS raw_line, source_file, line_number FROM bronze_events WHERE ingested_at >= TIMESTAMP '2026-11-25 10:00:00.000000' AND ingested_at < TIMESTAMP '2026-11-25 11:00:00.000000';

-- bronze asset bronze_quarantine_rate
SELECT b.n AS bronze_rows, q.n AS quarantined, CAST(q.n AS DOUBLE) / nullif(b.n, 0) AS quarantine_rate
FROM (SELECT count(*) AS n FROM bronze_events WHERE ingested_at >= TIMESTAMP '2026-11-25 10:00:00.000000' AND ingested_at < TIMESTAMP '2026-11-25 11:00:00.000000') b,
     (SELECT count(*) AS n FROM quarantine_events WHERE ingested_at >= TIMESTAMP '2026-11-25 10:00:00.000000' AND ingested_at < TIMESTAMP '2026-11-25 11:00:00.000000') q;

-- silver asset silver_events
WITH ledger AS (
  SELECT batch_id, started_at,
         max(max_event_ts) OVER (ORDER BY batch_id NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_before
  FROM pipeline_batches)
SELECT s.event_id, s.event_ts, s.event_type, s.user_id, s.session_id, CAST(s.price AS DOUBLE) AS price, s.quantity, s.currency, s.country,
  CAST(date_diff('microsecond', s.event_ts, l.started_at) AS DOUBLE) / 1e6 + 300.0 AS future_margin_s,
  CAST(date_diff('microsecond', l.watermark_before, s.event_ts) AS DOUBLE) / 1e6 + 259200.0 AS late_margin_s
FROM silver_events s LEFT JOIN ledger l USING (batch_id)
WHERE s.event_ts >= TIMESTAMP '2026-11-25 10:00:00.000000' AND s.event_ts < TIMESTAMP '2026-11-25 11:00:00.000000';

-- gold fact silver_rows
SELECT count(*) FROM silver_events WHERE event_ts >= TIMESTAMP '2026-11-25 10:00:00.000000' AND event_ts < TIMESTAMP '2026-11-25 11:00:00.000000';

-- gold asset gold_kpi_minute
SELECT window_start, CAST(events AS BIGINT) AS events, CAST(page_views AS BIGINT) AS page_views, CAST(add_to_carts AS BIGINT) AS add_to_carts, CAST(purchases AS BIGINT) AS purchases, CAST(unique_users AS BIGINT) AS unique_users, CAST(unique_sessions AS BIGINT) AS unique_sessions, CAST(revenue AS DOUBLE) AS revenue FROM gold_kpi_minute WHERE window_start >= TIMESTAMP '2026-11-25 10:00:00.000000' AND window_start < TIMESTAMP '2026-11-25 11:00:00.000000';

-- gold asset gold_funnel_hourly
SELECT hour, sessions, viewed, added_to_cart, purchased,
  CAST(purchased AS DOUBLE) / nullif(sessions, 0) AS conversion_rate
FROM gold_funnel_hourly WHERE hour >= date_trunc('hour', TIMESTAMP '2026-11-25 10:00:00.000000') AND hour < TIMESTAMP '2026-11-25 11:00:00.000000';

-- gold asset gold_reconciliation
WITH s AS (
  SELECT date_trunc('minute', event_ts) AS window_start, count(*) AS events, count(*) FILTER (WHERE event_type = 'page_view') AS page_views, count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts, count(*) FILTER (WHERE event_type = 'purchase') AS purchases, count(DISTINCT user_id) AS unique_users, count(DISTINCT session_id) AS unique_sessions, coalesce(sum(reporting_revenue) FILTER (WHERE event_type = 'purchase'), 0) AS revenue
  FROM silver_events WHERE event_ts >= TIMESTAMP '2026-11-25 10:00:00.000000' AND event_ts < TIMESTAMP '2026-11-25 11:00:00.000000' GROUP BY 1),
g AS (SELECT * FROM gold_kpi_minute WHERE window_start >= TIMESTAMP '2026-11-25 10:00:00.000000' AND window_start < TIMESTAMP '2026-11-25 11:00:00.000000')
SELECT coalesce(g.window_start, s.window_start) AS window_start, CAST(coalesce(g.events, 0) AS DOUBLE) AS gold_events, CAST(coalesce(s.events, 0) AS DOUBLE) AS silver_events, CAST(coalesce(g.page_views, 0) AS DOUBLE) AS gold_page_views, CAST(coalesce(s.page_views, 0) AS DOUBLE) AS silver_page_views, CAST(coalesce(g.add_to_carts, 0) AS DOUBLE) AS gold_add_to_carts, CAST(coalesce(s.add_to_carts, 0) AS DOUBLE) AS silver_add_to_carts, CAST(coalesce(g.purchases, 0) AS DOUBLE) AS gold_purchases, CAST(coalesce(s.purchases, 0) AS DOUBLE) AS silver_purchases, CAST(coalesce(g.unique_users, 0) AS DOUBLE) AS gold_unique_users, CAST(coalesce(s.unique_users, 0) AS DOUBLE) AS silver_unique_users, CAST(coalesce(g.unique_sessions, 0) AS DOUBLE) AS gold_unique_sessions, CAST(coalesce(s.unique_sessions, 0) AS DOUBLE) AS silver_unique_sessions, CAST(coalesce(g.revenue, 0) AS DOUBLE) AS gold_revenue, CAST(coalesce(s.revenue, 0) AS DOUBLE) AS silver_revenue
FROM g FULL OUTER JOIN s ON g.window_start = s.window_start;

