"""50 trivial runs launched at once: each succeeds exactly once, the runs executing at once
never exceed max_concurrent_runs, Postgres connections stay under max_connections. Prints
the throughput and where each run's time went (BENCHMARKS.md, "Burst of trivial runs")."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.burst import phase_table
from tests.integration.automation_state import set_instigator
from tests.integration.faults.burst import Sampler, run_marks, times_launched
from tests.integration.faults.deaths import TRIVIAL
from tests.integration.stack import Stack

BURST = 50


@pytest.fixture
def quiet_automation(stack: Stack) -> Iterator[None]:
    """No schedule or sensor runs competing with the burst."""
    set_instigator(stack, "fanout_schedule", running=False)
    set_instigator(stack, "records_file_sensor", running=False)
    try:
        yield
    finally:
        set_instigator(stack, "fanout_schedule", running=True)
        set_instigator(stack, "records_file_sensor", running=True)


def test_burst_of_50_trivial_runs(stack: Stack, quiet_automation: None) -> None:
    daemon_env = dict(
        item.split("=", 1) for item in stack.service_container("daemon").attrs["Config"]["Env"]
    )
    max_runs = int(daemon_env["STACK_MAX_CONCURRENT_RUNS"])
    max_connections = int(stack.psql("show max_connections"))

    with Sampler(stack) as sampler:
        with ThreadPoolExecutor(8) as pool:
            run_ids = list(pool.map(lambda _: stack.launch("chunked_work_job", TRIVIAL), range(BURST)))
        statuses = {run_id: stack.wait_for_run(run_id, timeout=900) for run_id in run_ids}
    marks = [run_marks(stack, run_id) for run_id in run_ids]
    first_queued = min(m["enqueued"] for m in marks)
    last_done = max(m["finished"] for m in marks)
    per_minute = BURST / (last_done - first_queued) * 60
    samples = sampler.samples

    print(
        f"\n[faults] burst of {BURST} trivial runs: {per_minute:.1f} runs/min "
        f"({last_done - first_queued:.1f} s from the first enqueued to the last finished); "
        f"runs executing at once: max {max(samples.in_flight)} of max_concurrent_runs "
        f"{max_runs} ({len(samples.in_flight)} samples); Postgres connections: max "
        f"{max(samples.connections)} of max_connections {max_connections} "
        f"({len(samples.connections)} samples)\n{phase_table(marks)}"
    )
    assert set(statuses.values()) == {"SUCCESS"}, {
        r: stack.failure_messages(r) for r, s in statuses.items() if s != "SUCCESS"
    }
    for run_id in run_ids:
        assert times_launched(stack, run_id) == (1, 1), f"run {run_id} did not run exactly once"
        assert stack.retries_of(run_id) == []
    assert len(samples.in_flight) >= 10 and len(samples.connections) >= 5
    assert max(samples.in_flight) <= max_runs
    assert max(samples.connections) < max_connections
