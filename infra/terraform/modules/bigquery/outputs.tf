output "dataset_ids" {
  description = "Dataset id by layer: bronze, silver, gold, ops, staging."
  value       = { for layer, ds in google_bigquery_dataset.layer : layer => ds.dataset_id }
}

output "table_ids" {
  description = "Fully qualified id (project.dataset.table) of every contract table."
  value       = { for name, t in google_bigquery_table.contract : name => "${t.project}.${t.dataset_id}.${t.table_id}" }
}
