"""`fanout_results`: one sub-pipeline per record (DynamicOut -> map -> collect), retried per record.

Failure injection for tests and demos (config of this asset, see FanoutConfig):
  flaky_record_ids   -> those records fail on their first attempt only; the retry succeeds.
  failing_record_ids -> those records fail on every attempt; the run fails after the retries,
                        and "re-execute from failure" (without the id) re-runs only them.
"""


import time
from typing import Literal

import dagster as dg
from dagster_warm_pool import container_cpu_count
from dagster_warm_pool import read_memory

from fanout.lib.mapping_keys import mapping_keys_for
from fanout.lib.records import Record
from fanout.lib.results import RecordResult
from fanout.lib.timing import StepTimer
from fanout.lib.unit_runner import POOL_MIN_WORK_MS, UnitWorkerDied, run_units, unit_pool_size
from fanout.lib.unit_work import combine_digests

RECORD_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=0.2)


class FanoutConfig(dg.Config):
    """How each record's units run.

    unit_mode: "sequential" runs units in order; "parallel" runs them on a fork-started process
      pool sized by the container CPU quota, unless the record's work (units x unit_work_ms) is
      below pool_min_work_ms, where the pool would cost more than it saves.
    work_kind: "cpu" (sha256 hashing calibrated to unit_work_ms) or "sleep".
    unit_memory_mib: memory each unit holds while it works (0: none), to see memory limits at
      work: the unit pool shrinks to what the container's free memory holds, and a step whose
      units need more than its container has is killed by the kernel (out of memory).
    flaky_record_ids / failing_record_ids: deterministic failure injection (see module doc).
    """

    unit_mode: Literal["sequential", "parallel"] = "sequential"
    unit_work_ms: float = 20.0
    work_kind: Literal["cpu", "sleep"] = "cpu"
    unit_memory_mib: float = 0.0
    pool_min_work_ms: float = POOL_MIN_WORK_MS
    flaky_record_ids: list[str] = []
    failing_record_ids: list[str] = []


@dg.op(out=dg.DynamicOut(Record))
def split_records(records: list[Record]):
    """Emit one output per record, keyed by a valid, unique mapping key derived from its id."""
    timer = StepTimer()
    keys = mapping_keys_for([record.id for record in records])
    for record in records:
        yield dg.DynamicOutput(
            record,
            mapping_key=keys[record.id],
            metadata={"record_id": record.id, "units": record.units, **timer.metadata()},
        )


def _inject_failure(context: dg.OpExecutionContext, config: FanoutConfig, record: Record) -> None:
    if record.id in config.failing_record_ids:
        raise dg.Failure(
            description=f"record {record.id!r}: injected failure (failing_record_ids), "
            f"attempt {context.retry_number + 1}"
        )
    if record.id in config.flaky_record_ids and context.retry_number == 0:
        raise dg.Failure(
            description=f"record {record.id!r}: injected first-attempt failure (flaky_record_ids)"
        )


@dg.op(retry_policy=RECORD_RETRY_POLICY)
def process_record(
    context: dg.OpExecutionContext, config: FanoutConfig, record: Record
) -> dg.Output[RecordResult]:
    """The per-record sub-pipeline: run all units, combine their digests."""
    timer = StepTimer()
    started_at = time.time()
    _inject_failure(context, config, record)
    # Step stdout, shown in the UI's log viewer for this step (compute logs).
    print(
        f"record {record.id}: {record.units} units x {config.unit_work_ms:g} ms "
        f"{config.work_kind} work, {config.unit_mode}"
    )
    memory = read_memory()
    pool_size = unit_pool_size(
        container_cpu_count(), memory.limit_bytes, memory.usage_bytes or 0, config.unit_memory_mib
    )
    try:
        run = run_units(
            record.id,
            record.units,
            config.unit_work_ms,
            config.work_kind,
            config.unit_mode,
            pool_size=pool_size,
            pool_min_work_ms=config.pool_min_work_ms,
            memory_mib=config.unit_memory_mib,
        )
    except UnitWorkerDied as error:
        limit = f"{memory.limit_bytes / 2**20:.0f} MiB" if memory.limit_bytes else "none"
        raise dg.Failure(
            description=f"{error}; container memory limit: {limit}, "
            f"unit_memory_mib: {config.unit_memory_mib:g}"
        ) from error
    timer.add_work(sum(unit.work_s for unit in run.results))
    timing = timer.metadata()
    print(f"record {record.id}: done, wall {timing['wall_s']:.3f} s, work {timing['work_s']:.3f} s")
    result = RecordResult(
        record_id=record.id,
        mapping_key=context.get_mapping_key() or "",
        units=record.units,
        digest=combine_digests(run.results),
        work_s=timing["work_s"],
        wall_s=timing["wall_s"],
        started_at=started_at,
        finished_at=time.time(),
        used_pool=run.used_pool,
    )
    return dg.Output(
        result,
        metadata={
            "record_id": record.id,
            "units": record.units,
            "used_pool": run.used_pool,
            "pool_size": run.pool_size,
            "attempt": context.retry_number + 1,
            **timing,
        },
    )


@dg.op
def collect_results(results: list[RecordResult]) -> dg.Output[list[RecordResult]]:
    """Gather all record results in a stable order (collect order follows completion)."""
    timer = StepTimer()
    ordered = sorted(results, key=lambda result: result.record_id)
    return dg.Output(
        ordered,
        metadata={
            "records": len(ordered),
            "units": sum(result.units for result in ordered),
            **timer.metadata(),
        },
    )


def _to_inner_config(config: FanoutConfig) -> dict:
    # Dagster infers the asset's config schema from the annotation but passes the raw dict;
    # only process_record is configurable, so the asset config is forwarded as is.
    return {"process_record": {"config": dict(config)}}


@dg.graph_asset(
    group_name="fanout",
    config=dg.ConfigMapping(config_fn=_to_inner_config),
)
def fanout_results(input_records: list[Record]) -> list[RecordResult]:
    """Per-record results of the dynamic fan-out over input_records."""
    return collect_results(split_records(input_records).map(process_record).collect())
