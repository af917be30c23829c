SELECT
  COALESCE(SUM(`events`), 0) AS c0
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP);

SELECT
  COALESCE(SUM(`revenue`), 0) AS c0
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP);

SELECT
  COUNT(*) AS c0
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile';

SELECT
  COUNT(DISTINCT `user_id`) AS c0
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile';

SELECT
  1.0 * (
    COALESCE(SUM(CASE WHEN `converted` THEN 1 ELSE 0 END), 0)
  ) / NULLIF((
    COUNT(*)
  ), 0) AS c0
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile';

SELECT
  COALESCE(SUM(`revenue`), 0) AS c0
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile';

SELECT
  TIMESTAMP_TRUNC(`window_start`, MINUTE) AS c0,
  COALESCE(SUM(`events`), 0) AS c1,
  COALESCE(SUM(`page_views`), 0) AS c2
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  1 ASC NULLS LAST;

SELECT
  TIMESTAMP_TRUNC(`window_start`, MINUTE) AS c0,
  COALESCE(SUM(`unique_users`), 0) AS c1,
  COALESCE(SUM(`unique_sessions`), 0) AS c2
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  1 ASC NULLS LAST;

SELECT
  COALESCE(SUM(CASE WHEN `funnel_step` >= 1 THEN 1 ELSE 0 END), 0) AS c0,
  COALESCE(SUM(CASE WHEN `funnel_step` >= 2 THEN 1 ELSE 0 END), 0) AS c1,
  COALESCE(SUM(CASE WHEN `funnel_step` >= 3 THEN 1 ELSE 0 END), 0) AS c2
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile';

SELECT
  TIMESTAMP_TRUNC(`window_start`, MINUTE) AS c0,
  COALESCE(SUM(`revenue`), 0) AS c1
FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  1 ASC NULLS LAST;

SELECT
  `channel` AS c0,
  COUNT(*) AS c1
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  `session_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
  AND `device` = 'mobile'
GROUP BY
  1
ORDER BY
  2 DESC,
  1 ASC NULLS LAST
LIMIT 10;

SELECT
  `page_url` AS c0,
  COALESCE(SUM(`page_views`), 0) AS c1
FROM `my-project`.`clickstream_gold`.`gold_top_pages_hourly`
WHERE
  `hour` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  2 DESC,
  1 ASC NULLS LAST
LIMIT 10;

SELECT
  `product_id` AS c0,
  COALESCE(SUM(`revenue`), 0) AS c1,
  COALESCE(SUM(`purchases`), 0) AS c2
FROM `my-project`.`clickstream_gold`.`gold_top_products_daily`
WHERE
  `day` >= CAST(CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP) AS DATE)
GROUP BY
  1
ORDER BY
  2 DESC,
  1 ASC NULLS LAST
LIMIT 10;

SELECT
  TIMESTAMP_TRUNC(`committed_at`, MINUTE) AS c0,
  MAX(`max_event_lag_s`) AS c1
FROM `my-project`.`clickstream_ops`.`pipeline_batches`
WHERE
  `committed_at` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  1 ASC NULLS LAST;

SELECT
  `layer` AS c0,
  COUNT(*) AS c1,
  COALESCE(SUM(CASE WHEN `success` THEN 0 ELSE 1 END), 0) AS c2,
  COALESCE(SUM(CASE WHEN NOT `success` AND `severity` = 'critical' THEN 1 ELSE 0 END), 0) AS c3
FROM `my-project`.`clickstream_ops`.`dq_results`
WHERE
  `window_start` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1
ORDER BY
  1 ASC NULLS LAST;

SELECT
  `alert_type` AS c0,
  `severity` AS c1,
  COUNT(*) AS c2,
  COALESCE(SUM(CASE WHEN `status` <> 'resolved' THEN 1 ELSE 0 END), 0) AS c3
FROM `my-project`.`clickstream_ops`.`alerts`
WHERE
  `opened_at` >= CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)
GROUP BY
  1,
  2
ORDER BY
  1 ASC NULLS LAST,
  2 ASC NULLS LAST;

SELECT DISTINCT
  `device`
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  NOT `device` IS NULL
ORDER BY
  1 NULLS LAST
LIMIT 200;

SELECT DISTINCT
  `country`
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  NOT `country` IS NULL
ORDER BY
  1 NULLS LAST
LIMIT 200;

SELECT DISTINCT
  `channel`
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  NOT `channel` IS NULL
ORDER BY
  1 NULLS LAST
LIMIT 200;

SELECT
  COALESCE(MAX(batch_id), 0),
  MAX(committed_at)
FROM `my-project`.`clickstream_ops`.`pipeline_batches`;
