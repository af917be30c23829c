"""The Terraform code passes `terraform fmt` and checkov, both offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.stack import ROOT

# Each skip is written next to the resource as `#checkov:skip=ID:reason`; this list makes adding a
# new one a visible change to review.
ALLOWED_SKIPS = {
    "CKV_GCP_62",  # the access-log bucket does not log into itself
    "CKV_GCP_80",  # table CMEK comes from the dataset default when var.kms_key_name is set
}


def terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.9 to check formatting")
    return path


def checkov() -> str:
    # `make test` installs checkov into its own virtualenv inside the project's (see
    # infra/ci/requirements-checkov.txt for why it cannot share the project's environment).
    for candidate in (os.environ.get("CHECKOV"), Path(sys.prefix) / "checkov" / "bin" / "checkov", shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.skip("checkov is not installed: run `make test`, which installs it into .venv/checkov")


def test_terraform_files_are_formatted() -> None:
    proc = subprocess.run(
        [terraform(), "fmt", "-check", "-recursive", "-diff", str(ROOT)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"run `terraform fmt -recursive infra/terraform`:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("path", sorted((ROOT / "envs").glob("*.example")), ids=lambda p: p.name)
def test_example_files_are_formatted(path: Path) -> None:
    # `fmt -recursive` skips *.example, so format them through stdin.
    text = path.read_text(encoding="utf-8")
    proc = subprocess.run([terraform(), "fmt", "-"], input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text, f"{path.name} is not formatted like `terraform fmt` would"


@pytest.mark.slow
def test_checkov_finds_no_failed_check() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    # No platform API key and no mapping download: checkov runs only its bundled policies, offline.
    env.update(BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="WARNING")
    proc = subprocess.run(
        # Not --quiet: the JSON report must list passed checks too, to prove the code was parsed.
        [checkov(), "-d", str(ROOT), "--compact", "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})" for c in results["failed_checks"]]
    assert failed == [], "\n".join(failed)
    assert proc.returncode == 0

    # Guard against a silent pass: a parse error would leave checkov with nothing to check.
    checked = {c["resource"].split("[")[0] for c in results["passed_checks"] + results["skipped_checks"]}
    for resource in (
        "module.storage.google_storage_bucket.data",
        "module.storage.google_storage_bucket.access_logs",
        "module.bigquery.google_bigquery_table.contract",
        "module.bigquery.google_bigquery_dataset.layer",
        "module.iam.google_project_iam_member.workload",
    ):
        assert resource in checked, f"checkov did not check {resource}"

    for skipped in results["skipped_checks"]:
        assert skipped["check_id"] in ALLOWED_SKIPS, f"new checkov skip {skipped['check_id']} on {skipped['resource']}"
        assert skipped["check_result"].get("suppress_comment", "").strip(), f"skip without a reason on {skipped['resource']}"


@pytest.mark.slow
def test_checkov_passes_the_collector_dockerfile() -> None:
    dockerfile = ROOT.parent / "collector" / "Dockerfile"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    env.update(BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [checkov(), "-f", str(dockerfile), "--compact", "--framework", "dockerfile", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [c["check_id"] for c in results["failed_checks"]] == []
    assert len(results["passed_checks"]) > 10, "checkov parsed the Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    # The collector runs unprivileged and starts `clickstream collect` on Cloud Run's port.
    assert "USER 10001" in text and 'CMD ["collect", "--host", "0.0.0.0", "--port", "8080"]' in text
