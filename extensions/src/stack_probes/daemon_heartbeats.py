"""Exit 0 if every daemon of the newest dagster-daemon process has a heartbeat in Postgres
younger than the tolerance (default 300 s; Dagster's own liveness check allows 30 minutes).
Connects with libpq's environment (PGPASSFILE) and STACK_POSTGRES_HOST/_USER/_DB.
Usage: python -m stack_probes.daemon_heartbeats [tolerance_seconds]"""

import sys

import psycopg2
from stack_env import stack_setting

# Heartbeats are rows per daemon type, stamped with the writing process's daemon_id. The
# newest row names the live process; a stale row of that process is a stuck daemon thread.
SQL = """
select count(*), count(*) filter (
    where timestamp < (now() at time zone 'utc') - make_interval(secs => %s))
from daemon_heartbeats
where daemon_id = (select daemon_id from daemon_heartbeats order by timestamp desc limit 1)
"""


def stale_heartbeats(tolerance_s: float) -> tuple[int, int]:
    """(heartbeats of the live daemon process, how many of them are stale)."""
    with psycopg2.connect(
        host=stack_setting("STACK_POSTGRES_HOST", "DAGSTER_POSTGRES_HOST"),
        user=stack_setting("STACK_POSTGRES_USER", "DAGSTER_POSTGRES_USER"),
        dbname=stack_setting("STACK_POSTGRES_DB", "DAGSTER_POSTGRES_DB"),
        connect_timeout=5,
    ) as connection, connection.cursor() as cursor:
        cursor.execute(SQL, (tolerance_s,))
        total, stale = cursor.fetchone()
    return total, stale


def main() -> int:
    tolerance_s = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    try:
        total, stale = stale_heartbeats(tolerance_s)
    except psycopg2.Error as error:
        print(f"cannot read daemon heartbeats: {error}".strip())
        return 1
    if total == 0 or stale:
        print(f"daemon not live: {stale} of {total} heartbeats older than {tolerance_s:g} s")
        return 1
    print(f"daemon live: {total} heartbeats within {tolerance_s:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
