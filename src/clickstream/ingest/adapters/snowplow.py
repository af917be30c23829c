"""Snowplow enriched events: the enriched TSV, or a warehouse export (CSV with a header, or JSON lines).

Event time is `derived_tstamp` (Snowplow's own best estimate, corrected for device clock skew),
falling back to `collector_tstamp`; timestamps are UTC, written with or without an offset. The user
is the first-party cookie `domain_userid` and the session `domain_sessionid`, unless the mobile
`client_session` entity is present: then, as Snowplow's own models do, its `userId` and `sessionId`.
Snowplow retries make duplicated event_ids, which the pipeline dedupes.

E-commerce (the `snowplow_ecommerce_action` event of Snowplow's e-commerce plugin) arrives as the
action in the event's `type` and entities (product, transaction, refund) beside it. A warehouse
export names their columns after the schema with a version suffix that depends on the loader
(`..._transaction_1_0_0` on BigQuery, `..._transaction_1` on Snowflake); the enriched TSV carries
them inside `contexts` / `unstruct_event` as self-describing JSON. Both are read:
- add_to_cart, remove_from_cart: product, unit price, quantity and currency from the first product;
- checkout_step: checkout;
- transaction: purchase, priced at the transaction's revenue in its currency (quantity stays empty,
  so revenue is not multiplied; the entity's total_quantity is kept in properties). Its event id is
  derived from the transaction id, so a transaction sent again (a reloaded confirmation page) is a
  duplicate and counts once, as Snowplow's e-commerce model keys transactions by transaction_id;
- refund: refund, priced at the refund amount; silver's revenue is then negative, so sums are net;
- product_view, list_view, list_click, promo_view, promo_click, trns_error keep their names and
  are accepted only when listed in pipeline.event_types.
"""

from clickstream.ingest.adapters.base import Adapter, value_map

_ECOMMERCE = "iglu:com.snowplowanalytics.snowplow.ecommerce/"
_SHREDDED = "com_snowplowanalytics_snowplow_ecommerce_"
# Any 1-x-x version: `_1`, `_1_0_2` (and the 1-x-x iglu URI in the TSV).
_V1 = r"_1(_[0-9]+_[0-9]+)?"

TSV_COLUMNS = tuple(
    """app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id name_tracker
    v_tracker v_collector v_etl user_id user_ipaddress user_fingerprint domain_userid domain_sessionidx
    network_userid geo_country geo_region geo_city geo_zipcode geo_latitude geo_longitude geo_region_name
    ip_isp ip_organization ip_domain ip_netspeed page_url page_title page_referrer page_urlscheme
    page_urlhost page_urlport page_urlpath page_urlquery page_urlfragment refr_urlscheme refr_urlhost
    refr_urlport refr_urlpath refr_urlquery refr_urlfragment refr_medium refr_source refr_term mkt_medium
    mkt_source mkt_term mkt_content mkt_campaign contexts se_category se_action se_label se_property
    se_value unstruct_event tr_orderid tr_affiliation tr_total tr_tax tr_shipping tr_city tr_state
    tr_country ti_orderid ti_sku ti_name ti_category ti_price ti_quantity pp_xoffset_min pp_xoffset_max
    pp_yoffset_min pp_yoffset_max useragent br_name br_family br_version br_type br_renderengine br_lang
    br_features_pdf br_features_flash br_features_java br_features_director br_features_quicktime
    br_features_realplayer br_features_windowsmedia br_features_gears br_features_silverlight br_cookies
    br_colordepth br_viewwidth br_viewheight os_name os_family os_manufacturer os_timezone dvce_type
    dvce_ismobile dvce_screenwidth dvce_screenheight doc_charset doc_width doc_height tr_currency
    tr_total_base tr_tax_base tr_shipping_base ti_currency ti_price_base base_currency geo_timezone
    mkt_clickid mkt_network etl_tags dvce_sent_tstamp refr_domain_userid refr_dvce_tstamp derived_contexts
    domain_sessionid derived_tstamp event_vendor event_name event_format event_version event_fingerprint
    true_tstamp""".split()
)

