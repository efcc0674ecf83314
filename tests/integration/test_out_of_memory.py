"""Out of memory in a step, in a real run container with a real memory limit: the step is
killed by the kernel, its failure names the limit and the tag to raise, the step's retry policy
runs, and the warm pool and Dagster's multiprocess executor end the run alike (the parity
suite's fifth case; the other four run on Postgres in tests/parity)."""

from __future__ import annotations

from typing import Any

from tests.integration.stack import Stack

MEMORY_TAG = "600m"
# Each unit holds more than the whole container may: every process_record attempt is killed.
CONFIG = {
    "ops": {
        "input_records": {"config": {"record_count": 2, "seed": 7}},
        "fanout_results": {
            "config": {"unit_mode": "sequential", "unit_work_ms": 1.0, "unit_memory_mib": 700}
        },
    }
}
STEP_STATS = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run { status stepStats { stepKey status attempts { startTime } } }
  }
}
"""


def _summary(stack: Stack, run_id: str) -> dict[str, Any]:
    run = stack.graphql(STEP_STATS, {"runId": run_id})["runOrError"]
    steps = {s["stepKey"]: (s["status"], len(s["attempts"])) for s in run["stepStats"]}
    materialized = sorted(
        e["assetKey"]["path"][-1]
        for e in _events(stack, run_id)
        if e["__typename"] == "MaterializationEvent"
    )
    return {"status": run["status"], "steps": steps, "materialized": materialized}


def _events(stack: Stack, run_id: str) -> list[dict[str, Any]]:
    data = stack.graphql(
        """
        query ($runId: ID!) {
          logsForRun(runId: $runId, limit: 5000) {
            ... on EventConnection { events { __typename
              ... on MessageEvent { message stepKey level }
              ... on MaterializationEvent { assetKey { path } }
              ... on ExecutionStepFailureEvent { error { message } }
              ... on ExecutionStepUpForRetryEvent { error { message } }
            } }
          }
        }
        """,
        {"runId": run_id},
    )
    return data["logsForRun"]["events"]


def _oom_messages(stack: Stack, run_id: str) -> list[str]:
    texts = []
    for event in _events(stack, run_id):
        text = (event.get("error") or {}).get("message") or event.get("message") or ""
        if "killed by the kernel for exceeding the container's memory limit" in text:
            texts.append(text)
    return texts


def test_a_step_out_of_memory_fails_alike_on_both_executors(stack: Stack) -> None:
    tags = {"limits/memory": MEMORY_TAG}
    warm = stack.launch("fanout_job", CONFIG, tags)
    stock_config = {**CONFIG, "execution": {"config": {"force_multiprocess": True}}}
    stock = stack.launch("fanout_job", stock_config, tags)
    assert stack.wait_for_run(warm, timeout=240) == "FAILURE"
    assert stack.wait_for_run(stock, timeout=240) == "FAILURE"

    summaries = {"warm_pool": _summary(stack, warm), "stock": _summary(stack, stock)}
    print(f"\n[out of memory] {summaries}")
    assert summaries["warm_pool"] == summaries["stock"], {
        name: stack.failure_messages(run_id) for name, run_id in (("warm_pool", warm), ("stock", stock))
    }
    record_steps = [k for k in summaries["warm_pool"]["steps"] if ".process_record[" in k]
    assert len(record_steps) == 2
    assert all(summaries["warm_pool"]["steps"][k] == ("FAILURE", 3) for k in record_steps)
    assert summaries["warm_pool"]["materialized"] == ["input_records"]

    for run_id in (warm, stock):
        messages = _oom_messages(stack, run_id)
        # One explanation per killed attempt: 2 records x 3 attempts.
        assert len(messages) >= 6, stack.failure_messages(run_id)
        assert all("memory limit of 600 MiB" in m and "`limits/memory`" in m for m in messages)
