"""Google Analytics 4 BigQuery export, as newline-delimited JSON (one exported row per line).

The export has no event id: it is a hash of the whole exported row (the JSON object, minified), so
a re-exported day dedupes and two events that differ in any field stay two. GA4 session ids are unique per user only, so the
session is `user_pseudo_id:ga_session_id`. Parameters live in the repeated `event_params`
key/value record and are looked up by key.
"""

from clickstream.ingest.adapters.base import Adapter, record_hash, utc_text, value_map

EVENT_NAMES = {
    "page_view": "page_view",
    "screen_view": "page_view",
    "select_item": "click",
    "select_content": "click",
    "click": "click",
    "search": "search",
    "view_search_results": "search",
    "add_to_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "begin_checkout": "checkout",
    "purchase": "purchase",
}


def event_param(key: str) -> str:
    """SQL for an event parameter's value, whichever of the typed value fields holds it."""
    found = (
        "list_filter(CAST(json_extract(raw_line, '$.event_params') AS JSON[]), "
        f"lambda p: json_extract_string(p, '$.key') = '{key}')[1]"
    )
    kinds = ("string_value", "int_value", "double_value", "float_value")
    return "coalesce(" + ", ".join(f"json_extract_string({found}, '$.value.{k}')" for k in kinds) + ")"


_PATHS = {
    "event_name": "$.event_name",
    "event_timestamp": "$.event_timestamp",
    "user_pseudo_id": "$.user_pseudo_id",
    "purchase_revenue": "$.ecommerce.purchase_revenue",
    "transaction_id": "$.ecommerce.transaction_id",
    "item_id": "$.items[0].item_id",
    "item_price": "$.items[0].price",
    "item_quantity": "$.items[0].quantity",
    "device": "$.device.category",
    "country": "$.geo.country",
    "source": "$.traffic_source.source",
    "medium": "$.traffic_source.medium",
    "campaign": "$.traffic_source.name",
}
_PARAMS = {"ga_session_id": "ga_session_id", "page_location": "page_location", "page_referrer": "page_referrer", "currency": "currency"}

_IS_PURCHASE = "{event_name} = 'purchase'"

ADAPTER = Adapter(
    name="ga4",
    file_format="jsonl",
    inputs=(
        *_PATHS.items(),
        *((alias, event_param(key)) for alias, key in _PARAMS.items()),
    ),
    fields=(
        ("event_id", record_hash()),
        # Microseconds since the epoch, UTC.
        ("event_ts", utc_text("make_timestamp(try_cast({event_timestamp} AS BIGINT))")),
        ("event_type", value_map("{event_name}", EVENT_NAMES, "{event_name}")),
        ("user_id", "{user_pseudo_id}"),
        ("session_id", "{user_pseudo_id} || ':' || {ga_session_id}"),
        ("page_url", "{page_location}"),
        ("referrer", "{page_referrer}"),
        ("product_id", "{item_id}"),
        ("price", f"CASE WHEN {_IS_PURCHASE} THEN {{purchase_revenue}} ELSE {{item_price}} END"),
        ("quantity", f"CASE WHEN {_IS_PURCHASE} THEN NULL ELSE {{item_quantity}} END"),
        ("currency", "{currency}"),
        ("device", "{device}"),
        # The export's geo.country is a name ("Germany"); only a 2-letter code is kept.
        ("country", "CASE WHEN length({country}) = 2 THEN {country} END"),
        ("utm_source", "{source}"),
        ("utm_medium", "{medium}"),
        ("utm_campaign", "{campaign}"),
        ("properties", "json_object('event_name', {event_name}, 'transaction_id', {transaction_id})"),
    ),
)
