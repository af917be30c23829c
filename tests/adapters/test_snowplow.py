"""Snowplow enriched events through the snowplow adapter: Snowplow's own dbt test seed, as CSV and TSV."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from clickstream.contract.schema import DEFAULT_EVENT_TYPES
from clickstream.ingest.adapters.snowplow import TSV_COLUMNS
from tests.adapters.conftest import SNOWPLOW_SAMPLE, expected_summary, read_csv, run_format, silver_summary
from tests.conftest import query

NAMES = {"page_view": "page_view", "link_click": "click", "site_search": "search", "transaction": "purchase",
         "add_to_cart": "add_to_cart", "remove_from_cart": "remove_from_cart"}  # fmt: skip
ROWS = read_csv(SNOWPLOW_SAMPLE)


def _ts(row: dict[str, str]) -> datetime:
    return datetime.strptime(row["derived_tstamp"] or row["collector_tstamp"], "%Y-%m-%d %H:%M:%S.%f")


def _judge(rows: list[dict[str, str]], event_types: tuple[str, ...]) -> tuple[list[dict], Counter]:
    """Silver (first valid row per event_id) and quarantine reasons, by the adapter's documented rules."""
    kept, seen, reasons = [], set(), Counter()
    for r in rows:
        name = r["event_name"] or r["event"]
        etype = NAMES.get(name, name)
        if not r["domain_userid"]:
            reasons["missing_required:user_id"] += 1
        elif not r["domain_sessionid"]:
            reasons["missing_required:session_id"] += 1
        elif etype not in event_types:
            reasons["unknown_event_type"] += 1
        elif r["event_id"] not in seen:
            seen.add(r["event_id"])
            kept.append({"id": r["event_id"], "ts": _ts(r), "type": etype, "user": r["domain_userid"],
                         "session": r["domain_sessionid"], "revenue": Decimal(0)})  # fmt: skip
    return kept, reasons


def test_real_sample_silver_and_gold_match_the_raw_file(landing: Path, warehouse: Path) -> None:
    shutil.copy(SNOWPLOW_SAMPLE, landing)
    summary = run_format(landing, warehouse, "snowplow")
    kept, reasons = _judge(ROWS, DEFAULT_EVENT_TYPES)
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == dict(reasons)
    assert summary.input_lines == len(ROWS) == summary.silver_inserted + summary.quarantined + summary.duplicates
    assert silver_summary(warehouse) == expected_summary(kept)
    # No commerce in this seed (SOURCE.md): revenue and the funnel beyond views stay zero.
    assert query(warehouse, "SELECT sum(added_to_cart), sum(purchased) FROM gold_funnel_hourly") == [(0, 0)]


def test_duplicated_event_ids_keep_the_first_row(landing: Path, warehouse: Path) -> None:
    # Accept every Snowplow event name so that each duplicated id has a valid row to dedupe.
    names = tuple(sorted({r["event_name"] or r["event"] for r in ROWS} | {"click"}))
    shutil.copy(SNOWPLOW_SAMPLE, landing)
    summary = run_format(landing, warehouse, "snowplow", sections={"pipeline": {"event_types": list(names)}})
    kept, reasons = _judge(ROWS, names)
    assert len({r["event_id"] for r in ROWS}) == 158 and len(kept) < len(ROWS) - sum(reasons.values())
    assert summary.duplicates == len(ROWS) - sum(reasons.values()) - len(kept)
    got = query(warehouse, "SELECT event_id, event_ts FROM silver_events ORDER BY ALL")
    assert got == sorted((e["id"], e["ts"]) for e in kept)


def test_enriched_tsv_without_header_matches_the_csv(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    # The enriched stream's TSV: no header, 131 fields in canonical order, JSON cells with raw quotes.
    contexts = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": []})
    lines = []
    for r in ROWS:
        full = {**r, "contexts": contexts, "unstruct_event": "", "derived_contexts": contexts}
        lines.append("\t".join(full[c] for c in TSV_COLUMNS))
    (landing / "enriched.tsv").write_text("\n".join(lines) + "\n")
    run_format(landing, warehouse, "snowplow")
    csv_landing, csv_warehouse = tmp_path / "csv", tmp_path / "csv.duckdb"
    csv_landing.mkdir()
    shutil.copy(SNOWPLOW_SAMPLE, csv_landing)
    run_format(csv_landing, csv_warehouse, "snowplow")
    cols = "event_id, event_ts, event_type, user_id, session_id, page_url, referrer, country, user_agent"
    silver = f"SELECT {cols} FROM silver_events ORDER BY ALL"
    assert query(warehouse, silver) == query(csv_warehouse, silver) and len(query(warehouse, silver)) > 0
    assert len(TSV_COLUMNS) == 131 and set(TSV_COLUMNS) - {"contexts", "unstruct_event", "derived_contexts"} <= set(ROWS[0])


def test_header_less_tsv_starting_with_a_struct_event_is_not_taken_for_a_header(landing: Path, warehouse: Path) -> None:
    # A struct event's event_name cell is `event`, also a column name: the first row must still be data.
    struct = [r for r in ROWS if r["event"] == "struct"]
    (landing / "struct.tsv").write_text("\n".join("\t".join(r.get(c, "") for c in TSV_COLUMNS) for r in struct) + "\n")
    summary = run_format(landing, warehouse, "snowplow", sections={"pipeline": {"event_types": ["event"]}})
    assert (summary.input_lines, summary.silver_inserted) == (len(struct), len(struct))
    assert query(warehouse, "SELECT min(line_number) FROM silver_events") == [(1,)]
