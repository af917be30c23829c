"""The parts of the warehouse source computed in Python keep the semantics of the SQL they replaced."""

from __future__ import annotations

import json

import duckdb
import numpy as np

from clickstream.monitoring.source import field_counts, median_rates

# Every JSON type, numbers at the integer limits, keys that need quoting, and lines that are not objects.
LINES = [
    '{"event_id": "e1", "price": 9.5, "quantity": 2, "is_new": true, "tags": ["a"], "properties": {"k": 1}}',
    '{"event_id": "e2", "price": "9.50", "quantity": 9223372036854775807, "is_new": null, "x\\"y": 1}',
    '{"event_id": "e3", "price": 1e3, "quantity": 18446744073709551615, "big": 18446744073709551616, "neg": -9223372036854775808}',
    '  {"weird key \'\\u00e9": [], "nested": {"a": {"b": 2}}, "f": -0.0}',
    '{"broken": ',
    '{"nan": NaN}',
    '{"event_id": "e4"} trailing',
    '{}',
    '{"a": 1, "a": "x", "b": -0, "c": -9223372036854775809, "d": Infinity, "e": 1E400}',
    '[1, 2]',
]


def duckdb_counts(lines: list[str]) -> tuple[int, dict, dict]:
    """What the monitor computed in DuckDB before: json_keys and json_type over the valid objects."""
    con = duckdb.connect()
    con.execute("CREATE TABLE s AS SELECT unnest(?::VARCHAR[]) AS raw_line", [lines])
    valid = "SELECT raw_line FROM s WHERE starts_with(ltrim(raw_line), '{') AND json_valid(raw_line)"
    n = con.execute(f"SELECT count(*) FROM ({valid})").fetchall()[0][0]
    rows = con.execute(
        f"WITH v AS ({valid}), k AS (SELECT raw_line, unnest(json_keys(raw_line)) AS k FROM v) "
        "SELECT k, json_type(raw_line, '$.\"' || replace(k, '\"', '\\\"') || '\"') AS t, count(*) FROM k GROUP BY ALL"
    ).fetchall()
    fields: dict[str, int] = {}
    for key, _, count in rows:
        fields[key] = fields.get(key, 0) + count
    return n, fields, {(k, t): c for k, t, c in rows}


def test_field_counts_name_json_types_as_duckdb_does():
    assert field_counts(LINES) == duckdb_counts(LINES)


def test_the_quarantine_baseline_is_the_median_share_over_windows_with_lines():
    lines = [(1, 100), (2, 200), (3, 100), (4, 50)]
    quarantined = [(1, "malformed_json", 1), (2, "malformed_json", 2), (3, "malformed_json", 50), (9, "malformed_json", 7),
                   (2, "bad_timestamp", 4)]  # fmt: skip
    rates = median_rates(lines, quarantined)
    assert rates == {"malformed_json": float(np.median([0.01, 0.01, 0.5, 0.0])), "bad_timestamp": float(np.median([0, 0.02, 0, 0]))}
    assert median_rates([], quarantined) == {}
    json.dumps(rates)  # plain floats
