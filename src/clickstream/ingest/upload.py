"""Upload a local folder's completed files into a gs:// landing zone, in name order (`generate --out gs://...`)."""

from __future__ import annotations

import threading

from clickstream.config import Settings
from clickstream.errors import LandingError


class GcsUploader:
    """Uploads each completed file of a local folder to gs://bucket/prefix once, in name order.

    Runs beside the generator: batch mode uploads at the end, stream mode while files appear. Hidden
    names (being written) wait; `_manifest.json` is uploaded last, after every data file.
    """

    def __init__(self, settings: Settings, local, url: str, interval_s: float = 0.5):
        from clickstream.ingest.gcs import GcsStore

        self.local, self.url, self.interval_s = local, url, interval_s
        self.store = GcsStore.from_settings(settings.gcp)
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gcs-uploader", daemon=True)
        self.errors: list[BaseException] = []

    def start(self) -> "GcsUploader":
        from clickstream.ingest.gcs import check_bucket

        check_bucket(self.url, self.store)
        self.thread.start()
        return self

    def _pending(self) -> list[str]:
        names = sorted(p.name for p in self.local.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
        return [n for n in names if n not in self.done]

    def sync(self) -> None:
        from clickstream.ingest.gcs import upload_folder

        for name in self._pending():
            upload_folder(self.local, self.url, self.store, [name])
            self.done.add(name)

    def _loop(self) -> None:
        try:
            while not self.stop.wait(self.interval_s):
                self.sync()
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.errors.append(exc)

    def finish(self) -> int:
        from clickstream.ingest.gcs import upload_folder
        from clickstream.generator.writer import MANIFEST_NAME

        self.stop.set()
        self.thread.join(timeout=60)
        if self.errors:
            raise LandingError(f"upload to {self.url} failed: {self.errors[0]}") from self.errors[0]
        self.sync()
        if (self.local / MANIFEST_NAME).exists():
            upload_folder(self.local, self.url, self.store, [MANIFEST_NAME])
        return len(self.done)

