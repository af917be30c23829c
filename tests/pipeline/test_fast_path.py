"""The fast path accepts a line only when the exact per-line SQL accepts it with the same values,
and a batch staged with it equals one staged by the per-line SQL alone."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.compute as pc
import pytest

from clickstream.config import PipelineSettings
from clickstream.generator import Faults, generate_batch
from clickstream.ingest.landing import LandingFile
from clickstream.ingest.lines import lines_of, split_file
from clickstream.pipeline.batch import (
    fast_lines,
    finish_rows,
    new_transform_connection,
    parse_lines,
    stage_rows,
    transform_params,
)
from tests.ingest.test_random_garbage import FRAGMENTS, ODD_VALUES

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
BASE = {"event_id": "x", "event_ts": "2026-11-27T10:00:00Z", "event_type": "page_view", "user_id": "u", "session_id": "s"}
# Values the slow path reads in some special way: offsets, blanks, case, numbers as text, nesting.
EDGE_VALUES = [
    "2026-11-27T10:00:00+02:00", "2026-11-27T10:00:00+1900", "2026-11-27T10:00:00-17:59", "2026-11-27T10:00:00+18:00",
    "2026-11-27T10:00:00+18:01", "2026-11-27T10:00:00+02:99", "2026-11-27T10:00:00+5:00", "2026-11-27T10:00:00.5+01:30",
    "2026-11-27T10:00+01:00", "2026-11-27+01:00", "2026-11-27T10:00:00 +01:00", "2026-11-27 10:00:00", " 2026-11-27T10:00:00Z ",
    "2026-11-27T10:00:00.123456789Z", "0000-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "2026-11-20T10:00:00Z",
    " x ", "X", "PAGE_VIEW", " page_view", "{\"a\":1}", "[1]", "[", "{", "1.50", "1e2", "-0", "0", "2.5",
    "usd", " US ", "gb", "12345678901234567890", 3, 2.0, 1e20, -1, "NaN", "inf", {"k": "v"}, ["a"], None, "",
]


def hostile_lines(rng: random.Random, n: int) -> list[bytes]:
    lines = []
    keys = [*BASE, "price", "quantity", "properties", "country", "currency", "device", "utm_medium", "referrer"]
    for i in range(n):
        if rng.random() < 0.1:
            lines.append(b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 20))))
            continue
        event = dict(BASE, event_id=f"e{i % (n // 2)}")
        for key in rng.sample(keys, rng.randint(0, 3)):
            event[key] = rng.choice(EDGE_VALUES + ODD_VALUES)
        text = json.dumps(event, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.05:
            text = rng.choice([" ", "\t", "\ufeff"]) + text
        lines.append(text.encode())
    return lines


def raw_of(files: dict[str, bytes]):
    landing = [LandingFile(name, name, len(data), NOW, name.rsplit(".", 1)[1]) for name, data in files.items()]
    return lines_of(landing, lambda f: split_file(f, files[f.name]))


def generated_files(tmp_path: Path) -> dict[str, bytes]:
    faults = Faults(duplicates=0.02, malformed=0.02, late=0.05, schema_drift=True)
    generate_batch(tmp_path / "json", events=3000, files=2, seed=4, start=NOW - timedelta(hours=3), span=timedelta(hours=2),
                   faults=faults)  # fmt: skip
    generate_batch(tmp_path / "csv", events=500, files=1, fmt="csv", seed=5, start=NOW - timedelta(hours=3), faults=faults)
    paths = sorted((tmp_path / "json").glob("*.jsonl")) + sorted((tmp_path / "csv").glob("*.csv"))
    return {p.name: p.read_bytes() for p in paths}


@pytest.fixture(scope="module")
def con():
    connection = new_transform_connection(threads=2, memory_limit="256MB")
    yield connection
    connection.close()


@pytest.mark.parametrize("watermark", [None, NOW - timedelta(days=3)])
def test_fast_path_accepts_only_what_the_slow_path_accepts_with_the_same_values(con, tmp_path, watermark) -> None:
    rng = random.Random(15)
    files = generated_files(tmp_path) | {"hostile.jsonl": b"\n".join(hostile_lines(rng, 3000)) + b"\n"}
    raw = raw_of(files)
    params = transform_params(PipelineSettings(), NOW, watermark)
    accepted, rest = fast_lines(con, raw, params)
    slow = parse_lines(con, raw, params)
    assert accepted is not None
    assert accepted.num_rows + rest.table.num_rows == raw.table.num_rows
    key = lambda r: (r["source_file"], r["line_number"])  # noqa: E731
    # Rejected rows may hold timestamps Python cannot represent; only the valid ones are compared.
    by_line = {key(r): r for r in slow.filter(pc.is_null(slow["reason"])).to_pylist()}
    for row in accepted.to_pylist():
        assert by_line.get(key(row)) == row
    # It is a fast path: it takes nearly all of the valid generated lines.
    valid_generated = [r for r in by_line.values() if r["reason"] is None and r["source_file"].endswith(".jsonl")
                       and r["source_file"] != "hostile.jsonl"]  # fmt: skip
    taken = sum(1 for r in accepted.to_pylist() if r["source_file"] != "hostile.jsonl")
    assert taken >= 0.9 * len(valid_generated) > 0


def test_a_batch_staged_with_the_fast_path_equals_the_slow_path_alone(con, tmp_path) -> None:
    rng = random.Random(16)
    files = generated_files(tmp_path) | {"hostile.jsonl": b"\n".join(hostile_lines(rng, 2000)) + b"\n"}
    raw = raw_of(files)
    params = transform_params(PipelineSettings(), NOW, NOW - timedelta(days=3))
    fast = stage_rows(con, raw, params)
    slow = finish_rows(con, raw.table, parse_lines(con, raw, params), 0.0)
    order = [("source_file", "ascending"), ("line_number", "ascending")]
    assert fast.quarantine.sort_by(order).equals(slow.quarantine.sort_by(order))
    assert fast.silver_candidates.sort_by(order).equals(slow.silver_candidates.sort_by(order))
    assert fast.duplicates_in_batch == slow.duplicates_in_batch
