"""`clickstream deploy`: descriptors that parse and point at the real entry point, paths and settings."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from clickstream.config import load_settings

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
landing: {format: rees46, patterns: ["*.csv"]}
engine:
  max_files_per_batch: 40
  spark:
    landing_uri: gs://acme-events/landing
    checkpoint: gs://acme-events/checkpoints/clickstream
    conf: {spark.executor.memory: 4g}
deploy:
  databricks: {num_workers: 3, service_account: stream@acme.iam.gserviceaccount.com}
  dataproc: {project: acme, region: us-central1, container_image: us-docker.pkg.dev/acme/img/clickstream:1}
"""


def deploy(tmp_path: Path, target: str, *extra: str) -> subprocess.CompletedProcess:
    config = tmp_path / "prod.yaml"
    config.write_text(CONFIG)
    return subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "deploy", target, "--out", str(tmp_path / target), "--config", str(config), *extra],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def test_databricks_bundle_runs_the_cli_entry_point_with_auto_loader(tmp_path: Path) -> None:
    result = deploy(tmp_path, "databricks")
    assert result.returncode == 0, result.stderr
    bundle = yaml.safe_load((tmp_path / "databricks" / "databricks.yml").read_text())
    job = bundle["resources"]["jobs"]["clickstream_stream"]
    assert job["continuous"] == {"pause_status": "UNPAUSED"}
    cluster = job["job_clusters"][0]["new_cluster"]
    assert cluster["num_workers"] == 3 and cluster["spark_conf"] == {"spark.executor.memory": "4g"}
    assert cluster["gcp_attributes"]["google_service_account"] == "stream@acme.iam.gserviceaccount.com"
    task = job["tasks"][0]
    wheel_task = task["python_wheel_task"]
    # The entry point is the one pyproject.toml installs.
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[wheel_task["entry_point"]] == "clickstream.cli.main:main"
    assert wheel_task["package_name"] == "clickstream"
    assert wheel_task["parameters"][:3] == ["run", "--engine", "spark"]
    # The wheel is built from the project root, wherever the bundle folder is.
    root = (tmp_path / "databricks" / bundle["artifacts"]["clickstream_wheel"]["path"]).resolve()
    assert (root / "pyproject.toml").exists()
    assert task["libraries"] == [{"whl": f"{bundle['artifacts']['clickstream_wheel']['path']}/dist/*.whl"}]

    settings = load_settings(tmp_path / "databricks" / "clickstream.yaml")
    assert settings.engine.name == "spark" and settings.engine.spark.source == "cloudFiles"
    assert settings.engine.spark.master is None
    assert settings.engine.spark.landing_uri == "gs://acme-events/landing"
    assert settings.engine.spark.checkpoint == "gs://acme-events/checkpoints/clickstream"
    assert settings.landing.format == "rees46" and settings.engine.max_files_per_batch == 40


def test_dataproc_batch_and_submit_command_agree(tmp_path: Path) -> None:
    result = deploy(tmp_path, "dataproc")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "dataproc"
    batch = json.loads((out / "batch.json").read_text())
    pyspark = batch["pysparkBatch"]
    assert pyspark["mainPythonFileUri"] == "gs://acme-events/deploy/clickstream_main.py"
    assert pyspark["args"] == ["run", "--engine", "spark", "--config", "clickstream.yaml"]
    assert pyspark["fileUris"] == ["gs://acme-events/deploy/clickstream.yaml"]
    assert pyspark["pythonFileUris"][0].startswith("gs://acme-events/deploy/clickstream-")
    assert batch["runtimeConfig"]["containerImage"] == "us-docker.pkg.dev/acme/img/clickstream:1"
    assert batch["runtimeConfig"]["properties"]["spark.executor.memory"] == "4g"
    script = (out / "submit.sh").read_text()
    assert "gcloud dataproc batches submit pyspark gs://acme-events/deploy/clickstream_main.py" in script
    assert "--region=us-central1" in script and "--project=acme" in script
    assert script.rstrip().endswith("-- run --engine spark --config clickstream.yaml")
    assert subprocess.run(["bash", "-n", str(out / "submit.sh")]).returncode == 0
    settings = load_settings(out / "clickstream.yaml")
    assert settings.engine.name == "spark" and settings.engine.spark.source == "files"
    # The driver entry point is the real CLI.
    help_text = subprocess.run(
        [sys.executable, str(out / "clickstream_main.py"), "run", "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0 and "--engine" in help_text.stdout


def test_driver_local_landing_is_refused_with_what_to_do(tmp_path: Path) -> None:
    result = deploy(tmp_path, "dataproc", "--landing-uri", "/home/me/landing")
    assert result.returncode == 2
    assert "engine.spark.landing_uri" in result.stderr and "gs://" in result.stderr
    assert not (tmp_path / "dataproc" / "batch.json").exists()


def test_dataproc_without_a_container_image_says_what_to_set(tmp_path: Path) -> None:
    with_image = deploy(tmp_path, "dataproc")
    assert with_image.returncode == 0 and "container_image" not in with_image.stderr
    config = tmp_path / "stock.yaml"
    config.write_text(CONFIG.replace(", container_image: us-docker.pkg.dev/acme/img/clickstream:1", ""))
    stock = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "deploy", "dataproc", "--out", str(tmp_path / "stock"), "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert stock.returncode == 0, stock.stderr
    assert "containerImage" not in json.loads((tmp_path / "stock" / "batch.json").read_text())["runtimeConfig"]
    notes = [line for line in stock.stderr.splitlines() if "deploy.dataproc.container_image" in line]
    assert len(notes) == 1 and "duckdb" in notes[0] and "pyarrow" in notes[0] and "set it" in notes[0]
