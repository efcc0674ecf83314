"""Crash safety: a template that keeps dying stops the run with a clear message and leaves
no process behind; the template is never forked from a process that runs threads."""

import threading
import time

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from warm_pool_runs import (
    engine_messages,
    events,
    execute,
    pid_alive,
    step_pids,
    warm_pool_processes,
)

pytestmark = pytest.mark.timeout(180)


def test_a_template_that_keeps_dying_fails_the_run_with_the_reason(pg_instance) -> None:
    cfg = {"execution": {"config": {"max_template_restarts": 2}}}
    started = time.monotonic()
    run, _ = execute(pg_instance, J.template_killer_job, cfg)
    elapsed = time.monotonic() - started
    assert run.status == dg.DagsterRunStatus.FAILURE
    failure = events(pg_instance, run.run_id, "PIPELINE_FAILURE") or events(
        pg_instance, run.run_id, "RUN_FAILURE"
    )
    text = " ".join(
        (e.dagster_event.message or "") + str(e.dagster_event.event_specific_data) for e in failure
    ) + " ".join(engine_messages(pg_instance, run.run_id))
    assert "the template process died 3 times" in text, text[-3000:]
    assert "max_template_restarts is 2" in text
    # Each death was a step failure first, retried by the op's RetryPolicy.
    retries = events(pg_instance, run.run_id, "STEP_UP_FOR_RETRY")
    assert retries and all(
        "the template process died" in e.dagster_event.step_retry_data.error.message
        for e in retries
    )
    # Back-off between restarts, but bounded: 0.25 + 0.5 s, not minutes.
    print(f"\n[crash loop] run failed after {elapsed:.1f} s with {len(retries)} step retries")
    assert [p for p in step_pids(pg_instance, run.run_id) if pid_alive(p)] == []
    assert warm_pool_processes() == []


def test_the_template_is_not_forked_from_a_threaded_orchestrator(pg_instance) -> None:
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, name="orchestrator-side-thread", daemon=True)
    helper.start()
    try:
        run, outputs = execute(
            pg_instance, J.fan_out_job, {"ops": {"fan_out": {"config": {"chunks": 2}}}}
        )
    finally:
        stop.set()
        helper.join()
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["total"] == 1
    (started,) = [
        m for m in engine_messages(pg_instance, run.run_id) if m.startswith("Warm pool: template")
    ]
    assert "started fresh (spawn) because the run worker runs" in started, started


def test_a_thread_free_orchestrator_forks_the_template(pg_instance) -> None:
    assert threading.active_count() == 1
    run, _ = execute(pg_instance, J.simple_job)
    (started,) = [
        m for m in engine_messages(pg_instance, run.run_id) if m.startswith("Warm pool: template")
    ]
    assert "forked from the run worker" in started


def test_out_of_memory_kills_steps_first_then_the_template_never_the_orchestrator(
    pg_instance,
) -> None:
    from dagster_warm_pool.process_control import STEP_OOM_SCORE_ADJ, TEMPLATE_OOM_SCORE_ADJ

    with dg.execute_job(dg.reconstructable(J.warm_pool_oom_score_job), instance=pg_instance) as r:
        assert r.success
        scores = r.output_for_node("reads_oom_scores")
    assert scores == {"step": STEP_OOM_SCORE_ADJ, "parent": TEMPLATE_OOM_SCORE_ADJ}
    assert STEP_OOM_SCORE_ADJ > TEMPLATE_OOM_SCORE_ADJ > 0
    with open("/proc/self/oom_score_adj", encoding="utf8") as f:
        assert int(f.read()) == 0  # the orchestrator (here: the test process) is untouched
