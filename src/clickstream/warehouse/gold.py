"""Gold SQL: update only the keys a batch touched, from the batch and the touched gold rows.

Every statement reads `new_silver` (the rows the batch inserted) to find the touched keys. What adds
up is added to the touched gold rows; what does not (a minute's distinct users, a late session) is
recomputed from silver inside an event-time range passed in as literals, so the scan is pruned by
DuckDB's zone maps (BigQuery: partitions) and work grows with the batch, not with history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clickstream.contract.render import DECIMAL_SUM_TYPE
from clickstream.sql import sql_str, sql_ts


@dataclass(frozen=True)
class TouchedRange:
    """Event-time bounds of silver that a recompute must read."""

    lo: datetime | str
    hi: datetime | str  # exclusive


def touched_ranges(min_ts: datetime, max_ts: datetime) -> tuple[TouchedRange, TouchedRange]:
    """Whole minutes and hours around the inserted events' time range (the gold that reads silver by them)."""
    minute_lo, minute_hi = min_ts.replace(second=0, microsecond=0), max_ts.replace(second=0, microsecond=0)
    hour_lo, hour_hi = minute_lo.replace(minute=0), minute_hi.replace(minute=0)
    return (
        TouchedRange(minute_lo, minute_hi + timedelta(minutes=1)),
        TouchedRange(hour_lo, hour_hi + timedelta(hours=1)),
    )


# The silver anti-join reads back this far before a batch's oldest candidate: an id sent again later,
# with a later time (Snowplow's transaction on a reloaded confirmation page), is still found.
REPEAT_LOOKBACK = timedelta(hours=6)


def _bound(value: datetime | str) -> str:
    # A datetime is a literal; a string is an SQL expression (a BigQuery script variable).
    return value if isinstance(value, str) else sql_ts(value)


def _between(col: str, r: TouchedRange) -> str:
    return f"{col} >= {_bound(r.lo)} AND {col} < {_bound(r.hi)}"


def _count_if(cond: str) -> str:
    return f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"


# Gold sums only converted money: amounts in different currencies are never added together.
_PURCHASE_REVENUE = f"coalesce(sum(CASE WHEN event_type = 'purchase' THEN reporting_revenue END), CAST(0 AS {DECIMAL_SUM_TYPE}))"


def converted_sql(reporting_currency: str, event: str = "c", rate: str = "f") -> str:
    """`reporting_revenue` of a candidate row joined to its fx_rates row (`rate`, NULL when none).

    A missing currency is taken to be the reporting currency, which needs no rate.
    """
    rc = sql_str(reporting_currency)
    return (
        f"CASE WHEN {event}.revenue IS NULL THEN NULL "
        f"WHEN {event}.currency IS NULL OR {event}.currency = {rc} THEN {event}.revenue "
        f"ELSE round({event}.revenue * {rate}.rate, 4) END"
    )


def fx_join_sql(event: str = "c", rate: str = "f", fx_table: str = "fx_rates") -> str:
    """The LEFT JOIN that finds a candidate's rate: its currency on its event date."""
    return f"LEFT JOIN {fx_table} {rate} ON {rate}.currency = {event}.currency AND {rate}.rate_date = {event}.event_date"


def unconverted_sql(new_silver: str = "new_silver") -> str:
    """Inserted purchases and refunds that have no converted revenue."""
    return f"SELECT count(*) FROM {new_silver} WHERE revenue IS NOT NULL AND reporting_revenue IS NULL"


def kpi_minute_sql(r: TouchedRange) -> list[str]:
    touched = "SELECT DISTINCT date_trunc('minute', event_ts) FROM new_silver"
    return [
        f"DELETE FROM gold_kpi_minute WHERE window_start IN ({touched})",
        f"""INSERT INTO gold_kpi_minute
SELECT date_trunc('minute', event_ts) AS window_start,
  count(*) AS events,
  {_count_if("event_type = 'page_view'")} AS page_views,
  {_count_if("event_type = 'add_to_cart'")} AS add_to_carts,
  {_count_if("event_type = 'purchase'")} AS purchases,
  count(DISTINCT user_id) AS unique_users,
  count(DISTINCT session_id) AS unique_sessions,
  {_PURCHASE_REVENUE} AS revenue
FROM silver_events
WHERE {_between("event_ts", r)} AND date_trunc('minute', event_ts) IN ({touched})
GROUP BY 1""",
    ]