# Snowplow's built-in and e-commerce event names that have a contract counterpart; any other
# name is kept and must be listed in pipeline.event_types to be accepted.
EVENT_TYPES = {
    "page_view": "page_view",
    "link_click": "click",
    "site_search": "search",
    "add_to_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "transaction": "purchase",
}

# The e-commerce plugin's actions (snowplow_ecommerce_action.type) that have a contract counterpart.
ACTIONS = {
    "add_to_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "checkout_step": "checkout",
    "transaction": "purchase",
    "refund": "refund",
}

_INPUTS = (
    "event_id collector_tstamp derived_tstamp event event_name domain_userid domain_sessionid page_urlpath "
    "refr_urlscheme refr_urlhost refr_urlpath mkt_source mkt_medium mkt_campaign tr_total tr_currency "
    "ti_sku ti_price ti_quantity ti_currency dvce_type geo_country useragent app_id platform contexts unstruct_event"
).split()

# Shredded columns of a warehouse export, found by schema name whatever the version suffix.
_SCHEMA_INPUTS = (
    ("x_action", f"schema:unstruct_event_{_SHREDDED}snowplow_ecommerce_action{_V1}"),
    ("x_product", f"schema:contexts_{_SHREDDED}product{_V1}"),
    ("x_transaction", f"schema:contexts_{_SHREDDED}transaction{_V1}"),
    ("x_refund", f"schema:contexts_{_SHREDDED}refund{_V1}"),
    ("x_checkout", f"schema:contexts_{_SHREDDED}checkout_step{_V1}"),
    ("x_session", f"schema:contexts_com_snowplowanalytics_snowplow_client_session{_V1}"),
)


def _first(column: str) -> str:
    """The first entity of a shredded column (an array of entities, or one object), as JSON; NULL if unreadable."""
    return (
        f"CASE WHEN json_valid({column}) THEN CASE json_type({column}) WHEN 'ARRAY' THEN json_extract({column}, '$[0]') "
        f"WHEN 'OBJECT' THEN json({column}) END END"
    )


def _in_contexts(vendor_schema: str) -> str:
    """The first entity of a schema inside the TSV's self-describing `contexts` cell, as JSON."""
    found = (
        "list_filter(json_extract({contexts}, '$.data[*]'), "
        f"lambda e: starts_with(json_extract_string(e, '$.schema'), '{vendor_schema}/jsonschema/1-'))[1]"
    )
    return f"CASE WHEN json_valid({{contexts}}) THEN json_extract({found}, '$.data') END"


def _entity(shredded: str, vendor_schema: str) -> str:
    return f"coalesce({_first(shredded)}, {_in_contexts(vendor_schema)})"


def _get(entity: str, *keys: str) -> str:
    return "coalesce(" + ", ".join(f"nullif(trim(json_extract_string({entity}, '$.{k}')), '')" for k in keys) + ")"


_TSV_ACTION = (
    "CASE WHEN json_valid({unstruct_event}) AND starts_with(json_extract_string({unstruct_event}, '$.data.schema'), "
    f"'{_ECOMMERCE}snowplow_ecommerce_action/jsonschema/1-') THEN json_extract_string({{unstruct_event}}, '$.data.data.type') END"
)

# A time of day followed by a zone designator (Z, +HH, +HHMM, +HH:MM): the text already says UTC or an offset.
_HAS_ZONE = r"\d:\d\d(:\d\d([.,]\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"


def _utc(ts: str) -> str:
    text = f"regexp_replace({ts}, '\\s*UTC$', '+00:00')"
    return f"CASE WHEN regexp_matches({text}, '{_HAS_ZONE}') THEN {text} ELSE {text} || '+00:00' END"


_DERIVED = (
    ("action", f"lower(coalesce({_get(_first('{x_action}'), 'type')}, {_TSV_ACTION}))"),
    ("product", _entity("{x_product}", f"{_ECOMMERCE}product")),
    ("txn", _entity("{x_transaction}", f"{_ECOMMERCE}transaction")),
    ("refund", _entity("{x_refund}", f"{_ECOMMERCE}refund")),
    ("step", _entity("{x_checkout}", f"{_ECOMMERCE}checkout_step")),
    ("client_session", _entity("{x_session}", "iglu:com.snowplowanalytics.snowplow/client_session")),
)

