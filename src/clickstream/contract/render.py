"""Artifacts generated from the contract: DuckDB DDL, BigQuery schemas, Spark schema, JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from clickstream.contract.schema import EVENT_FIELDS, FieldType
from clickstream.contract.tables import ALL_TABLES, Table

DECIMAL_PRECISION, DECIMAL_SCALE = 18, 4
# Sums of money keep the scale and widen the precision so they cannot overflow.
DECIMAL_SUM_TYPE = f"DECIMAL(38, {DECIMAL_SCALE})"

DUCKDB_TYPES = {
    FieldType.STRING: "VARCHAR",
    FieldType.TIMESTAMP: "TIMESTAMP",
    FieldType.DATE: "DATE",
    FieldType.DOUBLE: "DOUBLE",
    FieldType.DECIMAL: f"DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE})",
    FieldType.INTEGER: "BIGINT",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.JSON: "JSON",
    FieldType.STRING_LIST: "VARCHAR[]",
}

BIGQUERY_TYPES = {
    FieldType.STRING: "STRING",
    FieldType.TIMESTAMP: "TIMESTAMP",
    FieldType.DATE: "DATE",
    FieldType.DOUBLE: "FLOAT64",
    FieldType.DECIMAL: "NUMERIC",
    FieldType.INTEGER: "INT64",
    FieldType.BOOLEAN: "BOOL",
    FieldType.JSON: "JSON",
    FieldType.STRING_LIST: "STRING",
}


def duckdb_type(field_type: FieldType) -> str:
    return DUCKDB_TYPES[field_type]


def duckdb_ddl(table: Table) -> str:
    """CREATE TABLE IF NOT EXISTS for one table in DuckDB."""
    cols = ",\n  ".join(
        f"{c.name} {DUCKDB_TYPES[c.type]}"
        f"{' USING COMPRESSION zstd' if c.long_text else ''}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {cols}\n)"


def duckdb_schema_ddl() -> list[str]:
    return [duckdb_ddl(t) for t in ALL_TABLES]


def bigquery_schema(table: Table) -> list[dict[str, Any]]:
    """The table's schema in BigQuery's JSON form (as used by `bq` and Terraform)."""
    fields = []
    for c in table.columns:
        fields.append(
            {
                "name": c.name,
                "type": BIGQUERY_TYPES[c.type],
                "mode": "REPEATED" if c.type is FieldType.STRING_LIST else ("NULLABLE" if c.nullable else "REQUIRED"),
                "description": c.description,
            }
        )
    return fields


def bigquery_schema_json(table: Table) -> str:
    return json.dumps(bigquery_schema(table), indent=2) + "\n"


def spark_schema(table: Table):  # -> pyspark.sql.types.StructType
    """The table as a Spark StructType; imports pyspark only when called."""
    from pyspark.sql import types as T

    spark_types = {
        FieldType.STRING: T.StringType(),
        FieldType.TIMESTAMP: T.TimestampType(),
        FieldType.DATE: T.DateType(),
        FieldType.DOUBLE: T.DoubleType(),
        FieldType.DECIMAL: T.DecimalType(DECIMAL_PRECISION, DECIMAL_SCALE),
        FieldType.INTEGER: T.LongType(),
        FieldType.BOOLEAN: T.BooleanType(),
        FieldType.JSON: T.StringType(),
        FieldType.STRING_LIST: T.ArrayType(T.StringType()),
    }
    return T.StructType([T.StructField(c.name, spark_types[c.type], c.nullable) for c in table.columns])


def event_json_schema(event_types: list[str]) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for producers writing events in our contract."""
    json_types = {
        FieldType.STRING: {"type": "string"},
        FieldType.TIMESTAMP: {"type": "string", "format": "date-time"},
        FieldType.DECIMAL: {"type": ["number", "string"]},
        FieldType.DOUBLE: {"type": "number"},
        FieldType.INTEGER: {"type": "integer"},
        FieldType.JSON: {"type": "object"},
    }
    properties: dict[str, Any] = {}
    for f in EVENT_FIELDS:
        spec = dict(json_types[f.type], description=f.description)
        if f.name == "event_type":
            spec["enum"] = list(event_types)
        if f.minimum is not None:
            spec["minimum"] = f.minimum
        if f.pattern:
            spec["pattern"] = f.pattern
        if not f.required:
            spec["type"] = [*([spec["type"]] if isinstance(spec["type"], str) else spec["type"]), "null"]
        properties[f.name] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "clickstream event",
        "type": "object",
        "required": [f.name for f in EVENT_FIELDS if f.required],
        "properties": properties,
        "additionalProperties": True,
    }
