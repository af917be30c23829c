"""The generic YAML mapping: any CSV/JSON columns onto the contract, and one-line errors for bad mappings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from clickstream.errors import ConfigError
from clickstream.ingest.adapters import mapping
from tests.adapters.conftest import run_format
from tests.conftest import query

CSV_MAPPING = """
file_format: csv
columns: [when, what, who, visit, sku, amount]
fields: {event_ts: when, event_type: what, user_id: who, session_id: visit, product_id: sku, price: amount}
timestamp_format: "%d/%m/%Y %H:%M"
event_types: {seen: page_view, basket: add_to_cart, bought: purchase}
"""


def test_csv_mapping_with_and_without_header(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    spec = tmp_path / "mapping.yaml"
    spec.write_text(CSV_MAPPING)
    rows = ["02/03/2024 13:45,seen,u1,s1,,", "02/03/2024 13:46,basket,u1,s1,A,9.50", "02/03/2024 13:50,bought,u1,s1,A,9.50"]
    (landing / "with_header.csv").write_text("\n".join(["When,What,Who,Visit,Sku,Amount", *rows]) + "\n")
    # The same rows again, header-less and with one unknown action: ids are value hashes, so only that row is new.
    (landing / "z_no_header.csv").write_text("\n".join([*rows, "02/03/2024 14:00,wished,u2,s2,,"]) + "\n")
    summary = run_format(landing, warehouse, "mapping", mapping_file=spec)
    assert (summary.silver_inserted, summary.duplicates, summary.quarantined) == (3, 3, 1)
    assert query(warehouse, "SELECT event_ts, event_type, price FROM silver_events ORDER BY event_ts") == [
        (datetime(2024, 3, 2, 13, 45), "page_view", None),
        (datetime(2024, 3, 2, 13, 46), "add_to_cart", Decimal("9.50")),
        (datetime(2024, 3, 2, 13, 50), "purchase", Decimal("9.50")),
    ]
    assert query(warehouse, "SELECT reason FROM quarantine_events") == [("unknown_event_type",)]


def test_records_differing_only_in_an_unmapped_column_stay_two_events(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    # The shape of the IBM clickstream sample: two purchases by one customer in the same second, told
    # apart only by the basket total, a column the mapping does not use.
    spec = tmp_path / "mapping.yaml"
    spec.write_text(
        "file_format: csv\n"
        "columns: [customer, visit, at, action, basket_total]\n"
        "fields: {event_ts: at, event_type: action, user_id: customer, session_id: visit}\n"
        "event_types: {buy: purchase}\n"
    )
    header, rows = "customer,visit,at,action,basket_total", ["c7,v1,2024-05-01 10:00:00,buy,323.81", "c7,v1,2024-05-01 10:00:00,buy,318.81"]
    (landing / "a.csv").write_text("\n".join([header, *rows]) + "\n")
    first = run_format(landing, warehouse, "mapping", mapping_file=spec)
    assert (first.silver_inserted, first.duplicates) == (2, 0)
    # The same file re-saved by another tool (CRLF, no header, blanks around cells) adds nothing.
    (landing / "b.csv").write_bytes(("\r\n".join(r.replace(",", " , ") for r in rows) + "\r\n").encode())
    again = run_format(landing, warehouse, "mapping", mapping_file=spec)
    assert (again.input_lines, again.silver_inserted, again.duplicates) == (2, 0, 2)
    assert query(warehouse, "SELECT count(DISTINCT event_id) FROM silver_events") == [(2,)]


def test_json_objects_differing_only_in_an_unmapped_key_stay_two_events(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    spec = tmp_path / "mapping.yaml"
    spec.write_text("file_format: jsonl\nfields: {event_ts: $.t, event_type: $.kind, user_id: $.u, session_id: $.s}\n")
    lines = [
        '{"t": "2024-05-01T10:00:00Z", "kind": "click", "u": "u1", "s": "s1", "x": 1}',
        '{"t": "2024-05-01T10:00:00Z", "kind": "click", "u": "u1", "s": "s1", "x": 2}',
        '{"t":"2024-05-01T10:00:00Z","kind":"click","u":"u1","s":"s1","x":1}',  # the first, minified: a true duplicate
    ]
    (landing / "e.jsonl").write_text("\n".join(lines) + "\n")
    summary = run_format(landing, warehouse, "mapping", mapping_file=spec)
    assert (summary.silver_inserted, summary.duplicates) == (2, 1)


def test_jsonl_mapping_with_epoch_milliseconds(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    spec = tmp_path / "mapping.yaml"
    spec.write_text(
        "file_format: jsonl\n"
        "fields: {event_id: $.id, event_ts: $.t, event_type: $.kind, user_id: $.user.id, session_id: $.session}\n"
        "timestamp_format: epoch_ms\n"
    )
    (landing / "e.jsonl").write_text('{"id": "e1", "t": 1714557600123, "kind": "click", "user": {"id": 7}, "session": "x"}\n')
    run_format(landing, warehouse, "mapping", mapping_file=spec)
    assert query(warehouse, "SELECT event_id, event_ts, user_id FROM silver_events") == [
        ("e1", datetime(2024, 5, 1, 10, 0, 0, 123000), "7")
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fields: {event_ts: a, event_type: b, user_id: c}", "session_id"),
        ("fields: {event_ts: a, event_type: b, user_id: c, session_id: d, colour: e}", "colour"),
        ("fields: [a, b]", "fields"),
        ("file_format: jsonl\nfields: {event_ts: a, event_type: b, user_id: c, session_id: d}", "JSON paths"),
        ("fields: {event_ts: a: b", "not valid YAML"),
    ],
)
def test_bad_mapping_is_one_clear_line(tmp_path: Path, text: str, says: str) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(text)
    with pytest.raises(ConfigError) as err:
        mapping.load(spec)
    message = str(err.value)
    assert says in message and "\n" not in message and str(spec) in message


def test_mapping_format_without_a_mapping_file_is_a_config_error() -> None:
    from clickstream.config import load_settings

    with pytest.raises(ConfigError, match="mapping_file"):
        load_settings(overrides={"landing": {"format": "mapping"}})
