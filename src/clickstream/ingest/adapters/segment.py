"""Segment spec JSON lines (track, page, screen, identify): one Segment message per line.

Segment has no session: `context.sessionId` is used when a source sets it, otherwise the user's
day (`anonymousId:YYYY-MM-DD`). `Order Completed` is a purchase whose price is the order's
`revenue` (or `total`); identify, group and alias describe users and are quarantined as not events.
"""

from clickstream.contract import schema as C
from clickstream.ingest.adapters.base import Adapter, value_map

# Segment's e-commerce spec (v2) names for what the contract calls add_to_cart, purchase, ...
TRACK_EVENTS = {
    "Products Searched": "search",
    "Product Clicked": "click",
    "Product Added": "add_to_cart",
    "Product Removed": "remove_from_cart",
    "Checkout Started": "checkout",
    "Order Completed": "purchase",
}

_PATHS = {
    "message_id": "$.messageId",
    "type": "$.type",
    "event": "$.event",
    "user_id": "$.userId",
    "anonymous_id": "$.anonymousId",
    "timestamp": "$.timestamp",
    "session": "$.context.sessionId",
    "page_path": "$.context.page.path",
    "page_referrer": "$.context.page.referrer",
    "prop_path": "$.properties.path",
    "prop_referrer": "$.properties.referrer",
    "product_id": "$.properties.product_id",
    "price": "$.properties.price",
    "quantity": "$.properties.quantity",
    "revenue": "$.properties.revenue",
    "total": "$.properties.total",
    "currency": "$.properties.currency",
    "user_agent": "$.context.userAgent",
    "device": "$.context.device.type",
    "country": "$.context.location.country",
    "utm_source": "$.context.campaign.source",
    "utm_medium": "$.context.campaign.medium",
    "utm_campaign": "$.context.campaign.name",
}

_IS_ORDER = "{event} = 'Order Completed'"

ADAPTER = Adapter(
    name="segment",
    file_format="jsonl",
    inputs=(*_PATHS.items(), ("properties", "CAST(json_extract(raw_line, '$.properties') AS VARCHAR)")),
    fields=(
        ("event_id", "{message_id}"),
        ("event_ts", "{timestamp}"),
        (
            "event_type",
            f"CASE lower({{type}}) WHEN 'page' THEN 'page_view' WHEN 'screen' THEN 'page_view' "
            f"WHEN 'track' THEN {value_map('{event}', TRACK_EVENTS, 'lower(replace({event}, chr(32), chr(95)))')} "
            "ELSE lower({type}) END",
        ),
        ("user_id", "coalesce({user_id}, {anonymous_id})"),
        (
            "session_id",
            "coalesce({session}, coalesce({anonymous_id}, {user_id}) || ':' "
            "|| CAST(CAST(try_cast({timestamp} AS TIMESTAMPTZ) AS DATE) AS VARCHAR))",
        ),
        ("page_url", "coalesce({page_path}, {prop_path})"),
        ("referrer", "coalesce({page_referrer}, {prop_referrer})"),
        ("product_id", "{product_id}"),
        ("price", f"CASE WHEN {_IS_ORDER} THEN coalesce({{revenue}}, {{total}}) ELSE {{price}} END"),
        ("quantity", f"CASE WHEN {_IS_ORDER} THEN NULL ELSE {{quantity}} END"),
        ("currency", "{currency}"),
        ("device", "{device}"),
        # The spec's location.country is a name ("United States"); only a 2-letter code is kept.
        ("country", "CASE WHEN length({country}) = 2 THEN {country} END"),
        ("user_agent", "{user_agent}"),
        ("utm_source", "{utm_source}"),
        ("utm_medium", "{utm_medium}"),
        ("utm_campaign", "{utm_campaign}"),
        ("properties", "{properties}"),
    ),
    checks=((C.REASON_NOT_AN_EVENT, "lower({type}) IN ('identify', 'group', 'alias')"),),
)
