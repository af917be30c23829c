"""Poison input (issue #14): a file or line we cannot take is recorded with a reason, and the files
behind it are still ingested, on this run and on every later one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from clickstream.config import LandingSettings
from clickstream.ingest.landing import list_landing
from tests.conftest import query, run_once
from tests.ingest.test_bad_input import line, reasons, write
from tests.ingest.test_hostile_lines import assert_reconciles, silver_ids
from tests.peak_memory import REPORT_AT_EXIT, peak_rss_mib

def ledger(warehouse: Path) -> dict[str, tuple[str, str | None]]:
    return {f: (s, r) for f, s, r in query(warehouse, "SELECT source_file, status, reason FROM pipeline_files")}


def test_a_file_name_that_is_not_utf8_is_rejected_and_the_files_behind_it_ingested(landing: Path, warehouse: Path) -> None:
    fd = os.open(bytes(landing) + b"/\xff\xfe.jsonl", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, line("poison") + b"\n")
    os.close(fd)
    write(landing, "z-good.jsonl", line("g1") + b"\n")
    for _ in range(2):  # a restart must not trip over it again
        run_once(landing, warehouse)
    files = ledger(warehouse)
    assert files[r"\xff\xfe.jsonl"] == ("rejected", "name_not_utf8")
    assert files["z-good.jsonl"] == ("consumed", None)
    assert silver_ids(warehouse) == {"g1"}
    assert_reconciles(warehouse)


def test_a_symlink_loop_is_rejected_and_listing_still_works(landing: Path, warehouse: Path) -> None:
    (landing / "loop.jsonl").symlink_to(landing / "loop.jsonl")
    write(landing, "z-good.jsonl", line("g1") + b"\n")
    follow = LandingSettings(path=landing, follow_symlinks=True)
    assert {f.name: f.rejected for f in list_landing(follow)} == {"loop.jsonl": "symlink_loop", "z-good.jsonl": None}
    run_once(landing, warehouse, landing={"follow_symlinks": True})
    run_once(landing, warehouse, landing={"follow_symlinks": True})
    assert ledger(warehouse)["loop.jsonl"] == ("rejected", "symlink_loop")
    assert silver_ids(warehouse) == {"g1"}


def test_symlinks_are_not_followed_unless_configured(tmp_path: Path, landing: Path, warehouse: Path, caplog) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(line("outside") + b"\n")
    (landing / "x.jsonl").symlink_to(secret)
    write(landing, "z-good.jsonl", line("g1") + b"\n")
    with caplog.at_level(logging.WARNING):
        run_once(landing, warehouse)
    assert "x.jsonl" in caplog.text and "symlink" in caplog.text
    assert ledger(warehouse)["x.jsonl"] == ("rejected", "symlink")
    assert query(warehouse, "SELECT count(*) FROM bronze_events WHERE source_file = 'x.jsonl'") == [(0,)]
    assert silver_ids(warehouse) == {"g1"}

    followed = tmp_path / "followed.duckdb"
    run_once(landing, followed, landing={"follow_symlinks": True})
    assert silver_ids(followed) == {"g1", "outside"}


def test_a_file_that_cannot_be_read_is_rejected_and_the_batch_goes_on(landing: Path, warehouse: Path, monkeypatch) -> None:
    write(landing, "a-locked.jsonl", line("locked") + b"\n")
    write(landing, "b-good.jsonl", line("g1") + b"\n")
    real_open = open

    def guarded_open(file, *args, **kwargs):  # root reads any mode bits, so refuse here
        if str(file).endswith("a-locked.jsonl"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    run_once(landing, warehouse)
    monkeypatch.undo()
    assert ledger(warehouse)["a-locked.jsonl"] == ("rejected", "permission_denied")
    assert silver_ids(warehouse) == {"g1"}
    assert_reconciles(warehouse)


def test_a_changed_file_under_a_consumed_name_is_reported_not_reread(landing: Path, warehouse: Path, caplog) -> None:
    write(landing, "a.jsonl", line("a1") + b"\n")
    run_once(landing, warehouse)
    write(landing, "a.jsonl", line("a1") + b"\n" + line("a2") + b"\n")
    with caplog.at_level(logging.WARNING):
        run_once(landing, warehouse)
        run_once(landing, warehouse)
    assert caplog.text.count("a.jsonl") >= 1 and "not re-read" in caplog.text
    rows = ledger(warehouse)
    assert rows["a.jsonl"] == ("consumed", None)
    reused = [k for k, v in rows.items() if v == ("rejected", "name_reused")]
    assert len(reused) == 1 and reused[0].startswith("a.jsonl@")
    assert silver_ids(warehouse) == {"a1"}


# --- one enormous line ------------------------------------------------------------------------

_MEASURE = REPORT_AT_EXIT + "from clickstream.cli.main import main\nmain()\n"


def peak_rss_of_a_run_with_one_line_of(size: int, root: Path) -> float:
    """Peak RSS (MiB) of `clickstream run --once` over a file holding one line of `size` bytes,
    then a good line."""
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    landing.mkdir(parents=True)
    with open(landing / "huge.jsonl", "wb") as out:
        out.write(b'{"event_id": "big", "blob": "')
        chunk = b"x" * (4 * 1024 * 1024)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(b'"}\n' + line("after") + b"\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, "run", "--once", "--quiet", "--landing", str(landing), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert reasons(warehouse) == {("huge.jsonl", 1): "line_too_long"}
    assert silver_ids(warehouse) == {"after"}
    return peak_rss_mib(proc.stderr)


def test_one_huge_line_is_line_too_long_in_flat_memory(tmp_path: Path) -> None:
    # Flat: a 120 MiB line costs what an 8 MiB one does. Holding the line once would add 112 MiB;
    # the absolute figure depends on the machine's load, the difference does not.
    small = peak_rss_of_a_run_with_one_line_of(8 * 1024 * 1024, tmp_path / "small")
    huge = peak_rss_of_a_run_with_one_line_of(120 * 1024 * 1024, tmp_path / "huge")
    assert huge - small < 56, f"peak RSS {huge:.0f} MiB for a 120 MiB line, {small:.0f} MiB for an 8 MiB one"
    (kept,), = query(tmp_path / "huge" / "warehouse.duckdb", "SELECT strlen(raw_line) FROM bronze_events WHERE line_number = 1")
    assert 1024 * 1024 < kept <= 1024 * 1024 + 4  # a prefix, just over pipeline.max_line_bytes


def test_lines_do_not_depend_on_where_chunks_end(monkeypatch) -> None:
    from datetime import datetime

    from clickstream.ingest import lines as L
    from clickstream.ingest.landing import LandingFile

    limit = 256
    data = (
        b"\xef\xbb\xbf" + line("a") + b"\r\n" + b"\r\n".join([b"x" * 300, "€".encode() * 200, b"", b"  ", b"y" * 256])
        + b"\n" + b"\xff" * 400 + b"\r\n" + b"z" * 1000
    )
    f = LandingFile("a.jsonl", Path("a.jsonl"), len(data), datetime(2026, 1, 1), "jsonl")
    whole, _, size = L.split_file(f, data, limit)
    assert size == len(data)
    for chunk in (1, 2, 3, 7, 64, 255, 256, 257, 1000):
        monkeypatch.setattr(L, "CHUNK_BYTES", chunk)
        cut, _, _ = L.split_file(f, data, limit)
        assert cut.lines.equals(whole.lines) and cut.invalid.equals(whole.invalid), chunk
    texts = whole.lines.to_pylist()
    assert texts[0] == line("a").decode() and len(texts) == 8
    assert [len(t.encode()) for t in texts[1:3]] == [limit + 4, limit + 2]  # a prefix over the limit, whole characters
    assert texts[5] == "y" * 256 and len(texts[7]) == limit + 4
    assert whole.invalid.to_pylist() == [False] * 6 + [True, False]


def test_a_warehouse_from_before_file_rejection_gets_the_ledger_columns(landing: Path, warehouse: Path) -> None:
    import duckdb

    con = duckdb.connect(str(warehouse))
    con.execute(
        "CREATE TABLE pipeline_files (source_file VARCHAR NOT NULL, size_bytes BIGINT NOT NULL, "
        "modified_at TIMESTAMP NOT NULL, lines BIGINT NOT NULL, batch_id BIGINT NOT NULL)"
    )
    con.execute("INSERT INTO pipeline_files VALUES ('old.jsonl', 1, TIMESTAMP '2026-01-01', 1, 0)")
    con.close()
    (landing / "x.jsonl").symlink_to(landing / "nowhere-else.jsonl.tmp")
    write(landing, "old.jsonl", line("o1") + b"\n")
    write(landing, "new.jsonl", line("n1") + b"\n")
    run_once(landing, warehouse)
    rows = ledger(warehouse)
    assert rows["old.jsonl"] == (None, None)  # an older row: consumed
    assert rows["new.jsonl"] == ("consumed", None) and rows["x.jsonl"] == ("rejected", "symlink")
    assert silver_ids(warehouse) == {"n1"}


def test_status_counts_rejected_files_and_lists_them(tmp_path: Path, landing: Path, warehouse: Path) -> None:
    from clickstream.services.status import read_status
    from tests.conftest import pipeline_settings

    (landing / "x.jsonl").symlink_to(tmp_path)
    write(landing, "good.jsonl", line("g1") + b"\n")
    run_once(landing, warehouse)
    status = read_status(pipeline_settings(landing, warehouse), batches=5)
    totals = status.totals.to_pylist()[0]
    assert (totals["files"], totals["rejected_files"]) == (1, 1)
    assert status.rejected_files.select(["reason", "source_file"]).to_pylist() == [{"reason": "symlink", "source_file": "x.jsonl"}]


def test_a_file_name_cannot_forge_a_log_line(tmp_path: Path, landing: Path, warehouse: Path, caplog) -> None:
    (landing / "x\nERROR forged line.jsonl").symlink_to(tmp_path)
    write(landing, "good.jsonl", line("g1") + b"\n")
    with caplog.at_level("WARNING"):
        run_once(landing, warehouse)
    warnings = [r.getMessage() for r in caplog.records if "recorded as rejected" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0] and "forged line" in warnings[0]
    assert silver_ids(warehouse) == {"g1"}
