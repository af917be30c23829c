"""Cut landing files into raw lines as Arrow columns, without a Python object per line.

Every physical line becomes one row: CRLF and LF both end a line, a UTF-8 BOM at the start of a
file is dropped, a final line without a line break still counts, and bytes that are not UTF-8 are
kept (replaced by U+FFFD) and flagged so the line is quarantined rather than lost.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyarrow as pa

from clickstream.contract.schema import FIELD_NAMES
from clickstream.errors import LandingError
from clickstream.ingest.adapters.base import Adapter
from clickstream.ingest.landing import LandingFile

_BOM = b"\xef\xbb\xbf"
_CONTRACT_COLUMNS = frozenset(FIELD_NAMES)

RAW_LINES_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("raw_line", pa.large_string()),
        ("invalid_utf8", pa.bool_()),
        ("file_format", pa.string()),
    ]
)


@dataclass
class RawLines:
    table: pa.Table
    csv_headers: dict[str, list[str]] = field(default_factory=dict)
    lines_per_file: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    # Files listed but gone by the time they were read; they stay out of the ledger.
    missing: list[str] = field(default_factory=list)
    # The adapter the batch's files are read through (one landing source, one format); None: contract.
    adapter: Adapter | None = None


@dataclass
class _FileLines:
    lines: pa.Array  # string
    invalid: pa.Array  # bool
    first_line_number: int


def _split(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start offsets, lengths (without terminators) and the terminator-free byte buffer."""
    buf = np.frombuffer(data, dtype=np.uint8)
    lf = np.flatnonzero(buf == 10)
    n_lines = len(lf) + (1 if len(buf) and (not len(lf) or lf[-1] != len(buf) - 1) else 0)
    starts = np.empty(n_lines, dtype=np.int64)
    ends = np.empty(n_lines, dtype=np.int64)
    if n_lines:
        starts[0] = 0
        starts[1:] = lf[: n_lines - 1] + 1
        ends[: len(lf)] = lf
        if n_lines > len(lf):
            ends[-1] = len(buf)
    # A CR right before the LF belongs to the terminator.
    has_cr = np.zeros(n_lines, dtype=bool)
    terminated = np.arange(n_lines) < len(lf)
    nonempty = ends > starts
    idx = np.flatnonzero(terminated & nonempty)
    has_cr[idx] = buf[ends[idx] - 1] == 13
    content_ends = ends - has_cr
    lengths = content_ends - starts
    keep = np.ones(len(buf), dtype=bool)
    keep[lf] = False
    keep[ends[has_cr] - 1] = False
    return starts, lengths, buf[keep]


def _lines_from_bytes(data: bytes) -> tuple[pa.Array, pa.Array]:
    _, lengths, content = _split(data)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(content)]
    )
    try:
        text = binary.cast(pa.large_string())
        return text, pa.array(np.zeros(len(lengths), dtype=bool))
    except pa.ArrowInvalid:
        pass
    # Rare path: at least one line is not UTF-8; find which, keep a readable copy of each.
    decoded, invalid = [], []
    for raw in binary.to_pylist():
        try:
            decoded.append(raw.decode("utf-8"))
            invalid.append(False)
        except UnicodeDecodeError:
            decoded.append(raw.decode("utf-8", errors="replace"))
            invalid.append(True)
    return pa.array(decoded, type=pa.large_string()), pa.array(invalid, type=pa.bool_())


def _csv_header(line: str, delimiter: str = ",") -> list[str]:
    try:
        return [c.strip().lower() for c in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return []


def _header(f: LandingFile, lines: pa.Array) -> tuple[list[str], bool]:
    """The file's column names, and whether its first line is the header (not a record).

    Contract CSV always starts with a header; one whose first line names no contract field has
    lost it, and gets the empty header, so each of its lines is quarantined rather than the
    first record silently read as column names. An adapter's file may not start with a header
    (REES46 slices, Snowplow's enriched TSV): unless most of its cells name the adapter's
    columns, the first line is data, read in the adapter's default column order. (One match is
    not enough: a Snowplow struct event's event_name cell is the word `event`, which is also a
    column name.)
    """
    first = _csv_header(lines[0].as_py(), "\t" if f.format == "tsv" else ",") if len(lines) else []
    if f.adapter is None or not f.adapter.default_columns:
        if f.adapter is None and len(lines) and not set(first) & _CONTRACT_COLUMNS:
            return [], False
        return first, True
    known = f.adapter.known_columns()
    if 2 * sum(c in known for c in first) > len(first):
        return first, True
    return list(f.adapter.default_columns), False


def read_file(f: LandingFile) -> tuple[_FileLines, list[str] | None, int]:
    try:
        data = f.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise LandingError(f"cannot read landing file {f.name}: {exc.strerror}; fix its permissions") from exc
    return split_file(f, data)


def split_file(f: LandingFile, data: bytes) -> tuple[_FileLines, list[str] | None, int]:
    """A file's content as lines, its CSV header (if any) and its size in bytes."""
    size = len(data)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    lines, invalid = _lines_from_bytes(data)
    header = None
    first = 1
    if f.format in ("csv", "tsv"):
        header, has_header = _header(f, lines)
        if has_header:
            lines, invalid, first = lines.slice(1), invalid.slice(1), 2
    return _FileLines(lines, invalid, first), header, size


def read_lines(files: list[LandingFile]) -> RawLines:
    """Read whole files into one Arrow table of raw lines (CSV header lines are metadata, not rows)."""
    return lines_of(files, read_file)


def lines_of(
    files: list[LandingFile], split: Callable[[LandingFile], tuple[_FileLines, list[str] | None, int]]
) -> RawLines:
    """Raw lines of files, each cut by `split` (from a path here, from bytes a Spark executor holds)."""
    tables = []
    result = RawLines(table=RAW_LINES_SCHEMA.empty_table(), adapter=files[0].adapter if files else None)
    for f in files:
        try:
            file_lines, header, size = split(f)
        except FileNotFoundError:
            result.missing.append(f.name)
            continue
        n = len(file_lines.lines)
        result.bytes_read += size
        result.lines_per_file[f.name] = n
        if header is not None:
            result.csv_headers[f.name] = header
        if not n:
            continue
        tables.append(
            pa.table(
                [
                    pa.repeat(pa.scalar(f.name, pa.string()), n),
                    pa.array(np.arange(file_lines.first_line_number, file_lines.first_line_number + n, dtype=np.int64)),
                    file_lines.lines,
                    file_lines.invalid,
                    pa.repeat(pa.scalar(f.format, pa.string()), n),
                ],
                schema=RAW_LINES_SCHEMA,
            )
        )
    if tables:
        result.table = pa.concat_tables(tables)
    return result
