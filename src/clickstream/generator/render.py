"""Turning simulated events into JSONL or CSV lines, in contract field order.

Valid events are rendered from pre-encoded fragments rather than `json.dumps` or `csv.writer`
(both cost several microseconds per line, the slowest step of a million-event batch). That is
safe because every per-event value is ASCII without quotes, commas or backslashes, and the
values that are not (user agents, properties) were encoded once with `json.dumps`/`csv_cell`.
A test pins the output to what the json and csv modules read back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clickstream.contract.schema import FIELD_NAMES
from clickstream.errors import GeneratorError
from clickstream.generator.catalogue import Catalogue
from clickstream.generator.sessions import CHECKOUT, EVENT_TYPES, Event, csv_cell

FORMATS = ("jsonl", "csv")
DRIFT_FIELD = "app_version"
DRIFT_VALUE = "2.3.1"
# Share of priced events whose price is written as a JSON string once the schema drifts.
DRIFT_STRING_PRICE_SHARE = 0.30


@dataclass
class EventTable:
    """Events ready to render: simulated rows plus ids, timestamp text and drift choices."""

    rows: list[Event]
    ids: list[str]
    ts: list[str]
    price_as_text: list[bool]


def check_format(fmt: str) -> None:
    """Raise a ValueError naming the supported formats when `fmt` is not one of them."""
    if fmt not in FORMATS:
        raise GeneratorError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def drift_choices(rng: np.random.Generator, n: int) -> list[bool]:
    """Which events would carry a string price if they land in a drifted file."""
    return (rng.random(n) < DRIFT_STRING_PRICE_SHARE).tolist()


def render_json(t: EventTable, idx: Sequence[int], drift: bool, cat: Catalogue) -> list[str]:
    """One compact JSON object per event index; absent values are left out, not null."""
    rows, ids, ts, as_text = t.rows, t.ids, t.ts, t.price_as_text
    pid, price_text = cat.product_ids, cat.price_text
    type_names = EVENT_TYPES
    extra = f',"{DRIFT_FIELD}":"{DRIFT_VALUE}"' if drift else ""
    out = []
    append = out.append
    for i in idx:
        s, et, page, ref, p, q, props = rows[i]
        prof = s.profile
        if p >= 0:
            price = price_text[prof.currency_idx][p]
            if drift and as_text[i]:
                price = f'"{price}"'
            com = f',"product_id":"{pid[p]}","price":{price},"quantity":{q},"currency":"{prof.currency}"'
        elif et == CHECKOUT:
            com = f',"currency":"{prof.currency}"'
        else:
            com = ""
        ref = f',"referrer":"{ref}"' if ref is not None else ""
        props = f',"properties":{props}' if props is not None else ""
        append(
            f'{{"event_id":"{ids[i]}","event_ts":"{ts[i]}","event_type":"{type_names[et]}",'
            f'{s.json_head},"page_url":"{page}"'
            f"{ref}{com}{prof.json_tail}{props}{extra}}}"
        )
    return out


def csv_header(drift: bool) -> list[str]:
    """The CSV header: contract field names in order, plus the drift column when drifting."""
    return [*FIELD_NAMES, DRIFT_FIELD] if drift else list(FIELD_NAMES)


def csv_lines(rows: list[list[Any]]) -> list[str]:
    """CSV text of each row via the csv module (QUOTE_MINIMAL, None as an empty cell)."""
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    return text.split("\n")[:-1] if text else []


def render_csv(t: EventTable, idx: Sequence[int], drift: bool, cat: Catalogue) -> list[str]:
    """One CSV line per event index, columns as in `csv_header(drift)`."""
    rows, ids, ts = t.rows, t.ids, t.ts
    pid, price_text = cat.product_ids, cat.price_text
    type_names = EVENT_TYPES
    extra = f",{DRIFT_VALUE}" if drift else ""
    props_cells: dict[str, str] = {}
    out = []
    append = out.append
    for i in idx:
        s, et, page, ref, p, q, props = rows[i]
        prof = s.profile
        if p >= 0:
            com = f"{pid[p]},{price_text[prof.currency_idx][p]},{q},{prof.currency}"
        elif et == CHECKOUT:
            com = f",,,{prof.currency}"
        else:
            com = ",,,"
        if props is None:
            cell = ""
        else:
            cell = props_cells.get(props)
            if cell is None:
                cell = props_cells[props] = csv_cell(props)
        append(
            f"{ids[i]},{ts[i]},{type_names[et]},{s.user_id},{s.session_id},{page},{ref or ''},"
            f"{com},{prof.csv_tail},{cell}{extra}"
        )
    return out


def record(t: EventTable, i: int, cat: Catalogue) -> dict[str, Any]:
    """Event i as a dict keyed by contract field name (None where absent)."""
    s, et, page, ref, p, q, props = t.rows[i]
    prof = s.profile
    return {
        "event_id": t.ids[i],
        "event_ts": t.ts[i],
        "event_type": EVENT_TYPES[et],
        "user_id": s.user_id,
        "session_id": s.session_id,
        "page_url": page,
        "referrer": ref,
        "product_id": cat.product_ids[p] if p >= 0 else None,
        "price": cat.price_value[prof.currency_idx][p] if p >= 0 else None,
        "quantity": q if p >= 0 else None,
        "currency": prof.currency if p >= 0 or et == CHECKOUT else None,
        "device": prof.device,
        "country": prof.country,
        "user_agent": prof.user_agent,
        "utm_source": prof.utm_source,
        "utm_medium": prof.utm_medium,
        "utm_campaign": prof.utm_campaign,
        "properties": json.loads(props) if props is not None else None,
    }


def dump_record(rec: dict[str, Any], fmt: str, drift: bool) -> str:
    """Generic (slow) rendering of one record dict, for the few hand-made malformed lines."""
    if fmt == "jsonl":
        obj = {k: v for k, v in rec.items() if v is not None}
        if drift:
            obj[DRIFT_FIELD] = DRIFT_VALUE
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    row = [
        json.dumps(v, ensure_ascii=False, separators=(",", ":")) if isinstance(v, dict) else v
        for v in (rec.get(name) for name in FIELD_NAMES)
    ]
    if drift:
        row.append(DRIFT_VALUE)
    return csv_lines([row])[0]
