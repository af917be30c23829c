"""Hostile lines (issue #14): absurd timestamps and broken CSV are quarantined with their own reason,
in every batch including a new warehouse's first, and every physical line is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import query, run_once
from tests.ingest.test_bad_input import line, reasons, write

CSV_HEADER = b"event_id,event_ts,event_type,user_id,session_id,page_url\n"


def silver_ids(warehouse: Path) -> set[str]:
    return {r[0] for r in query(warehouse, "SELECT event_id FROM silver_events")}


def assert_reconciles(warehouse: Path) -> None:
    (lines, silver, quarantine, dups), = query(
        warehouse,
        "SELECT (SELECT coalesce(sum(input_lines), 0) FROM pipeline_batches), (SELECT count(*) FROM silver_events), "
        "(SELECT count(*) FROM quarantine_events), (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches)",
    )
    assert lines == silver + quarantine + dups


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize("ts", ["0000-01-01T00:00:00Z", "-0001-06-01T00:00:00Z", "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z"])
def test_an_absurdly_old_timestamp_is_bad_in_the_first_batch(landing: Path, warehouse: Path, ts: str) -> None:
    write(landing, "a.jsonl", line("old", event_ts=ts) + b"\n" + line("ok") + b"\n")
    run_once(landing, warehouse)
    assert reasons(warehouse) == {("a.jsonl", 1): "bad_timestamp"}
    assert silver_ids(warehouse) == {"ok"}


def test_utc_offsets_beyond_18_hours_are_bad(landing: Path, warehouse: Path) -> None:
    base = "2026-11-27T10:00:00"
    offsets = {"+25:00": "bad_timestamp", "-1900": "bad_timestamp", "+18:30": "bad_timestamp", "+18:00": None, "-05:30": None}
    write(landing, "a.jsonl", b"\n".join(line(f"o{i}", event_ts=base + o) for i, o in enumerate(offsets)) + b"\n")
    run_once(landing, warehouse)
    expected = {("a.jsonl", i + 1): r for i, r in enumerate(offsets.values()) if r}
    assert reasons(warehouse) == expected


def test_min_event_ts_is_configurable(landing: Path, warehouse: Path) -> None:
    write(landing, "a.jsonl", line("y1990", event_ts="1990-05-01T00:00:00Z") + b"\n")
    run_once(landing, warehouse, pipeline={"min_event_ts": "1980-01-01T00:00:00"})
    assert silver_ids(warehouse) == {"y1990"}


# --- CSV --------------------------------------------------------------------------------------


def test_an_unbalanced_quote_is_quarantined_and_the_next_line_judged_alone(landing: Path, warehouse: Path) -> None:
    rows = [
        b'c1,2026-11-27T10:00:00Z,page_view,u1,s1,"/a,b"',
        b'c2,2026-11-27T10:00:00Z,page_view,u1,s1,"/unterminated',
        b"c3,2026-11-27T10:00:00Z,page_view,u1,s1,/home",
        b'c4,2026-11-27T10:00:00Z,page_view,u1,s1,/ho"me',
    ]
    write(landing, "a.csv", CSV_HEADER + b"\n".join(rows) + b"\n")
    run_once(landing, warehouse)
    assert reasons(warehouse) == {("a.csv", 3): "csv_unbalanced_quote", ("a.csv", 5): "csv_unbalanced_quote"}
    assert silver_ids(warehouse) == {"c1", "c3"}
    raw = query(warehouse, "SELECT raw_line FROM quarantine_events WHERE line_number = 3")
    assert raw == [(rows[1].decode(),)]


def test_a_contract_csv_without_header_is_quarantined_line_by_line(landing: Path, warehouse: Path) -> None:
    rows = [b"h1,2026-11-27T10:00:00Z,page_view,u1,s1,/home", b"h2,2026-11-27T10:00:00Z,page_view,u1,s1,/cart"]
    write(landing, "a.csv", b"\n".join(rows) + b"\n")
    write(landing, "b.csv", CSV_HEADER + rows[0].replace(b"h1", b"ok") + b"\n")
    run_once(landing, warehouse)
    assert reasons(warehouse) == {("a.csv", 1): "csv_missing_header", ("a.csv", 2): "csv_missing_header"}
    assert query(warehouse, "SELECT lines FROM pipeline_files WHERE source_file = 'a.csv'") == [(2,)]
    assert query(warehouse, "SELECT count(*) FROM bronze_events WHERE source_file = 'a.csv'") == [(2,)]
    assert silver_ids(warehouse) == {"ok"}
    assert_reconciles(warehouse)


