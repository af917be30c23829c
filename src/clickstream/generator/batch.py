"""Batch generation: a fixed number of events over a past time window, cut into files."""

from __future__ import annotations

import gc
import random
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from clickstream.generator.catalogue import N_PRODUCTS, build_catalogue
from clickstream.generator.faults import N_KINDS, Faults, malformed_line, reason_code
from clickstream.generator.render import (
    EventTable,
    check_format,
    csv_header,
    csv_lines,
    drift_choices,
    render_csv,
    render_json,
)
from clickstream.generator.sessions import SessionSimulator, simulate_events
from clickstream.generator.timeline import event_ids, event_times, iso_ms, iso_times, now_ms, to_ms
from clickstream.generator.writer import (
    Manifest,
    check_prefix,
    encode_lines,
    file_name,
    read_manifest,
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


def _window(start: datetime | None, span: timedelta) -> tuple[int, int]:
    now = now_ms()
    span_ms = span // timedelta(milliseconds=1)
    if span_ms <= 0:
        raise ValueError(f"span {span} is not positive: pass e.g. span=timedelta(hours=1)")
    if start is None:
        start_ms = (now - span_ms) // 60_000 * 60_000
    else:
        start_ms = to_ms(start)
    # Never write a timestamp the pipeline would call future.
    end_ms = min(start_ms + span_ms, now)
    if end_ms <= start_ms:
        raise ValueError(f"start {iso_ms(start_ms)} is not in the past: pass an earlier start")
    return start_ms, end_ms


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
    with _gc_paused():
        return _generate_batch(out_dir, events, files, fmt, seed, start, span, faults, progress, prefix)


def _generate_batch(
    out_dir: Path,
    events: int,
    files: int,
    fmt: str,
    seed: int,
    start: datetime | None,
    span: timedelta,
    faults: Faults,
    progress: Callable[[int, int], None] | None,
    prefix: str,
) -> Manifest:
    check_format(fmt)
    check_prefix(prefix)
    if events < 1 or not 1 <= files <= events:
        raise ValueError(f"events={events}, files={files}: need events >= 1 and 1 <= files <= events")
    out_dir = Path(out_dir)
    start_ms, end_ms = _window(start, span)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = read_manifest(out_dir)
    if existing is not None and existing.format != fmt:
        raise ValueError(
            f"{out_dir} holds {existing.format} files and this run writes {fmt}: "
            "use another folder or the same format"
        )
    width = max(6, len(str(files)))
    names = [file_name(prefix, k + 1, fmt, width) for k in range(files)]
    taken = set(existing.files if existing else ()) | {p.name for p in out_dir.iterdir()}
    clash = next((n for n in names if n in taken), None)
    if clash is not None:
        raise ValueError(f"{out_dir / clash} already exists: pass a different prefix= to add files")

    cat = build_catalogue()
    rnd, rng = seeded(seed, prefix)
    sim = SessionSimulator(cat, rnd, rng)
    raw, bounds = simulate_events(sim, events)
    types = np.fromiter((e[1] for e in raw), dtype=np.int64, count=events)
    ts_ms = event_times(rng, types, np.asarray(bounds, dtype=np.int64), start_ms, end_ms)
    order = np.argsort(ts_ms, kind="stable")
    ts_ms = ts_ms[order]
    rows = [raw[i] for i in order.tolist()]
    del raw

    n = events
    mid = files // 2
    # Time slice of each (time-sorted) event, and its position key inside the file it lands in.
    slice_of = (np.arange(n, dtype=np.int64) * files) // n
    slice_first = np.searchsorted(slice_of, np.arange(files))
    slice_size = np.diff(np.r_[slice_first, n])
    arrival = slice_of.copy()
    key = (np.arange(n) - slice_first[slice_of] + 0.5) / slice_size[slice_of]

    candidates = np.flatnonzero(slice_of < files - 1)
    n_late = min(round(n * faults.late), len(candidates))
    late = rng.choice(candidates, n_late, replace=False) if n_late else np.empty(0, np.int64)
    arrival[late] = np.minimum(slice_of[late] + rng.integers(1, MAX_LATE_FILES + 1, n_late), files - 1)
    key[late] = rng.random(n_late)

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
    bad_file = arrival[templates]
    bad_key = rng.random(n_bad)

    ids = event_ids(rng, n + n_bad)
    table = EventTable(rows=rows, ids=ids[:n], ts=iso_times(rng, ts_ms), price_as_text=drift_choices(rng, n))
    bad_products = rng.integers(0, N_PRODUCTS, n_bad).tolist()
    kinds = [k % N_KINDS for k in range(n_bad)]
    bad_lines = [
        malformed_line(
            table, int(tpl), kinds[k], ids[n + k], fmt, faults.schema_drift and int(f) >= mid, cat,
            bad_products[k], f"o_{rnd.getrandbits(48):012x}",
        )
        for k, (tpl, f) in enumerate(zip(templates.tolist(), bad_file.tolist()))
    ]  # fmt: skip
    by_reason: dict[str, int] = {}
    for k in kinds:
        r = reason_code(k, fmt)
        by_reason[r] = by_reason.get(r, 0) + 1

    item_file = np.r_[arrival, dup_file, bad_file]
    item_key = np.r_[key, dup_key, bad_key]
    item_kind = np.r_[np.full(n, VALID), np.full(n_dup, DUPLICATE), np.full(n_bad, MALFORMED)]
    item_ref = np.r_[np.arange(n), dup, np.arange(n_bad)].astype(np.int64)
    item_order = np.lexsort((item_key, item_file))
    file_bounds = np.searchsorted(item_file[item_order], np.arange(files + 1))

    render = render_json if fmt == "jsonl" else render_csv
    done = 0
    for f, name in enumerate(names):
        sel = item_order[file_bounds[f] : file_bounds[f + 1]]
        kinds_f, refs_f = item_kind[sel], item_ref[sel]
        drift = faults.schema_drift and f >= mid
        rendered = iter(render(table, refs_f[kinds_f != MALFORMED].tolist(), drift, cat))
        lines = [
            bad_lines[ref] if kind == MALFORMED else next(rendered)
            for kind, ref in zip(kinds_f.tolist(), refs_f.tolist())
        ]
        header = csv_lines([csv_header(drift)])[0] if fmt == "csv" else None
        write_atomic(out_dir / name, encode_lines(lines, header))
        done += int(np.count_nonzero(kinds_f == VALID))
        if progress is not None:
            progress(done, n)

    manifest = Manifest(
        format=fmt,
        seed=seed,
        start=iso_ms(start_ms),
        end=iso_ms(end_ms),
        files=names,
        unique_valid_events=n,
        duplicates=n_dup,
        malformed_lines=n_bad,
        malformed_by_reason=dict(sorted(by_reason.items())),
        late_events=n_late,
        total_lines=n + n_dup + n_bad,
        schema_drift=faults.schema_drift,
        generations=[{"mode": "batch", "prefix": prefix, "seed": seed, "files": len(names),
                      "unique_valid_events": n, "start": iso_ms(start_ms), "end": iso_ms(end_ms)}],
    )  # fmt: skip
    if existing is not None:
        manifest = existing.merged(manifest)
    write_manifest(out_dir, manifest)
    return manifest
