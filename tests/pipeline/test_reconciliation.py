"""Counts reconcile end to end on generated traffic with every fault turned on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from clickstream.generator import Faults, generate_batch
from tests.conftest import query, run_once
from tests.warehouse.recompute import assert_gold_matches_silver


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_all_faults_reconcile_with_the_manifest(tmp_path: Path, fmt: str) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    events = 200_000 if fmt == "jsonl" else 50_000
    manifest = generate_batch(
        landing,
        events=events,
        files=20,
        fmt=fmt,
        seed=11,
        start=datetime(2026, 11, 25, 0, 0),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.01, schema_drift=True),
    )
    # Small batches so late events and duplicates cross batch boundaries.
    summary = run_once(landing, warehouse, engine={"max_files_per_batch": 4})
    assert summary.batches == 5

    bronze, silver, quarantine, distinct_ids = query(
        warehouse,
        "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM silver_events), "
        "(SELECT count(*) FROM quarantine_events), (SELECT count(DISTINCT event_id) FROM silver_events)",
    )[0]
    duplicates = query(warehouse, "SELECT sum(duplicates) FROM pipeline_batches")[0][0]

    assert bronze == manifest.total_lines
    assert bronze == silver + quarantine + duplicates
    assert silver == manifest.unique_valid_events == events
    assert distinct_ids == silver
    assert duplicates == manifest.duplicates > 0
    assert quarantine == manifest.malformed_lines > 0
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == {
        k: v for k, v in manifest.malformed_by_reason.items() if v
    }
    # The ledger agrees with the tables.
    ledger = query(
        warehouse,
        "SELECT sum(input_lines), sum(bronze_rows), sum(silver_inserted), sum(quarantined) FROM pipeline_batches",
    )[0]
    assert ledger == (bronze, bronze, silver, quarantine)
    assert query(warehouse, "SELECT count(*) FROM pipeline_files")[0][0] == len(manifest.files)

    counts = assert_gold_matches_silver(warehouse)
    assert all(rows > 0 for rows in counts.values()), counts


def test_rerunning_on_the_same_landing_zone_adds_nothing(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    generate_batch(landing, events=5_000, files=5, seed=3, start=datetime(2026, 11, 25), faults=Faults(duplicates=0.02))
    first = run_once(landing, warehouse)
    before = query(warehouse, "SELECT count(*) FROM bronze_events")[0][0]
    second = run_once(landing, warehouse)
    assert first.files == 5 and second.files == 0 and second.batches == 0
    assert query(warehouse, "SELECT count(*) FROM bronze_events")[0][0] == before
