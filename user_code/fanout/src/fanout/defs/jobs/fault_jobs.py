"""Jobs that go wrong on purpose, for exercising alerts and run time limits on a live stack:
`hang_job` never returns (launched with a small `dagster/max_runtime` tag, run monitoring
fails it), `fail_job` raises in its only step. Never scheduled."""

import time

import dagster as dg


class FailConfig(dg.Config):
    message: str = "fail_job failed on purpose"


@dg.op
def sleep_forever() -> None:
    while True:
        time.sleep(60)


@dg.op
def raise_error(config: FailConfig) -> None:
    raise ValueError(config.message)


@dg.job(executor_def=dg.in_process_executor, description="One op that never returns.")
def hang_job() -> None:
    sleep_forever()


@dg.job(executor_def=dg.in_process_executor, description="One op that raises ValueError.")
def fail_job() -> None:
    raise_error()
