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

# Runs per status and repository label ("repository@location"; the location is taken from the
# few grouped labels in Python, not from every row here), with the duration histogram of the
# finished ones, in one pass. `{where}` picks the runs: the settled ones (SETTLED) or the others
# (LIVE); see stack_metrics.collector for why the two are counted apart. Each run's label is
# looked up by its run id (idx_run_tags_run_idx), not joined with every run's tag, so reading
# the few live runs costs a few index probes (NULL for a run launched outside a location).
_RUNS_SUMMARY = """
select status, label, count(*), count(d), coalesce(sum(d), 0){bounds}
from (
    select r.status,
           (select t.value from run_tags t
            where t.run_id = r.run_id and t.key = %(repository_tag)s limit 1) as label,
           case when r.status = any(%(finished)s) then r.end_time - r.start_time end as d
    from runs r
    where {where}
) runs_in_scope
group by 1, 2
"""
# Finished runs up to the watermark: they no longer change (only a purge deletes them).
SETTLED = "r.id <= %(watermark)s and r.status = any(%(finished)s)"
# Runs after the watermark, and those up to it that were not finished when it was set: both
# read through the primary key, so their cost follows the runs created or running since.
LIVE = "r.id > %(watermark)s or r.id = any(%(unfinished_ids)s)"

# Where settled runs end: the newest run id, less a margin for runs whose insert was still
# in flight (ids are handed out before the insert commits).
WATERMARK = "select greatest(coalesce(max(id), 0) - %(id_margin)s, 0) from runs"
UNFINISHED_UP_TO_WATERMARK = """
select id from runs where id <= %(watermark)s and not (status = any(%(finished)s))
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


def runs_summary_sql(where: str, buckets: Sequence[float]) -> str:
    """The runs summary over the runs `where` picks, with one cumulative count per bucket bound.
    The bounds are the collector's own floats, never user input."""
    bounds = "".join(
        f",\n       count(*) filter (where d <= {float(bound)!r})" for bound in buckets
    )
    return _RUNS_SUMMARY.format(where=where, bounds=bounds)


def query_parameters(recent_runs: int, id_margin: int) -> dict[str, object]:
    return {
        "id_margin": id_margin,
        "repository_tag": REPOSITORY_TAG,
        "finished": list(FINISHED_STATUSES),
        "recent_runs": recent_runs,
        "usage_pattern": f"%{RUN_USAGE_PREFIX}%",
        "asset_key": FANOUT_REPORT_ASSET_KEY,
    }
