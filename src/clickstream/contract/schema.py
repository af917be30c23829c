"""The event contract: every field of a clickstream event, declared once.

Everything else (DDL, Spark schema, BigQuery and JSON schemas, the parse SQL) is generated from
`EVENT_FIELDS`, so a field added here flows through every layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldType(str, Enum):
    STRING = "string"
    TIMESTAMP = "timestamp"
    DATE = "date"
    DOUBLE = "double"
    # Money: exact, so sums do not depend on the order rows are added in.
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    JSON = "json"
    STRING_LIST = "string_list"


class Normalise(str, Enum):
    NONE = "none"
    TRIM = "trim"
    LOWER = "lower"
    UPPER = "upper"


@dataclass(frozen=True)
class EventField:
    name: str
    type: FieldType
    description: str
    required: bool = False
    normalise: Normalise = Normalise.TRIM
    minimum: float | None = None
    # A regular expression the normalised value must match in full (RE2 and Java agree on these).
    pattern: str | None = None
    # Reason code used when `minimum` is violated; the contract names it so quarantine is readable.
    below_minimum_reason: str | None = None


DEFAULT_EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "click",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    # Money given back for an earlier purchase; its revenue is negative, so sums of revenue are net.
    "refund",
)

EVENT_FIELDS: tuple[EventField, ...] = (
    EventField("event_id", FieldType.STRING, "Producer-assigned unique id; the dedup key.", required=True),
    EventField("event_ts", FieldType.TIMESTAMP, "When the event happened, stored in UTC.", required=True),
    EventField(
        "event_type",
        FieldType.STRING,
        "What happened; one of the configured event types.",
        required=True,
        normalise=Normalise.LOWER,
    ),
    EventField("user_id", FieldType.STRING, "Stable (possibly anonymous) user id.", required=True),
    EventField("session_id", FieldType.STRING, "Session the event belongs to.", required=True),
    EventField("page_url", FieldType.STRING, "Page path or URL the event happened on."),
    EventField("referrer", FieldType.STRING, "Referring URL, if any."),
    EventField("product_id", FieldType.STRING, "Product the event is about, for commerce events."),
    EventField(
        "price",
        FieldType.DECIMAL,
        "Unit price in `currency`.",
        minimum=0,
        below_minimum_reason="negative_price",
    ),
    EventField(
        "quantity",
        FieldType.INTEGER,
        "Units; revenue counts a missing quantity as 1.",
        minimum=1,
        below_minimum_reason="bad_quantity",
    ),
    EventField(
        "currency",
        FieldType.STRING,
        "ISO 4217 currency code.",
        normalise=Normalise.UPPER,
        pattern="^[A-Z]{3}$",
    ),
    EventField("device", FieldType.STRING, "desktop, mobile, tablet, ...", normalise=Normalise.LOWER),
    EventField(
        "country",
        FieldType.STRING,
        "ISO 3166-1 alpha-2 country code.",
        normalise=Normalise.UPPER,
        pattern="^[A-Z]{2}$",
    ),
    EventField("user_agent", FieldType.STRING, "Raw user agent string."),
    EventField("utm_source", FieldType.STRING, "Campaign source.", normalise=Normalise.LOWER),
    EventField("utm_medium", FieldType.STRING, "Campaign medium.", normalise=Normalise.LOWER),
    EventField("utm_campaign", FieldType.STRING, "Campaign name."),
    EventField("properties", FieldType.JSON, "Free-form JSON object with extra attributes."),
)

FIELDS_BY_NAME: dict[str, EventField] = {f.name: f for f in EVENT_FIELDS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in EVENT_FIELDS if f.required)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in EVENT_FIELDS)

# Stable reason codes written to quarantine_events.reason. Field-specific codes are suffixed with
# ":<field>" (for example "missing_required:event_id", "bad_type:price").
REASON_EMPTY_LINE = "empty_line"
REASON_INVALID_UTF8 = "invalid_utf8"
REASON_LINE_TOO_LONG = "line_too_long"
REASON_MALFORMED_JSON = "malformed_json"
REASON_NOT_AN_OBJECT = "not_a_json_object"
REASON_CSV_COLUMNS = "csv_column_count"
REASON_CSV_UNBALANCED_QUOTE = "csv_unbalanced_quote"  # a quote opened and never closed, or one inside a bare cell
REASON_CSV_MISSING_HEADER = "csv_missing_header"  # a contract CSV whose first line names no contract field
REASON_MISSING_REQUIRED = "missing_required"
REASON_BAD_TYPE = "bad_type"
REASON_BAD_TIMESTAMP = "bad_timestamp"
REASON_INVALID_VALUE = "invalid_value"
REASON_UNKNOWN_EVENT_TYPE = "unknown_event_type"
REASON_FUTURE_TIMESTAMP = "future_timestamp"
REASON_TOO_LATE = "too_late"
# Adapter reasons: a foreign row that parsed but cannot be trusted.
REASON_MANGLED_ID = "mangled_id"  # ":<field>"; an id a spreadsheet turned into 2.10381E+18
REASON_NOT_AN_EVENT = "not_an_event"  # a record that describes a user, not something that happened
REASON_REPEATED_TRANSACTION = "repeated_transaction"  # a transaction sent again in its session (a page reload)

# Damage reasons, counted in pipeline_batches.damaged_values: an attribute outside the event's
# identity and measures was unreadable, so it was set to NULL and the event kept.
DAMAGED_MANGLED_NUMBER = "mangled_number"  # ":<attribute>"; a spreadsheet wrote it as 2.10381E+18

# File-level reasons, written to pipeline_files.reason of a `rejected` row: the file was not read.
FILE_NAME_NOT_UTF8 = "name_not_utf8"
FILE_SYMLINK = "symlink"  # not followed: landing.follow_symlinks is off
FILE_SYMLINK_LOOP = "symlink_loop"
FILE_PERMISSION_DENIED = "permission_denied"
FILE_UNREADABLE = "unreadable"
FILE_NAME_REUSED = "name_reused"  # a consumed name came back with another size or mtime


def revenue_sql(price: str = "price", quantity: str = "quantity") -> str:
    """Revenue of one event as SQL: price times quantity, a missing quantity counting as one."""
    return f"({price} * coalesce({quantity}, 1))"


def signed_revenue_sql(event_type: str = "event_type", price: str = "price", quantity: str = "quantity") -> str:
    """Silver's revenue: positive for a purchase, negative for a refund, NULL for anything else."""
    amount = revenue_sql(price, quantity)
    return f"(CASE WHEN {event_type} = 'purchase' THEN {amount} WHEN {event_type} = 'refund' THEN -{amount} END)"
