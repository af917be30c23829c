"""Snowplow enriched events: the canonical columns as CSV with a header, or the enriched TSV.

Event time is `derived_tstamp` (Snowplow's own best estimate, corrected for device clock skew),
falling back to `collector_tstamp`; the user is the first-party cookie `domain_userid` and the
session `domain_sessionid`. Snowplow retries make duplicated event_ids, which the pipeline dedupes.
"""

from clickstream.ingest.adapters.base import Adapter, value_map

# The enriched TSV has no header: its 131 fields always come in this order.
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

_INPUTS = (
    "event_id collector_tstamp derived_tstamp event event_name domain_userid domain_sessionid page_urlpath "
    "refr_urlscheme refr_urlhost refr_urlpath mkt_source mkt_medium mkt_campaign tr_total tr_currency "
    "ti_sku ti_price ti_quantity ti_currency dvce_type geo_country useragent app_id platform"
).split()

ADAPTER = Adapter(
    name="snowplow",
    file_format="csv",
    inputs=tuple((c, c) for c in _INPUTS),
    default_columns=TSV_COLUMNS,
    fields=(
        ("event_id", "{event_id}"),
        # Snowplow timestamps are UTC without a zone designator.
        ("event_ts", "coalesce({derived_tstamp}, {collector_tstamp}) || '+00:00'"),
        ("event_type", value_map("lower(coalesce({event_name}, {event}))", EVENT_TYPES, "lower(coalesce({event_name}, {event}))")),
        ("user_id", "{domain_userid}"),
        ("session_id", "{domain_sessionid}"),
        ("page_url", "{page_urlpath}"),
        ("referrer", "CASE WHEN {refr_urlhost} IS NOT NULL THEN coalesce({refr_urlscheme} || '://', '') || {refr_urlhost} || coalesce({refr_urlpath}, '') END"),
        ("product_id", "{ti_sku}"),
        # A transaction carries the order total; an item event its unit price and quantity.
        ("price", "coalesce({tr_total}, {ti_price})"),
        ("quantity", "CASE WHEN {tr_total} IS NULL THEN {ti_quantity} END"),
        ("currency", "coalesce({tr_currency}, {ti_currency})"),
        ("device", value_map("lower({dvce_type})", {"computer": "desktop"}, "lower({dvce_type})")),
        ("country", "{geo_country}"),
        ("user_agent", "{useragent}"),
        ("utm_source", "{mkt_source}"),
        ("utm_medium", "{mkt_medium}"),
        ("utm_campaign", "{mkt_campaign}"),
        ("properties", "json_object('app_id', {app_id}, 'platform', {platform}, 'event', {event})"),
    ),
)
