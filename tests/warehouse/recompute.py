"""An independent, from-scratch recomputation of every gold table from silver.

Written separately from `clickstream.warehouse.gold` on purpose, with different SQL (time_bucket,
ROW_NUMBER picks, correlated EXISTS for the funnel), so a shared mistake is unlikely.
"""

from __future__ import annotations

import duckdb

# Gold adds only money converted into the reporting currency (silver.reporting_revenue).
REVENUE = "CASE WHEN event_type = 'purchase' THEN reporting_revenue END"

EXPECTED = {
    "gold_kpi_minute": f"""
SELECT time_bucket(INTERVAL 1 MINUTE, event_ts) AS window_start,
  count(*) AS events,
  count_if(event_type = 'page_view') AS page_views,
  count_if(event_type = 'add_to_cart') AS add_to_carts,
  count_if(event_type = 'purchase') AS purchases,
  count(DISTINCT user_id) AS unique_users,
  count(DISTINCT session_id) AS unique_sessions,
  coalesce(sum({REVENUE}), 0)::DECIMAL(18, 4) AS revenue
FROM silver_events GROUP BY ALL""",
    "gold_sessions": f"""
WITH ordered AS (
  SELECT *,
    row_number() OVER (PARTITION BY session_id ORDER BY event_ts, event_id) AS nth,
    row_number() OVER (PARTITION BY session_id, event_type = 'page_view' ORDER BY event_ts, event_id) AS nth_of_kind,
    row_number() OVER (PARTITION BY session_id, event_type = 'page_view' ORDER BY event_ts DESC, event_id DESC) AS nth_of_kind_desc,
    row_number() OVER (PARTITION BY session_id, device IS NULL ORDER BY event_ts, event_id) AS nth_device,
    row_number() OVER (PARTITION BY session_id, country IS NULL ORDER BY event_ts, event_id) AS nth_country
  FROM silver_events
),
first_view AS (SELECT session_id, min(event_ts) AS t FROM silver_events WHERE event_type = 'page_view' GROUP BY 1),
first_cart AS (
  SELECT s.session_id, min(s.event_ts) AS t FROM silver_events s JOIN first_view v USING (session_id)
  WHERE s.event_type = 'add_to_cart' AND s.event_ts >= v.t GROUP BY 1
),
bought AS (
  SELECT DISTINCT s.session_id FROM silver_events s JOIN first_cart c USING (session_id)
  WHERE s.event_type = 'purchase' AND s.event_ts >= c.t
)
SELECT o.session_id,
  max(CASE WHEN nth = 1 THEN user_id END) AS user_id,
  min(event_ts) AS session_start,
  max(event_ts) AS session_end,
  (epoch_us(max(event_ts)) - epoch_us(min(event_ts))) / 1000000.0 AS duration_s,
  count_if(event_type = 'page_view') AS page_views,
  count(*) AS events,
  count_if(event_type = 'page_view') > 1 OR count_if(event_type = 'purchase') > 0 AS is_engaged,
  count_if(event_type = 'page_view') < 2 AND count_if(event_type = 'purchase') = 0 AS bounced,
  count_if(event_type = 'purchase') > 0 AS converted,
  coalesce(sum({REVENUE}), 0)::DECIMAL(18, 4) AS revenue,
  max(CASE WHEN event_type = 'page_view' AND nth_of_kind = 1 THEN page_url END) AS landing_page,
  max(CASE WHEN event_type = 'page_view' AND nth_of_kind_desc = 1 THEN page_url END) AS exit_page,
  max(CASE WHEN device IS NOT NULL AND nth_device = 1 THEN device END) AS device,
  max(CASE WHEN country IS NOT NULL AND nth_country = 1 THEN country END) AS country,
  max(CASE WHEN nth = 1 THEN channel END) AS channel,
  CASE WHEN o.session_id IN (SELECT session_id FROM bought) THEN 3
       WHEN o.session_id IN (SELECT session_id FROM first_cart) THEN 2
       WHEN o.session_id IN (SELECT session_id FROM first_view) THEN 1 ELSE 0 END AS funnel_step
FROM ordered o GROUP BY o.session_id""",
    "gold_top_pages_hourly": """
SELECT *, row_number() OVER (PARTITION BY hour ORDER BY page_views DESC, page_url) AS rank FROM (
  SELECT time_bucket(INTERVAL 1 HOUR, event_ts) AS hour, page_url, count(*) AS page_views,
         count(DISTINCT user_id) AS unique_users
  FROM silver_events WHERE event_type = 'page_view' AND page_url IS NOT NULL GROUP BY ALL)""",
    "gold_top_products_daily": f"""
SELECT *, row_number() OVER (PARTITION BY day ORDER BY revenue DESC, purchases DESC, views DESC, product_id) AS rank
FROM (
  SELECT CAST(event_ts AS DATE) AS day, product_id,
    count_if(event_type = 'page_view') AS views,
    count_if(event_type = 'add_to_cart') AS add_to_carts,
    count_if(event_type = 'purchase') AS purchases,
    coalesce(sum(coalesce(quantity, 1)) FILTER (WHERE event_type = 'purchase'), 0) AS units,
    coalesce(sum({REVENUE}), 0)::DECIMAL(18, 4) AS revenue
  FROM silver_events WHERE product_id IS NOT NULL GROUP BY ALL)""",
}


