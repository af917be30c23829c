"""The spool on its own: recovery after a crash, a refused write leaves no torn line, rotation by size."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from clickstream.ingest.collect.spool import PART, Spool, SpoolFull, local_delivery


def _spool(folder: Path, landing: Path, **options) -> Spool:
    options = {"rotate_s": 60.0, "rotate_bytes": 1 << 20, **options}
    return Spool(folder, ".jsonl", local_delivery(landing), **options)


def test_a_crashed_spool_file_lands_without_its_torn_line(tmp_path: Path) -> None:
    landing, folder = tmp_path / "landing", tmp_path / "landing" / ".spool"
    folder.mkdir(parents=True)
    (folder / ("20261201T000000000000Z-aa-000001.jsonl" + PART)).write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    (folder / ("20261201T000000000000Z-aa-000002.jsonl" + PART)).write_bytes(b'{"torn only')
    header = Spool(folder, ".csv", local_delivery(landing), 60.0, 1 << 20, header=b"h1,h2\n")
    (folder / ("20261201T000000000000Z-aa-000003.csv" + PART)).write_bytes(b"h1,h2\n1,")
    assert header.recover() == 1  # only the first file holds a whole line beyond its header
    assert [p.name for p in landing.iterdir() if p.is_file()] == ["20261201T000000000000Z-aa-000001.jsonl"]
    assert (landing / "20261201T000000000000Z-aa-000001.jsonl").read_bytes() == b'{"a":1}\n{"b":2}\n'
    assert not list(folder.iterdir())


def test_a_refused_write_leaves_whole_lines_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    spool = _spool(landing / ".spool", landing).start()
    try:
        spool.submit(b'{"ok":1}\n').result(timeout=10)
        real_write = os.write

        def full_disk(fd, data):
            real_write(fd, bytes(data)[:3])  # part of the line reaches the file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", full_disk)
        with pytest.raises(SpoolFull):
            spool.submit(b'{"refused":1}\n').result(timeout=10)
        monkeypatch.setattr(os, "write", real_write)
        spool.submit(b'{"ok":2}\n').result(timeout=10)
    finally:
        spool.stop()
    (landed,) = [p for p in landing.iterdir() if p.is_file()]
    assert landed.read_bytes() == b'{"ok":1}\n{"ok":2}\n'


def test_rotation_by_size_keeps_every_line_once_and_in_order(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    spool = _spool(landing / ".spool", landing, rotate_bytes=1024).start()
    try:
        for i in range(300):
            spool.submit(f'{{"n":{i}}}\n'.encode()).result(timeout=10)
    finally:
        spool.stop()
    files = sorted(p for p in landing.iterdir() if p.is_file())
    assert len(files) > 2 and spool.rotated == len(files)
    lines = [line for p in files for line in p.read_text().splitlines()]
    assert lines == [f'{{"n":{i}}}' for i in range(300)]
