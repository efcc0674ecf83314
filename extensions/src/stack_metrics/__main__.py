"""The metrics service: `python -m stack_metrics [PORT]` serves /metrics (Prometheus text format)
on 0.0.0.0:PORT (default 9464), each scrape read from Dagster's Postgres storage. Connects with
libpq's environment (PGPASSFILE) and STACK_POSTGRES_HOST/_USER/_DB, as the health probes do."""

import signal
import sys
import threading

import psycopg2
import psycopg2.extensions
from prometheus_client import CollectorRegistry, start_http_server
from stack_env import stack_setting

from stack_metrics.collector import StackCollector

DEFAULT_PORT = 9464


def connect() -> psycopg2.extensions.connection:
    return psycopg2.connect(
        host=stack_setting("STACK_POSTGRES_HOST", "DAGSTER_POSTGRES_HOST"),
        user=stack_setting("STACK_POSTGRES_USER", "DAGSTER_POSTGRES_USER"),
        dbname=stack_setting("STACK_POSTGRES_DB", "DAGSTER_POSTGRES_DB"),
        connect_timeout=5,
        application_name="stack-metrics",
        # A scrape that cannot finish in time is abandoned rather than piling up on the server.
        options="-c statement_timeout=10000",
    )


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PORT
    # A registry of its own: the stack's families only, not the client's process/GC defaults.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StackCollector(connect))
    server, _thread = start_http_server(port, addr="0.0.0.0", registry=registry)
    print(f"stack metrics on :{port}/metrics", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
