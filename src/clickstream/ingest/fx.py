"""The user's exchange-rate CSV, read into the rows of the fx_rates table.

```csv
currency,date,rate
EUR,2026-11-27,1.0512
EUR,2026-11-30,1.0498
GBP,2026-11-27,1.2650
```

`rate` is what one unit of `currency` is worth in `pipeline.reporting_currency`. Days missing
between two rows of a currency (weekends, holidays) take the earlier row's rate; days after a
currency's last row have no rate, so their events stay unconverted until the file is updated.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from clickstream.contract.render import DECIMAL_PRECISION, DECIMAL_SCALE
from clickstream.errors import ConfigError

log = logging.getLogger(__name__)

FX_SCHEMA = pa.schema(
    [("currency", pa.string()), ("rate_date", pa.date32()), ("rate", pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE))]
)
_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
# A gap longer than this between two rows is a missing stretch of the file, not a weekend: not filled.
MAX_FILLED_GAP_DAYS = 7


def parse_fx_csv(text: str, where: str = "pipeline.fx_rates_file") -> pa.Table:
    """The fx_rates rows a CSV describes; any malformed line is one ConfigError naming it."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or {"currency", "date", "rate"} - {f.strip().lower() for f in reader.fieldnames}:
        raise ConfigError(f"{where} must start with the header currency,date,rate (one unit of currency in the reporting currency)")
    rates: dict[str, dict[date, Decimal]] = {}
    for n, row in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        code = row["currency"].upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ConfigError(f"{where} line {n}: currency {row['currency'][:20]!r} is not an ISO 4217 code")
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            raise ConfigError(f"{where} line {n}: date {row['date'][:20]!r} is not YYYY-MM-DD") from None
        try:
            rate = Decimal(row["rate"]).quantize(_QUANTUM)
        except (InvalidOperation, ValueError):
            raise ConfigError(f"{where} line {n}: rate {row['rate'][:20]!r} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise ConfigError(f"{where} line {n}: rate must be positive, not {row['rate'][:20]}")
        seen = rates.setdefault(code, {})
        if seen.get(day, rate) != rate:
            raise ConfigError(f"{where} line {n}: {code} on {day} has two different rates")
        seen[day] = rate
    out: list[tuple[str, date, Decimal]] = []
    for code in sorted(rates):
        days = sorted(rates[code])
        for day, following in zip(days, [*days[1:], None]):
            gap = (following - day).days if following else 1
            fill = gap if gap <= MAX_FILLED_GAP_DAYS else 1
            out.extend((code, day + timedelta(days=i), rates[code][day]) for i in range(fill))
    return pa.Table.from_pylist([{"currency": c, "rate_date": d, "rate": r} for c, d, r in out], schema=FX_SCHEMA)


class FxRatesFile:
    """The rates file of `pipeline.fx_rates_file`, handed to a batch only when it changed since the last commit."""

    def __init__(self, path: Path | None):
        self.path = path
        self._committed: tuple[int, int] | None = None
        self._offered: tuple[int, int] | None = None
        if path is not None:
            self._read()  # a wrong file is a configuration error at start, not after the first batch

    def _stamp(self) -> tuple[int, int]:
        assert self.path is not None
        st = self.path.stat()
        return st.st_mtime_ns, st.st_size

    def _read(self) -> pa.Table:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(
                f"pipeline.fx_rates_file {self.path} cannot be read ({exc.strerror}): point it at a CSV currency,date,rate"
            ) from exc
        return parse_fx_csv(text, f"pipeline.fx_rates_file {self.path}")

    def pending(self) -> pa.Table | None:
        """The rates to write with the next batch, or None when the warehouse already has them."""
        if self.path is None:
            return None
        try:
            stamp = self._stamp()
            if stamp == self._committed:
                return None
            table = self._read()
        except (OSError, ConfigError) as exc:
            # Mid-run, a file being edited must not stop the pipeline: the warehouse keeps its rates.
            log.warning("fx rates not reloaded, the warehouse keeps its previous ones: %s", exc)
            return None
        self._offered = stamp
        return table

    def committed(self) -> None:
        """The batch that carried the pending rates committed."""
        self._committed = self._offered
