"""The one place that touches a dagster-postgres internal: the webserver's pooled engine.

dagster-postgres's storages open no pool except in the webserver, where
`optimize_for_webserver` replaces their engine (the `_engine` attribute) by a pooled one,
without SQLAlchemy's pre-ping. After a Postgres restart every pooled connection is dead,
and requests fail with `psycopg2.OperationalError: server closed the connection
unexpectedly` until the pool has cycled through them. A pool "checkout" listener that pings
the connection first (SQLAlchemy's pessimistic disconnect handling) swaps a dead connection
for a fresh one before any query sees it."""

import logging
from contextlib import closing
from importlib.metadata import version
from typing import Any

import psycopg2
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy import event

logger = logging.getLogger("dagster_stack_storage")

# The dagster-postgres release whose `_engine` attribute this was written against, and
# which tests/unit/test_pre_ping.py pins.
TESTED_DAGSTER_POSTGRES = "0.29.27"


def ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Raising DisconnectionError in "checkout" makes the pool drop this connection and
    hand out a new one (up to three attempts)."""
    try:
        with closing(dbapi_connection.cursor()) as cursor:
            cursor.execute("SELECT 1")
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
        raise sqlalchemy.exc.DisconnectionError(f"stale pooled connection: {error}") from error


def add_pre_ping(storage: object) -> bool:
    """Pings every connection the storage's pool hands out. Returns False, after logging an
    error, when dagster-postgres no longer keeps its engine where this expects it: the
    webserver then works as before, without surviving a Postgres restart."""
    installed = version("dagster-postgres")
    engine = getattr(storage, "_engine", None)
    if not isinstance(engine, sqlalchemy.engine.Engine):
        logger.error(
            "%s has no SQLAlchemy engine in `_engine` (dagster-postgres %s; written for %s): "
            "pooled connections will not be pinged, and a Postgres restart will show "
            "stale-connection errors until the pool has cycled",
            type(storage).__name__,
            installed,
            TESTED_DAGSTER_POSTGRES,
        )
        return False
    if installed != TESTED_DAGSTER_POSTGRES:
        logger.warning(
            "dagster-postgres %s, pre-ping written for %s: check dagster_stack_storage.pre_ping",
            installed,
            TESTED_DAGSTER_POSTGRES,
        )
    if not event.contains(engine, "checkout", ping_on_checkout):
        event.listen(engine, "checkout", ping_on_checkout)
    return True
