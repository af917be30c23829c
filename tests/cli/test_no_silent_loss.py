"""A run that reads files but keeps (almost) nothing of them says so, and says what to do."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.cli.test_errors import assert_one_line_error, clickstream
from tests.conftest import query


def _generate(out: Path, *args: str) -> None:
    proc = clickstream("generate", "--out", str(out), "--events", "200", "--files", "2", *args)
    assert proc.returncode == 0, proc.stderr


def _months_ago(months: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=30 * months)).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_feed_months_behind_the_watermark_warns_and_exits_1(landing: Path, warehouse: Path) -> None:
    _generate(landing)
    first = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse))
    assert first.returncode == 0, first.stderr
    _generate(landing, "--prefix", "old", "--start", _months_ago(4), "--span", "1h")

    proc = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse))

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("old-000001.jsonl", "old-000002.jsonl"):
        warning = next(line for line in proc.stderr.splitlines() if name in line and "too_late" in line)
        assert "pipeline.dedup_horizon_days" in warning and "new warehouse" in warning
        (lines,) = query(warehouse, f"SELECT count(*) FROM quarantine_events WHERE source_file = '{name}' AND reason = 'too_late'")[0]
        assert f"{lines} of {lines} lines" in warning
    assert "ledger forget" in proc.stderr


def test_a_fresh_feed_exits_0_without_a_too_late_warning(landing: Path, warehouse: Path) -> None:
    _generate(landing, "--late", "0.05")
    proc = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stderr
    assert "too_late" not in proc.stderr


def test_generate_adds_a_second_feed_with_prefix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _generate(out)
    again = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2")
    assert_one_line_error(again, "already exists", "--prefix NAME", "empty --out")
    _generate(out, "--prefix", "more")
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "events-000001.jsonl", "events-000002.jsonl", "more-000001.jsonl", "more-000002.jsonl",
    ]
