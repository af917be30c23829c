"""Random garbage, in JSON lines and CSV, never crashes the pipeline and every line is accounted for."""

from __future__ import annotations

import json
import random
from pathlib import Path

from clickstream.contract import schema as C
from tests.conftest import query, run_once

FRAGMENTS = [
    b"{", b"}", b"[", b"]", b'"', b":", b",", b"\\", b"\x00", b"\xff", b"\xc3", b"\r", b"\t", b" ", b"null",
    b"true", b"1e999", b"-0", b'"event_id"', b'"event_ts"', b'"2026-11-27T10:00:00Z"', b'"page_view"',
    b"\\u0000", b"\\ud800", b'"price"', b"NaN", b"Infinity", b"1" * 30,
]
ODD_VALUES = [
    None, 1, -1, 1.5, "", " ", [], {}, {"a": [1]}, True, "\u0000", "2026-13-45", "1e400", 1e300, "\u00fc",
    "\U0001f600", "x" * 300,
]
KNOWN_REASONS = {v for k, v in vars(C).items() if k.startswith("REASON_")} | {
    f.below_minimum_reason for f in C.EVENT_FIELDS if f.below_minimum_reason
}


def garbage_files(landing: Path, rng: random.Random) -> None:
    base = {"event_id": "x", "event_ts": "2026-11-27T10:00:00Z", "event_type": "page_view", "user_id": "u", "session_id": "s"}
    for n in range(4):
        lines = []
        for i in range(300):
            if rng.random() < 0.3:
                lines.append(b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 30))))
                continue
            event = dict(base, event_id=f"e{n}-{i}")
            for key in rng.sample([*event, "price", "quantity", "properties", "country", "currency"], 3):
                event[key] = rng.choice(ODD_VALUES)
            lines.append(json.dumps(event, ensure_ascii=rng.random() < 0.5).encode())
        (landing / f"f{n}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        rows = (rng.choice(FRAGMENTS) * rng.randint(0, 5) + b"," + rng.choice(FRAGMENTS) for _ in range(150))
        (landing / f"c{n}.csv").write_bytes(b"event_id,event_ts,event_type,user_id,session_id,price\n" + b"\n".join(rows) + b"\n")


def test_random_garbage_is_quarantined_with_known_reasons(landing: Path, warehouse: Path) -> None:
    garbage_files(landing, random.Random(20261128))
    summary = run_once(landing, warehouse)
    bronze, silver, quarantine = query(
        warehouse,
        "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events)",
    )[0]
    assert bronze == summary.input_lines == 4 * 300 + 4 * 150
    assert bronze == silver + quarantine + summary.duplicates
    assert silver > 0 and quarantine > 0
    reasons = {r for (r,) in query(warehouse, "SELECT DISTINCT reason FROM quarantine_events")}
    assert {r.split(":")[0] for r in reasons} <= KNOWN_REASONS
