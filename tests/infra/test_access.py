"""Who can reach what: least-privilege service accounts, no public data, no basic roles."""

from __future__ import annotations

import re

from tests.infra.stack import all_resources, module, modules

IAM = "modules/iam"
# Query jobs run in a project, so this cannot be granted on a dataset. Anything else is granted
# on the resource it is about.
PROJECT_ROLE_ALLOW_LIST = {"roles/bigquery.jobUser"}
BASIC_ROLES = re.compile(r"roles/(owner|editor|viewer)\b")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
WRITE_ROLES = {"roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin"}


def dataset_access() -> dict[str, dict[str, str]]:
    iam = module(IAM)
    return iam.resolve(iam.locals["dataset_access"])


def test_the_five_workloads_and_the_scheduler_have_their_own_service_account() -> None:
    iam = module(IAM)
    assert set(iam.locals["service_accounts"]) == {"pipeline", "quality", "monitor", "looker", "scheduler", "collector"}
    assert iam.resource("google_service_account", "workload")["for_each"] == "${local.service_accounts}"


def test_no_basic_role_anywhere() -> None:
    for rel, mod in modules().items():
        assert not BASIC_ROLES.search(mod.text), f"basic role in {rel}"


def test_project_level_grants_are_only_the_allow_listed_roles() -> None:
    iam = module(IAM)
    project_roles = iam.locals["project_roles"]
    granted = {role for roles in project_roles.values() for role in roles}
    assert granted <= PROJECT_ROLE_ALLOW_LIST, granted - PROJECT_ROLE_ALLOW_LIST
    members = list(all_resources("google_project_iam_member"))
    assert [(rel, name) for rel, name, _ in members] == [(IAM, "workload")]
    body = members[0][2]
    assert body["for_each"] == "${local.project_grants}"
    assert body["role"] == "${each.value.role}"
    assert "local.project_roles" in iam.locals["project_grants"]


def test_no_authoritative_iam_resource() -> None:
    # *_iam_binding and *_iam_policy replace every grant on the resource, silently removing ones
    # made elsewhere (by other teams, or Google's service agents); this stack only adds members.
    for rel, mod in modules().items():
        for kind in mod.resources:
            assert not kind.endswith(("_iam_binding", "_iam_policy")), f"{kind} in {rel}"
            assert not kind.startswith(("google_organization_iam", "google_folder_iam")), f"{kind} in {rel}"


def test_nothing_is_granted_to_the_public() -> None:
    for rel, mod in modules().items():
        for kind, named in mod.resources.items():
            if "_iam_" not in kind:
                continue
            for name, body in named.items():
                assert body["member"] not in PUBLIC_MEMBERS, f"{kind}.{name} in {rel}"
    # The one member list taken from variables must refuse the public members.
    condition = module(".").variables["data_docs_readers"]["validation"][0]["condition"]
    pattern = re.search(r'regex\("(.+?)", m\)', condition).group(1).replace("\\\\", "\\")
    assert re.match(pattern, "group:data-team@example.com")
    for member in PUBLIC_MEMBERS:
        assert not re.match(pattern, member)


def test_only_the_pipeline_writes_bronze_silver_and_gold() -> None:
    # Gold is a function of silver and silver of bronze: a second writer breaks that.
    for layer in ("bronze", "silver", "gold"):
        writers = {sa for sa, layers in dataset_access().items() if layers.get(layer) in WRITE_ROLES}
        assert writers == {"pipeline"}, (layer, writers)


def test_looker_reads_gold_and_nothing_else() -> None:
    assert dataset_access()["looker"] == {"gold": "roles/bigquery.dataViewer"}
    assert "looker" not in module(IAM).locals["bucket_access"]


def test_quality_reads_every_layer_and_writes_only_ops() -> None:
    quality = dataset_access()["quality"]
    assert {layer for layer, role in quality.items() if role in WRITE_ROLES} == {"ops"}
    assert {"bronze", "silver", "gold", "ops"} <= set(quality)


def test_monitor_reads_gold_and_ops_only() -> None:
    monitor = dataset_access()["monitor"]
    assert set(monitor) == {"gold", "ops"}
    assert monitor["gold"] == "roles/bigquery.dataViewer"
    assert "monitor" not in module(IAM).locals["bucket_access"]


def test_dataset_roles_are_data_roles_on_single_datasets() -> None:
    for sa, layers in dataset_access().items():
        for layer, role in layers.items():
            assert role in {"roles/bigquery.dataViewer", "roles/bigquery.dataEditor"}, (sa, layer, role)
    grant = module(IAM).resource("google_bigquery_dataset_iam_member", "workload")
    assert grant["dataset_id"] == "${var.datasets[each.value.layer]}"


def test_the_pipeline_only_reads_landing_files() -> None:
    bucket_access = module(IAM).locals["bucket_access"]
    assert bucket_access["pipeline"]["landing"] == "roles/storage.objectViewer"
    writers_of_landing = {sa for sa, buckets in bucket_access.items() if "landing" in buckets and buckets["landing"] != "roles/storage.objectViewer"}
    assert writers_of_landing == {"collector"}
    roles = {role for buckets in bucket_access.values() for role in buckets.values()}
    assert not any(role.endswith(("admin", "Admin")) for role in roles), roles


def test_the_collector_only_creates_landing_files_and_reads_only_its_write_keys() -> None:
    iam = module(IAM)
    assert iam.locals["bucket_access"]["collector"] == {"landing": "roles/storage.objectCreator"}
    assert "collector" not in iam.locals["dataset_access"] and "collector" not in iam.locals["project_roles"]
    grant = iam.resource("google_secret_manager_secret_iam_member", "collector")
    assert grant["secret_id"] == "${var.collector_write_keys_secret}" and "for_each" not in grant
    assert grant["member"] == '${google_service_account.workload["collector"].member}'
    service = module("modules/collector").resource("google_cloud_run_v2_service", "collector")
    assert service["template"][0]["service_account"] == "${var.service_account_email}"
    assert module(".").modules["collector"]["service_account_email"] == '${module.iam.service_accounts["collector"]}'


def test_only_the_monitor_reads_alert_secrets_one_secret_at_a_time() -> None:
    readers = [(name, body) for _, name, body in all_resources("google_secret_manager_secret_iam_member") if name != "collector"]
    assert len(readers) == 1
    name, body = readers[0]
    assert body["member"] == '${google_service_account.workload["monitor"].member}'
    assert body["role"] == "roles/secretmanager.secretAccessor"
    assert body["secret_id"] == "${each.value}"


def test_scheduler_invokes_named_jobs_only() -> None:
    grants = list(all_resources("google_cloud_run_v2_job_iam_member"))
    assert [name for _, name, _ in grants] == ["scheduler"]
    body = grants[0][2]
    assert body["role"] == "roles/run.invoker"
    assert body["for_each"] == "${toset(var.scheduler_cloud_run_jobs)}"
