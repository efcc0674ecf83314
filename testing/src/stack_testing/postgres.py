"""A throwaway Postgres for one test session or benchmark invocation: a docker container on
127.0.0.1.

The image comes from $POSTGRES_IMAGE (default postgres:15-bookworm; hosts without a
registry build a local one, see registryless/images.env).  Docker picks a free host
port; the container is removed when the context exits.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_IMAGE = "postgres:15-bookworm"
_USER = _PASSWORD = _DB = "stack"
_READY_TIMEOUT_S = 60.0


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _wait_ready(name: str, url: str) -> None:
    import sqlalchemy

    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        # pg_isready inside the container turns true during initdb's temporary server
        # too, so wait until a real client connection from the host succeeds.
        try:
            engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("select 1"))
            engine.dispose()
            return
        except Exception:
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
                raise RuntimeError(f"postgres container not ready:\n{logs.stderr[-2000:]}")
            time.sleep(0.5)


@contextmanager
def throwaway_postgres(image: str | None = None) -> Iterator[str]:
    """Yield a postgres_url for a fresh database; remove the container afterwards."""
    image = image or os.environ.get("POSTGRES_IMAGE") or DEFAULT_IMAGE
    name = f"throwaway-postgres-{uuid.uuid4().hex[:8]}"
    _docker(
        "run", "-d", "--rm", "--name", name,
        "-e", f"POSTGRES_USER={_USER}", "-e", f"POSTGRES_PASSWORD={_PASSWORD}",
        "-e", f"POSTGRES_DB={_DB}", "-p", "127.0.0.1::5432", image,
    )  # fmt: skip
    try:
        port = _docker("port", name, "5432/tcp").splitlines()[0].rsplit(":", 1)[1]
        url = f"postgresql://{_USER}:{_PASSWORD}@127.0.0.1:{port}/{_DB}"
        _wait_ready(name, url)
        yield url
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@contextmanager
def own_database(server_url: str) -> Iterator[str]:
    """Yield the URL of a new, empty database on `server_url`'s server; drop it afterwards,
    closing any connection a test left open."""
    import sqlalchemy

    name = f"test_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(
        server_url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool
    )
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sqlalchemy.engine.make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