# Over touched_sessions: the bounds of the old rows' starts (the rows a batch replaces), and the
# event-time range the late sessions' events can lie in (old and new bounds). NULL when none.
OLD_STARTS_LO, OLD_STARTS_HI = "min(old_start)", "max(old_start)"
LATE_LO = "min(CASE WHEN late THEN least(new_lo, old_start) END)"
LATE_HI = "max(CASE WHEN late THEN greatest(new_hi, old_end) END)"
NO_TIME = "CAST(NULL AS TIMESTAMP)"  # the bound of an empty set: every comparison with it is false


def sessions_prepare_sql() -> list[str]:
    """Touched sessions with their old bounds, and a query for the bounds `sessions_sql` takes.

    A session is continued when all its new events come after its old row's last event (the usual
    case, events arriving in order): its new row is the old row merged with the new events. It is
    late when a new event falls inside or before the old row's span: its events are read again.
    """
    return [
        """CREATE OR REPLACE TEMP TABLE touched_sessions AS
SELECT n.session_id, n.lo AS new_lo, n.hi AS new_hi, g.session_start AS old_start, g.session_end AS old_end,
  coalesce(n.lo <= g.session_end, false) AS late
FROM (SELECT session_id, min(event_ts) AS lo, max(event_ts) AS hi FROM new_silver GROUP BY session_id) n
LEFT JOIN gold_sessions g ON g.session_id = n.session_id""",
        f"SELECT {OLD_STARTS_LO}, {OLD_STARTS_HI}, {LATE_LO}, {LATE_HI} FROM touched_sessions",
    ]


def sessions_sql(old_starts: TouchedRange, late: TouchedRange) -> list[str]:
    """Replace the touched sessions' rows: `old_starts` bounds the old rows' starts, `late` the
    events of the late sessions (both prune their scans; an empty set gives NULL bounds)."""
    # "The first page view's page", "the first known device": each event's position in its session
    # (one sort), the position of the first / last qualifying event per session (unordered window
    # aggregates), then the value at that position. Portable, where DuckDB's first(x ORDER BY) is not.
    # The scope: a late session's events from silver; a new or continued session's from the batch.
    scope = (
        "SELECT * FROM (SELECT session_id, event_id, event_ts, event_type, user_id, page_url, device, country, channel, "
        "reporting_revenue FROM new_silver WHERE session_id IN (SELECT session_id FROM touched_sessions WHERE NOT late) "
        "UNION ALL SELECT session_id, event_id, event_ts, event_type, user_id, page_url, device, country, channel, "
        f"reporting_revenue FROM silver_events WHERE {_between('event_ts', late)} "
        "AND session_id IN (SELECT session_id FROM touched_sessions WHERE late))"
    )
    session = "PARTITION BY session_id"

    def pick(continued: str, fresh: str) -> str:
        # A continued session (its old row joined) merges; a new or late one is what its scope says.
        return f"CASE WHEN g.session_id IS NOT NULL THEN {continued} ELSE {fresh} END"

    start = pick("g.session_start", "a.session_start")
    views = pick("g.page_views + a.page_views", "a.page_views")
    converted = pick("g.converted OR a.purchases > 0", "a.purchases > 0")
    engaged = f"{views} >= 2 OR {converted}"
    # Every new event of a continued session comes after every old one: its old steps stand, and the
    # new events continue them.
    continued_step = (
        "CASE WHEN g.funnel_step = 3 THEN 3 "
        "WHEN g.funnel_step = 2 THEN CASE WHEN a.purchases > 0 THEN 3 ELSE 2 END "
        "WHEN g.funnel_step = 1 THEN CASE WHEN a.purchased_after_any_cart = 1 THEN 3 WHEN a.t_any_cart IS NOT NULL THEN 2 ELSE 1 END "
        "ELSE a.funnel_step END"
    )
    return [
        f"""CREATE OR REPLACE TEMP TABLE sessions_new AS
WITH scope AS ({scope}),
viewed AS (
  SELECT *, min(CASE WHEN event_type = 'page_view' THEN event_ts END) OVER ({session}) AS t_view,
    min(CASE WHEN event_type = 'add_to_cart' THEN event_ts END) OVER ({session}) AS t_any_cart,
    row_number() OVER ({session} ORDER BY event_ts, event_id) AS nth
  FROM scope
),
carted AS (
  SELECT *, min(CASE WHEN event_type = 'add_to_cart' AND event_ts >= t_view THEN event_ts END)
      OVER ({session}) AS t_cart,
    min(CASE WHEN event_type = 'page_view' THEN nth END) OVER ({session}) AS first_view_nth,
    max(CASE WHEN event_type = 'page_view' THEN nth END) OVER ({session}) AS last_view_nth,
    min(CASE WHEN device IS NOT NULL THEN nth END) OVER ({session}) AS first_device_nth,
    min(CASE WHEN country IS NOT NULL THEN nth END) OVER ({session}) AS first_country_nth
  FROM viewed
),
agg AS (
  SELECT session_id,
    max(CASE WHEN nth = 1 THEN user_id END) AS user_id,
    min(event_ts) AS session_start,
    max(event_ts) AS session_end,
    {_count_if("event_type = 'page_view'")} AS page_views,
    count(*) AS events,
    {_count_if("event_type = 'purchase'")} AS purchases,
    {_PURCHASE_REVENUE} AS revenue,
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
  {pick("g.user_id", "a.user_id")} AS user_id,
  {start} AS session_start,
  a.session_end,
  date_diff('microsecond', {start}, a.session_end) / 1000000.0 AS duration_s,
  {views} AS page_views,
  {pick("g.events + a.events", "a.events")} AS events,
  {engaged} AS is_engaged,
  NOT ({engaged}) AS bounced,
  {converted} AS converted,
  {pick("g.revenue + a.revenue", "a.revenue")} AS revenue,
  {pick("CASE WHEN g.page_views > 0 THEN g.landing_page ELSE a.landing_page END", "a.landing_page")} AS landing_page,
  {pick("CASE WHEN a.page_views > 0 THEN a.exit_page ELSE g.exit_page END", "a.exit_page")} AS exit_page,
  {pick("coalesce(g.device, a.device)", "a.device")} AS device,
  {pick("coalesce(g.country, a.country)", "a.country")} AS country,
  {pick("g.channel", "a.channel")} AS channel,
  {pick(continued_step, "a.funnel_step")} AS funnel_step
FROM steps a
JOIN touched_sessions t ON t.session_id = a.session_id
-- A continued session's old row, read only where the old rows start, so the scan is pruned.
LEFT JOIN (SELECT * FROM gold_sessions WHERE {_between('session_start', old_starts)}) g
  ON g.session_id = a.session_id AND NOT t.late""",
        f"DELETE FROM gold_sessions WHERE {_between('session_start', old_starts)} "
        "AND session_id IN (SELECT session_id FROM touched_sessions WHERE old_start IS NOT NULL)",
        "INSERT INTO gold_sessions SELECT * FROM sessions_new",
    ]


