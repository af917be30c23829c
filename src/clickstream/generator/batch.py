"""Batch generation: a fixed number of events over a past time window, cut into files."""

from __future__ import annotations

import gc
import random
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from clickstream.errors import GeneratorError
from clickstream.generator.catalogue import N_PRODUCTS, Catalogue, build_catalogue
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
from clickstream.generator.sessions import PURCHASE, SessionSimulator, simulate_events
from clickstream.generator.timeline import event_ids, event_times, iso_ms, iso_times, now_ms, to_ms
from clickstream.generator.writer import (
    Manifest,
    check_prefix,
    encode_lines,
    file_name,
    new_manifest,
    open_landing,
    write_atomic,
    write_manifest,
)

VALID, DUPLICATE, MALFORMED = 0, 1, 2
MAX_LATE_FILES = 5
MAX_DUPLICATE_FILES = 3


def seeded(seed: int, prefix: str, *more: int) -> tuple[random.Random, np.random.Generator]:
    """The two random sources of one run. The prefix is mixed in so that two runs into the same
    folder with the same seed but different prefixes do not emit the same event ids."""
    ss = np.random.SeedSequence([seed, zlib.crc32(prefix.encode("utf-8")), *more])
    py_seed, np_seed = ss.spawn(2)
    return random.Random(int(py_seed.generate_state(1, np.uint64)[0])), np.random.default_rng(np_seed)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Millions of live tuples make the cyclic collector rescan them over and over (a third of the
    # run time); nothing here creates reference cycles, so pausing it loses nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _window(start: datetime | None, span: timedelta) -> tuple[int, int]:
    now = now_ms()
    span_ms = span // timedelta(milliseconds=1)
    if span_ms <= 0:
        raise GeneratorError(f"span {span} is not positive: pass e.g. span=timedelta(hours=1)")
    start_ms = (now - span_ms) // 60_000 * 60_000 if start is None else to_ms(start)
    # Never write a timestamp the pipeline would call future.
    end_ms = min(start_ms + span_ms, now)
    if end_ms <= start_ms:
        raise GeneratorError(f"start {iso_ms(start_ms)} is not in the past: pass an earlier start")
    return start_ms, end_ms


@dataclass
class _Layout:
    """Where every line goes: items are the valid events (0..n-1), then duplicates, then
    malformed lines; each has a file and a position key inside that file."""

    file: np.ndarray
    key: np.ndarray
    kind: np.ndarray
    ref: np.ndarray  # event index for valid and duplicate items, malformed index otherwise
    n_late: int
    n_dup: int
    templates: np.ndarray  # event each malformed line is modelled on


def _layout(rng: np.random.Generator, n: int, files: int, faults: Faults, surge: tuple[int, int] | None = None) -> _Layout:
    """Cut n time-sorted events into equal time slices, then move, copy and add faulty lines."""
    mid = files // 2
    slice_of = (np.arange(n, dtype=np.int64) * files) // n
    slice_first = np.searchsorted(slice_of, np.arange(files))
    slice_size = np.diff(np.r_[slice_first, n])
    arrival = slice_of.copy()
    key = (np.arange(n) - slice_first[slice_of] + 0.5) / slice_size[slice_of]

    candidates = np.flatnonzero(slice_of < files - 1)
    n_late = min(round(n * faults.late), len(candidates))
    late = rng.choice(candidates, n_late, replace=False) if n_late else np.empty(0, np.int64)
    arrival[late] = np.minimum(slice_of[late] + rng.integers(1, MAX_LATE_FILES + 1, n_late), files - 1)
    key[late] = rng.random(n_late)  # late lines land anywhere in their file, not at its start

    n_dup = round(n * faults.duplicates)
    dup = rng.choice(n, n_dup, replace=False) if n_dup else np.empty(0, np.int64)
    dup_file = np.minimum(arrival[dup] + rng.integers(0, MAX_DUPLICATE_FILES + 1, n_dup), files - 1)
    if faults.schema_drift:
        # A duplicate must stay byte-identical, so it never crosses into a file with other columns.
        dup_file = np.where(arrival[dup] < mid, np.minimum(dup_file, mid - 1), dup_file)
    u = rng.random(n_dup)
    dup_key = np.where(dup_file == arrival[dup], key[dup] + (1.0 - key[dup]) * u, u)
    dup_key = np.maximum(dup_key, np.nextafter(key[dup], 2.0))  # strictly after the original

    n_bad = round(n * faults.malformed)
    templates = rng.integers(0, n, n_bad)
    if surge is not None and surge[1] > surge[0]:
        # Extra malformed lines modelled on (and so landing with) the incident's events.
        extra = rng.integers(surge[0], surge[1], round((surge[1] - surge[0]) * SURGE_MALFORMED))
        templates = np.r_[templates, extra]
        n_bad = len(templates)
    return _Layout(
        file=np.r_[arrival, dup_file, arrival[templates]],
        key=np.r_[key, dup_key, rng.random(n_bad)],
        kind=np.r_[np.full(n, VALID), np.full(n_dup, DUPLICATE), np.full(n_bad, MALFORMED)],
        ref=np.r_[np.arange(n), dup, np.arange(n_bad)].astype(np.int64),
        n_late=n_late,
        n_dup=n_dup,
        templates=templates,
    )


def _file_names(out_dir: Path, prefix: str, files: int, fmt: str, existing: Manifest | None) -> list[str]:
    width = max(6, len(str(files)))
    names = [file_name(prefix, k + 1, fmt, width) for k in range(files)]
    taken = set(existing.files if existing else ()) | {p.name for p in out_dir.iterdir()}
    clash = next((n for n in names if n in taken), None)
    if clash is not None:
        raise GeneratorError(f"{out_dir / clash} already exists: pass --prefix NAME (files with another prefix) or an empty --out")
    return names


def generate_batch(
    out_dir: Path,
    events: int,
    files: int,
    fmt: str = "jsonl",
    seed: int = 0,
    start: datetime | None = None,
    span: timedelta = timedelta(days=1),
    faults: Faults = Faults(),
    progress: Callable[[int, int], None] | None = None,
    prefix: str = "events",
) -> Manifest:
    """Write exactly `events` unique valid events (plus injected faults) over [start, start+span]
    into `files` time-ordered files and return the folder's (merged) manifest."""
    check_format(fmt)
    check_prefix(prefix)
    if events < 1 or not 1 <= files <= events:
        raise GeneratorError(f"events={events}, files={files}: need events >= 1 and 1 <= files <= events")
    out_dir = Path(out_dir)
    if faults.incident == "stalled_feed":
        raise GeneratorError("stalled_feed is a streaming incident (files stop landing): use generate_stream / --rate")
    if faults.incident == "schema_drift":
        faults = replace(faults, schema_drift=True)
    start_ms, end_ms = _window(start, span)
    lo, hi = faults.incident_span
    incident_ms = (start_ms + int((end_ms - start_ms) * lo), start_ms + int((end_ms - start_ms) * hi))
    existing = open_landing(out_dir, fmt)
    names = _file_names(out_dir, prefix, files, fmt, existing)
    with _gc_paused():
        cat = build_catalogue()
        rnd, rng = seeded(seed, prefix)
        table, ts_ms = _simulate(cat, rnd, rng, events, start_ms, end_ms,
                                 incident_ms if faults.incident == "traffic_drop" else None)  # fmt: skip
        inside = tuple(int(i) for i in np.searchsorted(ts_ms, incident_ms))
        if faults.incident == "revenue_spike":
            rows = table.rows
            for i in range(*inside):
                if rows[i][1] == PURCHASE:
                    rows[i] = (*rows[i][:5], rows[i][5] * SPIKE_QUANTITY, rows[i][6])
        layout = _layout(rng, events, files, faults, inside if faults.incident == "malformed_surge" else None)
        by_reason = _write_files(out_dir, names, fmt, faults, cat, rnd, rng, table, layout, progress)
    manifest = new_manifest(
        mode="batch",
        prefix=prefix,
        fmt=fmt,
        seed=seed,
        start=iso_ms(start_ms),
        end=iso_ms(end_ms),
        files=names,
        unique=events,
        duplicates=layout.n_dup,
        by_reason=by_reason,
        late=layout.n_late,
        schema_drift=faults.schema_drift,
    )
    if existing is not None:
        manifest = existing.merged(manifest)
    write_manifest(out_dir, manifest)
    return manifest


def _simulate(
    cat: Catalogue, rnd: random.Random, rng: np.random.Generator, n: int, start_ms: int, end_ms: int,
    dip: tuple[int, int] | None = None,
) -> tuple[EventTable, np.ndarray]:
    """n events from simulated sessions, placed in time and sorted by it (with their epoch ms)."""
    raw, bounds = simulate_events(SessionSimulator(cat, rnd, rng), n)
    types = np.fromiter((e[1] for e in raw), dtype=np.int64, count=n)
    ts_ms = event_times(rng, types, np.asarray(bounds, dtype=np.int64), start_ms, end_ms,
                        None if dip is None else (*dip, DROP_KEEP))  # fmt: skip
    order = np.argsort(ts_ms, kind="stable")
    table = EventTable(
        rows=[raw[i] for i in order.tolist()],
        ids=event_ids(rng, n),
        ts=iso_times(rng, ts_ms[order]),
        price_as_text=drift_choices(rng, n),
    )
    return table, ts_ms[order]


def _write_files(
    out_dir: Path,
    names: list[str],
    fmt: str,
    faults: Faults,
    cat: Catalogue,
    rnd: random.Random,
    rng: np.random.Generator,
    table: EventTable,
    layout: _Layout,
    progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    """Render and atomically write every file; returns malformed line counts by reason code."""
    n, files = len(table.rows), len(names)
    mid = files // 2
    n_bad = len(layout.templates)
    fresh_ids = event_ids(rng, n_bad)
    products = rng.integers(0, N_PRODUCTS, n_bad).tolist()
    bad_files = layout.file[n + layout.n_dup :].tolist()
    bad_lines = [
        malformed_line(
            table, tpl, k % N_KINDS, fresh_ids[k], fmt, faults.schema_drift and bad_files[k] >= mid, cat,
            products[k], f"o_{rnd.getrandbits(48):012x}",
        )
        for k, tpl in enumerate(layout.templates.tolist())
    ]  # fmt: skip
    by_reason: dict[str, int] = {}
    for k in range(n_bad):
        reason = reason_code(k % N_KINDS, fmt)
        by_reason[reason] = by_reason.get(reason, 0) + 1

    order = np.lexsort((layout.key, layout.file))
    bounds = np.searchsorted(layout.file[order], np.arange(files + 1))
    render = render_json if fmt == "jsonl" else render_csv
    done = 0
    for f, name in enumerate(names):
        sel = order[bounds[f] : bounds[f + 1]]
        kinds, refs = layout.kind[sel], layout.ref[sel]
        drift = faults.schema_drift and f >= mid
        rendered = iter(render(table, refs[kinds != MALFORMED].tolist(), drift, cat))
        lines = [
            bad_lines[ref] if kind == MALFORMED else next(rendered)
            for kind, ref in zip(kinds.tolist(), refs.tolist())
        ]
        header = csv_lines([csv_header(drift)])[0] if fmt == "csv" else None
        write_atomic(out_dir / name, encode_lines(lines, header))
        done += int(np.count_nonzero(kinds == VALID))
        if progress is not None:
            progress(done, n)
    return by_reason
