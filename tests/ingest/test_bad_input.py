"""Bad input never crashes and never vanishes: every line lands in silver, quarantine or duplicates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.conftest import query, run_once

TS = "2026-11-27T10:00:00Z"


def event(eid: str, **overrides) -> dict:
    base = {
        "event_id": eid,
        "event_ts": TS,
        "event_type": "page_view",
        "user_id": "u1",
        "session_id": "s1",
        "page_url": "/home",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def line(eid: str, **overrides) -> bytes:
    return json.dumps(event(eid, **overrides)).encode()


def write(landing: Path, name: str, data: bytes) -> None:
    (landing / name).write_bytes(data)


def reasons(warehouse: Path) -> dict[tuple[str, int], str]:
    return {(f, n): r for f, n, r in query(warehouse, "SELECT source_file, line_number, reason FROM quarantine_events")}


def test_every_bad_line_is_quarantined_with_its_reason(landing: Path, warehouse: Path) -> None:
    future = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected: dict[tuple[str, int], str] = {}
    valid: set[str] = set()

    def add(name: str, lines: list[tuple[bytes, str | None]], sep: bytes = b"\n", final_sep: bool = True) -> None:
        data = sep.join(raw for raw, _ in lines) + (sep if final_sep else b"")
        write(landing, name, data)
        for i, (raw, reason) in enumerate(lines, start=1):
            if reason:
                expected[(name, i)] = reason
            else:
                valid.add(json.loads(raw)["event_id"])

    add(
        "malformed.jsonl",
        [
            (line("m1"), None),
            (b'{"event_id": "m2", "event_ts": ', "malformed_json"),
            (b"[1, 2, 3]", "not_a_json_object"),
            (b'"just a string"', "not_a_json_object"),
            (b"", "empty_line"),
            (b"   ", "empty_line"),
            (line("m3"), None),
        ],
    )
    add("truncated.jsonl", [(line("t1"), None), (line("t2")[:40], "malformed_json")], final_sep=False)
    add("crlf.jsonl", [(line("c1"), None), (line("c2"), None)], sep=b"\r\n")
    write(landing, "bom.jsonl", b"\xef\xbb\xbf" + line("b1") + b"\n" + line("b2") + b"\n")
    valid |= {"b1", "b2"}
    add("utf8.jsonl", [(line("x1"), None), (line("x2", page_url="/caf\u00e9"), None), (line("x3")[:-2] + b'\xff"}', "invalid_utf8")])
    write(landing, "empty.jsonl", b"")
    add("huge.jsonl", [(line("h1", properties={"blob": "a" * (5 * 1024 * 1024)}), "line_too_long"), (line("h2"), None)])
    add(
        "types.jsonl",
        [
            (line("w1", price="abc", event_type="purchase"), "bad_type:price"),
            (line("w2", quantity="two", event_type="purchase", price=3), "bad_type:quantity"),
            (line("w3", quantity=1.5, event_type="purchase", price=3), "bad_type:quantity"),
            (line("w4", user_id={"id": 1}), "bad_type:user_id"),
            (line("w5", properties="not an object"), "bad_type:properties"),
            (line("w6", event_ts="yesterday"), "bad_timestamp"),
            (line("w7", event_ts=1732700000), "bad_timestamp"),
            (line("w8", price="12.50", quantity="2", event_type="purchase"), None),
            (line("w9", user_id=42), None),
        ],
    )
    add(
        "missing.jsonl",
        [
            (line("r1", event_id=None), "missing_required:event_id"),
            (line("r2", session_id=None), "missing_required:session_id"),
            (line("r3", event_ts=""), "missing_required:event_ts"),
            (line("r4", user_id="  "), "missing_required:user_id"),
        ],
    )
    add(
        "values.jsonl",
        [
            (line("v1", event_type="teleport"), "unknown_event_type"),
            (line("v2", event_type=" PAGE_VIEW "), None),
            (line("v3", event_type="purchase", price=-1), "negative_price"),
            (line("v4", event_type="purchase", price=5, quantity=0), "bad_quantity"),
            (line("v5", country="Germany"), "invalid_value:country"),
            (line("v6", currency="euro", price=1), "invalid_value:currency"),
            (line("v7", event_ts=future), "future_timestamp"),
            (line("v8", brand_new_field={"a": 1}), None),
        ],
    )
    header = "event_id,event_ts,event_type,user_id,session_id,page_url\n"
    write(
        landing,
        "rows.csv",
        (
            header
            + f"k1,{TS},page_view,u1,s1,/a\n"
            + f"k2,{TS},page_view,u1\n"
            + f"k3,{TS},page_view,u1,s1,/a,extra\n"
            + f'k4,{TS},page_view,u1,s1,"/quoted,with ""comma"""\n'
        ).encode(),
    )
    expected[("rows.csv", 3)] = "csv_column_count"
    expected[("rows.csv", 4)] = "csv_column_count"
    valid |= {"k1", "k4"}
    write(landing, "no_session.csv", (f"event_id,event_ts,event_type,user_id\nn1,{TS},page_view,u1\n").encode())
    expected[("no_session.csv", 2)] = "missing_required:session_id"
    write(landing, "header_only.csv", header.encode())

    summary = run_once(landing, warehouse)

    assert reasons(warehouse) == expected
    silver_ids = {r[0] for r in query(warehouse, "SELECT event_id FROM silver_events")}
    assert silver_ids == valid
    bronze, silver, quarantine = query(
        warehouse,
        "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events)",
    )[0]
    assert bronze == summary.input_lines == silver + quarantine + summary.duplicates
    assert summary.duplicates == 0
    # Every file is in the ledger exactly once, the empty ones too.
    ledger = dict(query(warehouse, "SELECT source_file, lines FROM pipeline_files"))
    assert ledger["empty.jsonl"] == 0 and ledger["header_only.csv"] == 0
    assert len(ledger) == len(list(landing.iterdir()))
    # Quarantine keeps the raw line, so nothing is lost.
    raw = query(warehouse, "SELECT raw_line FROM quarantine_events WHERE source_file = 'malformed.jsonl' AND line_number = 2")
    assert raw == [('{"event_id": "m2", "event_ts": ',)]
    invalid = query(warehouse, "SELECT raw_line FROM bronze_events WHERE source_file = 'utf8.jsonl' AND line_number = 3")
    assert "\ufffd" in invalid[0][0]


def test_cleansing_normalises_values(landing: Path, warehouse: Path) -> None:
    write(
        landing,
        "a.jsonl",
        line(
            "n1",
            event_type=" Purchase ",
            event_ts="2026-11-27T12:00:00.250+02:00",
            price="19.99",
            quantity=3,
            currency="eur",
            country=" de ",
            device="Mobile",
            utm_medium="CPC",
        )
        + b"\n",
    )
    run_once(landing, warehouse)
    row = query(
        warehouse,
        "SELECT event_type, strftime(event_ts, '%Y-%m-%d %H:%M:%S.%g'), price, quantity, currency, country, device, "
        "channel, revenue, event_date::VARCHAR FROM silver_events",
    )
    assert [tuple(str(v) for v in row[0])] == [
        ("purchase", "2026-11-27 10:00:00.250", "19.9900", "3", "EUR", "DE", "mobile", "paid", "59.9700", "2026-11-27")
    ]
