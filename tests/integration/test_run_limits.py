"""Per-run limits from tags: the container's HostConfig carries exactly the clamped values,
an invalid value is refused at launch with its message, and no container is started."""

import pytest
from dagster_graphql import DagsterGraphQLClientError

from tests.integration.stack import Stack

GiB = 1024**3
MiB = 1024**2
SMALL_CHUNKS = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 2, "chunk_seconds": 0.1}}}}


def _host_config(stack: Stack, run_id: str) -> dict:
    (container,) = stack.run_containers(run_id)
    return container.attrs["HostConfig"]


@pytest.mark.parametrize(
    ("tags", "nano_cpus", "memory"),
    [
        # The test stack's policy (tests/integration/conftest.py): 1 CPU / 1g, at most 2 / 4g, clamp.
        ({}, 1_000_000_000, 1 * GiB),
        ({"limits/cpus": "1.5", "limits/memory": "768m"}, 1_500_000_000, 768 * MiB),
        ({"limits/cpus": "8", "limits/memory": "16g"}, 2_000_000_000, 4 * GiB),
    ],
    ids=["defaults", "within-max", "clamped"],
)
def test_container_gets_exactly_the_clamped_limits(
    stack: Stack, tags: dict[str, str], nano_cpus: int, memory: int
) -> None:
    run_id = stack.launch("chunked_work_job", SMALL_CHUNKS, tags)
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    host = _host_config(stack, run_id)
    print(f"tags={tags} -> NanoCpus={host['NanoCpus']} Memory={host['Memory']} "
          f"MemorySwap={host['MemorySwap']} PidsLimit={host['PidsLimit']}")
    assert (host["NanoCpus"], host["Memory"], host["MemorySwap"]) == (nano_cpus, memory, memory)
    messages = [e.get("message") or "" for e in stack.run_events(run_id)]
    assert any(m.startswith("[LimitedDockerRunLauncher] Run container limits:") for m in messages)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"limits/cpus": "lots"}, 'limits/cpus: "lots" is not a number of CPUs'),
        ({"limits/cpus": "-1"}, 'limits/cpus: "-1" must be a positive number'),
        ({"limits/memory": "huge"}, 'limits/memory: "huge" is not a memory size'),
    ],
)
def test_invalid_tag_is_refused_at_launch_without_a_container(
    stack: Stack, tags: dict[str, str], expected: str
) -> None:
    before = {run["runId"] for run in stack.runs({"pipelineName": "chunked_work_job"}, limit=500)}
    with pytest.raises(DagsterGraphQLClientError) as error:
        stack.launch("chunked_work_job", SMALL_CHUNKS, tags)
    kind, message = error.value.args
    assert kind == "PythonError"
    assert expected in message

    # The refused run is kept, marked FAILURE with the reason, and never got a container.
    (refused,) = [
        run for run in stack.runs({"pipelineName": "chunked_work_job"}, limit=500)
        if run["runId"] not in before
    ]
    assert refused["status"] == "FAILURE"
    assert stack.run_containers(refused["runId"]) == []
    assert expected in stack.failure_messages(refused["runId"])
    # Never retried: a retry would carry the same tags and be refused again.
    assert stack.run_tags(refused["runId"]).get("dagster/will_retry") == "false"


def _pool_sizes(stack: Stack, run_id: str) -> list[int]:
    data = stack.graphql(
        """
        query ($runId: ID!) {
          logsForRun(runId: $runId, limit: 5000) {
            ... on EventConnection { events { __typename
              ... on ExecutionStepOutputEvent { stepKey metadataEntries { label
                ... on IntMetadataEntry { intValue } } } } }
          }
        }
        """,
        {"runId": run_id},
    )
    return [
        entry["intValue"]
        for event in data["logsForRun"]["events"]
        if event["__typename"] == "ExecutionStepOutputEvent"
        and event["stepKey"].startswith("fanout_results.process_record")
        for entry in event["metadataEntries"]
        if entry["label"] == "pool_size"
    ]


@pytest.mark.parametrize(("cpus", "workers"), [("1", 1), ("1.5", 2)])
def test_workers_inside_the_run_follow_its_cpu_quota(stack: Stack, cpus: str, workers: int) -> None:
    config = {
        "ops": {
            "input_records": {"config": {"record_count": 2, "seed": 3}},
            "fanout_results": {"config": {"unit_mode": "parallel", "unit_work_ms": 10.0}},
        }
    }
    run_id = stack.launch("fanout_job", config, {"limits/cpus": cpus})
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    messages = [e.get("message") or "" for e in stack.run_events(run_id)]
    started = [m for m in messages if m.startswith("Warm pool: template pid")]
    assert started and f"steps run {workers} at a time" in started[0], started
    # The unit pool inside each record's step: as many processes as the quota allows.
    assert _pool_sizes(stack, run_id) == [workers, workers]
