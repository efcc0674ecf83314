"""A warm-pool step's bookkeeping events as event_logs rows, written several at a time in one
statement: exactly the rows, and the NOTIFY payloads, that PostgresEventLogStorage.store_event
writes one by one."""

from __future__ import annotations

from typing import Any

import dagster as dg

from dagster_warm_pool._dagster import (
    event_channel,
    event_to_row,
    storage_connection,
    token_provider,
)

T = dg.DagsterEventType
TERMINAL_KINDS = frozenset({T.STEP_SUCCESS, T.STEP_FAILURE, T.STEP_UP_FOR_RETRY, T.STEP_SKIPPED})
# Kinds store_event stores as one row and nothing else (no asset or check index, no run-status
# change), so writing several in one INSERT stores exactly the same rows.
PLAIN_KINDS = TERMINAL_KINDS | frozenset(
    {
        T.STEP_WORKER_STARTED,
        T.STEP_START,
        T.STEP_RESTARTED,
        T.STEP_INPUT,
        T.STEP_OUTPUT,
        T.LOADED_INPUT,
        T.HANDLED_OUTPUT,
        T.STEP_EXPECTATION_RESULT,
        T.OBJECT_STORE_OPERATION,
        T.LOGS_CAPTURED,
        T.ENGINE_EVENT,
        T.RESOURCE_INIT_STARTED,
        T.RESOURCE_INIT_SUCCESS,
        T.RESOURCE_INIT_FAILURE,
    }
)


def event_rows(storage: Any, entries: list[Any]) -> list[dict[str, Any]]:
    """The rows `store_event` would insert (column -> value; picklable, so a step process can
    hand them over)."""
    return [event_to_row(storage, entry) for entry in entries]


def insert_rows(cursor: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` in one statement, with store_event's per-row NOTIFY, on a psycopg2 cursor
    of an autocommit connection. The statement goes to psycopg2 directly: SQLAlchemy compiles a
    multi-row INSERT anew for every row count, and a freshly forked step process never reuses
    its compile cache."""
    columns = list(rows[0])
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values = b", ".join(cursor.mogrify(row_sql, [row[c] for c in columns]) for row in rows)
    cursor.execute(
        b"WITH inserted AS (INSERT INTO event_logs ("
        + ", ".join(columns).encode()
        + b") VALUES "
        + values
        + b" RETURNING run_id, id) SELECT pg_notify("
        + cursor.mogrify("%s", [event_channel()])
        + b", run_id || '_' || id) FROM inserted"
    )
    cursor.fetchall()


def insert_event_rows(storage: Any, entries: list[Any]) -> None:
    """Store plain entries in one statement on the storage's own autocommit connection."""
    rows = event_rows(storage, entries)
    with storage_connection(storage) as conn:
        cursor = conn.connection.cursor()
        try:
            insert_rows(cursor, rows)
        finally:
            cursor.close()


def writer_dsn(storage: Any) -> str | None:
    """The libpq connection string of a Postgres event log for a plain psycopg2 connection, or
    None where it needs more than libpq gives (a cloud-auth token provider) or is not
    dagster-postgres's."""
    from dagster_postgres import PostgresEventLogStorage

    if not isinstance(storage, PostgresEventLogStorage) or token_provider(storage) is not None:
        return None
    return storage.postgres_url
