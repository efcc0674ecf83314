"""The SQL a scrape runs against Dagster's Postgres storage. Every statement aggregates in the
database and returns a handful of rows, so a scrape never reads runs or events into Python.

Dagster writes `create_timestamp` and the heartbeat `timestamp` as naive UTC (it reads them back
with `utc_datetime_from_naive`), so ages are taken against `now() at time zone 'utc'`;
`start_time`/`end_time` are Unix seconds (floats)."""

from collections.abc import Sequence

# The tag Dagster stores on every run launched from a code location: "repository@location".
REPOSITORY_TAG = ".dagster/repository"
FINISHED_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
# The warm pool's per-run usage engine event starts with this (dagster_warm_pool.RUN_USAGE_PREFIX;
# not imported, so this module loads without Dagster).
RUN_USAGE_PREFIX = "Run resource usage:"
FANOUT_REPORT_ASSET_KEY = '["fanout_report"]'

# Runs per status and repository label ("repository@location"; the location is taken from
# the few grouped labels in Python, not from every row here). The left join keeps runs without
# the tag (launched outside a code location).
RUNS_BY_STATUS_AND_LOCATION = """
select r.status, t.value, count(*)
from runs r
left join run_tags t on t.run_id = r.run_id and t.key = %(repository_tag)s
group by 1, 2
"""

QUEUE = """
select count(*),
       coalesce(extract(epoch from (now() at time zone 'utc') - min(create_timestamp)), 0)
from runs
where status = 'QUEUED'
"""

HEARTBEAT_AGES = """
select daemon_type, extract(epoch from (now() at time zone 'utc') - max(timestamp))
from daemon_heartbeats
group by daemon_type
"""

# The newest finished run per job that carries a usage event, among the job's last few finished
# runs: jobs are listed by a skip scan of idx_runs_by_job and each job's runs and events are read
# through idx_runs_by_job and idx_events_by_run_id, so the cost follows the number of jobs, not
# of runs or events. A job whose recent runs all lack the event (another executor) has no row.
LAST_RUN_USAGE = """
with recursive jobs(name) as (
    (select pipeline_name from runs where pipeline_name is not null
     order by pipeline_name limit 1)
    union all
    select (select pipeline_name from runs where pipeline_name > jobs.name
            order by pipeline_name limit 1)
    from jobs where jobs.name is not null
)
select jobs.name, usage.event
from jobs
cross join lateral (
    select e.event
    from (select run_id, id from runs
          where pipeline_name = jobs.name and status = any(%(finished)s)
          order by id desc limit %(recent_runs)s) recent
    cross join lateral (
        select event from event_logs
        where run_id = recent.run_id and dagster_event_type = 'ENGINE_EVENT'
          and event like %(usage_pattern)s
        order by id desc limit 1) e
    order by recent.id desc
    limit 1
) usage
where jobs.name is not null
"""

# The latest materialization of fanout_report (idx_events_by_asset).
LATEST_FANOUT_REPORT = """
select event from event_logs
where asset_key = %(asset_key)s and dagster_event_type = 'ASSET_MATERIALIZATION'
order by id desc limit 1
"""


def duration_histogram_sql(buckets: Sequence[float]) -> str:
    """Finished runs' durations per status in one pass: count, sum and one cumulative count per
    bucket bound. The bounds are the collector's own floats, never user input."""
    bounds = ",\n       ".join(
        f"count(*) filter (where end_time - start_time <= {float(bound)!r})" for bound in buckets
    )
    return f"""
select status, count(*), coalesce(sum(end_time - start_time), 0),
       {bounds}
from runs
where status = any(%(finished)s) and start_time is not null and end_time is not null
group by status
"""


def query_parameters(recent_runs: int) -> dict[str, object]:
    return {
        "repository_tag": REPOSITORY_TAG,
        "finished": list(FINISHED_STATUSES),
        "recent_runs": recent_runs,
        "usage_pattern": f"%{RUN_USAGE_PREFIX}%",
        "asset_key": FANOUT_REPORT_ASSET_KEY,
    }
