"""The exchange-rate CSV: its documented shape, gaps filled forward, and one-line errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from clickstream.config import load_settings
from clickstream.errors import ConfigError
from clickstream.ingest.fx import FxRatesFile, parse_fx_csv


def test_weekend_gaps_take_the_previous_rate_and_a_long_gap_is_left_open() -> None:
    rows = parse_fx_csv("currency,date,rate\nEUR,2024-06-07,1.08\neur,2024-06-10,1.09\nGBP,2024-01-01,1.25\nGBP,2024-03-01,1.27\n").to_pylist()
    eur = [(r["rate_date"], r["rate"]) for r in rows if r["currency"] == "EUR"]
    assert eur == [(date(2024, 6, 7), Decimal("1.0800")), (date(2024, 6, 8), Decimal("1.0800")),
                   (date(2024, 6, 9), Decimal("1.0800")), (date(2024, 6, 10), Decimal("1.0900"))]  # fmt: skip
    # Two months apart is a hole in the file, not a weekend: nothing is invented in between.
    assert [r["rate_date"] for r in rows if r["currency"] == "GBP"] == [date(2024, 1, 1), date(2024, 3, 1)]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("day,rate\n", "currency,date,rate"),
        ("currency,date,rate\nEURO,2024-06-07,1.08\n", "line 2: currency"),
        ("currency,date,rate\nEUR,07/06/2024,1.08\n", "line 2: date"),
        ("currency,date,rate\nEUR,2024-06-07,abc\n", "line 2: rate"),
        ("currency,date,rate\nEUR,2024-06-07,-1\n", "positive"),
        ("currency,date,rate\nEUR,2024-06-07,1.08\nEUR,2024-06-07,1.09\n", "line 3: EUR on 2024-06-07 has two different rates"),
    ],
)
def test_a_malformed_file_is_one_config_error(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_fx_csv(text)


def test_the_file_is_offered_again_only_after_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "fx.csv"
    path.write_text("currency,date,rate\nEUR,2024-06-07,1.08\n")
    fx = FxRatesFile(path)
    assert fx.pending().num_rows == 1
    fx.committed()
    assert fx.pending() is None
    path.write_text("currency,date,rate\nEUR,2024-06-07,1.08\nEUR,2024-06-08,1.09\n")
    assert fx.pending().num_rows == 2
    # An edit that breaks the file mid-run keeps the warehouse's rates instead of stopping the pipeline.
    fx.committed()
    path.write_text("currency,date,rate\nEUR,oops,1\n")
    assert fx.pending() is None
    with pytest.raises(ConfigError, match="line 2: date"):
        FxRatesFile(path)


def test_the_reporting_currency_is_an_iso_code() -> None:
    assert load_settings(overrides={"pipeline": {"reporting_currency": " eur "}}).pipeline.reporting_currency == "EUR"
    with pytest.raises(ConfigError, match="ISO 4217"):
        load_settings(overrides={"pipeline": {"reporting_currency": "euro"}})
