"""A file read in slices (`read_slice`) yields exactly the raw lines of the file read whole: the same
line numbers, BOM, CRLF, overlong and non-UTF-8 lines, and a CSV header applied to every slice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from clickstream.ingest.landing import LandingFile
from clickstream.ingest.lines import read_lines, read_slice

MAX_LINE = 256
HOSTILE = (
    b"\xef\xbb\xbf" + b'{"a": 1}\r\n' + b"\n" + b'{"b": "' + b"x" * 700 + b'"}\n' + b"\xff\xfe not utf-8\n"
    + b'{"c": 3}\r\n' * 5 + b'{"last": "no line end"}'
)  # fmt: skip
CSV = b"event_id,event_ts\r\n" + b"".join(b"e%d,2026-11-26T00:00:%02dZ\r\n" % (i, i) for i in range(12)) + b"e12," + b"9" * 400


def landing_file(path: Path, fmt: str) -> LandingFile:
    return LandingFile(path.name, path, path.stat().st_size, datetime(2026, 11, 26), fmt)


def in_slices(f: LandingFile, budget: int) -> tuple[pa.Table, list[tuple[int, int, int]], dict[str, list[str]]]:
    """Every slice of `f`, read one after another as the engine does: rows, (start, end, end_line), headers."""
    tables, bounds, headers = [], [], {}
    start = line = 0
    while True:
        part = read_slice(f, start, line, budget, MAX_LINE)
        assert part.start_bytes == start and part.end_bytes > start  # every slice advances
        tables.append(part.lines.table)
        bounds.append((part.start_bytes, part.end_bytes, part.end_line))
        headers.update(part.lines.csv_headers)
        start, line = part.end_bytes, part.end_line
        if part.at_end:
            return pa.concat_tables(tables), bounds, headers


@pytest.mark.parametrize(("name", "content", "fmt"), [("a.jsonl", HOSTILE, "jsonl"), ("a.csv", CSV, "csv")])
@pytest.mark.parametrize("budget", [1, 40, 300, 10_000])
def test_slices_read_the_same_lines_as_the_whole_file(tmp_path: Path, name: str, content: bytes, fmt: str, budget: int) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    f = landing_file(path, fmt)
    whole = read_lines([f], MAX_LINE)
    rows, bounds, headers = in_slices(f, budget)
    assert rows.to_pylist() == whole.table.to_pylist()
    assert headers == whole.csv_headers
    assert bounds[-1][1] == len(content) and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    # The last line number read is the file's physical line count (a CSV's header line included).
    assert bounds[-1][2] == whole.table.column("line_number")[-1].as_py() == content.count(b"\n") + 1
    if budget == 10_000:
        assert len(bounds) == 1
