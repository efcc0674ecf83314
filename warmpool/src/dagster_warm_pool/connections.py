"""How a process of the warm pool holds its Postgres connections: one kept per storage
instead of Dagster's default NullPool (a new connection for every event written), and none
inherited across a fork."""

from __future__ import annotations

import contextlib
from typing import Any

from dagster_warm_pool._dagster import storage_engine


def _engines(instance: Any) -> list[Any]:
    storages = [instance.run_storage, instance.event_log_storage]
    return [engine for s in storages if (engine := storage_engine(s)) is not None]


def hold_connections(instance: Any) -> None:
    """Keep one connection per storage open for this process. Uses the switch the webserver
    uses for its long-lived instance; a no-op for sqlite, and where the storages already pool
    (the stack's pooled storages): replacing their engines would only reconnect, in every step
    process."""
    import sqlalchemy.pool

    engines = _engines(instance)
    if engines and not any(isinstance(e.pool, sqlalchemy.pool.NullPool) for e in engines):
        return
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)


def open_connection(instance: Any) -> None:
    """Open (and keep, after hold_connections) the event log's connection now."""
    import sqlalchemy as db

    with instance.event_log_storage.index_connection() as conn:
        conn.execute(db.text("SELECT 1"))


def release_connections(instance: Any) -> None:
    """Close the pooled connections this process opened, politely, before it exits."""
    for engine in _engines(instance):
        with contextlib.suppress(Exception):
            engine.dispose()


def drop_inherited_connections(instance: Any) -> None:
    """In a freshly forked process: forget the pooled connections the parent's engines hold,
    without closing them (the sockets, and the Postgres sessions behind them, are the
    parent's). Later queries open this process's own."""
    for engine in _engines(instance):
        engine.dispose(close=False)


def pooled_engines(instance: Any) -> list[Any]:
    """The storages' engines (for checks that they pool)."""
    return _engines(instance)
