-- status.totals
SELECT (SELECT count(*) FROM pipeline_files WHERE status IS DISTINCT FROM 'rejected' AND status IS DISTINCT FROM 'partial') AS files,
  (SELECT count(*) FROM pipeline_files WHERE status = 'rejected') AS rejected_files,
  (SELECT count(*) FROM pipeline_files WHERE status = 'partial') AS partial_files,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT coalesce(sum(input_lines), 0) FROM pipeline_batches) AS input_lines,
  (SELECT count(*) FROM bronze_events) AS bronze,
  (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT coalesce(sum(unconverted_revenue_events), 0) FROM pipeline_batches) AS unconverted_revenue_events,
  (SELECT max(max_event_ts) FROM pipeline_batches) AS watermark,
  (SELECT max(committed_at) FROM pipeline_batches) AS last_commit;

-- status.quarantine_reasons
SELECT reason, count(*) AS rows FROM quarantine_events GROUP BY 1 ORDER BY 2 DESC, 1;

-- status.recent_batches
SELECT batch_id, array_length(files) AS files, input_lines, silver_inserted, quarantined, duplicates,
  round(read_s + transform_s + commit_s, 3) AS seconds, round(max_event_lag_s, 1) AS max_lag_s, committed_at
FROM pipeline_batches ORDER BY batch_id DESC LIMIT ?;

-- status.rejected_files
SELECT f.reason, f.source_file, f.size_bytes, f.modified_at, f.batch_id, b.committed_at
FROM pipeline_files f LEFT JOIN pipeline_batches b ON b.batch_id = f.batch_id
WHERE f.status = 'rejected' ORDER BY f.batch_id DESC, f.source_file LIMIT ?;

-- status.partial_files
SELECT source_file, offset_bytes AS read_bytes, size_bytes,
  round(100.0 * offset_bytes / greatest(size_bytes, 1), 1) AS percent_read, lines, offset_line AS last_line, batch_id
FROM pipeline_files WHERE status = 'partial' ORDER BY source_file LIMIT ?;

-- monitor.alerts
SELECT opened_at AS opened, severity, alert_type AS type, status, resolved_at AS resolved,
  left(message, 90) AS message
FROM alerts ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, opened_at DESC LIMIT ?;

-- monitor.open_alerts
SELECT count(*) FROM alerts WHERE status <> 'resolved';

-- demo.latest gold minutes (gold_kpi_minute)
SELECT window_start AS minute_utc, events, page_views AS views,
  add_to_carts AS carts, purchases AS buys, unique_users AS users, unique_sessions AS sessions,
  round(revenue, 2) AS revenue
FROM gold_kpi_minute ORDER BY window_start DESC LIMIT 8;

-- demo.totals
SELECT (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT count(*) FROM gold_sessions) AS sessions,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT round(max(max_event_lag_s), 1) FROM pipeline_batches
     WHERE batch_id > (SELECT max(batch_id) - 5 FROM pipeline_batches)) AS lag_s;

-- demo.data quality (dq_results, latest windows)
SELECT window_start AS window_utc, layer, count(*) AS checks,
  sum(CASE WHEN NOT success THEN 1 ELSE 0 END) AS failed,
  sum(CASE WHEN NOT success AND severity = 'critical' THEN 1 ELSE 0 END) AS critical
FROM dq_results GROUP BY window_start, layer ORDER BY window_start DESC, layer LIMIT 6;

-- demo.alerts (latest)
SELECT opened_at AS opened, severity, alert_type AS type, status, CASE WHEN length(message) > 90 THEN left(message, 89) || '…' ELSE message END AS message
FROM alerts ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, opened_at DESC LIMIT 4;