def expected_funnel(con: duckdb.DuckDBPyConnection) -> str:
    """Funnel per start hour, from the independently recomputed sessions."""
    return f"""
SELECT time_bucket(INTERVAL 1 HOUR, session_start) AS hour, count(*) AS sessions,
  count_if(funnel_step >= 1) AS viewed, count_if(funnel_step >= 2) AS added_to_cart,
  count_if(funnel_step >= 3) AS purchased
FROM ({EXPECTED['gold_sessions']}) GROUP BY ALL"""


def expected_revenue_daily(reporting_currency: str) -> str:
    return f"""
SELECT event_date AS day, coalesce(currency, '{reporting_currency}') AS currency,
  count_if(event_type = 'purchase') AS purchases, count_if(event_type = 'refund') AS refunds,
  coalesce(sum(price * coalesce(quantity, 1)) FILTER (WHERE event_type = 'purchase'), 0)::DECIMAL(18, 4) AS revenue,
  coalesce(sum(price * coalesce(quantity, 1)) FILTER (WHERE event_type = 'refund'), 0)::DECIMAL(18, 4) AS refunded,
  (coalesce(sum(price * coalesce(quantity, 1)) FILTER (WHERE event_type = 'purchase'), 0)
   - coalesce(sum(price * coalesce(quantity, 1)) FILTER (WHERE event_type = 'refund'), 0))::DECIMAL(18, 4) AS net_revenue,
  sum(reporting_revenue)::DECIMAL(18, 4) AS reporting_net_revenue,
  count_if(reporting_revenue IS NULL) AS unconverted_events
FROM silver_events WHERE event_type IN ('purchase', 'refund') GROUP BY ALL"""


def converted_differences(con: duckdb.DuckDBPyConnection, reporting_currency: str) -> int:
    """Silver rows whose reporting_revenue is not revenue at the fx_rates rate of their currency and date."""
    return con.execute(
        f"""SELECT count(*) FROM silver_events s
LEFT JOIN fx_rates f ON f.currency = s.currency AND f.rate_date = CAST(s.event_ts AS DATE)
WHERE s.reporting_revenue IS DISTINCT FROM CASE
  WHEN s.event_type NOT IN ('purchase', 'refund') THEN NULL
  WHEN s.currency IS NULL OR s.currency = '{reporting_currency}' THEN s.revenue
  ELSE round(s.revenue * f.rate, 4) END
  OR s.revenue IS DISTINCT FROM CASE WHEN s.event_type = 'purchase' THEN s.price * coalesce(s.quantity, 1)
  WHEN s.event_type = 'refund' THEN -(s.price * coalesce(s.quantity, 1)) END"""
    ).fetchall()[0][0]


def gold_differences(con: duckdb.DuckDBPyConnection, reporting_currency: str = "USD") -> dict[str, tuple[int, int, int]]:
    """Per gold table: (rows, rows only in gold, rows only in the recompute); all zero diffs is correct."""
    queries = dict(EXPECTED, gold_funnel_hourly=expected_funnel(con), gold_revenue_daily=expected_revenue_daily(reporting_currency))
    out = {}
    for table, sql in queries.items():
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        only_gold = con.execute(f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL ({sql}))").fetchall()[0][0]
        only_expected = con.execute(f"SELECT count(*) FROM (({sql}) EXCEPT ALL SELECT * FROM {table})").fetchall()[0][0]
        out[table] = (rows, only_gold, only_expected)
    return out


def assert_gold_matches_silver(warehouse_path, reporting_currency: str = "USD") -> dict[str, int]:
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        diffs = gold_differences(con, reporting_currency)
        unconverted = converted_differences(con, reporting_currency)
    finally:
        con.close()
    assert unconverted == 0, f"{unconverted} silver rows whose reporting_revenue is not revenue at their date's rate"
    wrong = {t: d for t, d in diffs.items() if d[1] or d[2]}
    assert not wrong, f"gold differs from a recompute over silver (rows, only in gold, only in recompute): {wrong}"
    return {t: d[0] for t, d in diffs.items()}
