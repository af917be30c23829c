"""REES46 eCommerce behaviour exports (the Kaggle "multi category store" files).

No event id in the source: it is a hash of the row's values, so an exact duplicate row dedupes
and reloading a file changes nothing. User and product ids that went through a spreadsheet
(`2.10381E+18`) have lost digits and are quarantined rather than merged into someone else's
history; a category id damaged that way is only an attribute, so it is set to NULL and counted
(pipeline_batches.damaged_values) and the event is kept.
"""

from clickstream.contract import schema as C
from clickstream.ingest.adapters.base import Adapter, content_hash, mangled_number, value_map

COLUMNS = ("event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price", "user_id", "user_session")

EVENT_TYPES = {"view": "page_view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart", "purchase": "purchase"}

ADAPTER = Adapter(
    name="rees46",
    file_format="csv",
    inputs=tuple((c, c) for c in COLUMNS),
    default_columns=COLUMNS,
    fields=(
        ("event_id", content_hash(*(f"{{{c}}}" for c in COLUMNS))),
        # '2019-10-01 00:00:00 UTC': the zone is a word, which a TIMESTAMPTZ cast does not read.
        ("event_ts", "regexp_replace({event_time}, ' UTC$', '+00:00')"),
        ("event_type", value_map("lower({event_type})", EVENT_TYPES, "lower({event_type})")),
        ("user_id", "{user_id}"),
        ("session_id", "{user_session}"),
        ("product_id", "{product_id}"),
        ("price", "{price}"),
        ("properties", "json_object('category_id', {category_id}, 'category_code', {category_code}, 'brand', {brand})"),
    ),
    damage=((f"{C.DAMAGED_MANGLED_NUMBER}:category_id", "category_id", mangled_number("{category_id}")),),
    checks=(
        (f"{C.REASON_MANGLED_ID}:user_id", mangled_number("{user_id}")),
        (f"{C.REASON_MANGLED_ID}:product_id", mangled_number("{product_id}")),
        # Sessions are UUIDs; a shorter one is a row cut off mid-write (a truncated last line).
        (
            f"{C.REASON_INVALID_VALUE}:session_id",
            "NOT regexp_full_match({user_session}, '[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}')",
        ),
    ),
)
