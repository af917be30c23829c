"""Streaming generation: every `file_interval` seconds, a file of the events of the last interval.

A pool of live sessions (about rate x mean gap of them) emits events: each tick picks pool slots at
random, so one session's events are ~exponentially spaced and span many files, as in real traffic.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clickstream.errors import GeneratorError
from clickstream.generator.batch import MAX_DUPLICATE_FILES, MAX_LATE_FILES, seeded
from clickstream.generator.catalogue import N_PRODUCTS, build_catalogue
from clickstream.generator.faults import (
    DROP_KEEP,
    N_KINDS,
    SPIKE_QUANTITY,
    SURGE_MALFORMED,
    Faults,
    malformed_line,
    reason_code,
)
from clickstream.generator.render import (
    EventTable,
    check_format,
    csv_header,
    csv_lines,
    drift_choices,
    render_csv,
    render_json,
)
from clickstream.generator.sessions import PURCHASE, Event, SessionSimulator
from clickstream.generator.timeline import MEAN_GAP_MS, event_ids, iso_ms, iso_times, now_ms
from clickstream.generator.writer import (
    Manifest,
    check_prefix,
    encode_lines,
    file_name,
    highest_number,
    new_manifest,
    open_landing,
    write_atomic,
    write_manifest,
)

# Without a duration there is no middle file; drift then starts at this tick of the run.
DRIFT_FROM_TICK_WITHOUT_DURATION = 30
# Without a duration, an incident runs over these ticks.
INCIDENT_TICKS_WITHOUT_DURATION = (30, 60)


@dataclass
class _Live:
    events: list[Event]
    cursor: int
    last_ms: int


@dataclass
class _Totals:
    """What this run has written so far (so the manifest always matches the files on disk)."""

    files: list[str] = field(default_factory=list)
    unique: int = 0
    duplicates: int = 0
    late: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class _Stream:
    """State carried from one tick to the next: live sessions and lines owed to later files."""

    def __init__(self, rate: float, seed: int, prefix: str, first_number: int, fmt: str, faults: Faults,
                 drift_from: int) -> None:  # fmt: skip
        self.cat = build_catalogue()
        self.fmt, self.faults, self.drift_from = fmt, faults, drift_from
        self.render = render_json if fmt == "jsonl" else render_csv
        # Mixing in the first file number gives a restarted stream fresh event ids.
        self.rnd, self.rng = seeded(seed, prefix, first_number)
        self.sim = SessionSimulator(self.cat, self.rnd, self.rng)
        self.pool: list[_Live | None] = [None] * max(1, round(rate * MEAN_GAP_MS / 1000))
        self.late_events: defaultdict[int, list[tuple[EventTable, int]]] = defaultdict(list)
        self.late_lines: defaultdict[int, list[str]] = defaultdict(list)
        self.carry_events = 0.0
        self.carry_malformed = 0.0
        self.malformed_seq = 0
        self.totals = _Totals()
        self.in_incident = False  # set per tick by generate_stream

    def window(self, n: int, lo_ms: int, hi_ms: int) -> EventTable:
        """The next events of n random pool slots, stamped in (lo_ms, hi_ms], in time order."""
        r = self.rnd.random
        pool = self.pool
        rows: list[Event] = []
        stamps: list[int] = []
        for _ in range(n):
            k = int(r() * len(pool))
            live = pool[k]
            if live is None or live.cursor >= len(live.events):
                events: list[Event] = []
                self.sim.session(events)
                live = pool[k] = _Live(events, 0, lo_ms + 1)
            lo = max(lo_ms + 1, live.last_ms)
            ts = lo + int(r() * (hi_ms - lo + 1))
            live.last_ms = ts
            rows.append(live.events[live.cursor])
            live.cursor += 1
            stamps.append(ts)
        if self.in_incident and self.faults.incident == "revenue_spike":
            rows = [(*e[:5], e[5] * SPIKE_QUANTITY, e[6]) if e[1] == PURCHASE else e for e in rows]
        ts_ms = np.asarray(stamps, dtype=np.int64)
        order = np.argsort(ts_ms, kind="stable")
        return EventTable(
            rows=[rows[i] for i in order.tolist()],
            ids=event_ids(self.rng, n),
            ts=iso_times(self.rng, ts_ms[order]),
            price_as_text=drift_choices(self.rng, n),
        )

    def lines(self, tick: int, table: EventTable, final: bool) -> list[str]:
        """Lines of this tick's file: the window's on-time events, lines owed from earlier ticks
        (everything still owed when `final`), and freshly injected faults."""
        r = self.rnd.random
        faults, totals = self.faults, self.totals
        drift = self.drifting(tick)
        on_time = []
        for i in range(len(table.rows)):
            if not final and faults.late and r() < faults.late:
                self.late_events[tick + 1 + int(r() * MAX_LATE_FILES)].append((table, i))
            else:
                on_time.append(i)
        rendered = self.render(table, on_time, drift, self.cat)
        valid = [((k + 0.5) / len(rendered), line) for k, line in enumerate(rendered)]
        for owed in self._owed(self.late_events, tick, final):
            for tbl, i in owed:
                valid.append((r(), self.render(tbl, [i], drift, self.cat)[0]))
                totals.late += 1
        totals.unique += len(valid)

        # (position key, sequence, line): a same-file duplicate gets a larger key than its
        # original, and the sequence number breaks ties the same way.
        items: list[tuple[float, int, str]] = []
        for key, line in valid:
            items.append((key, len(items), line))
            if faults.duplicates and r() < faults.duplicates:
                target = tick if final else tick + int(r() * (MAX_DUPLICATE_FILES + 1))
                if faults.schema_drift and tick < self.drift_from:
                    # A duplicate must stay byte-identical, so it never enters a drifted file.
                    target = min(target, self.drift_from - 1)
                if target == tick:
                    items.append((key + (1.0 - key) * r(), len(items), line))
                    totals.duplicates += 1
                else:
                    self.late_lines[target].append(line)
        for owed in self._owed(self.late_lines, tick, final):
            for line in owed:
                items.append((r(), len(items), line))
                totals.duplicates += 1

        for line in self._malformed(table, drift):
            items.append((r(), len(items), line))
        items.sort()
        return [line for _, _, line in items]

    def drifting(self, tick: int) -> bool:
        if self.faults.incident == "schema_drift":
            return self.in_incident
        return self.faults.schema_drift and tick >= self.drift_from

    @staticmethod
    def _owed(pending: defaultdict[int, list], tick: int, final: bool) -> list[list]:
        due = [tick] if not final else sorted(k for k in pending if k >= tick)
        return [pending.pop(k) for k in due if k in pending]

    def _malformed(self, table: EventTable, drift: bool) -> list[str]:
        n = len(table.rows)
        surge = self.in_incident and self.faults.incident == "malformed_surge"
        self.carry_malformed += n * (SURGE_MALFORMED if surge else self.faults.malformed)
        m = int(self.carry_malformed) if n else 0
        self.carry_malformed -= m
        r = self.rnd.random
        out = []
        for fresh_id in event_ids(self.rng, m):
            kind = self.malformed_seq % N_KINDS
            self.malformed_seq += 1
            out.append(
                malformed_line(
                    table, int(r() * n), kind, fresh_id, self.fmt, drift, self.cat, int(r() * N_PRODUCTS),
                    f"o_{self.rnd.getrandbits(48):012x}",
                )
            )  # fmt: skip
            reason = reason_code(kind, self.fmt)
            self.totals.by_reason[reason] = self.totals.by_reason.get(reason, 0) + 1
        return out


def generate_stream(
    out_dir: Path,
    rate: float,
    duration: float | None,
    seed: int = 0,
    file_interval: float = 1.0,
    fmt: str = "jsonl",
    faults: Faults = Faults(),
    stop: threading.Event | None = None,
    on_file: Callable[[Path, int], None] | None = None,
    prefix: str = "events",
) -> Manifest:
    """Every `file_interval` s, write a file of ~rate*file_interval events from the last interval
    (never in the future) until `duration` s pass or `stop` is set; keeps the manifest current."""
    check_format(fmt)
    check_prefix(prefix)
    if not rate > 0 or not file_interval > 0 or (duration is not None and not duration >= 0):
        raise GeneratorError(
            f"rate={rate}, file_interval={file_interval}, duration={duration}: rate and "
            "file_interval must be > 0 and duration >= 0"
        )
    if duration is None and stop is None:
        raise GeneratorError("generate_stream would never end: pass duration= or a stop threading.Event")
    out_dir = Path(out_dir)
    base = open_landing(out_dir, fmt)
    # Continue the numbering, so a restarted stream appends after the files already there.
    first = highest_number(out_dir, prefix, fmt, base) + 1
    drift_from = (
        math.ceil(duration / file_interval) // 2 if duration is not None else DRIFT_FROM_TICK_WITHOUT_DURATION
    )
    state = _Stream(rate, seed, prefix, first, fmt, faults, drift_from)
    totals = state.totals
    if duration is not None:
        ticks = math.ceil(duration / file_interval)
        incident_ticks = (int(ticks * faults.incident_span[0]), int(ticks * faults.incident_span[1]))
    else:
        incident_ticks = INCIDENT_TICKS_WITHOUT_DURATION
    stalled: list[tuple[list[str], bool]] = []  # files a stalled feed holds back until it recovers

    def manifest_now(end_ms: int) -> Manifest:
        current = new_manifest(
            mode="stream",
            prefix=prefix,
            fmt=fmt,
            seed=seed,
            start=iso_ms(start_ms),
            end=iso_ms(end_ms),
            files=totals.files,
            unique=totals.unique,
            duplicates=totals.duplicates,
            by_reason=totals.by_reason,
            late=totals.late,
            schema_drift=faults.schema_drift,
        )
        return base.merged(current) if base is not None else current

    t0 = time.monotonic()
    start_ms = window_ms = now_ms()
    tick = 0
    final = False
    while not final:
        target = t0 + (tick + 1) * file_interval
        if duration is not None and target >= t0 + duration:
            target, final = t0 + duration, True
        wait = max(0.0, target - time.monotonic())
        if stop is not None:
            final = stop.wait(wait) or final
        else:
            time.sleep(wait)
        hi_ms = max(now_ms(), window_ms)  # a clock stepping back must not reopen a closed window
        state.in_incident = faults.incident is not None and incident_ticks[0] <= tick < incident_ticks[1]
        state.carry_events += rate * (hi_ms - window_ms) / 1000.0 * (
            DROP_KEEP if state.in_incident and faults.incident == "traffic_drop" else 1.0
        )
        n = int(state.carry_events)
        state.carry_events -= n
        lines = state.lines(tick, state.window(n, window_ms, hi_ms), final)
        drift = state.drifting(tick)
        window_ms = hi_ms
        tick += 1
        if state.in_incident and faults.incident == "stalled_feed" and not final:
            if lines:
                stalled.append((lines, drift))
            continue
        for held_lines, held_drift in [*stalled, (lines, drift)]:
            if not held_lines:
                continue
            path = out_dir / file_name(prefix, first + len(totals.files), fmt)
            header = csv_lines([csv_header(held_drift)])[0] if fmt == "csv" else None
            write_atomic(path, encode_lines(held_lines, header))
            totals.files.append(path.name)
            write_manifest(out_dir, manifest_now(hi_ms))
            if on_file is not None:
                on_file(path, len(held_lines))
        stalled.clear()
    manifest = manifest_now(window_ms)
    # Also when nothing was due before the stop: the folder then says so explicitly.
    write_manifest(out_dir, manifest)
    return manifest
