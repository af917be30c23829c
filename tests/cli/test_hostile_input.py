"""Hostile input (issue #14): each still gets one line saying what to do, exit code 2, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.cli.test_errors import assert_one_line_error, clickstream
from tests.conftest import query

EVENT = '{"event_id":"e1","event_ts":"2026-11-27T10:00:00Z","event_type":"page_view","user_id":"u","session_id":"s"}\n'


def clickstream_with(prelude: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess after `prelude` ran in it: for conditions a flag cannot create."""
    code = textwrap.dedent(prelude) + "\nimport sys\nfrom clickstream.cli.main import main\nsys.argv = ['clickstream', *sys.argv[1:]]\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.fixture
def one_event(landing: Path) -> Path:
    (landing / "a.jsonl").write_text(EVENT)
    return landing


def test_generate_into_a_folder_that_has_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2")
    assert first.returncode == 0, first.stderr
    again = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2")
    assert_one_line_error(again, "events-000001.jsonl already exists", "--out")
    other_format = clickstream("generate", "--out", str(out), "--events", "50", "--files", "2", "--format", "csv")
    assert_one_line_error(other_format, "holds jsonl files")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"CLICKSTREAM_PIPELINE__FUTURE_TOLERANCE_S": "inf"}, ("pipeline.future_tolerance_s", "finite")),
        ({"CLICKSTREAM_PIPELINE__DEDUP_HORIZON_DAYS": "inf"}, ("pipeline.dedup_horizon_days", "finite")),
        ({"CLICKSTREAM_PIPELINE__DEDUP_HORIZON_DAYS": "1e300"}, ("pipeline.dedup_horizon_days", "at most")),
        ({"CLICKSTREAM_PIPELINE__FUTURE_TOLERANCE_S": "1e300"}, ("pipeline.future_tolerance_s", "at most")),
        ({"CLICKSTREAM_ENGINE__POLL_INTERVAL_S": "nan"}, ("engine.poll_interval_s", "finite")),
        ({"CLICKSTREAM_MONITORING__RENOTIFY_S": "-inf"}, ("monitoring.renotify_s", "finite")),
    ],
)
def test_non_finite_and_absurd_numbers_in_env(one_event: Path, tmp_path: Path, env: dict, words: tuple) -> None:
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), env=env)
    assert_one_line_error(proc, *words)


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("pipeline:\n  future_tolerance_s: .inf\n", ("pipeline.future_tolerance_s", "finite")),
        ("monitoring:\n  metrics:\n    min_abs_change: {revenue: .nan}\n", ("monitoring.metrics.min_abs_change.revenue", "finite")),
        ("quality:\n  grace_s: 1e300\n", ("quality.grace_s", "at most")),
    ],
)
def test_non_finite_and_absurd_numbers_in_yaml(one_event: Path, tmp_path: Path, yaml_text: str, words: tuple) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), "-c", str(config))
    assert_one_line_error(proc, *words)


def test_list_setting_in_env_must_be_json(one_event: Path, tmp_path: Path) -> None:
    proc = clickstream(
        "run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"),
        env={"CLICKSTREAM_PIPELINE__EVENT_TYPES": "page_view"},
    )
    assert_one_line_error(proc, "CLICKSTREAM_PIPELINE__EVENT_TYPES", "JSON", '["page_view", "click"]')


def test_list_setting_in_env_as_json_applies(one_event: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    proc = clickstream(
        "run", "--once", "--landing", str(one_event), "--warehouse", str(warehouse),
        env={"CLICKSTREAM_PIPELINE__EVENT_TYPES": '["purchase"]'},
    )
    assert proc.returncode == 0, proc.stderr
    assert query(warehouse, "SELECT reason FROM quarantine_events") == [("unknown_event_type",)]


@pytest.mark.parametrize("name", ["CLICKSTREAM_NOPE__X", "CLICKSTREAM_NOPE", "CLICKSTREAM_ENGINE__POLL_INTERVAL", "clickstream_pipline__max_line_bytes"])
def test_unknown_setting_in_env_is_named(one_event: Path, tmp_path: Path, name: str) -> None:
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), env={name: "1"})
    assert_one_line_error(proc, f"{name} is not a setting")


@pytest.mark.parametrize(
    ("name", "meant"),
    [("CLICKSTREAM_ENGINE__POLL_INTERVAL", "CLICKSTREAM_ENGINE__POLL_INTERVAL_S"),
     ("CLICKSTREAM_ENGIN__POLL_INTERVAL_S", "CLICKSTREAM_ENGINE__POLL_INTERVAL_S")],
)
def test_unknown_setting_in_env_suggests_the_closest(one_event: Path, tmp_path: Path, name: str, meant: str) -> None:
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), env={name: "1"})
    assert_one_line_error(proc, f"{name} is not a setting (did you mean {meant}?)")


