"""The alerts table: one episode per condition, re-notified on schedule, resolved once it clears, no flapping."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from clickstream.config import MonitoringSettings
from clickstream.contract.render import duckdb_ddl
from clickstream.contract.tables import ALERTS
from clickstream.monitoring.alert import Alert
from clickstream.monitoring.lifecycle import AlertBook
from clickstream.warehouse.duckdb import DuckDBReader

T0 = datetime(2026, 11, 28, 12, 0)
DROP = Alert("volume:events:drop", "volume", "critical", "events", "traffic drop", 10.0, 100.0)
LAG = Alert("freshness:lag", "freshness", "warning", "pipeline_lag", "lag 1200s", 1200.0, 900.0)


@pytest.fixture
def book():
    con = duckdb.connect()
    con.execute(duckdb_ddl(ALERTS))
    reader = DuckDBReader(con.cursor(), "memory", owns=con)
    yield AlertBook(reader, MonitoringSettings(renotify_s=3600, clear_s=600, suppress_s=900))
    reader.close()


def rows(book: AlertBook) -> list[tuple]:
    return book.reader.rows(
        "SELECT dedup_key, status, severity, notify_count, opened_at, resolved_at FROM alerts ORDER BY opened_at, dedup_key"
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_dedup_renotify_and_resolve_after_the_condition_stays_away(book):
    events = []
    for m in range(0, 75):  # seen every minute for 75 minutes
        events += [(m, n.event) for n in book.reconcile([DROP], at(m))]
    assert events == [(0, "trigger"), (60, "renotify")]
    assert rows(book) == [("volume:events:drop", "renotified", "critical", 2, at(0), None)]

    quiet = [(m, n.event) for m in range(75, 90) for n in book.reconcile([], at(m))]
    # last seen at minute 74; resolved once it has been away for clear_s (10 min)
    assert quiet == [(84, "resolve")]
    assert rows(book) == [("volume:events:drop", "resolved", "critical", 2, at(0), at(84))]


def test_a_quick_return_reopens_silently_and_a_late_one_is_a_new_episode(book):
    book.reconcile([DROP], at(0))
    assert [n.event for n in book.reconcile([], at(10))] == ["resolve"]
    assert book.reconcile([DROP], at(20)) == []  # within suppress_s (15 min) of resolving: no page
    assert [r[1] for r in rows(book)] == ["open"]
    assert [n.event for n in book.reconcile([], at(30))] == ["resolve"]
    assert [n.event for n in book.reconcile([DROP], at(60))] == ["trigger"]  # 30 min later: a new episode
    assert [r[1] for r in rows(book)] == ["resolved", "open"]


SPIKE = Alert("volume:events:spike", "volume", "warning", "events", "traffic spike", 900.0, 100.0, suppress_s=6 * 3600)


@pytest.mark.parametrize("kind", ["table", "memory"])
def test_an_alert_with_its_own_suppression_continues_its_episode_for_that_long(book, kind):
    from clickstream.monitoring.backtest import EpisodeBook

    books = book if kind == "table" else EpisodeBook(book.settings)
    books.reconcile([SPIKE, DROP], at(0))
    assert sorted(n.event for n in books.reconcile([], at(10))) == ["resolve", "resolve"]
    # Three hours later: the drop (suppress_s, 15 min) is a new page, the spike (6 h) the same
    # episode, which owes a "still open" update since its trigger is older than renotify_s.
    notes = books.reconcile([SPIKE, DROP], at(190))
    assert sorted((n.alert.key, n.event) for n in notes) == [("volume:events:drop", "trigger"), ("volume:events:spike", "renotify")]
    assert [n.event for n in books.reconcile([], at(200))] == ["resolve", "resolve"]
    # Seven hours after resolving, the spike is news again.
    assert [n.event for n in books.reconcile([SPIKE], at(200 + 7 * 60))] == ["trigger"]


def test_escalation_notifies_at_once_and_simultaneous_alerts_are_separate_episodes(book):
    notes = book.reconcile([LAG, DROP], at(0))
    assert sorted(n.alert.key for n in notes) == ["freshness:lag", "volume:events:drop"]
    worse = Alert(LAG.key, LAG.type, "critical", LAG.subject, "lag 3000s", 3000.0, 900.0)
    notes = book.reconcile([worse, DROP], at(1))
    assert [(n.event, n.alert.severity) for n in notes] == [("renotify", "critical")]


def test_state_lives_in_the_table_so_a_new_book_carries_on(book):
    book.reconcile([DROP], at(0))
    restarted = AlertBook(book.reader, book.settings)
    assert restarted.reconcile([DROP], at(5)) == []  # no second trigger after a restart
    assert [n.event for n in restarted.reconcile([], at(20))] == ["resolve"]


class CountingReader:
    """The real reader, counting its write transactions."""

    def __init__(self, reader):
        self.reader, self.writes = reader, []

    def rows(self, sql, params=()):
        return self.reader.rows(sql, params)

    def write(self, statements):
        self.writes.append(len(statements))
        self.reader.write(statements)


def test_each_reconcile_is_one_transaction_and_a_failed_one_changes_nothing(book):
    counting = CountingReader(book.reader)
    counted = AlertBook(counting, book.settings)
    counted.reconcile([LAG, DROP], at(0))
    counted.reconcile([DROP], at(61))  # LAG away for clear_s: resolved; DROP due: re-notified
    counted.record_delivery({"x": (["log"], [])})
    assert counting.writes == [2, 2, 1]
    before = rows(book)
    bad = Alert("x", "volume", "critical", "events", None)  # alerts.message is NOT NULL
    with pytest.raises(duckdb.Error):
        counted.reconcile([DROP, bad], at(200))  # DROP's re-notify comes first, then the insert fails
    assert rows(book) == before
