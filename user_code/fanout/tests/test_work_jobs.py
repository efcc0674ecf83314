import dagster as dg
import pytest

from fanout.definitions import defs
from fanout.defs.jobs.batched_work_job import WAREHOUSE_LIMITS, WAREHOUSE_TAG


def _run(job_name: str, op_name: str, config: dict) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config={"ops": {op_name: {"config": config}}}
    )
    assert result.success
    for event in result.all_events:
        if event.is_successful_output:
            assert {"wall_s", "work_s"} <= set(event.step_output_data.metadata), event.step_key
    return result


@pytest.mark.parametrize("kind", ["sleep", "cpu"])
def test_chunked_work_job_totals(kind: str) -> None:
    result = _run("chunked_work_job", "plan_chunk_steps", {"chunk_count": 5, "chunk_seconds": 0.01, "kind": kind})
    totals = result.output_for_node("summarize_chunks")
    assert totals["chunks"] == 5 and totals["steps"] == 5
    assert totals["indexes"] == list(range(5))
    # Sleep has a floor; CPU units are calibrated in CPU time, which load can skew either way.
    assert totals["work_s"] >= (0.04 if kind == "sleep" else 0.0) and totals["work_s"] > 0


def test_batched_work_job_totals_and_batching() -> None:
    result = _run(
        "batched_work_job", "plan_batches", {"chunk_count": 7, "chunk_seconds": 0.01, "batch_size": 3}
    )
    totals = result.output_for_node("summarize_chunks")
    assert totals["chunks"] == 7 and totals["steps"] == 3
    assert totals["indexes"] == list(range(7))
    loads = [e.step_key for e in result.all_events if e.is_step_success and "load_batch[" in (e.step_key or "")]
    assert len(loads) == 3


def test_benchmark_defaults_are_eight_half_second_sleeps() -> None:
    from fanout.defs.jobs.chunk_config import ChunkWorkConfig

    config = ChunkWorkConfig()
    assert (config.chunk_count, config.chunk_seconds, config.kind) == (8, 0.5, "sleep")


def test_warehouse_step_is_tagged_for_the_concurrency_limit() -> None:
    job = defs.resolve_job_def("batched_work_job")
    assert job.graph.node_named("load_batch").tags == WAREHOUSE_TAG
    assert WAREHOUSE_LIMITS == [{"key": "fanout/resource", "value": "warehouse", "limit": 1}]
