"""A result cache in front of the warehouse reader, so polling viewers do not each run query jobs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import pyarrow as pa

from clickstream.warehouse.base import Capabilities, Reader, Statement


@dataclass(frozen=True)
class CachedRead:
    """The tables of one `read`, whether they came from the cache, and the bytes reading them scanned."""

    tables: list[pa.Table]
    cached: bool
    bytes_scanned: int  # 0 when cached


def _key(queries: Sequence[Statement]) -> Hashable:
    return tuple((sql, tuple(params)) for sql, params in queries)


class CachedReader:
    """`read` through `reader`, reusing the result of the same query list for `ttl_s` seconds.

    A page polls every few seconds per viewer; on a warehouse that bills each query job (BigQuery:
    at least 10 MB per job) that is the cost, so identical reads within the TTL are served from
    memory. Results are immutable Arrow tables, shared between callers.
    """

    def __init__(self, reader: Reader, ttl_s: float, max_entries: int = 64, clock: Callable[[], float] = time.monotonic):
        self.reader = reader
        self.ttl_s = float(ttl_s)
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, list[pa.Table]]] = {}
        self._lock = threading.Lock()
        # One miss at a time: viewers whose entry expired together wait for one read instead of each
        # running it, and the bytes a miss scanned are its own.
        self._fill = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        return self.reader.capabilities

    @property
    def label(self) -> str:
        return self.reader.label

    @property
    def bytes_scanned(self) -> int:
        return self.reader.bytes_scanned

    def _hit(self, key: Hashable) -> list[pa.Table] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() < entry[0]:
                return entry[1]
            return None

    def fetch(self, queries: Sequence[Statement]) -> CachedRead:
        """The tables of `queries`, from the cache while fresh, else read (and cached)."""
        key = _key(queries)
        tables = self._hit(key)
        if tables is not None:
            return CachedRead(tables, True, 0)
        with self._fill:
            tables = self._hit(key)
            if tables is not None:
                return CachedRead(tables, True, 0)
            before = self.reader.bytes_scanned
            tables = self.reader.read(queries)
            scanned = self.reader.bytes_scanned - before
            if self.ttl_s > 0:
                self._store(key, tables)
            return CachedRead(tables, False, scanned)

    def _store(self, key: Hashable, tables: list[pa.Table]) -> None:
        now = self._clock()
        with self._lock:
            for k in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                del self._entries[k]
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest insert
            self._entries[key] = (now + self.ttl_s, tables)

    def read(self, queries: Sequence[Statement]) -> list[pa.Table]:
        return self.fetch(queries).tables

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self.read([(sql, params)])[0]

    def close(self) -> None:
        self.reader.close()
