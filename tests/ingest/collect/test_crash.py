"""SIGKILL the collector at random moments while the Segment library sends: every event that got a
200 is in silver exactly once, and events the client retried after a failure deduplicate by id."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from segment.analytics import Client
from segment.analytics.request import post

from tests.conftest import query
from tests.ingest.collect.conftest import run_pipeline

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(landing: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CLICKSTREAM_COLLECT__ROTATE_S": "0.2", "CLICKSTREAM_COLLECT__MIN_FREE_BYTES": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clickstream.cli.main", "collect", "--format", "segment", "--landing", str(landing), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "collector exited"
            time.sleep(0.05)
    raise AssertionError("collector did not start")


class Sender(threading.Thread):
    """Sends events until stopped; an event whose request failed is sent again with the same id."""

    def __init__(self, url: str, user: str, batch: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.user, self.batch, self.stop = url, user, batch, stop
        self.acked: list[str] = []
        self.retried: set[str] = set()
        self.client = Client("k", host=url, sync_mode=True, timeout=2)

    def _messages(self, ids: list[str]) -> list[dict]:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return [{"type": "track", "event": "Product Added", "userId": self.user, "messageId": i, "timestamp": now,
                 "context": {"sessionId": f"{self.user}-s"}, "properties": {"product_id": "p", "price": 1}} for i in ids]  # fmt: skip

    def run(self) -> None:
        pending: list[str] = []
        while not self.stop.is_set() or pending:
            ids = pending or [str(uuid.uuid4()) for _ in range(self.batch)]
            try:
                if self.batch == 1:
                    self.client.track(user_id=self.user, event="Product Added", message_id=ids[0],
                                      context={"sessionId": f"{self.user}-s"}, properties={"product_id": "p", "price": 1})  # fmt: skip
                else:
                    post("k", self.url, gzip=True, timeout=2, batch=self._messages(ids))
            except Exception:  # noqa: BLE001 - refused, reset or timed out: not acknowledged, send again
                self.retried.update(ids)
                pending = ids
                time.sleep(0.05)
                if self.stop.is_set() and len(self.retried) > 10_000:
                    return
                continue
            self.acked.extend(ids)
            pending = []


def test_sigkill_loses_no_acknowledged_event_and_retries_dedupe(landing: Path, warehouse: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(18)
    proc = _start(landing, port)
    stop = threading.Event()
    senders = [Sender(url, f"u{i}", batch, stop) for i, batch in enumerate((1, 1, 20, 50))]
    for s in senders:
        s.start()
    kills = 0
    try:
        for _ in range(5):
            time.sleep(rng.uniform(0.3, 0.9))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = _start(landing, port)
        time.sleep(0.5)
        stop.set()
        for s in senders:
            s.join(timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0 and kills == 5
    acked = [i for s in senders for i in s.acked]
    retried = {i for s in senders for i in s.retried}
    assert len(acked) > 500 and retried, "the test must see acknowledged and retried events"
    assert not list((landing / ".spool" / "segment").glob("*.part")), "a clean stop lands every spool file"

    run_pipeline(landing, warehouse, "segment")
    silver = dict(query(warehouse, "SELECT event_id, count(*) FROM silver_events GROUP BY 1"))
    assert set(acked) <= set(silver), f"{len(set(acked) - set(silver))} acknowledged events are not in silver"
    assert all(n == 1 for n in silver.values())
    # Retried events reached the landing zone more than once (before and after a kill) yet count once.
    landed_twice = query(warehouse, "SELECT count(*) FROM (SELECT json_extract_string(raw_line, '$.messageId') AS id FROM bronze_events GROUP BY 1 HAVING count(*) > 1)")[0][0]
    assert set(silver) <= set(acked) | retried
    assert query(warehouse, "SELECT sum(events) FROM gold_kpi_minute")[0][0] == len(silver)
    print(f"acked {len(acked)}, retried {len(retried)}, landed more than once {landed_twice}, kills {kills}")
