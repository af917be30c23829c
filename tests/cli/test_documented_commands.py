"""Commands the README documents work as written, and a clash says which option resolves it."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from tests.cli.test_errors import assert_one_line_error, clickstream
from tests.emulators import free_port


def test_generate_adds_a_second_feed_with_prefix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2")
    assert first.returncode == 0, first.stderr
    again = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2")
    assert_one_line_error(again, "already exists", "--prefix NAME", "empty --out")
    more = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2", "--prefix", "more")
    assert more.returncode == 0, more.stderr
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "events-000001.jsonl", "events-000002.jsonl", "more-000001.jsonl", "more-000002.jsonl",
    ]


def test_demo_serves_the_dashboard_on_port(tmp_path: Path) -> None:
    port = free_port()
    proc = clickstream("demo", "--port", str(port), "--duration", "2", "--rate", "50", "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 0, proc.stderr
    assert f"dashboard: http://127.0.0.1:{port}" in proc.stdout


def test_demo_on_a_busy_port_names_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = clickstream("demo", "--port", str(port), "--duration", "2", "--data-dir", str(tmp_path / "data"))
    assert_one_line_error(proc, f"port {port}", "--port")


def test_each_demo_starts_in_a_fresh_folder(tmp_path: Path) -> None:
    from tests.conftest import query

    runs = []
    for _ in range(2):
        proc = clickstream("demo", "--port", "0", "--duration", "8", "--rate", "50", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        line = next(line for line in proc.stdout.splitlines() if line.startswith("demo data: "))
        runs.append(tmp_path / line.split()[2])
    first, second = runs
    assert "1 earlier demo folder in data/ holds" in proc.stdout and "rm -r data/demo-*" in proc.stdout
    assert first != second and first.parent == second.parent == tmp_path / "data"
    assert first.name.startswith("demo-") and (second / "warehouse.duckdb").exists()
    for table in ("alerts", "dq_results", "pipeline_batches"):
        rows = [set(map(repr, query(run / "warehouse.duckdb", f"SELECT * FROM {table}"))) for run in runs]
        assert not rows[0] & rows[1], table
    batches = [query(run / "warehouse.duckdb", "SELECT min(committed_at), max(committed_at) FROM pipeline_batches")[0] for run in runs]
    # The second warehouse holds only the second demo's batches: none from before it started.
    assert batches[1][0] > batches[0][1]
    # The generated shop sells in 15 currencies; the demo brings its rates, so all of its revenue converts.
    assert (second / "fx_rates.csv").exists()
    assert query(second / "warehouse.duckdb", "SELECT coalesce(sum(unconverted_revenue_events), 0), count(*) > 0 FROM pipeline_batches") == [(0, True)]
    assert query(second / "warehouse.duckdb", "SELECT count(DISTINCT currency) > 1 FROM fx_rates") == [(True,)]


def _readme_block_after(marker: str) -> list[str]:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    after = readme[readme.index(marker):]
    block = after[after.index("```bash\n") + len("```bash\n"):]
    return [line for line in block[: block.index("```")].splitlines() if line.strip()]


def test_bring_your_own_file_works_word_for_word(tmp_path: Path) -> None:
    from tests.conftest import query

    sample = Path(__file__).parents[1] / "adapters/fixtures/real/rees46_oct_1k/2019-Oct-sample.csv"
    commands = _readme_block_after("**Bring your own file**")
    assert len(commands) == 3
    outputs = []
    for command in commands:
        command = command.replace("~/Downloads/events.csv", shlex.quote(str(sample)))
        command = command.replace(".venv/bin/clickstream", f"{shlex.quote(sys.executable)} -m clickstream.cli.main")
        proc = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**os.environ, "COLUMNS": "100"},
        )
        assert proc.returncode == 0, (command, proc.stderr)
        assert "Traceback" not in proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    warehouse = tmp_path / "data/mine.duckdb"
    silver, quarantine = query(warehouse, "SELECT (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events)")[0]
    assert silver > 900 and silver + quarantine <= 1000
    assert "1,000" in outputs[2] and f"{silver:,}" in outputs[2]