def funnel_hourly_sql() -> list[str]:
    """Rebuild the start hours touched sessions had before and have now (a late event can move a start)."""
    touched = (
        "SELECT date_trunc('hour', old_start) AS h FROM touched_sessions WHERE old_start IS NOT NULL "
        "UNION SELECT date_trunc('hour', session_start) AS h FROM sessions_new"
    )
    return [
        f"CREATE OR REPLACE TEMP TABLE touched_hours AS {touched}",
        "DELETE FROM gold_funnel_hourly WHERE hour IN (SELECT h FROM touched_hours)",
        f"""INSERT INTO gold_funnel_hourly
SELECT date_trunc('hour', session_start) AS hour,
  count(*) AS sessions,
  {_count_if("funnel_step >= 1")} AS viewed,
  {_count_if("funnel_step >= 2")} AS added_to_cart,
  {_count_if("funnel_step >= 3")} AS purchased
FROM gold_sessions
WHERE session_start >= (SELECT min(h) FROM touched_hours)
  AND session_start < (SELECT max(h) FROM touched_hours) + INTERVAL 1 HOUR
  AND date_trunc('hour', session_start) IN (SELECT h FROM touched_hours)
GROUP BY 1""",
    ]


def _add_to_gold(
    table: str, scope: str, keys: tuple[str, ...], measures: tuple[str, ...], delta: str, rank: str | None = None,
    before: tuple[tuple[str, str], ...] = (),
) -> list[str]:
    """Add a batch's additive `delta` (one row per key) to the gold rows of the scopes it touched.

    The touched scopes' rows (an hour's pages, a day's products or currencies: bounded by the
    catalogue, not by traffic) are summed with the delta, ranked again if `rank` orders them, and
    replace the old rows. Silver is append-only, so this equals a recompute from silver, without
    reading the hour's or day's events again: that read grew with the traffic of the touched hour or
    day. `before` names queries the delta reads, as (name, SQL).
    """
    cols = ", ".join((*keys, *measures))
    sums = ", ".join(f"sum({m}) AS {m}" for m in measures)
    ctes = ", ".join(f"{name} AS ({sql})" for name, sql in (*before, ("delta", delta)))
    merged = (
        f"SELECT {', '.join(keys)}, {sums} FROM ("
        f"SELECT {cols} FROM {table} WHERE {scope} IN (SELECT {scope} FROM delta) "
        f"UNION ALL SELECT {cols} FROM delta) GROUP BY {', '.join(keys)}"
    )
    ranked = f"SELECT *, row_number() OVER ({rank}) AS rank FROM ({merged})" if rank else merged
    out_cols = f"{cols}, rank" if rank else cols
    return [
        f"CREATE OR REPLACE TEMP TABLE {table}_merged AS WITH {ctes} {ranked}",
        f"DELETE FROM {table} WHERE {scope} IN (SELECT {scope} FROM {table}_merged)",
        f"INSERT INTO {table} ({out_cols}) SELECT {out_cols} FROM {table}_merged",
    ]


