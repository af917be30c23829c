"""Expectation suites per layer, generated from the contract and the quality settings.

A `Check` names a GX expectation class and its arguments; `quality.gx` turns checks into GX suites.
Keeping them plain data means the suites can be read, tested and diffed without importing GX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clickstream.config import Settings
from clickstream.contract.schema import EVENT_FIELDS, REQUIRED_FIELDS, FieldType
from clickstream.contract.tables import BRONZE, GOLD_KPI_MINUTE

CRITICAL, WARNING = "critical", "warning"

# Counted gold columns: everything numeric except the key.
KPI_MEASURES: tuple[str, ...] = tuple(
    c.name for c in GOLD_KPI_MINUTE.columns if c.type in (FieldType.INTEGER, FieldType.DECIMAL)
)
FUNNEL_STEPS: tuple[str, ...] = ("sessions", "viewed", "added_to_cart", "purchased")


@dataclass(frozen=True)
class Check:
    asset: str  # the batch it runs on (see quality.assets)
    expectation: str  # GX expectation class, e.g. "ExpectColumnValuesToBeUnique"
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = CRITICAL
    why: str = ""


def silver_fields_checked() -> tuple[str, ...]:
    """Contract fields the silver suite looks at: the required ones and those with a range or pattern."""
    return tuple(f.name for f in EVENT_FIELDS if f.required or f.minimum is not None or f.pattern)


def bronze_checks(settings: Settings, facts: dict[str, Any]) -> list[Check]:
    q = settings.quality
    landed = int(facts.get("landed_files") or 0)
    return [
        Check("bronze_columns", "ExpectTableColumnsToMatchOrderedList", {"column_list": list(BRONZE.column_names)},
              why="bronze_events has the contract's columns, in order"),
        Check("bronze_events", "ExpectTableRowCountToBeBetween", {"min_value": 1 if landed else 0},
              why=f"{landed} landed files were ingested in the window, so bronze must have rows"),
        Check("bronze_events", "ExpectColumnValuesToNotBeNull", {"column": "raw_line"}, why="every line is kept"),
        Check("bronze_events", "ExpectCompoundColumnsToBeUnique", {"column_list": ["source_file", "line_number"]},
              why="each landed line is ingested exactly once"),
        Check("bronze_quarantine_rate", "ExpectColumnValuesToBeBetween",
              {"column": "quarantine_rate", "min_value": 0, "max_value": q.max_quarantine_rate}, WARNING,
              why=f"at most {q.max_quarantine_rate:.1%} of the window's lines are quarantined"),
    ]


def silver_checks(settings: Settings, facts: dict[str, Any]) -> list[Check]:
    q, p = settings.quality, settings.pipeline
    checks = [
        Check("silver_events", "ExpectTableRowCountToBeBetween", {"min_value": q.min_silver_rows},
              why="an hour without events is missing data"),
        Check("silver_events", "ExpectColumnValuesToBeUnique", {"column": "event_id"}, why="event_id is the dedup key"),
    ]
    checks += [
        Check("silver_events", "ExpectColumnValuesToNotBeNull", {"column": name}, why="required by the contract")
        for name in REQUIRED_FIELDS
    ]
    checks.append(
        Check("silver_events", "ExpectColumnValuesToBeInSet", {"column": "event_type", "value_set": list(p.event_types)},
              why="pipeline.event_types")
    )
    for f in EVENT_FIELDS:
        if f.minimum is not None:
            checks.append(Check("silver_events", "ExpectColumnValuesToBeBetween", {"column": f.name, "min_value": f.minimum},
                                why=f"contract minimum of {f.name}"))
        if f.pattern:
            checks.append(Check("silver_events", "ExpectColumnValuesToMatchRegex", {"column": f.name, "regex": f.pattern},
                                why=f"contract pattern of {f.name}"))
    # event_ts within [now - horizon, now + tolerance], where "now" is the pipeline's clock when the row
    # was ingested and the horizon counts back from its watermark: the rules ingestion enforces, so a
    # replayed backlog validates the same as live data.
    checks += [
        Check("silver_events", "ExpectColumnValuesToBeBetween", {"column": "future_margin_s", "min_value": 0},
              why=f"event_ts at most {p.future_tolerance_s:g}s after ingestion"),
        Check("silver_events", "ExpectColumnValuesToBeBetween", {"column": "late_margin_s", "min_value": 0},
              why=f"event_ts at most {p.dedup_horizon_days:g} days behind the watermark"),
    ]
    return checks


def gold_checks(settings: Settings, facts: dict[str, Any]) -> list[Check]:
    minutes = settings.quality.window_s // 60
    has_silver = int(facts.get("silver_rows") or 0) > 0
    checks = [
        Check("gold_kpi_minute", "ExpectTableRowCountToBeBetween", {"min_value": 1 if has_silver else 0, "max_value": minutes},
              why="one row per minute with events"),
        Check("gold_kpi_minute", "ExpectColumnValuesToBeUnique", {"column": "window_start"}, why="one row per minute"),
    ]
    checks += [
        Check("gold_kpi_minute", "ExpectColumnValuesToBeBetween", {"column": m, "min_value": 0}, why="no negative counts")
        for m in KPI_MEASURES
    ]
    checks += [
        Check("gold_funnel_hourly", "ExpectColumnValuesToBeBetween", {"column": s, "min_value": 0}, why="no negative counts")
        for s in FUNNEL_STEPS
    ]
    checks.append(
        Check("gold_funnel_hourly", "ExpectColumnValuesToBeBetween", {"column": "conversion_rate", "min_value": 0, "max_value": 1},
              why="purchased / sessions")
    )
    checks += [
        Check("gold_funnel_hourly", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": a, "column_B": b, "or_equal": True}, why="a funnel only narrows")
        for a, b in zip(FUNNEL_STEPS, FUNNEL_STEPS[1:])
    ]
    # Reconciliation: gold is a function of silver, so every minute's measures recomputed from
    # silver must equal gold's; a minute missing on either side counts as zero there.
    checks += [
        Check("gold_reconciliation", "ExpectColumnPairValuesToBeEqual", {"column_A": f"gold_{m}", "column_B": f"silver_{m}"},
              why=f"gold {m} per minute equals silver's")
        for m in KPI_MEASURES
    ]
    return checks


SUITES = {"bronze": bronze_checks, "silver": silver_checks, "gold": gold_checks}


def layer_checks(layer: str, settings: Settings, facts: dict[str, Any]) -> list[Check]:
    """The layer's checks for one window, given the facts measured for it (see quality.assets)."""
    return SUITES[layer](settings, facts)
