"""Database connection handling for the warm pool's long-lived processes.

Dagster's Postgres/MySQL storages default to NullPool: every event write opens a new
connection (TCP + auth + a forked Postgres backend, ~5 ms on a local socket).  That
suits short-lived step processes; a warm worker lives for the whole run and writes
~15 events per step, and the orchestrator writes one STEP_WORKER_STARTING per step on
its dispatch path, so both keep one connection per storage instead.  We reuse the
switch Dagster's webserver uses for its long-lived instance (`optimize_for_webserver`)
rather than building engines ourselves.  No-op for sqlite.
"""

from __future__ import annotations

import multiprocessing.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance

# Recycle hourly so a connection dropped by a proxy or a Postgres restart is replaced;
# up to two extra connections if a thread of the process writes concurrently.
_POOL_RECYCLE_S = 3600
_MAX_OVERFLOW = 2


def _storages(instance: DagsterInstance) -> list[Any]:
    return [instance.run_storage, instance.event_log_storage]


def _engine_of(storage: Any) -> Any | None:
    # The SQL storages keep their SQLAlchemy engine in `_engine`; there is no public
    # accessor.  Anything without one (sqlite's per-shard engines, non-SQL storages)
    # is left alone.
    return getattr(storage, "_engine", None)


def _forget_in_child(engine: Any) -> None:
    # A forked child must not use -- or close -- the parent's pooled sockets: the
    # Postgres session belongs to the parent.  close=False drops them without sending
    # a Terminate message over the shared socket.
    engine.dispose(close=False)


def hold_connections(instance: DagsterInstance) -> None:
    """Keep one DB connection per storage open on `instance` (no statement timeout)."""
    instance.optimize_for_webserver(
        statement_timeout=0, pool_recycle=_POOL_RECYCLE_S, max_overflow=_MAX_OVERFLOW
    )
    for storage in _storages(instance):
        engine = _engine_of(storage)
        if engine is not None:
            # The orchestrator forks replacement workers later in the run.
            multiprocessing.util.register_after_fork(engine, _forget_in_child)


def forget_inherited_connections(instance: DagsterInstance) -> None:
    """In a forked child: drop any pooled connection `instance`'s storages came with."""
    for storage in _storages(instance):
        engine = _engine_of(storage)
        if engine is not None:
            _forget_in_child(engine)


def release_connections(instance: DagsterInstance) -> None:
    """Close the storages' pooled connections of `instance` (and nothing else of it)."""
    for storage in _storages(instance):
        engine = _engine_of(storage)
        if engine is not None:
            engine.dispose()


def relax_event_commits(instance: DagsterInstance) -> bool:
    """`SET synchronous_commit = off` on the event log's Postgres connections.

    A commit then returns before its WAL record is flushed to disk.  The row is still
    visible to every other session at once and commits stay atomic and ordered; what is
    given up is durability if the Postgres *server* crashes: commits from its last
    ~3 x wal_writer_delay (600 ms by default) can be lost.  Returns whether it applied
    (Postgres only).
    """
    from sqlalchemy import event

    engine = _engine_of(instance.event_log_storage)
    if engine is None or engine.dialect.name != "postgresql":
        return False

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET synchronous_commit TO OFF")
        finally:
            cursor.close()
        # psycopg2 outside autocommit opened a transaction for the SET.
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.commit()

    event.listen(engine, "connect", _on_connect)
    engine.dispose()  # connections opened before the listener existed are not reused
    return True
