"""Cut landing files into raw lines as Arrow columns, without a Python object per line.

Every physical line becomes one row: CRLF and LF both end a line, a UTF-8 BOM at the start of a
file is dropped, a final line without a line break still counts, and bytes that are not UTF-8 are
kept (replaced by U+FFFD) and flagged so the line is quarantined rather than lost. Files are
read in bounded chunks and a line longer than `max_line_bytes` keeps only a prefix (just over the
limit, so it is judged line_too_long), so memory does not grow with the longest line.
"""

from __future__ import annotations

import csv
import errno
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from clickstream.contract import schema as C
from clickstream.contract.schema import FIELD_NAMES
from clickstream.ingest.adapters.base import Adapter
from clickstream.ingest.landing import LandingFile

_BOM = b"\xef\xbb\xbf"
_CONTRACT_COLUMNS = frozenset(FIELD_NAMES)
_LF = 10
CHUNK_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 1024 * 1024
# An overlong line keeps this many bytes past the limit, so that after backing off to a whole
# UTF-8 character (at most 3 bytes) it is still over the limit.
_PREFIX_SLACK = 4

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
    # Files that could not be read, by name, with the file-level reason (contract FILE_*).
    rejected: dict[str, str] = field(default_factory=dict)
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


def _prefix(raw: bytes, keep: int) -> bytes:
    """The first `keep` bytes, backed off to a whole UTF-8 character where that is possible."""
    cut = raw[:keep]
    for back in range(_PREFIX_SLACK):
        try:
            (cut[: len(cut) - back] if back else cut).decode("utf-8")
            return cut[: len(cut) - back] if back else cut
        except UnicodeDecodeError:
            continue
    return cut  # not UTF-8 before the cut either: it is quarantined as invalid_utf8


def _lines_from_bytes(data: bytes, keep: int) -> tuple[pa.Array, pa.Array]:
    _, lengths, content = _split(data)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(content)]
    )
    overlong = bool((lengths > keep).any())
    if not overlong:
        try:
            text = binary.cast(pa.large_string())
            return text, pa.array(np.zeros(len(lengths), dtype=bool))
        except pa.ArrowInvalid:
            pass
    # Rare path: a line is not UTF-8 or too long; find which, keep a readable (prefix) copy of each.
    decoded, invalid = [], []
    for raw in binary.to_pylist():
        if len(raw) > keep:
            raw = _prefix(raw, keep)
        try:
            decoded.append(raw.decode("utf-8"))
            invalid.append(False)
        except UnicodeDecodeError:
            decoded.append(raw.decode("utf-8", errors="replace"))
            invalid.append(True)
    return pa.array(decoded, type=pa.large_string()), pa.array(invalid, type=pa.bool_())


def _blocks(chunks: Iterable[bytes], keep: int) -> Iterator[bytes]:
    """Runs of whole lines (ending in LF, except maybe the file's last), no line above `keep` + 1 bytes.

    The rest of a line that outgrew `keep` is skipped up to its LF without being held.
    """
    carry = b""
    skipping = False  # `carry` is a cut-off prefix; drop bytes up to the next LF
    for chunk in chunks:
        chunk = bytes(chunk)
        pos = 0
        if skipping:
            lf = chunk.find(b"\n")
            if lf < 0:
                continue
            yield carry + b"\n"
            carry, skipping, pos = b"", False, lf + 1
        last = chunk.rfind(b"\n", pos)
        if last >= 0:
            yield carry + chunk[pos : last + 1]
            carry, pos = b"", last + 1
        carry += chunk[pos:]
        if len(carry) > keep:
            carry, skipping = carry[: keep + 1], True
    if carry:
        yield carry


def _file_chunks(f: LandingFile) -> Iterator[bytes]:
    if f.store is not None:
        data = memoryview(f.read_bytes())  # a GCS object is fetched whole (one generation, one read)
        for i in range(0, len(data), CHUNK_BYTES):
            yield data[i : i + CHUNK_BYTES]
        return
    with open(f.path, "rb") as fh:  # noqa: PTH123 - builtins.open, so a test can refuse it
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


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


def file_rejection(exc: OSError) -> str:
    """The ledger reason for a file the OS would not let us read."""
    if isinstance(exc, PermissionError):
        return C.FILE_PERMISSION_DENIED
    if exc.errno == errno.ELOOP:
        return C.FILE_SYMLINK_LOOP
    return C.FILE_UNREADABLE


