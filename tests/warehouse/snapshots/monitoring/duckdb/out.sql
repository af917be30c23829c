-- source.series_range
SELECT min(window_start), max(window_start) FROM gold_kpi_minute;

-- source.series
SELECT window_start, events, page_views, purchases, revenue::DOUBLE, unique_users FROM gold_kpi_minute WHERE window_start >= ? AND window_start < ?;

-- source.newest_read
SELECT max(modified_at) FROM pipeline_files;

-- source.read_files
SELECT source_file FROM pipeline_files WHERE list_contains(?, source_file);

-- source.lag
SELECT max(date_diff('microsecond', f.modified_at, b.committed_at)) FROM pipeline_batches b JOIN pipeline_files f USING (batch_id) WHERE b.committed_at >= ?;

-- source.field_sample
SELECT raw_line FROM bronze_events WHERE ingested_at >= ? AND ingested_at < ? AND starts_with(ltrim(raw_line, ' '), '{') ORDER BY ingested_at DESC, source_file, line_number LIMIT 20000;

-- source.quarantine_lines
SELECT coalesce(sum(CASE WHEN started_at >= ? THEN bronze_rows ELSE 0 END), 0), coalesce(sum(CASE WHEN started_at < ? THEN bronze_rows ELSE 0 END), 0) FROM pipeline_batches WHERE started_at >= ?;

-- source.quarantine_recent
SELECT reason, count(*) FROM quarantine_events WHERE ingested_at >= ? GROUP BY reason;

-- source.baseline_lines
SELECT date_diff('microsecond', ?, started_at) // ? AS w, sum(bronze_rows) AS n FROM pipeline_batches WHERE started_at >= ? AND started_at < ? GROUP BY w HAVING sum(bronze_rows) > 0;

-- source.baseline_quarantine
SELECT date_diff('microsecond', ?, ingested_at) // ? AS w, reason, count(*) AS c FROM quarantine_events WHERE ingested_at >= ? AND ingested_at < ? GROUP BY w, reason;

-- source.rejected_files
WITH r AS (
         SELECT f.reason, f.source_file, row_number() OVER (PARTITION BY f.reason ORDER BY f.source_file) AS n,
           count(*) OVER (PARTITION BY f.reason) AS c
         FROM pipeline_files f JOIN pipeline_batches b USING (batch_id)
         WHERE f.status = 'rejected' AND b.committed_at >= ?)
       SELECT reason, c, source_file FROM r WHERE n <= 20000 ORDER BY reason, source_file;

-- source.unconverted_revenue
SELECT coalesce(sum(unconverted_revenue_events), 0) FROM pipeline_batches WHERE committed_at >= ?;

-- source.unconverted_currencies
SELECT DISTINCT s.currency FROM silver_events s JOIN pipeline_batches b USING (batch_id)
       WHERE b.committed_at >= ? AND b.unconverted_revenue_events > 0 AND s.revenue IS NOT NULL
         AND s.reporting_revenue IS NULL ORDER BY 1 LIMIT 10;

-- source.dq_failures
WITH runs AS (
         SELECT layer, run_id, max(window_start) AS w, max(validated_at) AS v FROM dq_results
         WHERE validated_at >= ? GROUP BY layer, run_id),
       ranked AS (
         SELECT layer, run_id, row_number() OVER (PARTITION BY layer ORDER BY w DESC, v DESC, run_id DESC) AS n FROM runs)
       SELECT d.suite, d.expectation, d.column_name, d.window_start, d.observed_value, d.unexpected_count
       FROM dq_results d JOIN ranked r ON r.layer = d.layer AND r.run_id = d.run_id
       WHERE r.n = 1 AND NOT d.success AND d.severity = 'critical';

-- lifecycle.open_episodes
SELECT alert_id, dedup_key, alert_type, severity, status, subject, message, observed, expected, details, opened_at, last_notified_at, resolved_at, last_seen_at FROM alerts WHERE status <> 'resolved';

-- lifecycle.recently_resolved
SELECT alert_id, dedup_key, alert_type, severity, status, subject, message, observed, expected, details, opened_at, last_notified_at, resolved_at, last_seen_at FROM alerts WHERE status = 'resolved' AND resolved_at >= ? AND list_contains(?, dedup_key) ORDER BY resolved_at;

-- lifecycle.insert
INSERT INTO alerts (alert_id, dedup_key, alert_type, severity, status, subject, message, observed, expected, details, opened_at, last_seen_at, last_notified_at, notify_count, resolved_at, notified_channels, failed_channels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, json(?), ?, ?, ?, ?, ?, ?, ?);

-- lifecycle.refresh
UPDATE alerts SET severity = ?, subject = ?, message = ?, observed = ?, expected = ?, details = json(?), last_seen_at = ? WHERE alert_id = ?;

-- lifecycle.refresh_notified
UPDATE alerts SET severity = ?, subject = ?, message = ?, observed = ?, expected = ?, details = json(?), last_seen_at = ?, status = 'renotified', last_notified_at = ?, notify_count = notify_count + 1 WHERE alert_id = ?;

-- lifecycle.reopen
UPDATE alerts SET status = 'open', resolved_at = NULL WHERE alert_id = ?;

-- lifecycle.resolve
UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE alert_id = ?;

-- lifecycle.delivery
UPDATE alerts SET notified_channels = ?, failed_channels = ? WHERE alert_id = ?;

-- history.series
SELECT window_start, events, page_views, purchases, revenue::DOUBLE, unique_users FROM gold_kpi_minute WHERE window_start >= ? AND window_start < ?;

-- history.batches
SELECT batch_id, started_at, committed_at, bronze_rows, min_event_ts, max_event_ts FROM pipeline_batches WHERE started_at <= ? ORDER BY batch_id;

-- history.files
SELECT batch_id, modified_at FROM pipeline_files WHERE modified_at <= ?;

-- history.quarantine
SELECT batch_id, reason, count(*) AS n FROM quarantine_events WHERE ingested_at >= ? AND ingested_at <= ? GROUP BY batch_id, reason;

-- history.unconverted
SELECT batch_id, unconverted_revenue_events FROM pipeline_batches WHERE committed_at >= ? AND started_at <= ? AND unconverted_revenue_events > 0;

-- history.unconverted_currencies
SELECT DISTINCT b.batch_id, s.currency FROM silver_events s JOIN pipeline_batches b ON s.batch_id = b.batch_id WHERE b.committed_at >= ? AND b.started_at <= ? AND b.unconverted_revenue_events > 0 AND s.revenue IS NOT NULL AND s.reporting_revenue IS NULL;

-- history.field_lines
SELECT batch_id, raw_line FROM (SELECT batch_id, raw_line, row_number() OVER (PARTITION BY batch_id ORDER BY source_file, line_number) AS n FROM bronze_events WHERE ingested_at >= ? AND ingested_at < ? AND starts_with(ltrim(raw_line, ' '), '{')) AS s WHERE n <= 20000;

