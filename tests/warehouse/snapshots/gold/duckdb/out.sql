DELETE FROM gold_kpi_minute WHERE window_start IN (SELECT DISTINCT date_trunc('minute', event_ts) FROM new_silver);

INSERT INTO gold_kpi_minute
SELECT date_trunc('minute', event_ts) AS window_start,
  count(*) AS events,
  sum(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS page_views,
  sum(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS add_to_carts,
  sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  count(DISTINCT user_id) AS unique_users,
  count(DISTINCT session_id) AS unique_sessions,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN reporting_revenue END), CAST(0 AS DECIMAL(38, 4))) AS revenue
FROM silver_events
WHERE event_ts >= TIMESTAMP '2026-11-25 10:17:00.000000' AND event_ts < TIMESTAMP '2026-11-25 12:03:00.000000' AND date_trunc('minute', event_ts) IN (SELECT DISTINCT date_trunc('minute', event_ts) FROM new_silver)
GROUP BY 1;

CREATE OR REPLACE TEMP TABLE touched_sessions AS
SELECT n.session_id, n.lo AS new_lo, n.hi AS new_hi, g.session_start AS old_start, g.session_end AS old_end,
  coalesce(n.lo <= g.session_end, false) AS late
FROM (SELECT session_id, min(event_ts) AS lo, max(event_ts) AS hi FROM new_silver GROUP BY session_id) n
LEFT JOIN gold_sessions g ON g.session_id = n.session_id;

SELECT min(old_start), max(old_start), min(CASE WHEN late THEN least(new_lo, old_start) END), max(CASE WHEN late THEN greatest(new_hi, old_end) END) FROM touched_sessions;