def top_pages_hourly_sql(r: TouchedRange, batch_id: int) -> list[str]:
    """Page views add up; a distinct user adds one only if silver had no view of that page by that user
    in that hour before this batch (`batch_id`, whose rows silver already holds)."""
    views = (
        "SELECT date_trunc('hour', event_ts) AS hour, page_url, user_id, count(*) AS views FROM new_silver "
        "WHERE event_type = 'page_view' AND page_url IS NOT NULL GROUP BY 1, 2, 3"
    )
    # Only the batch's users' earlier views are read: a probe of the touched hours, not an aggregate of them.
    seen = (
        "SELECT DISTINCT date_trunc('hour', event_ts) AS hour, page_url, user_id FROM silver_events "
        f"WHERE {_between('event_ts', r)} AND event_type = 'page_view' AND page_url IS NOT NULL "
        f"AND batch_id <> {int(batch_id)} AND user_id IN (SELECT user_id FROM page_users) "
        "AND date_trunc('hour', event_ts) IN (SELECT hour FROM page_users)"
    )
    delta = (
        "SELECT p.hour, p.page_url, sum(p.views) AS page_views, "
        f"{_count_if('s.user_id IS NULL')} AS unique_users "
        f"FROM page_users p LEFT JOIN ({seen}) s ON s.hour = p.hour AND s.page_url = p.page_url AND s.user_id = p.user_id "
        "GROUP BY 1, 2"
    )
    return _add_to_gold(
        "gold_top_pages_hourly", "hour", ("hour", "page_url"), ("page_views", "unique_users"), delta,
        rank="PARTITION BY hour ORDER BY page_views DESC, page_url", before=(("page_users", views),),
    )  # fmt: skip


def top_products_daily_sql() -> list[str]:
    delta = f"""SELECT event_date AS day, product_id,
  {_count_if("event_type = 'page_view'")} AS views,
  {_count_if("event_type = 'add_to_cart'")} AS add_to_carts,
  {_count_if("event_type = 'purchase'")} AS purchases,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN coalesce(quantity, 1) END), 0) AS units,
  {_PURCHASE_REVENUE} AS revenue
FROM new_silver
WHERE product_id IS NOT NULL
GROUP BY 1, 2"""
    return _add_to_gold(
        "gold_top_products_daily", "day", ("day", "product_id"), ("views", "add_to_carts", "purchases", "units", "revenue"), delta,
        rank="PARTITION BY day ORDER BY revenue DESC, purchases DESC, views DESC, product_id",
    )  # fmt: skip


def revenue_daily_sql(reporting_currency: str) -> list[str]:
    """Money per day and currency, for the days whose purchases or refunds the batch touched.

    `reporting_net_revenue` stays NULL while no event of the day and currency had a rate: SUM
    over the old row and the delta keeps that, as it would over the day's events.
    """
    zero = f"CAST(0 AS {DECIMAL_SUM_TYPE})"
    delta = f"""SELECT event_date AS day, coalesce(currency, {sql_str(reporting_currency)}) AS currency,
  {_count_if("event_type = 'purchase'")} AS purchases,
  {_count_if("event_type = 'refund'")} AS refunds,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN revenue END), {zero}) AS revenue,
  coalesce(sum(CASE WHEN event_type = 'refund' THEN -revenue END), {zero}) AS refunded,
  coalesce(sum(revenue), {zero}) AS net_revenue,
  sum(reporting_revenue) AS reporting_net_revenue,
  {_count_if("reporting_revenue IS NULL")} AS unconverted_events
FROM new_silver
WHERE revenue IS NOT NULL
GROUP BY 1, 2"""
    measures = ("purchases", "refunds", "revenue", "refunded", "net_revenue", "reporting_net_revenue", "unconverted_events")
    return _add_to_gold("gold_revenue_daily", "day", ("day", "currency"), measures, delta)
