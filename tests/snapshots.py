"""SQL snapshots: generated text pinned per dialect, refreshed on purpose, reviewed as a diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE = os.environ.get("CLICKSTREAM_UPDATE_SNAPSHOTS") == "1"


def assert_matches_snapshot(text: str, path: Path, what: str) -> None:
    """`text` equals the snapshot at `path`; with CLICKSTREAM_UPDATE_SNAPSHOTS=1 it becomes the snapshot."""
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote a new snapshot {path}: review it and run again")
    assert text == path.read_text(encoding="utf-8"), (
        f"{what} changed: if intended, refresh with CLICKSTREAM_UPDATE_SNAPSHOTS=1 and review the diff"
    )
