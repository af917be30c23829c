"""What the commands print: batch progress, run summaries, and Arrow results as Rich tables."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import pyarrow as pa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from clickstream.engine.base import BatchReport, RunSummary


def print_batch(console: Console) -> Callable[[BatchReport], None]:
    def show(report: BatchReport) -> None:
        r = report.result
        if not r.committed:
            why = "already in the ledger" if report.files else "its files vanished before they were read"
            console.print(f"batch {r.batch_id}: nothing committed ({why})")
            return
        seconds = report.read_s + report.transform_s + r.commit_s
        rate = r.input_lines / seconds if seconds else 0.0
        console.print(
            f"batch {r.batch_id}: {report.files} files, {r.input_lines:,} lines → silver +{r.silver_inserted:,}, "
            f"quarantine +{r.quarantined:,}, duplicates {r.duplicates:,} in {seconds:.2f}s "
            f"({rate:,.0f} lines/s); backlog {report.backlog_files} files",
            highlight=False,
        )

    return show


def print_summary(console: Console, s: RunSummary) -> None:
    rate = s.input_lines / s.seconds if s.seconds else 0.0
    head = f"interrupted: {s.files_remaining} files remain (run again to read them); " if s.interrupted else "done: "
    console.print(
        f"{head}{s.batches} batches, {s.files} files, {s.input_lines:,} lines "
        f"(silver {s.silver_inserted:,}, quarantine {s.quarantined:,}, duplicates {s.duplicates:,}) "
        f"in {s.seconds:.1f}s, {rate:,.0f} lines/s",
        highlight=False,
    )


def cell(value: object, time_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime) and time_format:
        return value.strftime(time_format)
    return str(value)


def arrow_table(title: str, result: pa.Table, time_format: str | None = None) -> Table:
    """A Rich table of a reader's result; values are rendered as text, never as markup."""
    # The title names a warehouse path or project: text, like the cells.
    table = Table(title=Text(title), title_justify="left")
    for col in result.column_names:
        table.add_column(col, justify="right")
    for row in zip(*(c.to_pylist() for c in result.columns)):
        # Text, not markup: warehouse values may hold anything a browser sent.
        table.add_row(*(Text(cell(v, time_format)) for v in row))
    return table


def print_validation(console: Console, settings, report) -> None:  # noqa: ANN001 - Settings, ValidationReport
    """One line per layer, and a table of the expectations that failed."""
    from clickstream.quality.runner import window_floor

    q = settings.quality
    for layer, start in report.skipped:
        console.print(f"{layer} {start:%Y-%m-%dT%H:%M}: validated before (see dq_results); --force runs it again", highlight=False)
    windows = sorted({run.window_start for run in report.runs}) or [start for _, start in report.skipped]
    title = f"data quality, window from {window_floor(windows[0], q.window_s):%Y-%m-%dT%H:%M} UTC" if windows else "data quality"
    table = Table(title=title, title_justify="left")
    for col in ("layer", "suite", "expectation", "column", "severity", "result", "observed", "unexpected", "samples"):
        table.add_column(col)
    for run in report.runs:
        for r in run.failures:
            mark = Text("FAIL", style="red") if r["severity"] == "critical" else Text("fail", style="yellow")
            table.add_row(Text(run.layer), Text(r["suite"]), Text(r["expectation"]), Text(r["column_name"] or ""),
                          Text(r["severity"]), mark, Text((r["observed_value"] or "")[:40]),
                          Text("" if r["unexpected_count"] is None else f"{r['unexpected_count']:,}"),
                          Text((r["unexpected_samples"] or "")[:60]))  # fmt: skip
    for run in report.runs:
        failed = len(run.failures)
        console.print(f"{run.layer}: {len(run.rows) - failed}/{len(run.rows)} expectations passed in {run.seconds:.2f}s"
                      + (" [red](critical failure)[/]" if run.critical_failed else ""), highlight=False)  # fmt: skip
    if any(run.failures for run in report.runs):
        console.print(table)
    if q.docs_dir is not None and report.runs:
        console.print(f"Data Docs: {str(q.docs_dir).rstrip('/')}/index.html (styles load from CDNs; offline the pages are unstyled)",
                      highlight=False, markup=False)  # fmt: skip
