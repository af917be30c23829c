SELECT coalesce(sum("events"), 0) AS c0 FROM gold_kpi_minute WHERE "window_start" >= ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT coalesce(sum("revenue"), 0) AS c0 FROM gold_kpi_minute WHERE "window_start" >= ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT count(*) AS c0 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT count(DISTINCT "user_id") AS c0 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT 1.0 * (coalesce(sum(CASE WHEN "converted" THEN 1 ELSE 0 END), 0)) / NULLIF((count(*)), 0) AS c0 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT coalesce(sum("revenue"), 0) AS c0 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT date_trunc('minute', "window_start") AS c0, coalesce(sum("events"), 0) AS c1, coalesce(sum("page_views"), 0) AS c2 FROM gold_kpi_minute WHERE "window_start" >= ? GROUP BY 1 ORDER BY 1 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT date_trunc('minute', "window_start") AS c0, coalesce(sum("unique_users"), 0) AS c1, coalesce(sum("unique_sessions"), 0) AS c2 FROM gold_kpi_minute WHERE "window_start" >= ? GROUP BY 1 ORDER BY 1 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT coalesce(sum(CASE WHEN "funnel_step" >= 1 THEN 1 ELSE 0 END), 0) AS c0, coalesce(sum(CASE WHEN "funnel_step" >= 2 THEN 1 ELSE 0 END), 0) AS c1, coalesce(sum(CASE WHEN "funnel_step" >= 3 THEN 1 ELSE 0 END), 0) AS c2 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ?
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT date_trunc('minute', "window_start") AS c0, coalesce(sum("revenue"), 0) AS c1 FROM gold_kpi_minute WHERE "window_start" >= ? GROUP BY 1 ORDER BY 1 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT "channel" AS c0, count(*) AS c1 FROM gold_sessions WHERE "session_start" >= ? AND "device" = ? GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT 10
-- params: [datetime.datetime(2026, 11, 24, 12, 7), 'mobile'];

SELECT "page_url" AS c0, coalesce(sum("page_views"), 0) AS c1 FROM gold_top_pages_hourly WHERE "hour" >= ? GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT 10
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT "product_id" AS c0, coalesce(sum("revenue"), 0) AS c1, coalesce(sum("purchases"), 0) AS c2 FROM gold_top_products_daily WHERE "day" >= CAST(? AS DATE) GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT 10
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT date_trunc('minute', "committed_at") AS c0, max("max_event_lag_s") AS c1 FROM pipeline_batches WHERE "committed_at" >= ? GROUP BY 1 ORDER BY 1 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT "layer" AS c0, count(*) AS c1, coalesce(sum(CASE WHEN "success" THEN 0 ELSE 1 END), 0) AS c2, coalesce(sum(CASE WHEN NOT "success" AND "severity" = 'critical' THEN 1 ELSE 0 END), 0) AS c3 FROM dq_results WHERE "window_start" >= ? GROUP BY 1 ORDER BY 1 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT "alert_type" AS c0, "severity" AS c1, count(*) AS c2, coalesce(sum(CASE WHEN "status" <> 'resolved' THEN 1 ELSE 0 END), 0) AS c3 FROM alerts WHERE "opened_at" >= ? GROUP BY 1, 2 ORDER BY 1 ASC, 2 ASC
-- params: [datetime.datetime(2026, 11, 24, 12, 7)];

SELECT DISTINCT "device" FROM gold_sessions WHERE "device" IS NOT NULL ORDER BY 1 LIMIT 200
-- params: [];

SELECT DISTINCT "country" FROM gold_sessions WHERE "country" IS NOT NULL ORDER BY 1 LIMIT 200
-- params: [];

SELECT DISTINCT "channel" FROM gold_sessions WHERE "channel" IS NOT NULL ORDER BY 1 LIMIT 200
-- params: [];

SELECT coalesce(max(batch_id), 0), max(committed_at) FROM pipeline_batches
-- params: [];