CREATE OR REPLACE TEMP TABLE sessions_new AS
WITH scope AS (SELECT * FROM (SELECT session_id, event_id, event_ts, event_type, user_id, page_url, device, country, channel, reporting_revenue FROM new_silver WHERE session_id IN (SELECT session_id FROM touched_sessions WHERE NOT late) UNION ALL SELECT session_id, event_id, event_ts, event_type, user_id, page_url, device, country, channel, reporting_revenue FROM silver_events WHERE event_ts >= TIMESTAMP '2026-11-25 09:00:00.000000' AND event_ts < TIMESTAMP '2026-11-25 12:30:00.000000' AND session_id IN (SELECT session_id FROM touched_sessions WHERE late))),
viewed AS (
  SELECT *, min(CASE WHEN event_type = 'page_view' THEN event_ts END) OVER (PARTITION BY session_id) AS t_view,
    min(CASE WHEN event_type = 'add_to_cart' THEN event_ts END) OVER (PARTITION BY session_id) AS t_any_cart,
    row_number() OVER (PARTITION BY session_id ORDER BY event_ts, event_id) AS nth
  FROM scope
),
carted AS (
  SELECT *, min(CASE WHEN event_type = 'add_to_cart' AND event_ts >= t_view THEN event_ts END)
      OVER (PARTITION BY session_id) AS t_cart,
    min(CASE WHEN event_type = 'page_view' THEN nth END) OVER (PARTITION BY session_id) AS first_view_nth,
    max(CASE WHEN event_type = 'page_view' THEN nth END) OVER (PARTITION BY session_id) AS last_view_nth,
    min(CASE WHEN device IS NOT NULL THEN nth END) OVER (PARTITION BY session_id) AS first_device_nth,
    min(CASE WHEN country IS NOT NULL THEN nth END) OVER (PARTITION BY session_id) AS first_country_nth
  FROM viewed
),
agg AS (
  SELECT session_id,
    max(CASE WHEN nth = 1 THEN user_id END) AS user_id,
    min(event_ts) AS session_start,
    max(event_ts) AS session_end,
    sum(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS page_views,
    count(*) AS events,
    sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    coalesce(sum(CASE WHEN event_type = 'purchase' THEN reporting_revenue END), CAST(0 AS DECIMAL(38, 4))) AS revenue,
    max(CASE WHEN nth = first_view_nth THEN page_url END) AS landing_page,
    max(CASE WHEN nth = last_view_nth THEN page_url END) AS exit_page,
    max(CASE WHEN nth = first_device_nth THEN device END) AS device,
    max(CASE WHEN nth = first_country_nth THEN country END) AS country,
    max(CASE WHEN nth = 1 THEN channel END) AS channel,
    max(t_view) AS t_view,
    max(t_cart) AS t_cart,
    max(t_any_cart) AS t_any_cart,
    max(CASE WHEN event_type = 'purchase' AND event_ts >= t_cart THEN 1 ELSE 0 END) AS purchased_after_cart,
    max(CASE WHEN event_type = 'purchase' AND event_ts >= t_any_cart THEN 1 ELSE 0 END) AS purchased_after_any_cart
  FROM carted
  GROUP BY session_id
),
steps AS (
  SELECT *, CASE WHEN purchased_after_cart = 1 THEN 3 WHEN t_cart IS NOT NULL THEN 2 WHEN t_view IS NOT NULL THEN 1 ELSE 0 END
    AS funnel_step
  FROM agg
)
SELECT a.session_id,
  CASE WHEN g.session_id IS NOT NULL THEN g.user_id ELSE a.user_id END AS user_id,
  CASE WHEN g.session_id IS NOT NULL THEN g.session_start ELSE a.session_start END AS session_start,
  a.session_end,
  date_diff('microsecond', CASE WHEN g.session_id IS NOT NULL THEN g.session_start ELSE a.session_start END, a.session_end) / 1000000.0 AS duration_s,
  CASE WHEN g.session_id IS NOT NULL THEN g.page_views + a.page_views ELSE a.page_views END AS page_views,
  CASE WHEN g.session_id IS NOT NULL THEN g.events + a.events ELSE a.events END AS events,
  CASE WHEN g.session_id IS NOT NULL THEN g.page_views + a.page_views ELSE a.page_views END >= 2 OR CASE WHEN g.session_id IS NOT NULL THEN g.converted OR a.purchases > 0 ELSE a.purchases > 0 END AS is_engaged,
  NOT (CASE WHEN g.session_id IS NOT NULL THEN g.page_views + a.page_views ELSE a.page_views END >= 2 OR CASE WHEN g.session_id IS NOT NULL THEN g.converted OR a.purchases > 0 ELSE a.purchases > 0 END) AS bounced,
  CASE WHEN g.session_id IS NOT NULL THEN g.converted OR a.purchases > 0 ELSE a.purchases > 0 END AS converted,
  CASE WHEN g.session_id IS NOT NULL THEN g.revenue + a.revenue ELSE a.revenue END AS revenue,
  CASE WHEN g.session_id IS NOT NULL THEN CASE WHEN g.page_views > 0 THEN g.landing_page ELSE a.landing_page END ELSE a.landing_page END AS landing_page,
  CASE WHEN g.session_id IS NOT NULL THEN CASE WHEN a.page_views > 0 THEN a.exit_page ELSE g.exit_page END ELSE a.exit_page END AS exit_page,
  CASE WHEN g.session_id IS NOT NULL THEN coalesce(g.device, a.device) ELSE a.device END AS device,
  CASE WHEN g.session_id IS NOT NULL THEN coalesce(g.country, a.country) ELSE a.country END AS country,
  CASE WHEN g.session_id IS NOT NULL THEN g.channel ELSE a.channel END AS channel,
  CASE WHEN g.session_id IS NOT NULL THEN CASE WHEN g.funnel_step = 3 THEN 3 WHEN g.funnel_step = 2 THEN CASE WHEN a.purchases > 0 THEN 3 ELSE 2 END WHEN g.funnel_step = 1 THEN CASE WHEN a.purchased_after_any_cart = 1 THEN 3 WHEN a.t_any_cart IS NOT NULL THEN 2 ELSE 1 END ELSE a.funnel_step END ELSE a.funnel_step END AS funnel_step
FROM steps a
JOIN touched_sessions t ON t.session_id = a.session_id
-- A continued session's old row, read only where the old rows start, so the scan is pruned.
LEFT JOIN (SELECT * FROM gold_sessions WHERE session_start >= TIMESTAMP '2026-11-25 09:00:00.000000' AND session_start < TIMESTAMP '2026-11-25 11:00:00.000000') g
  ON g.session_id = a.session_id AND NOT t.late;

DELETE FROM gold_sessions WHERE session_start >= TIMESTAMP '2026-11-25 09:00:00.000000' AND session_start < TIMESTAMP '2026-11-25 11:00:00.000000' AND session_id IN (SELECT session_id FROM touched_sessions WHERE old_start IS NOT NULL);

INSERT INTO gold_sessions SELECT * FROM sessions_new;

CREATE OR REPLACE TEMP TABLE touched_hours AS SELECT date_trunc('hour', old_start) AS h FROM touched_sessions WHERE old_start IS NOT NULL UNION SELECT date_trunc('hour', session_start) AS h FROM sessions_new;

DELETE FROM gold_funnel_hourly WHERE hour IN (SELECT h FROM touched_hours);

INSERT INTO gold_funnel_hourly
SELECT date_trunc('hour', session_start) AS hour,
  count(*) AS sessions,
  sum(CASE WHEN funnel_step >= 1 THEN 1 ELSE 0 END) AS viewed,
  sum(CASE WHEN funnel_step >= 2 THEN 1 ELSE 0 END) AS added_to_cart,
  sum(CASE WHEN funnel_step >= 3 THEN 1 ELSE 0 END) AS purchased
FROM gold_sessions
WHERE session_start >= (SELECT min(h) FROM touched_hours)
  AND session_start < (SELECT max(h) FROM touched_hours) + INTERVAL 1 HOUR
  AND date_trunc('hour', session_start) IN (SELECT h FROM touched_hours)
GROUP BY 1;

CREATE OR REPLACE TEMP TABLE gold_top_pages_hourly_merged AS WITH page_users AS (SELECT date_trunc('hour', event_ts) AS hour, page_url, user_id, count(*) AS views FROM new_silver WHERE event_type = 'page_view' AND page_url IS NOT NULL GROUP BY 1, 2, 3), delta AS (SELECT p.hour, p.page_url, sum(p.views) AS page_views, sum(CASE WHEN s.user_id IS NULL THEN 1 ELSE 0 END) AS unique_users FROM page_users p LEFT JOIN (SELECT DISTINCT date_trunc('hour', event_ts) AS hour, page_url, user_id FROM silver_events WHERE event_ts >= TIMESTAMP '2026-11-25 10:00:00.000000' AND event_ts < TIMESTAMP '2026-11-25 13:00:00.000000' AND event_type = 'page_view' AND page_url IS NOT NULL AND batch_id <> 7 AND user_id IN (SELECT user_id FROM page_users) AND date_trunc('hour', event_ts) IN (SELECT hour FROM page_users)) s ON s.hour = p.hour AND s.page_url = p.page_url AND s.user_id = p.user_id GROUP BY 1, 2) SELECT *, row_number() OVER (PARTITION BY hour ORDER BY page_views DESC, page_url) AS rank FROM (SELECT hour, page_url, sum(page_views) AS page_views, sum(unique_users) AS unique_users FROM (SELECT hour, page_url, page_views, unique_users FROM gold_top_pages_hourly WHERE hour IN (SELECT hour FROM delta) UNION ALL SELECT hour, page_url, page_views, unique_users FROM delta) GROUP BY hour, page_url);

DELETE FROM gold_top_pages_hourly WHERE hour IN (SELECT hour FROM gold_top_pages_hourly_merged);

INSERT INTO gold_top_pages_hourly (hour, page_url, page_views, unique_users, rank) SELECT hour, page_url, page_views, unique_users, rank FROM gold_top_pages_hourly_merged;

CREATE OR REPLACE TEMP TABLE gold_top_products_daily_merged AS WITH delta AS (SELECT event_date AS day, product_id,
  sum(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS views,
  sum(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS add_to_carts,
  sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN coalesce(quantity, 1) END), 0) AS units,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN reporting_revenue END), CAST(0 AS DECIMAL(38, 4))) AS revenue
