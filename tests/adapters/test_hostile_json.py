"""A JSON line that DuckDB's JSON functions cannot parse is quarantined, never the end of the batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapters.conftest import run_format
from tests.conftest import query

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("fmt", ["segment", "ga4"])
def test_a_lone_surrogate_escape_quarantines_its_line_only(landing: Path, warehouse: Path, fmt: str) -> None:
    good = (FIXTURES / f"{fmt}.jsonl").read_text().splitlines()
    # json_valid() says no to these, but json_extract() raises on them: escapes a browser can send.
    hostile = [good[0].replace("{", '{"x": "\\ud800", ', 1), good[0][:-1] + ', "y": {"z": "a\\udc00b"}}']
    for line in hostile:
        json.loads(line)  # well-formed JSON text to Python's parser, so a producer may well write it
    (landing / "a.jsonl").write_text("\n".join([*good, *hostile]) + "\n")

    summary = run_format(landing, warehouse, fmt)

    assert summary.input_lines == len(good) + 2
    assert summary.input_lines == summary.silver_inserted + summary.quarantined + summary.duplicates
    bad = query(warehouse, f"SELECT line_number, reason FROM quarantine_events WHERE line_number > {len(good)} ORDER BY 1")
    assert bad == [(len(good) + 1, "malformed_json"), (len(good) + 2, "malformed_json")]
