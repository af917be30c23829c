DELETE FROM `my-project`.`clickstream_gold`.`gold_kpi_minute`
WHERE
  window_start IN (
    SELECT DISTINCT
      TIMESTAMP_TRUNC(event_ts, MINUTE)
    FROM new_silver
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_kpi_minute`
SELECT
  TIMESTAMP_TRUNC(event_ts, MINUTE) AS window_start,
  COUNT(*) AS events,
  SUM(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS page_views,
  SUM(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS add_to_carts,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
  COUNT(DISTINCT user_id) AS unique_users,
  COUNT(DISTINCT session_id) AS unique_sessions,
  COALESCE(
    SUM(CASE WHEN event_type = 'purchase' THEN reporting_revenue END),
    CAST(0 AS NUMERIC)
  ) AS revenue
FROM `my-project`.`clickstream_silver`.`silver_events`
WHERE
  event_ts >= minute_lo
  AND event_ts < minute_hi
  AND TIMESTAMP_TRUNC(event_ts, MINUTE) IN (
    SELECT DISTINCT
      TIMESTAMP_TRUNC(event_ts, MINUTE)
    FROM new_silver
  )
GROUP BY
  1;

CREATE OR REPLACE TEMPORARY TABLE touched_sessions AS
SELECT
  n.session_id,
  n.lo AS new_lo,
  n.hi AS new_hi,
  g.session_start AS old_start,
  g.session_end AS old_end,
  COALESCE(n.lo <= g.session_end, FALSE) AS late
FROM (
  SELECT
    session_id,
    MIN(event_ts) AS lo,
    MAX(event_ts) AS hi
  FROM new_silver
  GROUP BY
    session_id
) AS n
LEFT JOIN `my-project`.`clickstream_gold`.`gold_sessions` AS g
  ON g.session_id = n.session_id;

SET old_lo = (SELECT
  MIN(old_start)
FROM touched_sessions);

SET old_hi = TIMESTAMP_ADD((SELECT
  MAX(old_start)
FROM touched_sessions), INTERVAL 1 MICROSECOND);

SET sess_lo = (SELECT
  MIN(CASE WHEN late THEN LEAST(new_lo, old_start) END)
FROM touched_sessions);

SET sess_hi = TIMESTAMP_ADD((SELECT
  MAX(CASE WHEN late THEN GREATEST(new_hi, old_end) END)
FROM touched_sessions), INTERVAL 1 MICROSECOND);

CREATE OR REPLACE TEMPORARY TABLE sessions_new AS
WITH scope AS (
  SELECT
    *
  FROM (
    SELECT
      session_id,
      event_id,
      event_ts,
      event_type,
      user_id,
      page_url,
      device,
      country,
      channel,
      reporting_revenue
    FROM new_silver
    WHERE
      session_id IN (
        SELECT
          session_id
        FROM touched_sessions
        WHERE
          NOT late
      )
    UNION ALL
    SELECT
      session_id,
      event_id,
      event_ts,
      event_type,
      user_id,
      page_url,
      device,
      country,
      channel,
      reporting_revenue
    FROM `my-project`.`clickstream_silver`.`silver_events`
    WHERE
      event_ts >= sess_lo
      AND event_ts < sess_hi
      AND session_id IN (
        SELECT
          session_id
        FROM touched_sessions
        WHERE
          late
      )
  )
), viewed AS (
  SELECT
    *,
    MIN(CASE WHEN event_type = 'page_view' THEN event_ts END) OVER (PARTITION BY session_id) AS t_view,
    MIN(CASE WHEN event_type = 'add_to_cart' THEN event_ts END) OVER (PARTITION BY session_id) AS t_any_cart,
    ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY event_ts NULLS LAST, event_id NULLS LAST) AS nth
  FROM scope
), carted AS (
  SELECT
    *,
    MIN(CASE WHEN event_type = 'add_to_cart' AND event_ts >= t_view THEN event_ts END) OVER (PARTITION BY session_id) AS t_cart,
    MIN(CASE WHEN event_type = 'page_view' THEN nth END) OVER (PARTITION BY session_id) AS first_view_nth,
    MAX(CASE WHEN event_type = 'page_view' THEN nth END) OVER (PARTITION BY session_id) AS last_view_nth,
    MIN(CASE WHEN NOT device IS NULL THEN nth END) OVER (PARTITION BY session_id) AS first_device_nth,
    MIN(CASE WHEN NOT country IS NULL THEN nth END) OVER (PARTITION BY session_id) AS first_country_nth
  FROM viewed
), agg AS (
  SELECT
    session_id,
    MAX(CASE WHEN nth = 1 THEN user_id END) AS user_id,
    MIN(event_ts) AS session_start,
    MAX(event_ts) AS session_end,
    SUM(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS page_views,
    COUNT(*) AS events,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COALESCE(
      SUM(CASE WHEN event_type = 'purchase' THEN reporting_revenue END),
      CAST(0 AS NUMERIC)
    ) AS revenue,
    MAX(CASE WHEN nth = first_view_nth THEN page_url END) AS landing_page,
    MAX(CASE WHEN nth = last_view_nth THEN page_url END) AS exit_page,
    MAX(CASE WHEN nth = first_device_nth THEN device END) AS device,
    MAX(CASE WHEN nth = first_country_nth THEN country END) AS country,
    MAX(CASE WHEN nth = 1 THEN channel END) AS channel,
    MAX(t_view) AS t_view,
    MAX(t_cart) AS t_cart,
    MAX(t_any_cart) AS t_any_cart,
    MAX(CASE WHEN event_type = 'purchase' AND event_ts >= t_cart THEN 1 ELSE 0 END) AS purchased_after_cart,
    MAX(CASE WHEN event_type = 'purchase' AND event_ts >= t_any_cart THEN 1 ELSE 0 END) AS purchased_after_any_cart
  FROM carted
  GROUP BY
    session_id
), steps AS (
  SELECT
    *,
    CASE
      WHEN purchased_after_cart = 1
      THEN 3
      WHEN NOT t_cart IS NULL
      THEN 2
      WHEN NOT t_view IS NULL
      THEN 1
      ELSE 0
    END AS funnel_step
  FROM agg
)
SELECT
  a.session_id,
  CASE WHEN NOT g.session_id IS NULL THEN g.user_id ELSE a.user_id END AS user_id,
  CASE WHEN NOT g.session_id IS NULL THEN g.session_start ELSE a.session_start END AS session_start,
  a.session_end,
  TIMESTAMP_DIFF(
    a.session_end,
    CASE WHEN NOT g.session_id IS NULL THEN g.session_start ELSE a.session_start END,
    MICROSECOND
  ) / 1000000.0 AS duration_s,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN g.page_views + a.page_views
    ELSE a.page_views
  END AS page_views,
  CASE WHEN NOT g.session_id IS NULL THEN g.events + a.events ELSE a.events END AS events,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN g.page_views + a.page_views
    ELSE a.page_views
  END >= 2
  OR CASE
    WHEN NOT g.session_id IS NULL
    THEN g.converted OR a.purchases > 0
    ELSE a.purchases > 0
  END AS is_engaged,
  NOT (
    CASE
      WHEN NOT g.session_id IS NULL
      THEN g.page_views + a.page_views
      ELSE a.page_views
    END >= 2
    OR CASE
      WHEN NOT g.session_id IS NULL
      THEN g.converted OR a.purchases > 0
      ELSE a.purchases > 0
    END
  ) AS bounced,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN g.converted OR a.purchases > 0
    ELSE a.purchases > 0
  END AS converted,
  CASE WHEN NOT g.session_id IS NULL THEN g.revenue + a.revenue ELSE a.revenue END AS revenue,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN CASE WHEN g.page_views > 0 THEN g.landing_page ELSE a.landing_page END
    ELSE a.landing_page
  END AS landing_page,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN CASE WHEN a.page_views > 0 THEN a.exit_page ELSE g.exit_page END
    ELSE a.exit_page
  END AS exit_page,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN COALESCE(g.device, a.device)
    ELSE a.device
  END AS device,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN COALESCE(g.country, a.country)
    ELSE a.country
  END AS country,
  CASE WHEN NOT g.session_id IS NULL THEN g.channel ELSE a.channel END AS channel,
  CASE
    WHEN NOT g.session_id IS NULL
    THEN CASE
      WHEN g.funnel_step = 3
      THEN 3
      WHEN g.funnel_step = 2
      THEN CASE WHEN a.purchases > 0 THEN 3 ELSE 2 END
      WHEN g.funnel_step = 1
      THEN CASE
        WHEN a.purchased_after_any_cart = 1
        THEN 3
        WHEN NOT a.t_any_cart IS NULL
        THEN 2
        ELSE 1
      END
      ELSE a.funnel_step
    END
    ELSE a.funnel_step
  END AS funnel_step
FROM steps AS a
JOIN touched_sessions AS t
  ON t.session_id = a.session_id
/* A continued session's old row, read only where the old rows start, so the scan is pruned. */
LEFT JOIN (
  SELECT
    *
  FROM `my-project`.`clickstream_gold`.`gold_sessions`
  WHERE
    session_start >= old_lo AND session_start < old_hi
) AS g
  ON g.session_id = a.session_id AND NOT t.late;

DELETE FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  session_start >= old_lo
  AND session_start < old_hi
  AND session_id IN (
    SELECT
      session_id
    FROM touched_sessions
    WHERE
      NOT old_start IS NULL
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_sessions`
SELECT
  *
FROM sessions_new;

CREATE OR REPLACE TEMPORARY TABLE touched_hours AS
SELECT
  TIMESTAMP_TRUNC(old_start, HOUR) AS h
FROM touched_sessions
WHERE
  NOT old_start IS NULL
UNION DISTINCT
SELECT
  TIMESTAMP_TRUNC(session_start, HOUR) AS h
FROM sessions_new;

DELETE FROM `my-project`.`clickstream_gold`.`gold_funnel_hourly`
WHERE
  hour IN (
    SELECT
      h
    FROM touched_hours
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_funnel_hourly`
SELECT
  TIMESTAMP_TRUNC(session_start, HOUR) AS hour,
  COUNT(*) AS sessions,
  SUM(CASE WHEN funnel_step >= 1 THEN 1 ELSE 0 END) AS viewed,
  SUM(CASE WHEN funnel_step >= 2 THEN 1 ELSE 0 END) AS added_to_cart,
  SUM(CASE WHEN funnel_step >= 3 THEN 1 ELSE 0 END) AS purchased
FROM `my-project`.`clickstream_gold`.`gold_sessions`
WHERE
  session_start >= (
    SELECT
      MIN(h)
    FROM touched_hours
  )
  AND session_start < (
    SELECT
      MAX(h)
    FROM touched_hours
  ) + INTERVAL '1' HOUR
  AND TIMESTAMP_TRUNC(session_start, HOUR) IN (
    SELECT
      h
    FROM touched_hours
  )
GROUP BY
  1;

CREATE OR REPLACE TEMPORARY TABLE gold_top_pages_hourly_merged AS
WITH page_users AS (
  SELECT
    TIMESTAMP_TRUNC(event_ts, HOUR) AS hour,
    page_url,
    user_id,
    COUNT(*) AS views
  FROM new_silver
  WHERE
    event_type = 'page_view' AND NOT page_url IS NULL
  GROUP BY
    1,
    2,
    3
), delta AS (
  SELECT
    p.hour,
    p.page_url,
    SUM(p.views) AS page_views,
    SUM(CASE WHEN s.user_id IS NULL THEN 1 ELSE 0 END) AS unique_users
  FROM page_users AS p
  LEFT JOIN (
    SELECT DISTINCT
      TIMESTAMP_TRUNC(event_ts, HOUR) AS hour,
      page_url,
      user_id
    FROM `my-project`.`clickstream_silver`.`silver_events`
    WHERE
      event_ts >= hour_lo
      AND event_ts < hour_hi
      AND event_type = 'page_view'
      AND NOT page_url IS NULL
      AND batch_id <> 7
      AND user_id IN (
        SELECT
          user_id
        FROM page_users
      )
      AND TIMESTAMP_TRUNC(event_ts, HOUR) IN (
        SELECT
          hour
        FROM page_users
      )
  ) AS s
    ON s.hour = p.hour AND s.page_url = p.page_url AND s.user_id = p.user_id
  GROUP BY
    1,
    2
)
SELECT
  *,
  ROW_NUMBER() OVER (PARTITION BY hour ORDER BY page_views DESC, page_url NULLS LAST) AS rank
FROM (
  SELECT
    hour,
    page_url,
    SUM(page_views) AS page_views,
    SUM(unique_users) AS unique_users
  FROM (
    SELECT
      hour,
      page_url,
      page_views,
      unique_users
    FROM `my-project`.`clickstream_gold`.`gold_top_pages_hourly`
    WHERE
      hour IN (
        SELECT
          hour
        FROM delta
      )
    UNION ALL
    SELECT
      hour,
      page_url,
      page_views,
      unique_users
    FROM delta
  )
  GROUP BY
    hour,
    page_url
);

DELETE FROM `my-project`.`clickstream_gold`.`gold_top_pages_hourly`
WHERE
  hour IN (
    SELECT
      hour
    FROM gold_top_pages_hourly_merged
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_top_pages_hourly` (
  hour,
  page_url,
  page_views,
  unique_users,
  rank
)
SELECT
  hour,
  page_url,
  page_views,
  unique_users,
  rank
FROM gold_top_pages_hourly_merged;

CREATE OR REPLACE TEMPORARY TABLE gold_top_products_daily_merged AS
WITH delta AS (
  SELECT
    event_date AS day,
    product_id,
    SUM(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS add_to_carts,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN COALESCE(quantity, 1) END), 0) AS units,
    COALESCE(
      SUM(CASE WHEN event_type = 'purchase' THEN reporting_revenue END),
      CAST(0 AS NUMERIC)
    ) AS revenue
  FROM new_silver
  WHERE
    NOT product_id IS NULL
  GROUP BY
    1,
    2
)
SELECT
  *,
  ROW_NUMBER() OVER (
    PARTITION BY day
    ORDER BY revenue DESC, purchases DESC, views DESC, product_id NULLS LAST
  ) AS rank
FROM (
  SELECT
    day,
    product_id,
    SUM(views) AS views,
    SUM(add_to_carts) AS add_to_carts,
    SUM(purchases) AS purchases,
    SUM(units) AS units,
    SUM(revenue) AS revenue
  FROM (
    SELECT
      day,
      product_id,
      views,
      add_to_carts,
      purchases,
      units,
      revenue
    FROM `my-project`.`clickstream_gold`.`gold_top_products_daily`
    WHERE
      day IN (
        SELECT
          day
        FROM delta
      )
    UNION ALL
    SELECT
      day,
      product_id,
      views,
      add_to_carts,
      purchases,
      units,
      revenue
    FROM delta
  )
  GROUP BY
    day,
    product_id
);

DELETE FROM `my-project`.`clickstream_gold`.`gold_top_products_daily`
WHERE
  day IN (
    SELECT
      day
    FROM gold_top_products_daily_merged
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_top_products_daily` (
  day,
  product_id,
  views,
  add_to_carts,
  purchases,
  units,
  revenue,
  rank
)
SELECT
  day,
  product_id,
  views,
  add_to_carts,
  purchases,
  units,
  revenue,
  rank
FROM gold_top_products_daily_merged;

CREATE OR REPLACE TEMPORARY TABLE gold_revenue_daily_merged AS
WITH delta AS (
  SELECT
    event_date AS day,
    COALESCE(currency, 'USD') AS currency,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
    SUM(CASE WHEN event_type = 'refund' THEN 1 ELSE 0 END) AS refunds,
    COALESCE(SUM(CASE WHEN event_type = 'purchase' THEN revenue END), CAST(0 AS NUMERIC)) AS revenue,
    COALESCE(SUM(CASE WHEN event_type = 'refund' THEN -revenue END), CAST(0 AS NUMERIC)) AS refunded,
    COALESCE(SUM(revenue), CAST(0 AS NUMERIC)) AS net_revenue,
    SUM(reporting_revenue) AS reporting_net_revenue,
    SUM(CASE WHEN reporting_revenue IS NULL THEN 1 ELSE 0 END) AS unconverted_events
  FROM new_silver
  WHERE
    NOT revenue IS NULL
  GROUP BY
    1,
    2
)
SELECT
  day,
  currency,
  SUM(purchases) AS purchases,
  SUM(refunds) AS refunds,
  SUM(revenue) AS revenue,
  SUM(refunded) AS refunded,
  SUM(net_revenue) AS net_revenue,
  SUM(reporting_net_revenue) AS reporting_net_revenue,
  SUM(unconverted_events) AS unconverted_events
FROM (
  SELECT
    day,
    currency,
    purchases,
    refunds,
    revenue,
    refunded,
    net_revenue,
    reporting_net_revenue,
    unconverted_events
  FROM `my-project`.`clickstream_gold`.`gold_revenue_daily`
  WHERE
    day IN (
      SELECT
        day
      FROM delta
    )
  UNION ALL
  SELECT
    day,
    currency,
    purchases,
    refunds,
    revenue,
    refunded,
    net_revenue,
    reporting_net_revenue,
    unconverted_events
  FROM delta
)
GROUP BY
  day,
  currency;

DELETE FROM `my-project`.`clickstream_gold`.`gold_revenue_daily`
WHERE
  day IN (
    SELECT
      day
    FROM gold_revenue_daily_merged
  );

INSERT INTO `my-project`.`clickstream_gold`.`gold_revenue_daily` (
  day,
  currency,
  purchases,
  refunds,
  revenue,
  refunded,
  net_revenue,
  reporting_net_revenue,
  unconverted_events
)
SELECT
  day,
  currency,
  purchases,
  refunds,
  revenue,
  refunded,
  net_revenue,
  reporting_net_revenue,
  unconverted_events
FROM gold_revenue_daily_merged;
