"""The collector under load: events/s accepted with fsync on, p50/p99 latency, and request -> gold time.

Starts `clickstream collect` as its own process on 127.0.0.1 (Segment endpoints, landing in a temp
folder), then drives it with a bounded, closed-loop load generator: `--connections` keep-alive
connections, each with one request in flight, for `--seconds`. Two runs: single events
(POST /v1/track) and batches (POST /v1/batch, `--batch` events each). Every 200 means the events
were fsync'd. Then the end-to-end time: the DuckDB engine runs continuously over the landing
folder, one batch request is sent, and the clock stops when gold_kpi_minute counts its events.
A third run offers `--target` events/s in batches (paced, 8 connections) to read p99 at that rate.
    python bench/collect.py [--seconds 5] [--connections 32] [--batch 100] [--target 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_collector(landing: Path, port: int, rotate_s: float) -> subprocess.Popen:
    env = {**os.environ, "CLICKSTREAM_COLLECT__ROTATE_S": str(rotate_s), "CLICKSTREAM_COLLECT__RATE_LIMIT_PER_S": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clickstream.cli.main", "collect", "--format", "segment", "--landing", str(landing), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the collector did not start")


def message(user: int) -> dict:
    return {
        "type": "track", "event": "Product Added", "userId": f"u{user}", "messageId": str(uuid.uuid4()),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "context": {"sessionId": f"s{user}", "userAgent": "Mozilla/5.0 (bench)", "page": {"path": "/p/1"}},
        "properties": {"product_id": f"p{user % 50}", "price": 12.5, "quantity": 1},
    }  # fmt: skip


def request(path: str, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Basic Zm9vOg==\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    return status


async def load(port: int, requests: list[bytes], connections: int, seconds: float, per_s: float | None = None) -> tuple[int, int, list[float]]:
    """(requests answered 200, others, latencies in ms) over `connections` connections, each with one
    request in flight; with `per_s`, requests are paced to that total rate (latency counts from the
    planned send time, so a collector falling behind shows in p99 instead of slowing the generator)."""
    ok = bad = 0
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    gap = connections / per_s if per_s else 0.0

    async def worker(k: int) -> None:
        nonlocal ok, bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i, planned = k, start + k * gap / connections
        while time.perf_counter() < end:
            if gap:
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            t0 = planned if gap else time.perf_counter()
            planned += gap
            status = await _one(reader, writer, requests[i % len(requests)])
            latencies.append((time.perf_counter() - t0) * 1000)
            ok += status == 200
            bad += status != 200
            i += connections
        writer.close()

    await asyncio.gather(*(worker(k) for k in range(connections)))
    return ok, bad, latencies


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else (values[0] if values else 0.0)


def run_load(port: int, name: str, path: str, per_request: int, connections: int, seconds: float, events_per_s: float | None = None) -> dict:
    bodies = []
    for k in range(64):
        msgs = [message(k * per_request + j) for j in range(per_request)]
        bodies.append(request(path, json.dumps(msgs[0] if path == "/v1/track" else {"batch": msgs}).encode()))
    ok, bad, lat = asyncio.run(load(port, bodies, connections, seconds, events_per_s / per_request if events_per_s else None))
    result = {
        "run": name, "events_per_request": per_request, "connections": connections, "seconds": seconds,
        "offered_events_per_s": events_per_s or "max",
        "requests_ok": ok, "requests_refused": bad, "events_per_s": round(ok * per_request / seconds),
        "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2),
    }  # fmt: skip
    print(json.dumps(result))
    return result


def end_to_end(port: int, landing: Path, root: Path, trials: int) -> dict:
    from clickstream.config import load_settings
    from clickstream.engine.duckdb import DuckDBEngine
    from clickstream.warehouse.duckdb import DuckDBWarehouse

    settings = load_settings(overrides={"landing": {"path": landing, "format": "segment"}, "warehouse": {"path": root / "w.duckdb"},
                                        "engine": {"poll_interval_s": 0.2}})  # fmt: skip
    wh = DuckDBWarehouse(settings.warehouse.path)
    engine = DuckDBEngine(settings, wh)
    stop = threading.Event()
    runner = threading.Thread(target=engine.run, kwargs={"once": False, "stop": stop})
    runner.start()
    cursor = wh.cursor()

    def gold_events() -> int:
        return int(cursor.execute("SELECT coalesce(sum(events), 0) FROM gold_kpi_minute").fetchone()[0])

    seconds = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the load runs' backlog first: every landed file in the ledger
            time.sleep(1)
            files = len(list(landing.glob("*.jsonl")))
            done = int(cursor.execute("SELECT count(*) FROM pipeline_files").fetchone()[0])
            if files == done and not list((landing / ".spool" / "segment").glob("*.part")):
                break
        for t in range(trials):
            before = gold_events()
            msgs = [message(10_000_000 + t * 100 + j) for j in range(100)]
            start = time.perf_counter()
            status = asyncio.run(_send_once(port, request("/v1/batch", json.dumps({"batch": msgs}).encode())))
            assert status == 200, status
            target = before + 100
            while gold_events() < target:
                time.sleep(0.01)
            seconds.append(time.perf_counter() - start)
    finally:
        stop.set()
        runner.join(timeout=60)
        wh.close()
    result = {"run": "request_to_gold", "trials": trials, "p50_s": round(statistics.median(seconds), 2), "max_s": round(max(seconds), 2)}
    print(json.dumps(result))
    return result


async def _send_once(port: int, req: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await _one(reader, writer, req)
    finally:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rotate-s", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--target", type=float, default=20_000, help="Offered events/s of the paced batch run.")
    args = parser.parse_args()
    print(json.dumps({"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]}))
    with tempfile.TemporaryDirectory(prefix="clickstream-collect-") as tmp:
        root = Path(tmp)
        landing = root / "landing"
        landing.mkdir()
        port = free_port()
        proc = start_collector(landing, port, args.rotate_s)
        try:
            run_load(port, "single", "/v1/track", 1, args.connections, args.seconds)
            run_load(port, "batch", "/v1/batch", args.batch, args.connections, args.seconds)
            run_load(port, "batch_paced", "/v1/batch", args.batch, 8, args.seconds, args.target)
            end_to_end(port, landing, root, args.trials)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({"loadavg_1m_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