def read_file(f: LandingFile, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> tuple[_FileLines, list[str] | None, int]:
    """A local or GCS file's lines, read in bounded chunks; FileNotFoundError when it vanished."""
    return split_chunks(f, _file_chunks(f), max_line_bytes)


def split_file(f: LandingFile, data: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> tuple[_FileLines, list[str] | None, int]:
    """A file's content as lines, its CSV header (if any) and its size in bytes."""
    view = memoryview(data)
    return split_chunks(f, (view[i : i + CHUNK_BYTES] for i in range(0, len(view), CHUNK_BYTES)), max_line_bytes)


def split_chunks(
    f: LandingFile, chunks: Iterable[bytes], max_line_bytes: int, after: "_Resume | None" = None
) -> tuple[_FileLines, list[str] | None, int]:
    """Lines of a file given as consecutive chunks of its bytes, its CSV header (if any) and its size.

    With `after`, the chunks are a slice that starts past the file's beginning: no BOM is looked
    for, and the CSV header is the one read from the file's first line.
    """
    keep = max_line_bytes + _PREFIX_SLACK
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        head: bytes | None = b"" if after is None else None  # the first bytes, until there are enough to tell a BOM
        for chunk in chunks:
            size += len(chunk)
            if head is not None:
                head += bytes(chunk)
                if len(head) < len(_BOM):
                    continue
                chunk, head = head[len(_BOM) :] if head.startswith(_BOM) else head, None
            yield chunk
        if head:
            yield head

    texts, flags = [], []
    for block in _blocks(counted(), keep):
        text, invalid = _lines_from_bytes(block, keep)
        texts.append(text)
        flags.append(invalid)
    lines = pa.concat_arrays(texts) if texts else pa.array([], pa.large_string())
    invalid = pa.concat_arrays(flags) if flags else pa.array([], pa.bool_())
    header = None
    first = 1
    if after is not None:
        return _FileLines(lines, invalid, after.line + 1), after.header, size
    if f.format in ("csv", "tsv"):
        header, has_header = _header(f, lines)
        if has_header:
            lines, invalid, first = lines.slice(1), invalid.slice(1), 2
    return _FileLines(lines, invalid, first), header, size


@dataclass(frozen=True)
class _Resume:
    """Where a slice past a file's start picks up: lines before it, and the file's CSV header."""

    line: int
    header: list[str] | None


@dataclass(frozen=True)
class SliceRead:
    """What `read_slice` read: whole lines of bytes [start_bytes, end_bytes), numbered as in the file."""

    lines: RawLines
    start_bytes: int
    end_bytes: int
    start_line: int  # physical lines before the slice
    end_line: int  # the last physical line number read (the CSV header line counts)
    at_end: bool  # the slice reached the end of the file


def _first_line_header(f: LandingFile, fh, keep: int) -> list[str] | None:  # noqa: ANN001 - a binary file object
    """The CSV header a slice past the start applies: from the file's first line (None for JSON lines)."""
    if f.format not in ("csv", "tsv"):
        return None
    fh.seek(0)
    first = fh.readline(keep + 1)
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    text, _ = _lines_from_bytes(first.rstrip(b"\r\n") + b"\n", keep)
    return _header(f, text)[0]


def _whole_lines(fh, start: int, budget: int, size: int, keep: int) -> tuple[bytes, int]:  # noqa: ANN001
    """About `budget` bytes from `start`, cut after the last line end, and the offset where they stop.

    A line longer than the budget is read on to its end, holding only the prefix that judges it
    line_too_long, so one slice always advances.
    """
    fh.seek(start)
    data = fh.read(budget)
    end = start + len(data)
    if end >= size or not data:
        return data, end
    last = data.rfind(b"\n")
    if last >= 0:
        return data[: last + 1], start + last + 1
    data = data[: keep + 1]
    while piece := fh.read(CHUNK_BYTES):
        lf = piece.find(b"\n")
        if lf >= 0:
            return data + piece[: max(0, min(lf, keep + 1 - len(data)))] + b"\n", end + lf + 1
        data += piece[: max(0, keep + 1 - len(data))]
        end += len(piece)
    return data, end


def read_slice(
    f: LandingFile, start_bytes: int, start_line: int, budget: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> SliceRead:
    """Whole lines of a local file from `start_bytes` on, about `budget` bytes of them, as raw lines.

    Memory follows the budget, not the file: this is how a file larger than engine.file_chunk_bytes is
    read, one slice per batch. Line numbers stay the file's own (`start_line` lines come before).
    """
    keep = max_line_bytes + _PREFIX_SLACK
    try:
        with open(f.path, "rb") as fh:  # noqa: PTH123 - builtins.open, so a test can refuse it
            size = os.fstat(fh.fileno()).st_size
            after = _Resume(start_line, _first_line_header(f, fh, keep)) if start_bytes > 0 else None
            data, end = _whole_lines(fh, start_bytes, budget, size, keep)
    except OSError as exc:
        nothing = RawLines(table=RAW_LINES_SCHEMA.empty_table(), adapter=f.adapter)
        if isinstance(exc, FileNotFoundError):
            nothing.missing.append(f.name)
        else:
            nothing.rejected[f.name] = file_rejection(exc)
        return SliceRead(nothing, start_bytes, start_bytes, start_line, start_line, False)
    view = memoryview(data)
    pieces = [view[i : i + CHUNK_BYTES] for i in range(0, len(view), CHUNK_BYTES)]
    split = split_chunks(f, pieces, max_line_bytes, after)
    read = lines_of([f], lambda _: split)
    read.bytes_read = end - start_bytes
    # The slice's physical lines end here (a CSV header line at the file's start counts as one).
    end_line = split[0].first_line_number - 1 + len(split[0].lines)
    return SliceRead(read, start_bytes, end, start_line, end_line, end >= size)


def read_lines(files: list[LandingFile], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> RawLines:
    """Read files into one Arrow table of raw lines (CSV header lines are metadata, not rows).

    A file the OS refuses to read is recorded in `rejected`, and the others are read.
    """
    return lines_of(files, lambda f: read_file(f, max_line_bytes))


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
        except OSError as exc:
            result.rejected[f.name] = file_rejection(exc)
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
