"""The /metrics collector on a real Postgres with Dagster's schema, seeded with 10,000 runs: the
values it serves (runs by status and location, queue depth and age, histogram counts, heartbeat
ages, the last run's usage, the fan-out report) match the seed, and still do after new runs, a
queued run that fails, and a purge (at the next recount of settled runs). Prints the scrape
duration (docs/metrics.md quotes it); asserts correctness, not timing."""

import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg2
import psycopg2.extras
from dagster._core.events import EngineEventData
from dagster._daemon.types import DaemonHeartbeat
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from stack_metrics.collector import SETTLED_REFRESH_S, StackCollector
from stack_metrics.families import DURATION_BUCKETS, MIB

RUNS = 10_000
SCRAPES = 20
QUEUED_OLDEST_S = 3600.0
LOCATIONS = ("fanout", "warehouse")
JOBS = ("fanout_job", "chunked_work_job", "orders_job")


@dataclass(frozen=True)
class SeedRun:
    run_id: str
    job: str
    location: str
    status: str
    created: datetime
    duration_s: float | None


# 100 queued and 100 started runs (a live stack has a few runs running and a queue, whatever
# its history); the others cycle through 7 success, 2 failure, 1 canceled in ten.
_CYCLE = ("SUCCESS",) * 6 + ("FAILURE",) * 2 + ("CANCELED", "SUCCESS")
UNFINISHED_SPAN = 2000


def _status(i: int) -> str:
    if i < UNFINISHED_SPAN and i % 20 == 9:
        return "QUEUED"
    if i < UNFINISHED_SPAN and i % 20 == 19:
        return "STARTED"
    return _CYCLE[i % 10]


def seed_runs(now: datetime) -> list[SeedRun]:
    runs = []
    for i in range(RUNS):
        status = _status(i)
        finished = status in ("SUCCESS", "FAILURE", "CANCELED")
        # Queued runs wait up to QUEUED_OLDEST_S; the first queued one (i = 9) waited longest.
        age_s = QUEUED_OLDEST_S - i * 0.1 if status == "QUEUED" else 7200.0 - i * 0.1
        runs.append(
            SeedRun(
                run_id=str(uuid.UUID(int=i + 1)),
                job=JOBS[i % len(JOBS)],
                location=LOCATIONS[i % len(LOCATIONS)],
                status=status,
                created=now - timedelta(seconds=age_s),
                # Durations 0.5 s .. 4000.5 s over the buckets, none on a bucket bound.
                duration_s=((i * 37) % 4001) + 0.5 if finished else None,
            )
        )
    return runs


def insert_runs(instance: dg.DagsterInstance, postgres_url: str, runs: list[SeedRun]) -> None:
    """Bulk rows Dagster's schema accepts: each run's body is a real serialized DagsterRun (a
    template added through the instance, its run id and status replaced), plus its location tag."""
    template_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="template", run_id=template_id))
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("select run_body from runs where run_id = %s", (template_id,))
        (body,) = cursor.fetchone()
        cursor.execute("delete from run_tags where run_id = %s", (template_id,))
        cursor.execute("delete from runs where run_id = %s", (template_id,))
        assert "PipelineRunStatus.NOT_STARTED" in body

        def run_body(run: SeedRun) -> str:
            return (
                body.replace(template_id, run.run_id)
                .replace('"template"', f'"{run.job}"')
                .replace("PipelineRunStatus.NOT_STARTED", f"PipelineRunStatus.{run.status}")
            )

        def times(run: SeedRun) -> tuple[float | None, float | None]:
            if run.duration_s is None:
                return (None, None)
            start = run.created.timestamp() + 1.0
            return (start, start + run.duration_s)

        psycopg2.extras.execute_values(
            cursor,
            "insert into runs (run_id, pipeline_name, status, run_body, create_timestamp,"
            " update_timestamp, start_time, end_time) values %s",
            [
                (r.run_id, r.job, r.status, run_body(r), r.created.replace(tzinfo=None),
                 r.created.replace(tzinfo=None), *times(r))
                for r in runs
            ],  # fmt: skip
            page_size=1000,
        )
        psycopg2.extras.execute_values(
            cursor,
            "insert into run_tags (run_id, key, value) values %s",
            [(r.run_id, ".dagster/repository", f"__repository__@{r.location}") for r in runs],
            page_size=1000,
        )
        # As autovacuum would after a burst of inserts: the planner's statistics match the data.
        cursor.execute("analyze runs; analyze run_tags")


def _scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def assert_runs_match(samples: dict[tuple[str, tuple], float], runs: list[SeedRun]) -> None:
    """Run counts per status and location, and the duration histogram, as the seed has them."""
    for location in LOCATIONS:
        for status in ("SUCCESS", "FAILURE", "CANCELED", "QUEUED", "STARTED", "STARTING"):
            expected = sum(1 for r in runs if r.location == location and r.status == status)
            key = ("dagster_runs", (("location", location), ("status", status)))
            assert samples[key] == expected, key
    for status in ("SUCCESS", "FAILURE", "CANCELED"):
        done = [r.duration_s for r in runs if r.status == status and r.duration_s is not None]
        labels = (("status", status),)
        assert samples[("dagster_run_duration_seconds_count", labels)] == len(done)
        assert abs(samples[("dagster_run_duration_seconds_sum", labels)] - sum(done)) < 1e-3
        for bound in DURATION_BUCKETS:
            key = ("dagster_run_duration_seconds_bucket", (("le", repr(bound)), ("status", status)))
            assert samples[key] == sum(1 for d in done if d <= bound), key


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _timed_scrapes(registry: CollectorRegistry, count: int) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        generate_latest(registry)
        durations.append(time.perf_counter() - started)
    return durations


