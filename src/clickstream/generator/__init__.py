"""Realistic, deterministic clickstream landing files with optional fault injection."""

from clickstream.generator.batch import generate_batch
from clickstream.generator.faults import Faults
from clickstream.generator.stream import generate_stream
from clickstream.generator.writer import MANIFEST_NAME, Manifest

__all__ = ["MANIFEST_NAME", "Faults", "Manifest", "generate_batch", "generate_stream"]
