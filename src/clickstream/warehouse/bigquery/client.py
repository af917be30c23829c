"""The BigQuery client, literals and table names shared by the BigQuery writer and reader.

google-cloud-bigquery is imported only when a BigQuery warehouse is opened.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from clickstream.contract.tables import ALL_TABLES
from clickstream.errors import WarehouseError

if TYPE_CHECKING:
    from google.cloud import bigquery

    from clickstream.config import DatasetSettings, GcpSettings


def bq_str(value: str) -> str:
    """A BigQuery string literal (backslash escapes; a doubled quote is not an escape there)."""
    out = []
    for ch in value:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def bq_ts(value: datetime) -> str:
    """A BigQuery TIMESTAMP literal for a naive UTC datetime."""
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}+00'"


def bigquery_client(gcp: "GcpSettings") -> "bigquery.Client":
    """The official client for the configured project: ADC, or anonymous for an emulator endpoint."""
    from google.api_core.client_options import ClientOptions
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    kwargs: dict[str, Any] = {"project": gcp.project, "location": gcp.location}
    if gcp.credentials == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        kwargs["credentials"] = AnonymousCredentials()
    if gcp.bigquery_endpoint:
        kwargs["client_options"] = ClientOptions(api_endpoint=gcp.bigquery_endpoint)
    try:
        return bigquery.Client(**kwargs)
    except DefaultCredentialsError as exc:
        raise WarehouseError(
            "no Google credentials found for BigQuery: run `gcloud auth application-default login`, or run where a "
            "service account is attached (Application Default Credentials)"
        ) from exc


def table_locations(project: str, datasets: "DatasetSettings") -> dict[str, tuple[str, str]]:
    """Every contract table with its (project, dataset): how unqualified names in shared SQL resolve."""
    layers = {"bronze": datasets.bronze, "silver": datasets.silver, "gold": datasets.gold, "ops": datasets.ops}
    return {t.name: (project, layers[t.layer]) for t in ALL_TABLES}