def test_metrics_on_ten_thousand_runs(own_pg_instance: dg.DagsterInstance, own_postgres_url: str) -> None:
    now = datetime.now(UTC)
    runs = seed_runs(now)
    insert_runs(own_pg_instance, own_postgres_url, runs)
    assert len(own_pg_instance.get_run_ids(limit=RUNS + 1)) == RUNS  # Dagster reads them back

    # The last finished fanout_job run reports its usage (an older one too, which must not win).
    finished = [r for r in runs if r.job == "fanout_job" and r.duration_s is not None]
    for run, cpu in ((finished[-2], 1.0), (finished[-1], 7.5)):
        own_pg_instance.report_engine_event(
            "Run resource usage: CPU ...",
            own_pg_instance.get_run_by_id(run.run_id),
            EngineEventData(
                metadata={
                    "cpu_seconds": dg.MetadataValue.float(cpu),
                    "peak_memory_mib": dg.MetadataValue.float(200.0),
                    "memory_limit_mib": dg.MetadataValue.float(1024.0),
                }
            ),
        )
    own_pg_instance.report_runless_asset_event(
        dg.AssetMaterialization("fanout_report", metadata={"units_per_s": 33.3, "overhead_ratio": 1.1})
    )
    own_pg_instance.add_daemon_heartbeat(
        DaemonHeartbeat(
            timestamp=(now - timedelta(seconds=42)).timestamp(),
            daemon_type="SENSOR", daemon_id="seed", errors=[],
        )
    )  # fmt: skip

    clock = _Clock()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StackCollector(lambda: psycopg2.connect(own_postgres_url), clock=clock))
    # The first scrape counts the settled runs; the next ones read only the others.
    (first,) = _timed_scrapes(registry, 1)
    durations = _timed_scrapes(registry, SCRAPES)
    refreshes = []
    for _ in range(5):
        clock.now += SETTLED_REFRESH_S
        refreshes += _timed_scrapes(registry, 1)
    print(
        f"\n[metrics] {RUNS} runs, {SCRAPES} scrapes (generate_latest, one kept connection): "
        f"median {statistics.median(durations) * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms; "
        f"a scrape that recounts the settled runs (first, then every {SETTLED_REFRESH_S:.0f} s): "
        f"{first * 1000:.1f} ms, median of 5 more {statistics.median(refreshes) * 1000:.1f} ms"
    )

    samples = _scrape(registry)
    assert samples[("stack_metrics_database_up", ())] == 1
    assert_runs_match(samples, runs)
    queued = [r for r in runs if r.status == "QUEUED"]
    assert samples[("dagster_run_queue_depth", ())] == len(queued) == UNFINISHED_SPAN // 20
    oldest = samples[("dagster_run_queue_oldest_age_seconds", ())]
    assert QUEUED_OLDEST_S - 1 <= oldest <= QUEUED_OLDEST_S + 120
    age = samples[("dagster_daemon_heartbeat_age_seconds", (("daemon_type", "SENSOR"),))]
    assert 42 <= age <= 42 + 120
    assert samples[("dagster_run_cpu_seconds", (("job", "fanout_job"),))] == 7.5
    assert samples[("dagster_run_peak_memory_bytes", (("job", "fanout_job"),))] == 200 * MIB
    assert samples[("dagster_run_memory_limit_bytes", (("job", "fanout_job"),))] == 1024 * MIB
    assert ("dagster_run_cpu_seconds", (("job", "orders_job"),)) not in samples
    assert samples[("fanout_report_units_per_second", ())] == 33.3
    assert samples[("fanout_report_overhead_ratio", ())] == 1.1

    # Between recounts: a queued run from before the watermark fails, and new runs arrive.
    # Both show on the next scrape.
    oldest_queued = queued[0]
    with psycopg2.connect(own_postgres_url) as connection, connection.cursor() as cursor:
        start = now.timestamp()
        cursor.execute(
            "update runs set status = 'FAILURE', start_time = %s, end_time = %s where run_id = %s",
            (start, start + 7.25, oldest_queued.run_id),
        )
    runs = [
        SeedRun(r.run_id, r.job, r.location, "FAILURE", r.created, 7.25) if r is oldest_queued else r
        for r in runs
    ]
    newer = [
        SeedRun(str(uuid.uuid4()), "fanout_job", "fanout", "FAILURE", now, 3.0) for _ in range(150)
    ]
    insert_runs(own_pg_instance, own_postgres_url, newer)
    runs += newer
    assert_runs_match(_scrape(registry), runs)

    # A purge shows at the next recount.
    purged = [r for r in runs if r.status == "SUCCESS"][:500]
    with psycopg2.connect(own_postgres_url) as connection, connection.cursor() as cursor:
        ids = [r.run_id for r in purged]
        cursor.execute("delete from run_tags where run_id = any(%s)", (ids,))
        cursor.execute("delete from runs where run_id = any(%s)", (ids,))
    clock.now += SETTLED_REFRESH_S
    assert_runs_match(_scrape(registry), [r for r in runs if r not in purged])
