"""Start bqemulator offline. Runs inside the emulators' own virtualenv (see Makefile), not ours.

bqemulator's engine runs `INSTALL spatial` (and `INSTALL avro`) at startup, which downloads DuckDB
extensions from the network. Offline that fails and the emulator refuses to start, so both steps
are replaced here by a LOAD of the extension only when it is already installed; GEOGRAPHY and Avro
are not used by clickstream. Arguments are passed on to `bqemulator start`.
"""

from __future__ import annotations

import sys

from bqemulator.storage import engine


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

if __name__ == "__main__":
    from bqemulator.cli import main

    main(["start", *sys.argv[1:]])
