"""Buckets, file notifications, secrets and schedules have the properties the platform relies on."""

from __future__ import annotations

from tests.infra.stack import all_resources, module, modules

STORAGE, NOTIFICATIONS = "modules/storage", "modules/notifications"


def buckets() -> list[tuple[str, str, dict]]:
    found = list(all_resources("google_storage_bucket"))
    assert found, "no google_storage_bucket parsed"
    return found


def lifecycle(purpose: str) -> list[dict]:
    storage = module(STORAGE)
    return storage.resolve(storage.locals["lifecycle_rules"])[purpose]


def test_every_bucket_enforces_public_access_prevention_and_uniform_access() -> None:
    for rel, name, body in buckets():
        assert body["public_access_prevention"] == "enforced", name
        assert body["uniform_bucket_level_access"] is True, name


def test_every_bucket_is_versioned_and_bounds_old_versions() -> None:
    for rel, name, body in buckets():
        assert body["versioning"][0]["enabled"] is True, name
        assert body["force_destroy"] == "${var.force_destroy}", name
    for purpose in ("landing", "checkpoints", "data_docs", "access_logs"):
        noncurrent = [r for r in lifecycle(purpose) if r["condition"]["days_since_noncurrent_time"] is not None]
        assert [r["action"]["type"] for r in noncurrent] == ["Delete"], purpose
        assert noncurrent[0]["condition"]["with_state"] == "ARCHIVED"


def test_data_buckets_log_access_to_the_log_bucket() -> None:
    data = module(STORAGE).resource("google_storage_bucket", "data")
    assert set(module(STORAGE).resolve(data["for_each"])) == {"landing", "checkpoints", "data_docs"}
    assert data["logging"][0]["log_bucket"] == "${google_storage_bucket.access_logs.name}"


def test_landing_files_cool_down_then_expire() -> None:
    rules = lifecycle("landing")
    moves = [(r["action"].get("storage_class"), r["condition"]["age"]) for r in rules if r["action"]["type"] == "SetStorageClass"]
    assert moves == [("NEARLINE", "${var.landing_nearline_after_days}"), ("COLDLINE", "${var.landing_coldline_after_days}")]
    # Each move only applies to the class before it, so an object is never moved backwards.
    assert [r["condition"]["matches_storage_class"] for r in rules if r["action"]["type"] == "SetStorageClass"] == [["STANDARD"], ["NEARLINE"]]
    deletes = [r["condition"]["age"] for r in rules if r["action"]["type"] == "Delete" and r["condition"]["age"] is not None]
    assert deletes == ["${var.landing_retention_days}"]


def test_root_validation_keeps_lifecycle_thresholds_in_order() -> None:
    variables = module(".").variables
    assert "var.landing_nearline_after_days + 30" in variables["landing_coldline_after_days"]["validation"][0]["condition"]
    assert "var.landing_coldline_after_days + 90" in variables["landing_retention_days"]["validation"][0]["condition"]
    defaults = [variables[v]["default"] for v in ("landing_nearline_after_days", "landing_coldline_after_days", "landing_retention_days")]
    assert defaults[0] + 30 <= defaults[1] and defaults[1] + 90 <= defaults[2]


def test_checkpoints_never_expire_by_age() -> None:
    # Deleting a live checkpoint makes the engine forget which files it ingested.
    for rule in lifecycle("checkpoints"):
        if rule["action"]["type"] == "Delete":
            assert rule["condition"]["with_state"] == "ARCHIVED"


