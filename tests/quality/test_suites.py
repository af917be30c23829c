"""Each suite passes on clean data and each injected fault fails exactly the expectation meant to catch it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream.generator import Faults, generate_batch
from clickstream.quality.checks import layer_checks
from tests.conftest import query, run_once
from tests.quality.conftest import START, bronze_hour, failures, settings_for, validate

H10, H11 = START, START + timedelta(hours=1)


def _write(warehouse: Path, sql: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_clean_data_passes_every_suite_and_records_every_expectation(wh_copy, tmp_path):
    for window, layers in ((H10, ("silver", "gold")), (H11, ("silver", "gold")), (bronze_hour(wh_copy), ("bronze",))):
        report = validate(wh_copy, tmp_path, window, layers)
        assert failures(report) == set(), window
        assert not report.critical_failed
    settings = settings_for(wh_copy, tmp_path)
    facts = {"landed_files": 4, "silver_rows": 1}
    expected = {layer: len(layer_checks(layer, settings, facts)) for layer in ("bronze", "silver", "gold")}
    # Every check leaves a row, so dq_results shows what was checked, not only what failed.
    stored = dict(query(
        wh_copy,
        "SELECT layer, count(*) FROM dq_results WHERE window_start = TIMESTAMP '2026-01-01 10:00' OR layer = 'bronze' GROUP BY 1",
    ))
    assert stored == expected


def test_duplicate_event_ids_in_silver_fail_only_uniqueness(wh_copy, tmp_path):
    # The pipeline never lets a duplicate through, so force three in with a test-only write.
    _write(wh_copy, f"INSERT INTO silver_events SELECT * FROM silver_events WHERE event_ts >= TIMESTAMP '{H10}' "
                    f"AND event_ts < TIMESTAMP '{H11}' ORDER BY event_id LIMIT 3")
    report = validate(wh_copy, tmp_path, H10, ("silver",))
    # GX counts every row whose id is not unique: both copies of each of the 3 ids.
    assert failures(report) == {("silver.silver_events", "expect_column_values_to_be_unique", "event_id", 6)}
    assert report.critical_failed


def test_negative_price_fails_only_the_price_minimum(wh_copy, tmp_path):
    _write(wh_copy, f"UPDATE silver_events SET price = -price WHERE event_id IN (SELECT event_id FROM silver_events "
                    f"WHERE price > 0 AND event_ts >= TIMESTAMP '{H10}' AND event_ts < TIMESTAMP '{H11}' ORDER BY event_id LIMIT 2)")
    report = validate(wh_copy, tmp_path, H10, ("silver",))
    assert failures(report) == {("silver.silver_events", "expect_column_values_to_be_between", "price", 2)}
    row = next(r for r in report.runs[0].failures)
    assert row["severity"] == "critical" and row["unexpected_samples"].startswith("[-")


def test_unknown_event_type_fails_only_the_allowed_set(wh_copy, tmp_path):
    _write(wh_copy, f"UPDATE silver_events SET event_type = 'teleport' WHERE event_id IN (SELECT event_id FROM silver_events "
                    f"WHERE event_ts >= TIMESTAMP '{H11}' ORDER BY event_id LIMIT 4)")
    report = validate(wh_copy, tmp_path, H11, ("silver",))
    assert failures(report) == {("silver.silver_events", "expect_column_values_to_be_in_set", "event_type", 4)}
    assert '"teleport"' in report.runs[0].failures[0]["unexpected_samples"]


def test_gold_tampered_to_disagree_with_silver_fails_only_reconciliation(wh_copy, tmp_path):
    _write(wh_copy, f"UPDATE gold_kpi_minute SET events = events + 1 WHERE window_start = TIMESTAMP '{H10 + timedelta(minutes=17)}'")
    report = validate(wh_copy, tmp_path, H10, ("gold",))
    # One minute disagrees on one measure; the other minutes and measures still reconcile.
    assert failures(report) == {("gold.gold_reconciliation", "expect_column_pair_values_to_be_equal", "gold_events,silver_events", 1)}
    assert report.critical_failed


def test_missing_hour_of_data_fails_only_silver_row_count(landing, warehouse, tmp_path):
    # Spans end at :50 because the generator clamps a few events onto the span's last instant.
    generate_batch(landing, events=600, files=1, seed=1, start=H10, span=timedelta(minutes=50), prefix="a")
    generate_batch(landing, events=600, files=1, seed=2, start=H10 + timedelta(hours=2), span=timedelta(minutes=50), prefix="b")
    run_once(landing, warehouse)
    report = validate(warehouse, tmp_path, H11, ("silver", "gold"))
    assert failures(report) == {("silver.silver_events", "expect_table_row_count_to_be_between", None, None)}
    row = report.runs[0].failures[0]
    assert row["observed_value"] == "0" and row["severity"] == "critical"


@pytest.mark.parametrize("malformed, expect_warning", [(0.0, False), (0.25, True)])
def test_quarantine_rate_is_a_warning_not_a_critical_failure(landing, warehouse, tmp_path, malformed, expect_warning):
    generate_batch(landing, events=1000, files=2, seed=3, start=H10, span=timedelta(hours=1), faults=Faults(malformed=malformed))
    run_once(landing, warehouse)
    report = validate(warehouse, tmp_path, bronze_hour(warehouse), ("bronze",))
    expected = {("bronze.bronze_quarantine_rate", "expect_column_values_to_be_between", "quarantine_rate", 1)}
    assert failures(report) == (expected if expect_warning else set())
    # A warning is visible in dq_results but does not fail the run (exit code 0).
    assert not report.critical_failed
    assert query(warehouse, "SELECT severity FROM dq_results WHERE NOT success") == ([("warning",)] if expect_warning else [])


def test_suites_follow_the_contract_and_the_settings(tmp_path):
    # A field given a range or pattern in the contract, or a new event type in config, is checked
    # without touching the quality code.
    from clickstream.contract.schema import EVENT_FIELDS

    settings = settings_for(tmp_path / "w.duckdb", tmp_path)
    settings.pipeline.event_types = ["page_view", "purchase", "wishlist"]
    checks = layer_checks("silver", settings, {})
    by_column = {(c.expectation, c.kwargs.get("column")): c for c in checks}
    for f in EVENT_FIELDS:
        if f.minimum is not None:
            assert by_column[("ExpectColumnValuesToBeBetween", f.name)].kwargs["min_value"] == f.minimum
        if f.pattern:
            assert by_column[("ExpectColumnValuesToMatchRegex", f.name)].kwargs["regex"] == f.pattern
        if f.required:
            assert ("ExpectColumnValuesToNotBeNull", f.name) in by_column
    assert by_column[("ExpectColumnValuesToBeInSet", "event_type")].kwargs["value_set"] == ["page_view", "purchase", "wishlist"]
    assert all(c.severity == "critical" for c in checks)
