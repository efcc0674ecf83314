"""A prometheus_client collector that reads Dagster's Postgres storage on each scrape: a few
aggregate queries (stack_metrics.sql) on one kept connection, turned into families by
stack_metrics.families. Nothing is cached between scrapes, so values are as fresh as the
database and the collector keeps no state but its connection."""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stack_metrics import sql
from stack_metrics.families import DURATION_BUCKETS, ScrapeRows, duration_rows, families

Connect = Callable[[], psycopg2.extensions.connection]
# How many of a job's latest finished runs are searched for a usage event (bounds the cost of a
# job whose runs come from an executor that writes none).
RECENT_RUNS_PER_JOB = 20


def read_rows(
    cursor: psycopg2.extensions.cursor, buckets: Sequence[float] = DURATION_BUCKETS
) -> ScrapeRows:
    params = sql.query_parameters(RECENT_RUNS_PER_JOB)

    def fetch(statement: str) -> list[tuple[Any, ...]]:
        cursor.execute(statement, params)
        return cursor.fetchall()

    ((queue_depth, oldest_age),) = fetch(sql.QUEUE)
    report = fetch(sql.LATEST_FANOUT_REPORT)
    return ScrapeRows(
        runs=fetch(sql.RUNS_BY_STATUS_AND_LOCATION),
        queue_depth=int(queue_depth),
        queue_oldest_age_s=float(oldest_age),
        durations=duration_rows(fetch(sql.duration_histogram_sql(buckets))),
        heartbeat_ages=[(str(t), float(age)) for t, age in fetch(sql.HEARTBEAT_AGES)],
        run_usage=fetch(sql.LAST_RUN_USAGE),
        fanout_report=report[0][0] if report else None,
        buckets=buckets,
    )


class StackCollector(Collector):
    def __init__(self, connect: Connect, buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self._connect = connect
        self._buckets = tuple(buckets)
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
                        return read_rows(cursor, self._buckets)
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
