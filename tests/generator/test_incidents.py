"""Incident flags: each changes the feed the way its name says, only while it runs."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from clickstream.generator import Faults, generate_batch, generate_stream
from clickstream.generator.faults import SPIKE_QUANTITY

START = datetime(2026, 1, 1, 8)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def records(folder):
    return [json.loads(line) for p in sorted(folder.glob("*.jsonl")) for line in p.read_text().splitlines()]


def test_revenue_spike_multiplies_purchase_quantities_inside_its_window(tmp_path):
    base = records_of(tmp_path / "base", Faults())
    spiked = records_of(tmp_path / "spike", Faults(incident="revenue_spike", incident_span=(0.5, 0.75)))
    inside = (START + timedelta(hours=2), START + timedelta(hours=3))

    def quantities(recs, within: bool):
        return {r["event_id"]: r["quantity"] for r in recs if r["event_type"] == "purchase"
                and (inside[0] <= utc(r["event_ts"]) < inside[1]) == within}  # fmt: skip

    # Same seed, same events: only the quantities of purchases inside the window change.
    before_in = quantities(base, True)
    assert before_in and quantities(spiked, True) == {k: v * SPIKE_QUANTITY for k, v in before_in.items()}
    assert quantities(base, False) == quantities(spiked, False)


def records_of(folder, faults):
    generate_batch(folder, events=4000, files=4, seed=5, start=START, span=timedelta(hours=4), faults=faults)
    return records(folder)


def test_malformed_surge_is_modelled_on_the_events_of_its_window(tmp_path):
    generate_batch(tmp_path, events=4000, files=4, seed=5, start=START, span=timedelta(hours=4),
                   faults=Faults(incident="malformed_surge", incident_span=(0.5, 0.75)))  # fmt: skip
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    window = (START + timedelta(hours=2), START + timedelta(hours=3))
    bad_times, bad_per_file = [], []
    for p in sorted(tmp_path.glob("*.jsonl")):
        bad = 0
        for line in p.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if "event_id" not in rec or rec["event_type"] == "teleport" or rec["event_ts"] == "not-a-time" or rec.get("price") == -5:
                bad += 1
                if rec["event_ts"] != "not-a-time":
                    bad_times.append(utc(rec["event_ts"]))
        bad_per_file.append(bad)
    total = sum(manifest["malformed_by_reason"].values())
    assert total > 0.15 * 1000 and sum(bad_per_file) == total  # ~0.2 per event of the window's ~1000
    assert bad_times and all(window[0] <= t <= window[1] for t in bad_times)


def test_stalled_feed_holds_files_back_then_delivers_the_backlog(tmp_path):
    landed: list[float] = []
    manifest = generate_stream(tmp_path, rate=400, duration=2.0, file_interval=0.1,
                               faults=Faults(incident="stalled_feed", incident_span=(0.3, 0.7)),
                               on_file=lambda path, n: landed.append(time.monotonic()))  # fmt: skip
    gaps = [b - a for a, b in zip(landed, landed[1:])]
    assert max(gaps) >= 0.6  # about 0.8 s of the 2 s run without a new file...
    recovery = gaps.index(max(gaps)) + 1
    burst = [t for t in landed[recovery:] if t - landed[recovery] < 0.1]
    assert len(burst) >= 5  # ...then the held files (one per 0.1 s tick) land at once
    assert sum(1 for _ in records(tmp_path)) == manifest.unique_valid_events  # nothing lost


def test_unknown_incident_is_refused():
    with pytest.raises(ValueError, match="unknown incident 'meteor'"):
        Faults(incident="meteor")
