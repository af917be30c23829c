"""The generator's promises: counts in the manifest reconcile with the files, faults are exactly
what the manifest says, output is deterministic, realistic, and never from the future."""

from __future__ import annotations

import bisect
import csv
import io
import json
import os
import statistics
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clickstream.contract.schema import DEFAULT_EVENT_TYPES, FIELD_NAMES, REQUIRED_FIELDS
from clickstream.generator import MANIFEST_NAME, Faults, Manifest, generate_batch, generate_stream
from clickstream.generator.catalogue import COUNTRIES

START = datetime(2026, 11, 20, tzinfo=UTC)
FAULTS = Faults(duplicates=0.03, malformed=0.02, late=0.05, schema_drift=True)
COMMERCE_FIELDS = ("product_id", "price", "quantity")
CURRENCY = {country: currency for country, currency, _, _ in COUNTRIES}


def parse_ts(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return ts if ts.tzinfo is not None else None


def classify(obj: dict) -> str | None:
    """The pipeline's quarantine reason for a parsed record, or None when it is valid."""
    for name in REQUIRED_FIELDS:
        if obj.get(name) in (None, ""):
            return f"missing_required:{name}"
    if str(obj["event_type"]).lower() not in DEFAULT_EVENT_TYPES:
        return "unknown_event_type"
    if parse_ts(obj["event_ts"]) is None:
        return "bad_timestamp"
    if obj.get("price") not in (None, "") and float(obj["price"]) < 0:
        return "negative_price"
    return None


@dataclass
class Line:
    file: int
    text: str
    parsed: dict | None  # None when the line is not even a record
    reason: str | None  # None when the line is a valid event

    @property
    def record(self) -> dict:
        assert self.parsed is not None and self.reason is None
        return self.parsed


@dataclass
class Audit:
    manifest: Manifest
    headers: list[list[str]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def valid(self) -> list[Line]:
        return [x for x in self.lines if x.reason is None]

    def first_of_each_event(self) -> dict[str, Line]:
        first: dict[str, Line] = {}
        for x in self.valid:
            first.setdefault(x.record["event_id"], x)
        return first


def audit(folder: Path) -> Audit:
    """Read a landing folder the way the pipeline would, classifying every data line."""
    manifest = Manifest.from_json((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    data_files = sorted(p.name for p in folder.iterdir() if not p.name.startswith(("_", ".")))
    assert data_files == sorted(manifest.files), "manifest lists exactly the data files, no temp files"
    result = Audit(manifest)
    for f, name in enumerate(manifest.files):
        raw = (folder / name).read_bytes()
        assert raw == b"" or raw.endswith(b"\n")
        assert b"\r" not in raw
        texts = raw.decode("utf-8").split("\n")[:-1]
        if manifest.format == "csv":
            header = next(csv.reader([texts[0]]))
            result.headers.append(header)
            texts = texts[1:]
        for text in texts:
            if manifest.format == "jsonl":
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError:
                    result.lines.append(Line(f, text, None, "malformed_json"))
                    continue
            else:
                cells = next(csv.reader([text]))
                if len(cells) != len(header):
                    result.lines.append(Line(f, text, None, "csv_column_count"))
                    continue
                obj = {k: (v if v != "" else None) for k, v in zip(header, cells)}
                if obj["properties"] is not None:
                    obj["properties"] = json.loads(obj["properties"])
            result.lines.append(Line(f, text, obj, classify(obj)))
    return result


def assert_reconciles(a: Audit) -> None:
    """Every count in the manifest equals what is actually in the files."""
    m = a.manifest
    assert len(a.lines) == m.total_lines == m.unique_valid_events + m.duplicates + m.malformed_lines
    first = a.first_of_each_event()
    assert len(first) == m.unique_valid_events
    assert len(a.valid) == m.unique_valid_events + m.duplicates
    for x in a.valid:
        original = first[x.record["event_id"]]
        assert x.text == original.text, "a duplicate is byte-identical to its original"
        assert x.file >= original.file, "a duplicate never arrives before its original"
    bad = Counter(x.reason for x in a.lines if x.reason is not None)
    assert bad == Counter(m.malformed_by_reason)
    assert sum(m.malformed_by_reason.values()) == m.malformed_lines
    bad_ids = {x.parsed.get("event_id") for x in a.lines if x.reason is not None and x.parsed is not None}
    assert not bad_ids & set(first), "malformed lines use fresh event ids"


def utc(text: str) -> datetime:
    ts = parse_ts(text)
    assert ts is not None
    return ts.astimezone(UTC)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_manifest_counts_match_the_files(tmp_path: Path, fmt: str) -> None:
    m = generate_batch(tmp_path, events=3000, files=6, fmt=fmt, seed=7, start=START, faults=FAULTS)
    a = audit(tmp_path)
    assert a.manifest == m
    assert_reconciles(a)
    assert m.duplicates == 90 and m.malformed_lines == 60 and m.late_events == 150
    assert set(m.malformed_by_reason) == {
        "csv_column_count" if fmt == "csv" else "malformed_json",
        "missing_required:event_id",
        "unknown_event_type",
        "negative_price",
        "bad_timestamp",
    }
    start, end = utc(m.start), utc(m.end)
    assert all(start <= utc(x.record["event_ts"]) <= end for x in a.valid)


def test_late_events_arrive_one_to_five_files_after_their_time_slice(tmp_path: Path) -> None:
    m = generate_batch(tmp_path, events=3000, files=10, seed=3, start=START, faults=Faults(late=0.1))
    first = audit(tmp_path).first_of_each_event()
    stamps = sorted(utc(x.record["event_ts"]) for x in first.values())
    late = ambiguous = 0
    for x in first.values():
        ts = utc(x.record["event_ts"])
        # Events sharing a millisecond could sit on either side of a slice boundary.
        earliest = bisect.bisect_left(stamps, ts) * 10 // 3000
        latest = (bisect.bisect_right(stamps, ts) - 1) * 10 // 3000
        assert x.file >= earliest, "no event arrives before its time slice"
        if x.file > latest:
            assert x.file - latest <= 5
            late += 1
        elif x.file > earliest:
            ambiguous += 1
    assert m.late_events == 300
    assert late <= m.late_events <= late + ambiguous


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    def contents(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_batch(tmp_path / name, events=2000, files=4, fmt="csv", seed=seed, start=START, faults=FAULTS)
    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    assert contents(tmp_path / "a")["events-000001.csv"] != contents(tmp_path / "c")["events-000001.csv"]


def test_no_event_is_from_the_future(tmp_path: Path) -> None:
    generate_batch(tmp_path / "default", events=1000, files=2, span=timedelta(hours=2))
    # A window reaching past now is cut at now rather than producing future events.
    soon = datetime.now(UTC) - timedelta(minutes=5)
    m = generate_batch(tmp_path / "recent", events=1000, files=2, start=soon, span=timedelta(days=1))
    now = datetime.now(UTC)
    assert utc(m.end) <= now
    for folder in ("default", "recent"):
        a = audit(tmp_path / folder)
        stamps = [utc(x.record["event_ts"]) for x in a.valid]
        assert max(stamps) <= now
        assert min(stamps) >= utc(a.manifest.start)
    with pytest.raises(ValueError, match="not in the past"):
        generate_batch(tmp_path / "future", events=10, files=1, start=now + timedelta(hours=1))


def test_events_look_like_real_shop_traffic(tmp_path: Path) -> None:
    generate_batch(tmp_path, events=20_000, files=4, seed=5, start=START, span=timedelta(days=7))
    events = [x.record for x in audit(tmp_path).valid]
    sessions: defaultdict[str, list[dict]] = defaultdict(list)
    for e in events:
        sessions[e["session_id"]].append(e)

    def reached(event_type: str) -> int:
        return sum(any(e["event_type"] == event_type for e in evs) for evs in sessions.values())

    n, cart, checkout, purchase = len(sessions), reached("add_to_cart"), reached("checkout"), reached("purchase")
    assert 0.22 < cart / n < 0.38
    assert 0.42 < checkout / cart < 0.58
    assert 0.55 < purchase / checkout < 0.75
    assert reached("remove_from_cart") > 0

    for e in events:
        assert set(e) <= {*FIELD_NAMES}
        if e["event_type"] in ("add_to_cart", "remove_from_cart", "purchase"):
            assert e["product_id"].startswith("P") and e["price"] > 0 and e["quantity"] in (1, 2, 3)
            assert e["currency"] == CURRENCY[e["country"]]
        else:
            assert all(e.get(k) is None for k in COMMERCE_FIELDS)
        if e["event_type"] == "search":
            assert e["properties"]["query"]
        assert e["device"] in ("desktop", "mobile", "tablet")
    mediums = Counter(e.get("utm_medium") for e in events)
    assert mediums["cpc"] and mediums["email"] and mediums[None]

    offsets = Counter("+02:00" if e["event_ts"].endswith("+02:00") else e["event_ts"][-1] for e in events)
    assert set(offsets) == {"Z", "+02:00"} and 0.01 < offsets["+02:00"] / len(events) < 0.03
    assert all(len(e["event_ts"]) in (24, 29) and e["event_ts"][19] == "." for e in events)

    hours = Counter(utc(e["event_ts"]).hour for e in events)
    assert sum(hours[h] for h in (18, 19, 20, 21)) > 2.5 * sum(hours[h] for h in (2, 3, 4, 5))

    gaps = []
    for evs in sessions.values():
        stamps = sorted(utc(e["event_ts"]) for e in evs)
        gaps += [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    assert 15 < statistics.mean(gaps) < 40


def test_schema_drift_starts_at_the_middle_file(tmp_path: Path) -> None:
    drift = Faults(schema_drift=True)
    generate_batch(tmp_path / "json", events=4000, files=4, seed=2, start=START, faults=drift)
    a = audit(tmp_path / "json")
    for x in a.valid:
        assert ("app_version" in x.record) == (x.file >= 2)
    prices = [x.record["price"] for x in a.valid if x.record.get("price") is not None and x.file >= 2]
    share = sum(isinstance(p, str) for p in prices) / len(prices)
    assert 0.15 < share < 0.45
    assert all(not isinstance(x.record.get("price"), str) for x in a.valid if x.file < 2)

    generate_batch(tmp_path / "csv", events=4000, files=4, fmt="csv", seed=2, start=START, faults=drift)
    c = audit(tmp_path / "csv")
    assert c.headers[:2] == [list(FIELD_NAMES)] * 2
    assert c.headers[2:] == [[*FIELD_NAMES, "app_version"]] * 2
    assert_reconciles(c)


def test_csv_rows_are_what_the_csv_module_writes(tmp_path: Path) -> None:
    generate_batch(tmp_path, events=2000, files=2, fmt="csv", seed=4, start=START, faults=FAULTS)
    a = audit(tmp_path)
    assert a.headers[0] == list(FIELD_NAMES)
    for x in a.lines:
        row = next(csv.reader([x.text]))
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(row)
        assert buf.getvalue() == x.text + "\n"
        if x.reason != "csv_column_count":
            assert len(row) == len(a.headers[x.file])
    assert sum(x.reason == "csv_column_count" for x in a.lines) == a.manifest.malformed_by_reason["csv_column_count"]


def test_generations_into_one_folder_keep_one_correct_manifest(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_batch(tmp_path, events=1000, files=3, seed=1, start=START, faults=FAULTS, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) == 3 and calls[-1] == (1000, 1000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # Same seed, other prefix: must not re-emit the first run's event ids.
    m = generate_batch(tmp_path, events=500, files=2, seed=1, start=START, faults=FAULTS, prefix="more")
    assert m.files[-2:] == ["more-000001.jsonl", "more-000002.jsonl"]
    assert m.unique_valid_events == 1500 and len(m.generations) == 2
    assert_reconciles(audit(tmp_path))
    with pytest.raises(ValueError, match="prefix"):
        generate_batch(tmp_path, events=100, files=1, start=START)
    with pytest.raises(ValueError, match="format"):
        generate_batch(tmp_path, events=100, files=1, fmt="csv", start=START, prefix="x")


def test_invalid_arguments_are_rejected_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Faults(duplicates=1.5)
    with pytest.raises(ValueError, match="files"):
        generate_batch(tmp_path, events=3, files=5)
    with pytest.raises(ValueError, match="format"):
        generate_batch(tmp_path, events=3, files=1, fmt="parquet")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_stream_writes_files_by_rename_and_a_matching_manifest(tmp_path: Path, monkeypatch, fmt: str) -> None:
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def recording_replace(src, dst):
        renames.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    seen: list[tuple[str, int]] = []

    def on_file(path: Path, n_lines: int) -> None:
        # The file is complete the moment it appears under its final name.
        header = 1 if fmt == "csv" else 0
        assert len(path.read_bytes().splitlines()) == n_lines + header
        seen.append((path.name, n_lines))

    before = datetime.now(UTC)
    m = generate_stream(tmp_path, rate=200, duration=2.5, file_interval=0.5, fmt=fmt, faults=FAULTS, on_file=on_file)
    after = datetime.now(UTC)

    assert [name for name, _ in seen] == m.files and 4 <= len(m.files) <= 6
    data_renames = [(src, dst) for src, dst in renames if dst != MANIFEST_NAME]
    assert data_renames == [(f".{name}.tmp", name) for name in m.files]
    a = audit(tmp_path)
    assert a.manifest == m
    assert_reconciles(a)
    assert 350 <= m.unique_valid_events <= 650
    assert m.late_events > 0 and m.duplicates > 0 and m.malformed_lines > 0
    stamps = [utc(x.record["event_ts"]) for x in a.valid]
    assert before - timedelta(seconds=1) <= min(stamps) and max(stamps) <= after
    assert max(stamps) <= utc(m.end)
    sessions = Counter(x.record["session_id"] for x in a.valid)
    assert len(sessions) < m.unique_valid_events, "sessions continue over several events"


def test_stream_stops_when_told(tmp_path: Path) -> None:
    stop = threading.Event()
    files: list[str] = []

    def on_file(path: Path, n_lines: int) -> None:
        files.append(path.name)
        if len(files) == 2:
            stop.set()

    m = generate_stream(tmp_path, rate=100, duration=None, file_interval=0.2, stop=stop, on_file=on_file,
                        faults=Faults(late=0.3, duplicates=0.2))  # fmt: skip
    assert len(m.files) in (2, 3)
    assert_reconciles(audit(tmp_path))
    # A restarted stream continues the numbering instead of clashing with the first run.
    stop2 = threading.Event()
    stop2.set()
    generate_stream(tmp_path, rate=100, duration=None, file_interval=0.2, stop=stop2)
    a = audit(tmp_path)
    assert all(name.startswith("events-") for name in a.manifest.files)
    assert len(set(a.manifest.files)) == len(a.manifest.files)
    assert_reconciles(a)
