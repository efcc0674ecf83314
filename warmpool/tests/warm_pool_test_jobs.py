"""Test-only jobs for the warm-pool executor.

Defined at module level so they are reconstructable (`reconstructable(job)`),
which every out-of-process executor needs.  Behaviour that a test must steer
(fail once, sleep, die) is passed through op config, with marker files in a
test-owned tmp dir.
"""

import os
import time

import dagster as dg
from dagster_warm_pool import warm_pool_executor

# --------------------------------------------------------------------------
# Fan-out: plan -> N x work -> collect
# --------------------------------------------------------------------------


class FanOutConfig(dg.Config):
    chunks: int = 4
    seconds: float = 0.0


@dg.op(out=dg.DynamicOut(int))
def fan_out(config: FanOutConfig):
    for i in range(config.chunks):
        yield dg.DynamicOutput(i, mapping_key=f"c{i}")


class SquareConfig(dg.Config):
    seconds: float = 0.0


@dg.op
def square(config: SquareConfig, x: int) -> int:
    if config.seconds:
        time.sleep(config.seconds)
    return x * x


@dg.op
def total(values: list[int]) -> int:
    return sum(values)


@dg.job(executor_def=warm_pool_executor)
def fan_out_job():
    total(fan_out().map(square).collect())


@dg.op
def increment(x: int) -> int:
    return x + 1


@dg.op
def scale(x: int, factor: int) -> int:
    return x * factor


@dg.job(executor_def=warm_pool_executor)
def two_fan_outs_job():
    """Two dynamic outputs with the same mapping keys (c0, c1, ...), a mapped chain over the
    first, and a mapped step that also reads the collected second: the shapes a step's
    narrowed known state must still plan exactly as the full one does."""
    factor = total.alias("total_b")(fan_out.alias("fan_out_b")().map(square).collect())
    squares = fan_out.alias("fan_out_a")().map(square)
    total(squares.map(increment).map(lambda x: scale(x, factor)).collect())


# --------------------------------------------------------------------------
# Simple linear job
# --------------------------------------------------------------------------


@dg.op
def one() -> int:
    return 1


@dg.op
def add_one(x: int) -> int:
    return x + 1


@dg.job(executor_def=warm_pool_executor)
def simple_job():
    add_one(add_one(one()))


# --------------------------------------------------------------------------
# Failure / retry
# --------------------------------------------------------------------------


@dg.op
def always_fails() -> int:
    raise ValueError("boom from always_fails")


@dg.op
def downstream_of_failure(x: int) -> int:
    return x


@dg.job(executor_def=warm_pool_executor)
def failing_job():
    downstream_of_failure(always_fails())


class MarkerConfig(dg.Config):
    marker_dir: str


def _fail_first_time(marker_dir: str, name: str) -> int:
    """Raise on the first call for `name`; count attempts in a file."""
    counter = os.path.join(marker_dir, f"{name}.attempts")
    attempts = 0
    if os.path.exists(counter):
        with open(counter, encoding="utf8") as f:
            attempts = int(f.read() or 0)
    attempts += 1
    with open(counter, "w", encoding="utf8") as f:
        f.write(str(attempts))
    if attempts == 1:
        raise RuntimeError(f"{name}: failing on first attempt")
    return attempts


@dg.op(retry_policy=dg.RetryPolicy(max_retries=2))
def flaky_op_policy(config: MarkerConfig) -> int:
    return _fail_first_time(config.marker_dir, "flaky_op_policy")


@dg.job(executor_def=warm_pool_executor)
def retry_policy_job():
    flaky_op_policy()


@dg.op
def flaky_op_retry_requested(config: MarkerConfig) -> int:
    try:
        return _fail_first_time(config.marker_dir, "flaky_op_retry_requested")
    except RuntimeError as e:
        raise dg.RetryRequested(max_retries=1) from e


@dg.job(executor_def=warm_pool_executor)
def retry_requested_job():
    flaky_op_retry_requested()


