"""What the commands print: batch progress, run summaries, and Arrow results as Rich tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Callable

import pyarrow as pa
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from clickstream.engine.base import BatchReport, RunSummary


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 file', '2 files', '1,000 batches'."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


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
            f"batch {r.batch_id}: {count(report.files, 'file')}, {count(r.input_lines, 'line')} → silver +{r.silver_inserted:,}, "
            f"quarantine +{r.quarantined:,}, duplicates {r.duplicates:,} in {seconds:.2f}s "
            f"({rate:,.0f} lines/s)" + ("" if report.backlog_files is None else f"; backlog {count(report.backlog_files, 'file')}")
            + ("" if report.slice_note is None else f"; read {report.slice_note}"),
            highlight=False,
        )

    return show


def print_summary(console: Console, s: RunSummary) -> None:
    # Over busy time: a continuous run stopped with Ctrl-C spent most of its wall clock waiting for files.
    rate = s.input_lines / s.busy_seconds if s.busy_seconds else 0.0
    head = (
        f"interrupted: {count(s.files_remaining, 'file')} {'remains' if s.files_remaining == 1 else 'remain'} "
        "(run again to read them); "
        if s.interrupted
        else "done: "
    )
    console.print(
        f"{head}{count(s.batches, 'batch', 'batches')}, {count(s.files, 'file')}, {count(s.input_lines, 'line')} "
        f"(silver {s.silver_inserted:,}, quarantine {s.quarantined:,}, duplicates {s.duplicates:,}) "
        f"in {s.seconds:.1f}s ({s.busy_seconds:.1f}s busy), {rate:,.0f} lines/s",
        highlight=False,
    )


def cell(value: object, time_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    # A SUM over integers arrives as a decimal with no fraction; it is a count all the same.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return f"{int(value):,}"
    if isinstance(value, datetime):
        # Microseconds tell an operator nothing and cost a narrow terminal a column.
        return value.strftime(time_format) if time_format else str(value.replace(microsecond=0))
    return str(value)


def _numeric(field: pa.Field) -> bool:
    return pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or pa.types.is_decimal(field.type)


# A text column narrower than this wraps into more lines than it is worth: it moves to the next part.
_TEXT_MIN = 12
# Per column: one space of padding each side and one border.
_COLUMN_CHROME = 3


class ArrowTable:
    """A reader's result as Rich tables that never cut a number.

    Numbers keep their full width and text wraps; when the columns cannot fit the terminal, the table
    is split into parts of whole columns, each repeating the first column so a row stays identifiable.
    """

    def __init__(self, title: str, result: pa.Table, time_format: str | None = None) -> None:
        self.title = title
        self.names = result.column_names
        self.numeric = [_numeric(f) for f in result.schema]
        # Text, not markup: warehouse values may hold anything a browser sent.
        self.rows = [[cell(v, time_format) for v in row] for row in zip(*(c.to_pylist() for c in result.columns))]

    def _width(self, i: int) -> int:
        natural = max([len(self.names[i]), *(len(r[i]) for r in self.rows)])
        return natural if self.numeric[i] else min(natural, max(_TEXT_MIN, len(self.names[i])))

    def _parts(self, max_width: int) -> list[list[int]]:
        parts: list[list[int]] = [[]]
        used = 1
        for i in range(len(self.names)):
            need = self._width(i) + _COLUMN_CHROME
            if parts[-1] and used + need > max_width:
                # A later part repeats the first column, so each of its rows says which row it is.
                parts.append([0] if len(self.rows) > 1 else [])
                used = 1 + sum(self._width(c) + _COLUMN_CHROME for c in parts[-1])
            parts[-1].append(i)
            used += need
        return parts

    def _table(self, title: str, columns: list[int]) -> Table:
        # The title names a warehouse path or project: text, like the cells.
        table = Table(title=Text(title), title_justify="left")
        for i in columns:
            if self.numeric[i]:
                table.add_column(self.names[i], justify="right", no_wrap=True, min_width=self._width(i))
            else:
                table.add_column(self.names[i], justify="left", overflow="fold")
        for row in self.rows:
            table.add_row(*(Text(row[i]) for i in columns))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows:
            yield Text(f"{self.title}: none")
            return
        parts = self._parts(options.max_width)
        for n, columns in enumerate(parts):
            title = self.title if len(parts) == 1 else f"{self.title} ({n + 1}/{len(parts)})"
            yield self._table(title, columns)


def arrow_table(title: str, result: pa.Table, time_format: str | None = None) -> ArrowTable:
    """A Rich renderable of a reader's result; values are rendered as text, never as markup."""
    return ArrowTable(title, result, time_format)


def print_validation_window(console: Console, settings, start: datetime, layers: tuple[str, ...]) -> None:  # noqa: ANN001
    """Name the window and layers before validating them: the first run otherwise says nothing of which hour."""
    from datetime import timedelta

    from clickstream.quality.runner import window_floor

    lo = window_floor(start, settings.quality.window_s)
    hi = lo + timedelta(seconds=settings.quality.window_s)
    end = f"{hi:%H:%M}" if hi.date() == lo.date() else f"{hi:%Y-%m-%dT%H:%M}"
    console.print(f"validating window {lo:%Y-%m-%dT%H:%M}–{end} UTC ({', '.join(layers)})", highlight=False, markup=False)


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


# Episodes listed under a backtest's summary; --out has them all.
BACKTEST_LISTED = 20


def print_backtest(console: Console, result) -> None:  # noqa: ANN001 - a monitoring BacktestResult
    """A backtest's span, its per-detector summary, and its first episodes."""
    days = result.span_s / 86400
    console.print(
        Text(f"backtest {result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC ({days:.1f} days): "
             f"{result.checks:,} checks every {result.step_s / 60:g} min in {result.seconds:.1f}s; nothing was sent")  # fmt: skip
    )
    summary = result.summary()
    if not summary:
        console.print(Text("no alert would have opened"))
        return
    console.print(arrow_table("episodes per detector", pa.table({
        "detector": [s.type for s in summary],
        "episodes": [s.episodes for s in summary],
        "per week": [round(s.per_week(result.span_s), 2) for s in summary],
        "still open": [s.still_open for s in summary],
        "notifications": [s.notifications for s in summary],
        "hours open": [round(s.open_minutes / 60, 1) for s in summary],
    })))  # fmt: skip
    shown = result.episodes[:BACKTEST_LISTED]
    console.print(arrow_table(
        f"episodes ({len(shown)} of {len(result.episodes)})" if len(shown) < len(result.episodes) else "episodes",
        pa.table({
            "opened": [e.opened_at for e in shown],
            "resolved": [e.resolved_at for e in shown],
            "key": [e.key for e in shown],
            "observed": [_short(e.observed) for e in shown],
            "expected": [_short(e.expected) for e in shown],
        }, schema=pa.schema([("opened", pa.timestamp("us")), ("resolved", pa.timestamp("us")), ("key", pa.string()),
                             ("observed", pa.float64()), ("expected", pa.float64())])),
        "%Y-%m-%d %H:%M",
    ))  # fmt: skip


def _short(value: float | None) -> float | None:
    # A share (0.0703) keeps 3 decimals, an event count none: a table of 17-digit floats is unreadable.
    return None if value is None else round(value, 3 if abs(value) < 10 else 0)
