"""The production path's commands on every warehouse: `status`, `validate`, `monitor --once` and
`dashboard` work with `--warehouse-kind`, show the same numbers, and change nothing but the tables
readers own (dq_results, alerts)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from clickstream.cli.main import app
from clickstream.services.status import read_status
from clickstream.warehouse import open_reader
from tests.emulators import free_port
from tests.warehouse.conformance.conftest import LoadedWarehouse
from tests.warehouse.tables import COMPARED

# Wall-clock columns of the status tables.
VOLATILE_STATUS = {"last_commit", "committed_at", "seconds", "max_lag_s"}
OWNED = {"dq_results", "alerts"}


def status_values(table: pa.Table) -> list[tuple]:
    keep = [c for c in table.column_names if c not in VOLATILE_STATUS]
    return [tuple(row[c] for c in keep) for row in table.select(keep).to_pylist()]


def config_file(loaded: LoadedWarehouse, path: Path) -> Path:
    """The warehouse's settings as a config file, with the warehouse kind left to the flag."""
    dumped = loaded.settings.model_dump(mode="json", include={"warehouse", "gcp"})
    dumped["warehouse"].pop("kind")
    dumped["monitoring"] = {"freshness": {"enabled": False}}
    path.write_text(yaml.safe_dump(dumped), encoding="utf-8")
    return path


def fingerprint(loaded: LoadedWarehouse) -> dict[str, object]:
    """Row counts of every contract table, and which tables each dataset (or the file) holds."""
    wh, reader = open_reader(loaded.settings)
    try:
        counts = {t: reader.scalar(f"SELECT count(*) FROM {t}") for t in (*COMPARED, *OWNED)}
        if loaded.kind == "bigquery":
            datasets = sorted(d.dataset_id for d in wh.client.list_datasets())
            tables = {d: sorted(t.table_id for t in wh.client.list_tables(d)) for d in datasets}
        else:
            tables = {"main": sorted(r[0] for r in reader.rows("SELECT table_name FROM duckdb_tables()"))}
        return {"counts": counts, "tables": tables}
    finally:
        reader.close()
        wh.close()


@pytest.fixture
def duckdb_status(read_only_loads):
    """The status of the conformance input in a DuckDB warehouse: what every warehouse must show."""
    return read_status(read_only_loads("duckdb").settings, 10)


def test_status_is_the_same_on_every_warehouse(read_only_warehouse: LoadedWarehouse, duckdb_status, tmp_path: Path) -> None:
    status = read_status(read_only_warehouse.settings, 10)
    for name in ("totals", "quarantine_reasons", "recent_batches"):
        assert status_values(getattr(status, name)) == status_values(getattr(duckdb_status, name)), name
    silver = status.totals.column("silver")[0].as_py()
    assert silver == read_only_warehouse.manifest.unique_valid_events
    config = config_file(read_only_warehouse, tmp_path / "warehouse.yaml")
    shown = CliRunner().invoke(app, ["status", "--config", str(config), "--warehouse-kind", read_only_warehouse.kind],
                               terminal_width=200)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert f"{silver:,}" in shown.output and "malformed_json" in shown.output


def test_commands_change_only_the_tables_readers_own(loaded_warehouse: LoadedWarehouse, tmp_path: Path) -> None:
    kind = loaded_warehouse.kind
    config = config_file(loaded_warehouse, tmp_path / "warehouse.yaml")
    flags = ["--config", str(config), "--warehouse-kind", kind]
    before = fingerprint(loaded_warehouse)
    runner = CliRunner()

    validated = runner.invoke(app, ["validate", *flags, "--hour", "2026-11-25T10", "--layer", "silver",
                                    "--results", str(tmp_path / "results")], terminal_width=200)  # fmt: skip
    assert validated.exit_code in (0, 1), validated.output
    assert "silver:" in validated.output and "expectations passed" in validated.output
    monitored = runner.invoke(app, ["monitor", "--once", *flags, "--landing", str(tmp_path)], terminal_width=200)
    assert monitored.exit_code == 0, monitored.output
    assert "alerts (" in monitored.output

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clickstream.cli.main", "dashboard", *flags, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        data = None
        deadline = time.monotonic() + 60
        while data is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/data?time_range=all", timeout=30) as response:
                    data = json.loads(response.read())
            except OSError:
                time.sleep(0.3)
        assert data is not None, server.stderr.read() if server.poll() is not None else "no answer"
        assert data["batch_id"] == 3 and any(data["tiles"].values())
    finally:
        server.terminate()
        server.wait(timeout=30)

    after = fingerprint(loaded_warehouse)
    assert after["tables"] == before["tables"]  # nothing created or dropped
    changed = {t for t in after["counts"] if after["counts"][t] != before["counts"][t]}
    assert changed <= OWNED and "dq_results" in changed