# --------------------------------------------------------------------------
# Concurrency: each step records (pid, start, end) into a file
# --------------------------------------------------------------------------


class SpanConfig(dg.Config):
    marker_dir: str
    seconds: float = 0.3


def _record_span(marker_dir: str, name: str, seconds: float) -> None:
    start = time.time()
    time.sleep(seconds)
    end = time.time()
    with open(os.path.join(marker_dir, f"{name}.span"), "w", encoding="utf8") as f:
        f.write(f"{os.getpid()} {start} {end}")


def _span_op(name: str, tags=None):
    @dg.op(name=name, tags=tags or {})
    def _op(config: SpanConfig) -> None:
        _record_span(config.marker_dir, name, config.seconds)

    return _op


span_a = _span_op("span_a", {"database": "tiny"})
span_b = _span_op("span_b", {"database": "tiny"})
span_c = _span_op("span_c", {"database": "tiny"})
span_d = _span_op("span_d")


@dg.job(executor_def=warm_pool_executor)
def parallel_spans_job():
    span_a()
    span_b()
    span_c()
    span_d()


# --------------------------------------------------------------------------
# Termination and worker death
# --------------------------------------------------------------------------


class SleepConfig(dg.Config):
    marker_dir: str
    seconds: float = 60.0


@dg.op
def long_sleep(config: SleepConfig) -> None:
    with open(os.path.join(config.marker_dir, "long_sleep.started"), "w", encoding="utf8") as f:
        f.write(str(os.getpid()))
    time.sleep(config.seconds)
    with open(os.path.join(config.marker_dir, "long_sleep.finished"), "w", encoding="utf8") as f:
        f.write("done")


@dg.job(executor_def=warm_pool_executor)
def long_sleep_job():
    long_sleep()


class DieConfig(dg.Config):
    marker_dir: str
    always: bool = True


def _maybe_die(config: DieConfig) -> int:
    marker = os.path.join(config.marker_dir, "dies.once")
    if config.always or not os.path.exists(marker):
        with open(marker, "w", encoding="utf8") as f:
            f.write(str(os.getpid()))
        os._exit(17)  # simulates an OOM kill / hard crash of the worker
    return os.getpid()


@dg.op
def dies(config: DieConfig) -> int:
    return _maybe_die(config)


@dg.op
def survivor() -> int:
    return os.getpid()


@dg.job(executor_def=warm_pool_executor)
def worker_death_job():
    dies()
    survivor()


@dg.op(retry_policy=dg.RetryPolicy(max_retries=1))
def dies_once(config: DieConfig) -> int:
    return _maybe_die(config)


@dg.job(executor_def=warm_pool_executor)
def worker_death_retry_job():
    dies_once()


# --------------------------------------------------------------------------
# Compute logs: what a step prints must reach the captured log files
# --------------------------------------------------------------------------


@dg.op
def prints_both() -> int:
    import sys

    print("hello-stdout from prints_both", flush=True)
    print("hello-stderr from prints_both", file=sys.stderr, flush=True)
    # fd-level output (subprocesses, C code); sys.stdout.fileno() as pytest may swap fd 1
    os.write(sys.stdout.fileno(), b"raw-fd-write from prints_both\n")
    return 1


@dg.op
def prints_after(x: int) -> int:
    print(f"second step got {x}", flush=True)
    return x + 1


@dg.job(executor_def=warm_pool_executor)
def printing_job():
    prints_after(prints_both())


# --------------------------------------------------------------------------
# Event batching: plain events, log messages and asset events in one step
# --------------------------------------------------------------------------


@dg.op(out=dg.DynamicOut(int))
def fan_out_logged(config: FanOutConfig):
    for i in range(config.chunks):
        yield dg.DynamicOutput(i, mapping_key=f"c{i}")