def test_landing_bucket_announces_new_files_with_a_dead_letter_path() -> None:
    n = module(NOTIFICATIONS)
    notification = n.resource("google_storage_notification", "landing_files")
    assert notification["event_types"] == ["OBJECT_FINALIZE"]
    assert notification["payload_format"] == "JSON_API_V1"
    assert notification["topic"] == "${google_pubsub_topic.landing_files.id}"
    # GCS refuses to create the notification until its service agent may publish.
    assert notification["depends_on"] == ["${google_pubsub_topic_iam_member.gcs_publisher}"]
    assert n.resource("google_pubsub_topic_iam_member", "gcs_publisher")["member"] == "serviceAccount:${var.gcs_service_agent}"
    root = module(".")
    assert root.modules["notifications"]["gcs_service_agent"] == "${data.google_storage_project_service_account.gcs.email_address}"

    sub = n.resource("google_pubsub_subscription", "landing_files")
    assert sub["topic"] == "${google_pubsub_topic.landing_files.id}"
    assert sub["dead_letter_policy"][0]["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert sub["expiration_policy"][0]["ttl"] == "", "an idle pipeline must not lose its subscription"
    # Without these two grants Pub/Sub cannot dead-letter and redelivers forever.
    assert n.resource("google_pubsub_topic_iam_member", "dead_letter_publisher")["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert n.resource("google_pubsub_subscription_iam_member", "dead_letter_subscriber")["subscription"] == "${google_pubsub_subscription.landing_files.id}"
    assert n.resource("google_pubsub_subscription", "dead_letter")["topic"] == "${google_pubsub_topic.dead_letter.id}"


def test_secrets_exist_for_every_alert_channel_without_values() -> None:
    secrets = module("modules/secrets")
    assert set(secrets.locals["alert_secrets"]) == {"slack_webhook_url", "alert_webhook_url", "smtp_password", "pagerduty_routing_key"}
    for rel, mod in modules().items():
        assert "google_secret_manager_secret_version" not in mod.resources, f"a secret value would land in state ({rel})"


def test_schedules_run_quality_hourly_and_the_monitor_every_five_minutes() -> None:
    variables = module(".").variables
    assert variables["quality_schedule"]["default"] == "5 * * * *"
    assert variables["monitor_schedule"]["default"] == "*/5 * * * *"
    jobs = module(".").modules["scheduling"]["jobs"]
    assert jobs["quality"]["schedule"] == "${var.quality_schedule}"
    assert jobs["monitor"]["schedule"] == "${var.monitor_schedule}"


def test_every_scheduled_call_carries_a_token_of_the_scheduler_account() -> None:
    target = module("modules/scheduling").resource("google_cloud_scheduler_job", "job")["http_target"][0]
    tokens = {kind: block for d in target["dynamic"] for kind, block in d.items()}
    assert set(tokens) == {"oauth_token", "oidc_token"}
    # Exactly one of the two blocks is rendered for any URI.
    assert tokens["oauth_token"]["for_each"] == "${local.google_api[each.key] ? [1] : []}"
    assert tokens["oidc_token"]["for_each"] == "${local.google_api[each.key] ? [] : [1]}"
    for block in tokens.values():
        assert block["content"][0]["service_account_email"] == "${var.scheduler_service_email}"
    assert module(".").modules["scheduling"]["scheduler_service_email"] == '${module.iam.service_accounts["scheduler"]}'


def test_the_collector_runs_collect_with_its_spool_and_probes() -> None:
    # checkov has no policy for google_cloud_run_v2_service, so the properties that matter are pinned here.
    service = module("modules/collector").resource("google_cloud_run_v2_service", "collector")
    template = service["template"][0]
    container = template["containers"][0]
    assert container["args"] == ["collect", "--host", "0.0.0.0", "--port", "8080"]
    assert container["resources"][0]["cpu_idle"] is False, "rotation and uploads run between requests"
    assert container["startup_probe"][0]["http_get"][0]["path"] == "/healthz"
    env = {e["name"]: e for e in container["env"]}
    assert env["CLICKSTREAM_COLLECT__SPOOL_DIR"]["value"] == "/spool"
    assert {v["mount_path"] for v in container["volume_mounts"]} == {"/spool"}
    # The write keys come from Secret Manager, never from a plain value.
    assert "value" not in env["COLLECT_WRITE_KEYS"] and env["COLLECT_WRITE_KEYS"]["value_source"]
    assert service["invoker_iam_disabled"] == "${var.public}"
    assert module(".").modules["collector"]["count"] == "${var.collector_image == null ? 0 : 1}"
