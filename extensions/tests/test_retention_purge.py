"""The retention purge on a real Postgres instance configured as the stack's: runs made old
with SQL on the runs table are deleted with their event logs and compute-log files, the last
N of each job and every unfinished run stay, and the purge says what it deleted."""

import os
import time
import uuid

import dagster as dg
import psycopg2
from stack_retention import RetentionPolicy, purge_runs

DAY = 86400.0


@dg.op
def say_hello() -> None:
    # Output on stdout, so the run has compute-log files to delete.
    print("hello from a run the purge may delete")


def _job(name: str) -> dg.JobDefinition:
    @dg.job(name=name, executor_def=dg.in_process_executor)
    def _hello() -> None:
        say_hello()

    return _hello


def _age(postgres_url: str, run_ids: list[str], days: float) -> None:
    """Moves runs `days` into the past, each a minute older than the one before."""
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        for i, run_id in enumerate(run_ids):
            finished = time.time() - days * DAY - i * 60
            cursor.execute(
                "update runs set end_time = %s, start_time = %s,"
                " create_timestamp = to_timestamp(%s) at time zone 'utc',"
                " update_timestamp = to_timestamp(%s) at time zone 'utc' where run_id = %s",
                (finished, finished - 1, finished - 2, finished, run_id),
            )


def _runs_of(instance: dg.DagsterInstance, jobs: list[str]) -> list[str]:
    return [run.run_id for run in instance.get_runs() if run.job_name in jobs]


def test_purge_deletes_old_runs_with_their_events_and_logs(
    own_pg_instance: dg.DagsterInstance, own_postgres_url: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    job_a, job_b = _job(f"purge_a_{suffix}"), _job(f"purge_b_{suffix}")
    old_a = [job_a.execute_in_process(instance=own_pg_instance).run_id for _ in range(5)]
    old_b = [job_b.execute_in_process(instance=own_pg_instance).run_id for _ in range(2)]
    recent_a = job_a.execute_in_process(instance=own_pg_instance).run_id
    # A run still executing (STARTED), however old its timestamps, is never a candidate.
    live_a = own_pg_instance.create_run_for_job(job_a, status=dg.DagsterRunStatus.STARTED).run_id
    _age(own_postgres_url, old_a, 40)  # old_a[0] is the newest of them
    _age(own_postgres_url, old_b, 40)
    _age(own_postgres_url, [live_a], 90)
    logs_dir = own_pg_instance.compute_log_manager._base_dir  # noqa: SLF001 - the test's own dir
    assert os.path.isdir(os.path.join(logs_dir, old_a[-1]))
    jobs = [job_a.name, job_b.name]
    before = _runs_of(own_pg_instance, jobs)

    report = purge_runs(own_pg_instance, RetentionPolicy(max_age_days=30, keep_last_per_job=2), time.time())

    after = _runs_of(own_pg_instance, jobs)
    # Job a keeps its 2 newest finished runs (the recent one and the newest old one), job b
    # both of its 2, and the STARTED run stays.
    expected = list(reversed(old_a[1:]))  # oldest first
    print(
        f"\n[retention] runs of the test's jobs before {len(before)}, after {len(after)}; "
        f"deleted {len(report.deleted_run_ids)} of {report.finished_runs} finished runs in the "
        f"database: {report.deleted_run_ids}"
    )
    assert report.deleted_run_ids == expected
    assert len(before) == 9 and len(after) == 5
    assert set(after) == {recent_a, old_a[0], *old_b, live_a}
    for run_id in expected:
        assert own_pg_instance.get_run_by_id(run_id) is None
        assert own_pg_instance.all_logs(run_id) == []
        assert not os.path.exists(os.path.join(logs_dir, run_id))
    assert own_pg_instance.all_logs(recent_a) and os.path.isdir(os.path.join(logs_dir, recent_a))
    assert report.compute_log_errors == {}


def test_a_dry_run_deletes_nothing(own_pg_instance: dg.DagsterInstance, own_postgres_url: str) -> None:
    job = _job(f"purge_dry_{uuid.uuid4().hex[:6]}")
    run_id = job.execute_in_process(instance=own_pg_instance).run_id
    _age(own_postgres_url, [run_id], 40)
    report = purge_runs(own_pg_instance, RetentionPolicy(30, 0), time.time(), dry_run=True)
    assert run_id in report.deleted_run_ids
    assert own_pg_instance.get_run_by_id(run_id) is not None
