"""The webserver's pooled Postgres connections after the server dropped them (what a
Postgres restart does): with the stack's storage the next query works; with plain
dagster-postgres it fails. Pins the dagster-postgres internal that pre_ping relies on."""

import psycopg2
import pytest
import sqlalchemy.exc
import sqlalchemy.pool
from dagster._core.storage.dagster_run import RunsFilter
from dagster_postgres import PostgresRunStorage

from dagster_stack_storage.pre_ping import TESTED_DAGSTER_POSTGRES, add_pre_ping
from dagster_stack_storage.storage import (
    POOLED_ENV,
    PrePingBatchingEventLogStorage,
    PrePingRunStorage,
    PrePingScheduleStorage,
)


def _drop_other_connections(postgres_url: str) -> int:
    """What a Postgres restart does to every client connection."""
    with psycopg2.connect(postgres_url) as admin, admin.cursor() as cursor:
        cursor.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where pid <> pg_backend_pid() and datname = current_database()"
        )
        return cursor.fetchone()[0]


def _webserver_storage(cls: type[PostgresRunStorage], postgres_url: str) -> PostgresRunStorage:
    storage = cls(postgres_url)
    # The webserver's defaults (dagster-webserver --db-pool-* options).
    storage.optimize_for_webserver(statement_timeout=15000, pool_recycle=3600, max_overflow=20)
    storage.get_runs(RunsFilter())  # one connection now sits in the pool
    return storage


def test_pooled_connection_dropped_by_the_server_is_replaced(own_postgres_url: str) -> None:
    storage = _webserver_storage(PrePingRunStorage, own_postgres_url)
    assert _drop_other_connections(own_postgres_url) >= 1
    assert storage.get_runs(RunsFilter()) is not None


def test_without_pre_ping_the_stale_connection_reaches_the_caller(own_postgres_url: str) -> None:
    """The failure the stack's storage prevents, so the test above can tell them apart."""
    storage = _webserver_storage(PostgresRunStorage, own_postgres_url)
    assert _drop_other_connections(own_postgres_url) >= 1
    with pytest.raises(sqlalchemy.exc.OperationalError, match="server closed the connection"):
        storage.get_runs(RunsFilter())


def test_the_pinned_dagster_postgres_keeps_its_engine_where_pre_ping_looks() -> None:
    from importlib.metadata import version

    assert version("dagster-postgres") == TESTED_DAGSTER_POSTGRES
    assert add_pre_ping(object()) is False  # falls back (and logs) instead of failing


def _backend_pids(storage: PostgresRunStorage, queries: int) -> set[int]:
    """The Postgres server processes that served `queries` queries through the storage."""
    pids = set()
    for _ in range(queries):
        with storage.connect() as conn:
            pids.add(conn.execute(sqlalchemy.text("select pg_backend_pid()")).scalar())
    return pids


def test_pooled_storages_reuse_one_connection(
    own_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the daemon's and run workers' switch set, the storages built from instance config
    keep their connection (and ping it); without it, dagster-postgres's default: a new
    connection, so a new server process, for every query."""
    config = {"postgres_url": own_postgres_url}
    monkeypatch.delenv(POOLED_ENV, raising=False)
    assert len(_backend_pids(PrePingRunStorage.from_config_value(None, config), 3)) == 3
    monkeypatch.setenv(POOLED_ENV, "1")
    pooled = PrePingRunStorage.from_config_value(None, config)
    assert len(_backend_pids(pooled, 3)) == 1
    assert _drop_other_connections(own_postgres_url) >= 1  # a Postgres restart, as above
    assert len(_backend_pids(pooled, 1)) == 1
    events = PrePingBatchingEventLogStorage.from_config_value(None, config)
    schedules = PrePingScheduleStorage.from_config_value(None, config)
    for storage in (events, schedules):
        assert isinstance(storage._engine.pool, sqlalchemy.pool.QueuePool)  # noqa: SLF001
