"""The template's own Postgres connection, through which its step processes' bookkeeping rows
reach the event log.

A forked step process would otherwise open a connection of its own for its first write: on
the client, libpq's connect and authentication; on the server, a new backend process and a
cold catalog cache. That was about a third of a short step's CPU. Instead the step process
builds its rows (the serialization stays in parallel, in the step) and sends them over its
pipe; the template inserts them and answers before the step goes on, so a row is committed
when the step's flush returns, as before. Anything else a step writes or reads (asset
materializations, checks, queries from user code) still uses the step's own connection,
opened when first needed; so does a flush the template could not write (the step then writes
those rows itself).

The connection is a plain psycopg2 one, never part of a pool a forked child could touch:
children inherit its socket but never use it, and leave through os._exit, which sends
nothing on it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from dagster_warm_pool.event_rows import insert_rows

CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "options": "-c statement_timeout=30000",
}


class RowWriter:
    def __init__(self, dsn: str | None) -> None:
        self._dsn = dsn
        self._conn: Any = None

    @property
    def available(self) -> bool:
        return self._dsn is not None

    def connect(self) -> None:
        """Connect (if not connected) and check the connection works; raises if it cannot."""
        if self._conn is not None and not self._conn.closed:
            return
        import psycopg2

        # The template's loop waits on this connection, so it must not hang on a lost server:
        # bounded connect, dead-peer detection, and a statement timeout.
        conn = psycopg2.connect(self._dsn, **CONNECT_OPTIONS)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        self._conn = conn

    def write(self, rows: list[dict[str, Any]]) -> str | None:
        """None once the rows are committed; else why not (the step then writes them)."""
        try:
            self.connect()
            with self._conn.cursor() as cursor:
                insert_rows(cursor, rows)
            return None
        except Exception as error:  # a dropped connection is replaced on the next write
            self.close()
            return f"{type(error).__name__}: {error}".strip()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
