"""Fault injection: which faults exist, and the malformed lines the pipeline must quarantine.

Each malformed line carries exactly one defect, so the pipeline's reason code is the same whatever
order it checks things in.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickstream.contract.schema import (
    FIELDS_BY_NAME,
    REASON_BAD_TIMESTAMP,
    REASON_CSV_COLUMNS,
    REASON_MALFORMED_JSON,
    REASON_MISSING_REQUIRED,
    REASON_UNKNOWN_EVENT_TYPE,
)
from clickstream.errors import GeneratorError
from clickstream.generator.catalogue import Catalogue
from clickstream.generator.render import EventTable, csv_lines, dump_record, record

# The kinds injected, in the order they cycle; "truncated" is format-specific.
TRUNCATED, MISSING_ID, UNKNOWN_TYPE, NEGATIVE_PRICE, BAD_TIMESTAMP = range(5)
N_KINDS = 5
UNKNOWN_EVENT_TYPE = "teleport"
BAD_TIMESTAMP_TEXT = "not-a-time"
NEGATIVE_PRICE_VALUE = -5
# A truncated CSV row keeps this many leading columns (all required fields, then it stops).
CSV_TRUNCATED_COLUMNS = 6


# Incidents: something going wrong for a while, for monitoring to notice (and to see end).
INCIDENT_KINDS = ("traffic_drop", "revenue_spike", "schema_drift", "malformed_surge", "stalled_feed")
DROP_KEEP = 0.2  # share of the traffic left during a traffic drop
SPIKE_QUANTITY = 5  # purchase quantities are multiplied by this during a revenue spike
SURGE_MALFORMED = 0.2  # malformed lines per event during a malformed surge


@dataclass(frozen=True)
class Faults:
    """Which faults to inject; all off by default."""

    duplicates: float = 0.0  # fraction of events re-emitted as an exact duplicate line
    malformed: float = 0.0  # malformed lines per event, added as extra lines
    late: float = 0.0  # fraction of events delivered in a later file than their time slice
    schema_drift: bool = False
    incident: str | None = None  # one of INCIDENT_KINDS
    # When the incident runs, as fractions of the batch's time span or of the stream's duration.
    incident_span: tuple[float, float] = (0.5, 0.75)

    def __post_init__(self) -> None:
        if self.incident is not None and self.incident not in INCIDENT_KINDS:
            raise GeneratorError(f"unknown incident {self.incident!r}: use one of {', '.join(INCIDENT_KINDS)}")
        lo, hi = self.incident_span
        if not 0.0 <= lo < hi <= 1.0:
            raise GeneratorError(f"incident_span={self.incident_span} must be fractions with 0 <= start < end <= 1")
        for name in ("duplicates", "late"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise GeneratorError(f"Faults.{name}={value} is not a fraction: use a value in [0, 1]")
        if self.malformed < 0.0:
            raise GeneratorError(f"Faults.malformed={self.malformed} is negative: use a value >= 0")


def reason_code(kind: int, fmt: str) -> str:
    """The quarantine reason code the pipeline gives a malformed line of this kind."""
    if kind == TRUNCATED:
        return REASON_CSV_COLUMNS if fmt == "csv" else REASON_MALFORMED_JSON
    if kind == MISSING_ID:
        return f"{REASON_MISSING_REQUIRED}:event_id"
    if kind == UNKNOWN_TYPE:
        return REASON_UNKNOWN_EVENT_TYPE
    if kind == NEGATIVE_PRICE:
        reason = FIELDS_BY_NAME["price"].below_minimum_reason
        assert reason is not None
        return reason
    return REASON_BAD_TIMESTAMP


def malformed_line(
    t: EventTable,
    template: int,
    kind: int,
    fresh_id: str,
    fmt: str,
    drift: bool,
    cat: Catalogue,
    product: int,
    order_id: str,
) -> str:
    """A line like event `template` but with a fresh event_id and exactly one defect of `kind`.

    `product` and `order_id` are used when the kind needs a purchase and the template is not one.
    """
    rec = record(t, template, cat)
    rec["event_id"] = fresh_id
    if kind == MISSING_ID:
        del rec["event_id"]
    elif kind == UNKNOWN_TYPE:
        rec["event_type"] = UNKNOWN_EVENT_TYPE
    elif kind == BAD_TIMESTAMP:
        rec["event_ts"] = BAD_TIMESTAMP_TEXT
    elif kind == NEGATIVE_PRICE:
        rec["event_type"] = "purchase"
        rec["product_id"] = rec["product_id"] or cat.product_ids[product]
        rec["quantity"] = rec["quantity"] or 1
        rec["currency"] = t.rows[template][0].profile.currency
        rec["price"] = NEGATIVE_PRICE_VALUE
        rec["properties"] = {"order_id": order_id}
    elif kind == TRUNCATED and fmt == "csv":
        row = [rec[name] for name in list(rec)[:CSV_TRUNCATED_COLUMNS]]
        return csv_lines([row])[0]
    line = dump_record(rec, fmt, drift)
    if kind == TRUNCATED:
        # Any strict prefix of a JSON object is invalid JSON.
        return line[: len(line) * 2 // 3]
    return line
