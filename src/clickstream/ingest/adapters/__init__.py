"""Adapters map foreign event formats onto the contract; the registry picks one per landing source."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from pathlib import Path

from clickstream.config import LandingSettings
from clickstream.errors import ConfigError
from clickstream.ingest.adapters.base import Adapter

# Each module defines ADAPTER; it is imported only when its format is configured.
BUILT_IN = ("rees46", "snowplow", "segment", "ga4")
CONTRACT_FORMATS = ("auto", "contract", "jsonl", "csv")


def get_adapter(name: str) -> Adapter:
    """A built-in adapter by name."""
    if name not in BUILT_IN:
        raise ConfigError(f"unknown adapter {name!r}: use one of {', '.join(BUILT_IN)} or landing.format: mapping")
    return import_module(f"clickstream.ingest.adapters.{name}").ADAPTER


def adapter_for(settings: LandingSettings) -> Adapter | None:
    """The adapter a landing source is read through; None means the events already follow the contract."""
    if settings.format in CONTRACT_FORMATS:
        return None
    if settings.format == "mapping":
        if settings.mapping_file is None:
            raise ConfigError("landing.format is mapping but landing.mapping_file is not set: point it at a YAML mapping")
        try:
            stamp = settings.mapping_file.stat().st_mtime_ns
        except OSError:
            stamp = None  # load() reports the unreadable file
        return _load_mapping(settings.mapping_file, stamp)
    return get_adapter(settings.format)


@lru_cache(maxsize=8)
def _load_mapping(path: Path, stamp: int | None) -> Adapter:
    # Continuous mode lists the landing zone every poll; the file is parsed again only once it changed.
    from clickstream.ingest.adapters import mapping

    return mapping.load(path)
