"""REES46 exports through the rees46 adapter: the real 1k-row slice and each oddity such files carry."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from tests.adapters.conftest import REES46_SAMPLE, expected_summary, read_csv, run_format, silver_summary
from tests.conftest import query

TYPES = {"view": "page_view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart", "purchase": "purchase"}
HEADER = REES46_SAMPLE.read_text(encoding="utf-8").splitlines()[0]
ROWS = REES46_SAMPLE.read_text(encoding="utf-8").splitlines()[1:]


def _expected(rows: list[dict[str, str]]) -> dict:
    return expected_summary(
        [
            {
                "ts": datetime.strptime(r["event_time"], "%Y-%m-%d %H:%M:%S UTC"),
                "type": TYPES[r["event_type"]],
                "user": r["user_id"],
                "session": r["user_session"],
                "revenue": Decimal(r["price"]),
            }
            for r in rows
        ]
    )


def test_real_sample_silver_and_gold_match_the_raw_file(landing: Path, warehouse: Path) -> None:
    shutil.copy(REES46_SAMPLE, landing)
    rows = read_csv(REES46_SAMPLE)
    summary = run_format(landing, warehouse, "rees46")
    assert (summary.input_lines, summary.silver_inserted, summary.quarantined) == (len(rows), len(rows), 0)
    got, want = silver_summary(warehouse), _expected(rows)
    assert got == want
    # The slice's documented shape, so a wrong recompute cannot agree with a wrong pipeline.
    assert want["per_type"] == {"page_view": 987, "purchase": 10, "add_to_cart": 3}
    assert sum(v[3] for v in want["funnel"].values()) == 2


def test_reloading_the_same_rows_without_header_and_with_crlf_adds_nothing(landing: Path, warehouse: Path) -> None:
    # The id is a hash of the values, not of the bytes: line endings and a missing header do not change it.
    shutil.copy(REES46_SAMPLE, landing / "a.csv")
    run_format(landing, warehouse, "rees46")
    before = query(warehouse, "SELECT event_id, event_ts, user_id, price FROM silver_events ORDER BY ALL")
    (landing / "b.csv").write_bytes(("\r\n".join(ROWS) + "\r\n").encode())
    summary = run_format(landing, warehouse, "rees46")
    assert summary.input_lines == len(ROWS) and summary.silver_inserted == 0 and summary.quarantined == 0
    assert query(warehouse, "SELECT event_id, event_ts, user_id, price FROM silver_events ORDER BY ALL") == before


def test_header_less_crlf_file_alone_gives_the_same_silver(landing: Path, warehouse: Path) -> None:
    (landing / "noheader.csv").write_bytes(("\r\n".join(ROWS) + "\r\n").encode())
    run_format(landing, warehouse, "rees46")
    # Line numbers start at 1 without a header, and no CR leaks into the last column (the session).
    assert query(warehouse, "SELECT min(line_number), count(*), count(*) FILTER (WHERE session_id LIKE '%\r%') FROM silver_events") == [
        (1, len(ROWS), 0)
    ]
    assert silver_summary(warehouse) == _expected(read_csv(REES46_SAMPLE))


def test_exact_duplicate_rows_dedupe(landing: Path, warehouse: Path) -> None:
    (landing / "dups.csv").write_text("\n".join([HEADER, *ROWS, *ROWS[:25]]) + "\n")
    summary = run_format(landing, warehouse, "rees46")
    assert (summary.silver_inserted, summary.duplicates, summary.quarantined) == (len(ROWS), 25, 0)


def test_truncated_last_line_is_quarantined_not_half_loaded(landing: Path, warehouse: Path) -> None:
    # A copy cut off mid-write: once inside the session id (all columns present), once inside the price.
    cut_in_session = ROWS[-1][:-10]
    cut_in_price = ROWS[-2].split(",")
    cut_in_price = ",".join(cut_in_price[:6]) + "," + cut_in_price[6][:2]
    (landing / "a.csv").write_text("\n".join([HEADER, *ROWS[:-2], cut_in_session]))
    (landing / "b.csv").write_text("\n".join([HEADER, cut_in_price]))
    summary = run_format(landing, warehouse, "rees46")
    reasons = dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1"))
    assert reasons == {"invalid_value:session_id": 1, "csv_column_count": 1}
    assert summary.silver_inserted == len(ROWS) - 2


def test_spreadsheet_mangled_ids_are_quarantined_but_a_mangled_category_is_only_nulled(landing: Path, warehouse: Path) -> None:
    rows = [r.split(",") for r in ROWS[:10]]
    rows[0][7] = "5.41312E+08"  # user_id
    rows[1][2] = "4.46E+07"  # product_id
    rows[2][3] = "2.10381E+18"  # category_id: an attribute, not the event's identity
    (landing / "excel.csv").write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    summary = run_format(landing, warehouse, "rees46")
    assert dict(query(warehouse, "SELECT reason, line_number FROM quarantine_events")) == {
        "mangled_id:user_id": 2,
        "mangled_id:product_id": 3,
    }
    assert summary.silver_inserted == 8
    assert query(warehouse, "SELECT properties->>'category_id', properties->>'brand' FROM silver_events WHERE line_number = 4") == [
        (None, rows[2][5] or None)
    ]
    assert query(warehouse, "SELECT damaged_values::VARCHAR FROM pipeline_batches") == [('{"mangled_number:category_id":1}',)]


def test_a_file_saved_by_a_spreadsheet_keeps_all_its_traffic(landing: Path, warehouse: Path) -> None:
    # Every category_id in scientific notation, everything else intact: the traffic must all reach gold.
    clean = read_csv(REES46_SAMPLE)
    damaged = []
    for r in ROWS:
        cells = r.split(",")
        cells[3] = f"{float(cells[3]):.5E}"  # 2103807459595387724 -> 2.10381E+18
        damaged.append(",".join(cells))
    (landing / "excel.csv").write_text("\n".join([HEADER, *damaged]) + "\n")
    summary = run_format(landing, warehouse, "rees46")
    assert (summary.silver_inserted, summary.quarantined) == (len(ROWS), 0)
    assert silver_summary(warehouse) == _expected(clean)
    assert query(warehouse, "SELECT count(*) FROM silver_events WHERE properties->>'category_id' IS NOT NULL") == [(0,)]
    assert query(warehouse, "SELECT damaged_values->>'mangled_number:category_id' FROM pipeline_batches") == [(str(len(ROWS)),)]
    # The raw line, with its damaged value, stays in bronze.
    assert query(warehouse, "SELECT count(*) FROM bronze_events WHERE raw_line LIKE '%E+18%'") == [(len(ROWS),)]


def test_line_level_faults_keep_their_reasons_through_the_adapter(landing: Path, warehouse: Path) -> None:
    # Blank lines and broken bytes are judged before the mapping, exactly as for contract files.
    body = "\n".join([HEADER, ROWS[0], "", ROWS[1]]).encode() + b"\n" + ROWS[2].encode().replace(b"UTC", b"U\xffC") + b"\n"
    (landing / "faults.csv").write_bytes(body)
    summary = run_format(landing, warehouse, "rees46")
    assert dict(query(warehouse, "SELECT reason, line_number FROM quarantine_events")) == {"empty_line": 3, "invalid_utf8": 5}
    assert summary.silver_inserted == 2


def test_a_csv_read_in_slices_applies_its_header_to_every_slice(landing: Path, tmp_path: Path) -> None:
    # REES46's monthly export is one file of gigabytes: read in slices, each past the first takes the
    # header from the file's first line, and bronze keeps the file's own line numbers.
    shutil.copy(REES46_SAMPLE, landing / "2019-Oct.csv")
    whole, sliced = tmp_path / "whole.duckdb", tmp_path / "sliced.duckdb"
    run_format(landing, whole, "rees46")
    summary = run_format(landing, sliced, "rees46", {"engine": {"file_chunk_bytes": REES46_SAMPLE.stat().st_size // 3}})
    assert (summary.batches, summary.files, summary.silver_inserted, summary.quarantined) == (4, 1, len(ROWS), 0)
    assert silver_summary(sliced) == silver_summary(whole) == _expected(read_csv(REES46_SAMPLE))
    lineage = "SELECT source_file, line_number, raw_line FROM bronze_events ORDER BY line_number"
    assert query(sliced, lineage) == query(whole, lineage)
    assert query(sliced, "SELECT min(line_number), max(line_number) FROM bronze_events") == [(2, len(ROWS) + 1)]
    assert query(sliced, "SELECT status, lines, offset_line FROM pipeline_files") == [("consumed", len(ROWS), len(ROWS) + 1)]
