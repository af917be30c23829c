"""The Spark engine's checkpoint rules (continuous mode on every engine: tests/engine/conformance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conformance.test_continuous import lines


@pytest.mark.spark
def test_a_checkpoint_without_its_warehouse_is_refused_with_what_to_do(landing: Path, tmp_path: Path, spark) -> None:
    from clickstream.errors import WarehouseError
    from tests.conftest import run_spark_once

    (landing / "a.jsonl").write_text(lines("a", 10))
    first = tmp_path / "first.duckdb"
    run_spark_once(spark, landing, first, engine={"spark": {"checkpoint": str(tmp_path / "ckpt")}})
    # A new, empty warehouse with the old checkpoint: Spark would skip a.jsonl and it would be lost here.
    with pytest.raises(WarehouseError, match="Delete the checkpoint"):
        run_spark_once(spark, landing, tmp_path / "second.duckdb", engine={"spark": {"checkpoint": str(tmp_path / "ckpt")}})


def test_batches_are_staged_below_the_checkpoint_on_storage_every_node_sees(tmp_path: Path) -> None:
    from clickstream.config import load_settings
    from clickstream.engine.spark import staging_area
    from clickstream.errors import ConfigError

    def area(checkpoint: str):
        return staging_area(load_settings(overrides={"warehouse": {"path": tmp_path / "w.duckdb"},
                                                     "engine": {"spark": {"checkpoint": checkpoint}}}))  # fmt: skip

    assert area(str(tmp_path / "ckpt")).root == str(tmp_path / "ckpt" / "staging")
    # Databricks mounts DBFS at /dbfs on the driver and every worker; pyarrow has no dbfs: scheme.
    assert area("dbfs:/checkpoints/clickstream").root == "/dbfs/checkpoints/clickstream/staging"
    with pytest.raises(ConfigError, match="engine.spark.checkpoint"):
        area("s3x://bucket/checkpoints")