FROM new_silver
WHERE product_id IS NOT NULL
GROUP BY 1, 2) SELECT *, row_number() OVER (PARTITION BY day ORDER BY revenue DESC, purchases DESC, views DESC, product_id) AS rank FROM (SELECT day, product_id, sum(views) AS views, sum(add_to_carts) AS add_to_carts, sum(purchases) AS purchases, sum(units) AS units, sum(revenue) AS revenue FROM (SELECT day, product_id, views, add_to_carts, purchases, units, revenue FROM gold_top_products_daily WHERE day IN (SELECT day FROM delta) UNION ALL SELECT day, product_id, views, add_to_carts, purchases, units, revenue FROM delta) GROUP BY day, product_id);

DELETE FROM gold_top_products_daily WHERE day IN (SELECT day FROM gold_top_products_daily_merged);

INSERT INTO gold_top_products_daily (day, product_id, views, add_to_carts, purchases, units, revenue, rank) SELECT day, product_id, views, add_to_carts, purchases, units, revenue, rank FROM gold_top_products_daily_merged;

CREATE OR REPLACE TEMP TABLE gold_revenue_daily_merged AS WITH delta AS (SELECT event_date AS day, coalesce(currency, 'USD') AS currency,
  sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  sum(CASE WHEN event_type = 'refund' THEN 1 ELSE 0 END) AS refunds,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN revenue END), CAST(0 AS DECIMAL(38, 4))) AS revenue,
  coalesce(sum(CASE WHEN event_type = 'refund' THEN -revenue END), CAST(0 AS DECIMAL(38, 4))) AS refunded,
  coalesce(sum(revenue), CAST(0 AS DECIMAL(38, 4))) AS net_revenue,
  sum(reporting_revenue) AS reporting_net_revenue,
  sum(CASE WHEN reporting_revenue IS NULL THEN 1 ELSE 0 END) AS unconverted_events
FROM new_silver
WHERE revenue IS NOT NULL
GROUP BY 1, 2) SELECT day, currency, sum(purchases) AS purchases, sum(refunds) AS refunds, sum(revenue) AS revenue, sum(refunded) AS refunded, sum(net_revenue) AS net_revenue, sum(reporting_net_revenue) AS reporting_net_revenue, sum(unconverted_events) AS unconverted_events FROM (SELECT day, currency, purchases, refunds, revenue, refunded, net_revenue, reporting_net_revenue, unconverted_events FROM gold_revenue_daily WHERE day IN (SELECT day FROM delta) UNION ALL SELECT day, currency, purchases, refunds, revenue, refunded, net_revenue, reporting_net_revenue, unconverted_events FROM delta) GROUP BY day, currency;

DELETE FROM gold_revenue_daily WHERE day IN (SELECT day FROM gold_revenue_daily_merged);

INSERT INTO gold_revenue_daily (day, currency, purchases, refunds, revenue, refunded, net_revenue, reporting_net_revenue, unconverted_events) SELECT day, currency, purchases, refunds, revenue, refunded, net_revenue, reporting_net_revenue, unconverted_events FROM gold_revenue_daily_merged;
