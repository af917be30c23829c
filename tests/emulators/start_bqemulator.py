"""Start bqemulator offline. Runs inside the emulators' own virtualenv (see Makefile), not ours.

bqemulator's engine runs `INSTALL spatial` (and `INSTALL avro`) at startup, which downloads DuckDB
extensions from the network. Offline that fails and the emulator refuses to start, so both steps
are replaced here by a LOAD of the extension only when it is already installed; GEOGRAPHY and Avro
are not used by clickstream. Arguments are passed on to `bqemulator start`.

bqemulator parses each statement with sqlglot about fifteen times (one pass per DDL/DML check and
rewrite), and that parsing was 70% of the emulator's CPU in the platform test. Parses are memoized
here and every caller gets its own copy of the tree (a copy costs a quarter of a parse), so the
emulator answers the same as before, only sooner.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

from bqemulator.storage import engine
from sqlglot.dialects.dialect import Dialect


def _load_if_installed(name: str):
    def load(self) -> None:
        con = self._connection
        installed = con.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = ?", [name]
        ).fetchall()
        if installed and installed[0][0]:
            con.execute(f"LOAD {name}")

    return load


engine.DuckDBEngine._load_spatial = _load_if_installed("spatial")
engine.DuckDBEngine._load_format_extensions = _load_if_installed("avro")


def _memoized(parse, capacity: int = 1024):
    trees: OrderedDict = OrderedDict()

    def cached_parse(self, sql, **opts):
        try:
            key = (self, sql, tuple(sorted(opts.items())))
            hash(key)
        except TypeError:
            return parse(self, sql, **opts)
        if key in trees:
            trees.move_to_end(key)
        else:
            trees[key] = parse(self, sql, **opts)
            if len(trees) > capacity:
                trees.popitem(last=False)
        return [None if tree is None else tree.copy() for tree in trees[key]]

    return cached_parse


Dialect.parse = _memoized(Dialect.parse)

if __name__ == "__main__":
    from bqemulator.cli import main

    main(["start", *sys.argv[1:]])
