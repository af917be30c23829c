"""A landing zone in a GCS bucket (`gs://bucket/prefix`), read through fsspec / gcsfs.

Rules, the same as the local folder's where they can be:
- **Complete files.** A GCS object becomes visible only once its upload finished, so every listed
  object is whole. Hidden or partial names (`.x`, `_x`, `*.tmp`, `*.part`) are still skipped, so a
  producer's own temporary objects and the generator's `_manifest.json` are never ingested.
- **Exactly once, by object name + generation.** The ledger key of an object is
  `<name relative to the prefix>#<generation>` (gsutil's notation for one version of an object).
- **Re-uploads.** Overwriting an object creates a new generation, which is a new file: it is read
  again, its lines are appended to bronze under the new key, and its events dedupe against silver
  by event_id within the dedup horizon, so silver and gold do not double count. Events with a known
  event_id are not updated (the first version wins); new ones are added.
- **Replaced before read.** A generation that is no longer the live one after it was read is
  skipped like a vanished file (not in the ledger); the live generation is taken on the next listing.

gcsfs is imported only for a gs:// landing zone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from clickstream.config import GCS_SCHEME
from clickstream.errors import LandingError

if TYPE_CHECKING:
    from clickstream.config import GcpSettings


def split_gcs(url: str) -> tuple[str, str]:
    """'gs://bucket/a/b' → ('bucket', 'a/b')."""
    bucket, _, prefix = url[len(GCS_SCHEME) :].partition("/")
    return bucket, prefix.strip("/")


@dataclass(frozen=True)
class GcsStore:
    """How to reach GCS: an endpoint override (an emulator) and anonymous or default credentials."""

    endpoint: str | None = None
    anonymous: bool = False
    project: str | None = None

    @classmethod
    def from_settings(cls, gcp: "GcpSettings | None") -> "GcsStore":
        if gcp is None:
            return cls(endpoint=os.environ.get("STORAGE_EMULATOR_HOST") or None)
        return cls(
            endpoint=gcp.storage_endpoint or os.environ.get("STORAGE_EMULATOR_HOST") or None,
            anonymous=gcp.credentials == "anonymous",
            project=gcp.project,
        )

    def fs(self) -> Any:
        """The gcsfs file system (fsspec caches one instance per set of arguments)."""
        # gcsfs turns on its experimental zonal/HNS bucket support by default, and it probes every
        # bucket first; the landing bucket is a standard one, and the probe hangs on the emulator.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        try:
            import gcsfs
        except ImportError as exc:
            raise LandingError("a gs:// landing zone needs gcsfs: pip install 'clickstream[gcp]'") from exc
        kwargs: dict[str, Any] = {"version_aware": True}
        if self.endpoint:
            kwargs["endpoint_url"] = self.endpoint
        if self.anonymous:
            kwargs["token"] = "anon"
        if self.project:
            kwargs["project"] = self.project
        return gcsfs.GCSFileSystem(**kwargs)


def check_bucket(url: str, store: GcsStore) -> None:
    bucket, _ = split_gcs(url)
    try:
        exists = store.fs().exists(bucket)
    except Exception as exc:  # noqa: BLE001 - auth and network errors alike
        raise LandingError(f"cannot reach landing bucket {bucket}: {str(exc).splitlines()[0]}; check credentials (ADC)") from exc
    if not exists:
        raise LandingError(f"landing bucket {bucket} does not exist: create it or set landing.path / --landing")


def list_objects(url: str, store: GcsStore) -> list[dict[str, Any]]:
    """Every object under the prefix: relative name, full path, size, generation, updated (naive UTC)."""
    bucket, prefix = split_gcs(url)
    fs = store.fs()
    fs.invalidate_cache()  # a listing must see what landed since the last one
    root = f"{bucket}/{prefix}" if prefix else bucket
    try:
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return []
    out = []
    for full, info in found.items():
        if info.get("type") != "file":
            continue
        relative = full[len(root) + 1 :]
        updated = info.get("mtime") or datetime.fromisoformat(info["updated"].replace("Z", "+00:00"))
        out.append(
            {
                "relative": relative,
                "path": GCS_SCHEME + full,
                "size": int(info["size"]),
                "generation": int(info["generation"]),
                "updated": updated.astimezone(timezone.utc).replace(tzinfo=None),
            }
        )
    return out


def ledger_name(relative: str, generation: int) -> str:
    return f"{relative}#{generation}"


def matches(relative: str, patterns: list[str]) -> bool:
    """Glob patterns as the local rglob applies them: matched against the end of the path."""
    path = PurePosixPath(relative)
    return any(path.match(p) for p in patterns)


def read_generation(path: str, generation: int, store: GcsStore) -> bytes:
    """The bytes of one generation; FileNotFoundError when it is gone or no longer the live one."""
    fs = store.fs()
    full = path[len(GCS_SCHEME) :]
    data = fs.cat_file(f"{full}#{generation}")
    fs.invalidate_cache()
    # A versioned read pins the bytes on GCS; the check also covers stores that ignore the generation.
    live = fs.info(full)
    if int(live["generation"]) != generation:
        raise FileNotFoundError(f"{path} was replaced by generation {live['generation']} while it was read")
    return data


def upload_folder(local: Any, url: str, store: GcsStore, names: list[str]) -> None:
    """Upload the named files of a local folder under gs://bucket/prefix, in order."""
    bucket, prefix = split_gcs(url)
    fs = store.fs()
    for name in names:
        target = f"{bucket}/{prefix}/{name}" if prefix else f"{bucket}/{name}"
        fs.put_file(str(local / name), target)