@dg.op
def logs_and_materializes(context: dg.OpExecutionContext, x: int) -> int:
    context.log.info(f"before materialization {x}")
    context.log_event(dg.AssetMaterialization(asset_key=f"batched_asset_{x}", metadata={"x": x}))
    context.log.info(f"after materialization {x}")
    return x


@dg.job(executor_def=warm_pool_executor)
def batching_job():
    total(fan_out_logged().map(logs_and_materializes).collect())


# --------------------------------------------------------------------------
# Isolation: what one step changes must not reach the next
# --------------------------------------------------------------------------

LEAKY_GLOBALS: dict[str, object] = {}
_HOLD: list[bytes] = []


class IsolationConfig(dg.Config):
    marker_dir: str
    memory_mib: int = 200


@dg.op
def pollute(config: IsolationConfig) -> int:
    import json
    import signal
    import threading

    from dagster_warm_pool.process_memory import resident_bytes

    LEAKY_GLOBALS["value"] = "set by pollute"
    os.environ["WARM_POOL_LEAK"] = "set by pollute"
    os.chdir(config.marker_dir)
    signal.signal(signal.SIGUSR1, lambda *_: None)
    threading.Thread(target=time.sleep, args=(600,), name="leaky-thread", daemon=True).start()
    _HOLD.append(b"\x5a" * (config.memory_mib * 1024 * 1024))
    with open(os.path.join(config.marker_dir, "pollute.json"), "w", encoding="utf8") as f:
        json.dump({"pid": os.getpid(), "rss": resident_bytes()}, f)
    return 1


@dg.op
def inspect_state(config: IsolationConfig, _after: int) -> int:
    import json
    import signal
    import threading

    from dagster_warm_pool.process_control import os_thread_count
    from dagster_warm_pool.process_memory import resident_bytes

    seen = {
        "pid": os.getpid(),
        "global": LEAKY_GLOBALS.get("value"),
        "env": os.environ.get("WARM_POOL_LEAK"),
        "cwd": os.getcwd(),
        "sigusr1_default": signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL,
        "threads": [t.name for t in threading.enumerate()],
        "os_threads": os_thread_count(),
        "held": len(_HOLD),
        "rss": resident_bytes(),
    }
    with open(os.path.join(config.marker_dir, "inspect.json"), "w", encoding="utf8") as f:
        json.dump(seen, f)
    return 2


@dg.job(executor_def=warm_pool_executor)
def isolation_job():
    inspect_state(pollute())


# --------------------------------------------------------------------------
# Crash safety: a step that kills the template it was forked from
# --------------------------------------------------------------------------


@dg.op(retry_policy=dg.RetryPolicy(max_retries=5))
def kills_its_template() -> int:
    import signal

    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)  # the parent-death signal ends this process too
    return 0


@dg.job(executor_def=warm_pool_executor)
def template_killer_job():
    kills_its_template()


# --------------------------------------------------------------------------
# The same crash on Dagster's own multiprocess executor (the package's explaining variant)
# --------------------------------------------------------------------------

from dagster_warm_pool import multiprocess_executor  # noqa: E402


@dg.job(executor_def=multiprocess_executor)
def stock_worker_death_job():
    dies()
    survivor()


@dg.op
def reads_its_oom_score() -> int:
    """This step process's oom_score_adj as its op starts: raised already, before the op could
    allocate anything."""
    with open("/proc/self/oom_score_adj", encoding="utf8") as f:
        return int(f.read())


@dg.job(executor_def=multiprocess_executor)
def stock_oom_score_job():
    reads_its_oom_score()


@dg.op
def reads_oom_scores() -> dict:
    """This step process's oom_score_adj and its parent's (the template it was forked from)."""

    def adj(pid: str) -> int:
        with open(f"/proc/{pid}/oom_score_adj", encoding="utf8") as f:
            return int(f.read())

    return {"step": adj("self"), "parent": adj(str(os.getppid()))}


@dg.job(executor_def=warm_pool_executor)
def warm_pool_oom_score_job():
    reads_oom_scores()