def test_known_tool_variables_are_not_settings(one_event: Path, tmp_path: Path) -> None:
    tools = {"CLICKSTREAM_UPDATE_SNAPSHOTS": "0", "CLICKSTREAM_UPDATE_SCREENSHOT": "0", "CLICKSTREAM_EMULATORS_VENV": "/nowhere"}
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), env=tools)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("pattern", ["/etc/*.conf", "../*.jsonl", "sub/../../*.jsonl", ""])
def test_landing_pattern_must_stay_inside_the_landing_folder(one_event: Path, tmp_path: Path, pattern: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"landing:\n  patterns: ['*.jsonl', '{pattern}']\n")
    proc = clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(tmp_path / "w.duckdb"), "-c", str(config))
    assert_one_line_error(proc, "landing.patterns", "relative to landing.path")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_warehouse_file(one_event: Path, tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.duckdb"
    assert clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(good), "-q").returncode == 0
    bad = tmp_path / "w.duckdb"
    bad.write_bytes({"truncated": good.read_bytes()[:1000], "garbage": os.urandom(5000), "empty": b""}[damage])
    for command in ("status", "run"):
        args = ["--landing", str(one_event), "--once"] if command == "run" else []
        proc = clickstream(command, "--warehouse", str(bad), *args)
        assert_one_line_error(proc, f"{bad} is not a DuckDB warehouse or is damaged", "restore it", "--warehouse")


def test_disk_full_during_a_batch_leaves_the_warehouse_consistent(tmp_path: Path, landing: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {mounted.stderr.strip()}")
    try:
        gen = clickstream("generate", "--out", str(landing), "--events", "20000", "--files", "4", "--seed", "3")
        assert gen.returncode == 0, gen.stderr
        full = disk / "w.duckdb"
        proc = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(full), "--max-files", "1")
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(lines) == 1 and "no space left" in lines[0].lower() and "free space" in lines[0], proc.stderr
        # Moved to a roomy disk, the same warehouse finishes the backlog with nothing lost or doubled.
        roomy = tmp_path / "w.duckdb"
        for f in disk.iterdir():
            shutil.move(f, roomy.with_name(f.name))
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    done = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(roomy))
    assert done.returncode == 0, done.stderr
    total_lines = sum(len(p.read_bytes().splitlines()) for p in landing.glob("*.jsonl"))
    bronze, files, distinct = query(
        roomy, "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM pipeline_files), "
        "(SELECT count(DISTINCT (source_file, line_number)) FROM bronze_events)",
    )[0]
    assert (bronze, files, distinct) == (total_lines, 4, total_lines)


BLOCK_DASHBOARD = """
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "uvicorn", "plotly", "lkml"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def test_dashboard_without_its_extra(one_event: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert clickstream("run", "--once", "--landing", str(one_event), "--warehouse", str(warehouse), "-q").returncode == 0
    proc = clickstream_with(BLOCK_DASHBOARD, "dashboard", "--warehouse", str(warehouse), "--port", "0")
    # The brackets are the point: Rich markup used to eat "[dashboard]".
    assert_one_line_error(proc, "pip install 'clickstream[dashboard]'")
    lookml = clickstream_with(BLOCK_DASHBOARD, "lookml", "--out", str(tmp_path / "looker"))
    assert_one_line_error(lookml, "pip install 'clickstream[dashboard]'")


def test_error_text_is_printed_as_is(tmp_path: Path) -> None:
    odd = tmp_path / "[bold]w[/].duckdb"
    proc = clickstream("status", "--warehouse", str(odd))
    assert_one_line_error(proc, f"warehouse {odd} does not exist")


RAISE_IN_STATUS = """
import clickstream.services.status as status
def read_status(*args, **kwargs):
    raise {exc}
status.read_status = read_status
"""


def test_unexpected_exception_is_one_line_and_a_log(tmp_path: Path) -> None:
    state = tmp_path / "state"
    secret = f"s3cret-{uuid.uuid4()}"
    proc = clickstream_with(
        RAISE_IN_STATUS.format(exc="RuntimeError('boom in status')"), "status",
        env={"XDG_STATE_HOME": str(state), "SOME_TOKEN": secret},
    )
    assert_one_line_error(proc, "unexpected error (RuntimeError)", "--debug", str(state / "clickstream"))
    logs = list((state / "clickstream").glob("*.log"))
    assert len(logs) == 1 and str(logs[0]) in proc.stderr
    text = logs[0].read_text()
    assert "Traceback" in text and "boom in status" in text and "read_status" in text
    assert secret not in text + proc.stderr
    assert logs[0].stat().st_mode & 0o077 == 0


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = clickstream_with(
        RAISE_IN_STATUS.format(exc="RuntimeError('boom in status')"), "--debug", "status",
        env={"XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "RuntimeError: boom in status" in proc.stderr
    assert not (tmp_path / "state").exists()
    assert "--debug" in clickstream("--help").stdout


def test_keyboard_interrupt_exits_130(tmp_path: Path) -> None:
    proc = clickstream_with(RAISE_IN_STATUS.format(exc="KeyboardInterrupt"), "status", env={"XDG_STATE_HOME": str(tmp_path)})
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr
