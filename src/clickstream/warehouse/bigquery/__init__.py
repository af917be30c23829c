"""The production warehouse: layers in BigQuery datasets. google-cloud-bigquery is imported only
when one is opened."""

from clickstream.warehouse.bigquery.reader import BigQueryReader
from clickstream.warehouse.bigquery.writer import BigQueryWarehouse

__all__ = ["BigQueryReader", "BigQueryWarehouse", "open_bigquery"]


def open_bigquery(settings, mode: str, owned_writes: bool) -> BigQueryWarehouse:
    """The writer (mode "write") creates missing datasets and tables (gcp.create_tables) and drops
    stale staging tables; mode "read" touches nothing. Both may write the tables readers own."""
    return BigQueryWarehouse(settings.gcp, mode=mode)
