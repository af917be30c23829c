"""Local BigQuery and GCS emulators as subprocesses on free 127.0.0.1 ports.

They live in their own virtualenv (`make test` builds `.venv/emulators` from
`infra/ci/requirements-emulators.txt`): bqemulator pulls in its own DuckDB, SQLGlot, FastAPI and
gRPC, which must not meet the project's pins. Each emulator is started once per test session,
waited for until healthy and stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EMULATORS_VENV = Path(os.environ.get("CLICKSTREAM_EMULATORS_VENV", REPO / ".venv" / "emulators"))
PROJECT = "clickstream-test"


def emulator_python() -> Path | None:
    python = EMULATORS_VENV / "bin" / "python"
    return python if python.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Emulator:
    name: str
    endpoint: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _wait_healthy(emulator: Emulator, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            raise RuntimeError(f"{emulator.name} exited with {emulator.process.returncode}: see {emulator.log}")
        try:
            with urllib.request.urlopen(emulator.endpoint + path, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    emulator.stop()
    raise RuntimeError(f"{emulator.name} was not healthy within {timeout:.0f}s: see {emulator.log}")


def _start(name: str, args: list[str], port: int, log: Path, health: str, env_extra: dict[str, str] | None = None) -> Emulator:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_EMULATOR", "CLICKSTREAM_"))}
    env.update(env_extra or {})
    handle = log.open("wb")
    process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=log.parent)
    handle.close()
    emulator = Emulator(name, f"http://127.0.0.1:{port}", process, log)
    _wait_healthy(emulator, health)
    return emulator


def start_bigquery(python: Path, workdir: Path, gcs_root: Path | None = None) -> Emulator:
    """bqemulator, in memory, through our launcher that keeps it offline (see start_bqemulator.py).
    With `gcs_root`, load jobs read a gs://bucket/name URI as the file gcs_root/bucket/name."""
    port = free_port()
    args = [
        str(python), str(HERE / "start_bqemulator.py"),
        "--rest-port", str(port), "--grpc-port", str(free_port()),
        "--project", PROJECT, "--ephemeral", "--log-level", "warning",
    ]
    env = {"BQEMU_GCS_LOCAL_ROOT": str(gcs_root)} if gcs_root is not None else None
    return _start("bqemulator", args, port, workdir / "bqemulator.log", "/readyz", env)


def start_storage(python: Path, workdir: Path, on_disk: bool = False) -> Emulator:
    """gcp-storage-emulator, in memory; `on_disk` keeps objects as files, bucket/name below
    `storage_root(workdir)`."""
    port = free_port()
    args = [str(python), "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", str(port), "-q"]
    if not on_disk:
        args.append("--in-memory")
    env = {"STORAGE_BASE": str(workdir)} if on_disk else None
    return _start("gcp-storage-emulator", args, port, workdir / "gcs-emulator.log", "/", env)


def storage_root(workdir: Path) -> Path:
    """Where an on-disk storage emulator started in `workdir` keeps its buckets."""
    return workdir / ".cloudstorage"
