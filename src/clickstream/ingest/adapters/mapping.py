"""The generic adapter: a YAML file maps any CSV or JSON-lines columns onto contract fields.

```yaml
file_format: csv                 # csv (a .tsv file is split on tabs) | jsonl
columns: [ts, kind, uid, sid]    # optional: column order of files without a header line
fields:                          # contract field: column name (csv) or JSON path like $.a.b (jsonl)
  event_ts: ts
  event_type: kind
  user_id: uid
  session_id: sid
timestamp_format: "%d/%m/%Y %H:%M:%S"   # iso (default) | epoch_s | epoch_ms | epoch_us | a strptime format, read as UTC
event_types: {view: page_view, buy: purchase}   # foreign value -> contract event type
```

Without an `event_id` column the id is a hash of the whole source record (every column, or the
whole JSON object), so exact duplicates dedupe and records differing in any column stay apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clickstream.config import describe_validation_error
from clickstream.contract.schema import FIELD_NAMES
from clickstream.errors import ConfigError
from clickstream.ingest.adapters.base import Adapter, record_hash, utc_text, value_map
from clickstream.sql import sql_str

_EPOCH_DIVISORS = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_format: Literal["csv", "jsonl"] = "csv"
    columns: list[str] = Field(default_factory=list)
    fields: dict[str, str] = Field(min_length=1)
    timestamp_format: str = "iso"
    event_types: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown contract fields {unknown}; known: {', '.join(FIELD_NAMES)}")
        missing = sorted({"event_ts", "event_type", "user_id", "session_id"} - set(value))
        if missing:
            raise ValueError(f"required contract fields not mapped: {', '.join(missing)}")
        return value


def _timestamp(expr: str, fmt: str) -> str:
    if fmt == "iso":
        return expr
    if fmt in _EPOCH_DIVISORS:
        return utc_text(f"make_timestamp(CAST(try_cast({expr} AS DOUBLE) * {1_000_000 // _EPOCH_DIVISORS[fmt]} AS BIGINT))")
    zoned = "%z" in fmt or "%Z" in fmt
    parsed = f"try_strptime({expr}, {sql_str(fmt)})"
    return f"strftime({parsed}, '%Y-%m-%dT%H:%M:%S.%f%z')" if zoned else utc_text(parsed)


def build(m: Mapping, name: str = "mapping") -> Adapter:
    """The adapter a validated mapping describes."""
    sources = sorted(set(m.fields.values()))
    alias = {src: f"c{i}" for i, src in enumerate(sources)}
    ref = {f: "{" + alias[src] + "}" for f, src in m.fields.items()}
    fields = dict(ref)
    fields["event_ts"] = _timestamp(ref["event_ts"], m.timestamp_format)
    if m.event_types:
        fields["event_type"] = value_map(ref["event_type"], m.event_types, ref["event_type"])
    if "event_id" not in fields:
        # Not the mapped values alone: two purchases in one second differing only in an unmapped
        # column (a basket total) are two events.
        fields["event_id"] = record_hash()
    return Adapter(
        name=name,
        file_format=m.file_format,
        inputs=tuple((alias[src], src) for src in sources),
        fields=tuple(fields.items()),
        default_columns=tuple(c.lower() for c in m.columns),
    )


def load(path: Path) -> Adapter:
    """Read and validate a mapping file; every mistake is one ConfigError line."""
    where = f"landing.mapping_file {path}"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror}): point landing.mapping_file at a YAML mapping") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML ({exc.__class__.__name__}): fix its syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with at least `fields:`")
    try:
        mapping = Mapping(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, where) + ": fix the mapping file") from exc
    if mapping.file_format == "jsonl" and any(not s.startswith("$") for s in mapping.fields.values()):
        raise ConfigError(f"invalid {where}: jsonl fields must be JSON paths starting with $ (e.g. $.user.id)")
    return build(mapping)
