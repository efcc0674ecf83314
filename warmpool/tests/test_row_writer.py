"""The template writes its step processes' bookkeeping rows on its own connection: the rows
are the ones the storage would insert, and step processes of a plain op job open no
Postgres connection of their own."""

import psycopg2
import pytest
import warm_pool_test_jobs as J
from dagster_warm_pool.event_rows import event_rows, writer_dsn
from dagster_warm_pool.row_writer import RowWriter
from warm_pool_runs import events, execute

pytestmark = pytest.mark.timeout(180)


def _sessions(postgres_url: str) -> int:
    """Connections the server has accepted since it started (Postgres 14+)."""
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT sum(sessions) FROM pg_stat_database")
        return int(cursor.fetchone()[0])


def test_the_writer_inserts_what_the_storage_would(pg_instance) -> None:
    run, _ = execute(pg_instance, J.simple_job)
    stored = events(pg_instance, run.run_id)
    storage = pg_instance.event_log_storage
    writer = RowWriter(writer_dsn(storage))
    assert writer.available
    assert writer.write(event_rows(storage, stored[:3])) is None
    again = events(pg_instance, run.run_id)
    assert len(again) == len(stored) + 3
    assert [e.dagster_event.event_type_value for e in again[-3:]] == [
        e.dagster_event.event_type_value for e in stored[:3]
    ]
    # The template waits on this connection: it must not wait forever on a statement.
    with writer._conn.cursor() as cursor:  # noqa: SLF001 - the connection under test
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
    writer.close()


def test_a_writer_that_cannot_connect_says_why() -> None:
    writer = RowWriter("postgresql://nobody@127.0.0.1:1/nothing")
    error = writer.write([{"run_id": "x"}])
    assert error is not None and "OperationalError" in error


def test_step_processes_open_no_connection_of_their_own(pg_instance, postgres_url: str) -> None:
    """Twenty more steps, not twenty more connections: the rows go through the template."""

    def connections_for(chunks: int) -> int:
        before = _sessions(postgres_url)
        run, outputs = execute(
            pg_instance, J.fan_out_job, {"ops": {"fan_out": {"config": {"chunks": chunks}}}}
        )
        assert outputs["total"] == sum(i * i for i in range(chunks))
        return _sessions(postgres_url) - before

    connections_for(1)  # the schema and caches warm
    assert connections_for(22) - connections_for(2) < 10
