"""A prometheus_client collector that reads Dagster's Postgres storage on each scrape: a few
aggregate queries (stack_metrics.sql) on one kept connection, turned into families by
stack_metrics.families. The one thing kept between scrapes is the count of settled runs
(finished, up to a watermark id), which only a purge changes: counting every run on every scrape
would make a scrape's cost grow with the run history."""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stack_metrics import sql
from stack_metrics.families import (
    DURATION_BUCKETS,
    RunSummaryRow,
    ScrapeRows,
    families,
    merge_summaries,
    summary_rows,
)

Connect = Callable[[], psycopg2.extensions.connection]
# How many of a job's latest finished runs are searched for a usage event (bounds the cost of a
# job whose runs come from an executor that writes none).
RECENT_RUNS_PER_JOB = 20
# Settled runs are recounted this often (and on the first scrape); a purge shows within it.
SETTLED_REFRESH_S = 300.0
# Run ids below the newest that may still be uncommitted inserts when the watermark is set.
ID_MARGIN = 100


@dataclass
class SettledRuns:
    """Finished runs up to a watermark id, counted once per refresh. Every other run (newer, or
    not finished when counted) is read on each scrape, so a scrape's cost follows the runs
    created or running since the last refresh, not every run the storage holds."""

    watermark: int = 0
    summary: list[RunSummaryRow] = field(default_factory=list)
    unfinished_ids: list[int] = field(default_factory=list)
    counted_at: float | None = None

    def stale(self, now: float, refresh_s: float = SETTLED_REFRESH_S) -> bool:
        return self.counted_at is None or now - self.counted_at >= refresh_s


def count_settled(
    cursor: psycopg2.extensions.cursor, buckets: Sequence[float], now: float
) -> SettledRuns:
    params = sql.query_parameters(RECENT_RUNS_PER_JOB, ID_MARGIN)
    # One snapshot for the three statements: a run that finished between the list of unfinished
    # runs and the count would otherwise be counted both as settled and as live.
    cursor.execute("begin isolation level repeatable read read only")
    try:
        cursor.execute(sql.WATERMARK, params)
        (watermark,) = cursor.fetchone()
        params["watermark"] = watermark
        cursor.execute(sql.UNFINISHED_UP_TO_WATERMARK, params)
        unfinished = [row[0] for row in cursor.fetchall()]
        cursor.execute(sql.runs_summary_sql(sql.SETTLED, buckets), params)
        summary = summary_rows(cursor.fetchall())
    finally:
        cursor.execute("rollback")
    return SettledRuns(watermark, summary, unfinished, now)


def read_rows(
    cursor: psycopg2.extensions.cursor,
    settled: SettledRuns,
    buckets: Sequence[float] = DURATION_BUCKETS,
) -> ScrapeRows:
    params = {
        **sql.query_parameters(RECENT_RUNS_PER_JOB, ID_MARGIN),
        "watermark": settled.watermark,
        "unfinished_ids": settled.unfinished_ids,
    }

    def fetch(statement: str) -> list[tuple[Any, ...]]:
        cursor.execute(statement, params)
        return cursor.fetchall()

    live = summary_rows(fetch(sql.runs_summary_sql(sql.LIVE, buckets)))
    ((queue_depth, oldest_age),) = fetch(sql.QUEUE)
    report = fetch(sql.LATEST_FANOUT_REPORT)
    return ScrapeRows(
        run_summary=merge_summaries(settled.summary, live),
        queue_depth=int(queue_depth),
        queue_oldest_age_s=float(oldest_age),
        heartbeat_ages=[(str(t), float(age)) for t, age in fetch(sql.HEARTBEAT_AGES)],
        run_usage=fetch(sql.LAST_RUN_USAGE),
        fanout_report=report[0][0] if report else None,
        buckets=buckets,
    )


class StackCollector(Collector):
    def __init__(
        self,
        connect: Connect,
        buckets: Sequence[float] = DURATION_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._buckets = tuple(buckets)
        self._clock = clock
        self._settled = SettledRuns()
        self._connection: psycopg2.extensions.connection | None = None
        # One scrape at a time on the one connection (Prometheus and the health check may
        # overlap).
        self._lock = threading.Lock()

    def _cursor(self) -> psycopg2.extensions.cursor:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
            # Read-only, and no transaction left open between scrapes.
            self._connection.set_session(readonly=True, autocommit=True)
        return self._connection.cursor()

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg2.Error:
                pass
        self._connection = None

    def scrape(self) -> ScrapeRows:
        """One scrape's rows; reconnects once if the kept connection went away (a Postgres
        restart), so a single broken connection costs no scrape."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._cursor() as cursor:
                        now = self._clock()
                        if self._settled.stale(now):
                            self._settled = count_settled(cursor, self._buckets, now)
                        return read_rows(cursor, self._settled, self._buckets)
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    self._drop_connection()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily(
            "stack_metrics_database_up", "1 if this scrape read Dagster's storage, else 0"
        )
        try:
            rows = self.scrape()
        except psycopg2.Error:
            up.add_metric([], 0)
            yield up
            return
        yield from families(rows)
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "stack_metrics_query_seconds",
            "Seconds this scrape spent reading Dagster's storage and building the families",
            time.perf_counter() - started,
        )