_NAME = "lower(coalesce({event_name}, {event}))"
_IS = {a: f"{{action}} = '{a}'" for a in ("transaction", "refund")}

ADAPTER = Adapter(
    name="snowplow",
    file_format="csv",
    json_lines=True,
    inputs=(*((c, c) for c in _INPUTS), *_SCHEMA_INPUTS),
    default_columns=TSV_COLUMNS,
    derived=_DERIVED,
    fields=(
        # One id per transaction: a repeated transaction (a reload) is then a duplicate.
        (
            "event_id",
            f"CASE WHEN {_IS['transaction']} AND {_get('{txn}', 'transaction_id')} IS NOT NULL "
            f"THEN 'snowplow-transaction:' || md5(coalesce({{app_id}}, '') || chr(31) || {_get('{txn}', 'transaction_id')}) "
            "ELSE {event_id} END",
        ),
        ("event_ts", _utc("coalesce({derived_tstamp}, {collector_tstamp})")),
        (
            "event_type",
            f"CASE WHEN {{action}} IS NOT NULL THEN {value_map('{action}', ACTIONS, '{action}')} "
            f"ELSE {value_map(_NAME, EVENT_TYPES, _NAME)} END",
        ),
        ("user_id", f"coalesce({_get('{client_session}', 'userId', 'user_id')}, {{domain_userid}})"),
        ("session_id", f"coalesce({_get('{client_session}', 'sessionId', 'session_id')}, {{domain_sessionid}})"),
        ("page_url", "{page_urlpath}"),
        ("referrer", "CASE WHEN {refr_urlhost} IS NOT NULL THEN coalesce({refr_urlscheme} || '://', '') || {refr_urlhost} || coalesce({refr_urlpath}, '') END"),
        # An order's total is not one product's revenue: purchases and refunds name no product.
        ("product_id", f"CASE WHEN {{action}} IN ('transaction', 'refund') THEN NULL ELSE coalesce({_get('{product}', 'id')}, {{ti_sku}}) END"),
        (
            "price",
            f"CASE WHEN {_IS['transaction']} THEN {_get('{txn}', 'revenue')} "
            f"WHEN {_IS['refund']} THEN {_get('{refund}', 'refund_amount')} "
            f"WHEN {{action}} IS NOT NULL THEN {_get('{product}', 'price')} "
            # A legacy transaction carries the order total; an item event its unit price and quantity.
            "ELSE coalesce({tr_total}, {ti_price}) END",
        ),
        (
            "quantity",
            f"CASE WHEN {{action}} IN ('transaction', 'refund') THEN NULL WHEN {{action}} IS NOT NULL THEN {_get('{product}', 'quantity')} "
            "WHEN {tr_total} IS NULL THEN {ti_quantity} END",
        ),
        (
            "currency",
            f"CASE WHEN {_IS['transaction']} THEN {_get('{txn}', 'currency')} WHEN {_IS['refund']} THEN {_get('{refund}', 'currency')} "
            f"WHEN {{action}} IS NOT NULL THEN {_get('{product}', 'currency')} ELSE coalesce({{tr_currency}}, {{ti_currency}}) END",
        ),
        ("device", value_map("lower({dvce_type})", {"computer": "desktop"}, "lower({dvce_type})")),
        ("country", "{geo_country}"),
        ("user_agent", "{useragent}"),
        ("utm_source", "{mkt_source}"),
        ("utm_medium", "{mkt_medium}"),
        ("utm_campaign", "{mkt_campaign}"),
        (
            "properties",
            "json_object('app_id', {app_id}, 'platform', {platform}, 'event', {event}, 'snowplow_event_id', {event_id}, "
            f"'ecommerce_action', {{action}}, 'transaction_id', coalesce({_get('{txn}', 'transaction_id')}, {_get('{refund}', 'transaction_id')}), "
            f"'total_quantity', {_get('{txn}', 'total_quantity')}, 'payment_method', {_get('{txn}', 'payment_method')}, "
            f"'refund_reason', {_get('{refund}', 'refund_reason')}, 'checkout_step', {_get('{step}', 'step')})",
        ),
    ),
)
