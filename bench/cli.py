"""`python -m bench`: run the user code's jobs under several executors and compare.

    POSTGRES_IMAGE=postgres:15-bookworm python -m bench --chunks 8 --seconds 0.5 --repeat 3
    python -m bench --chunks 128 --seconds 0.05 --storage sqlite
    python -m bench --workload fanout --records 16 --unit-work-ms 50
    python -m bench --methods warm_pool,stack --stack-url https://127.0.0.1:3000

Storage: by default a throwaway Postgres container from $POSTGRES_IMAGE on a random
127.0.0.1 port (removed at the end); `--postgres-url` uses an existing database;
`--storage sqlite` a temp sqlite DAGSTER_HOME.  Every non-stack measurement runs in a
fresh Python process (bench.run_one) timing the execute call only; the run's
start->end from the run record is reported too.  Methods run interleaved (one of each,
then the next repeat) so drift on the host affects them alike.

Instance: `--instance stack` (default) configures the measured processes' instance as the
stack's dagster.yaml does (Postgres storages with the warm pool's batching event log, the
file compute log manager without mirror processes); `--instance stock` uses Dagster's own
Postgres storage and LocalComputeLogManager.

Methods: in_process, multiprocess_default (forkserver-less stock multiprocess),
multiprocess_tuned (forkserver with preloads, as the stack's `multiprocess`), warm_pool
(its defaults: a fresh process forked from the template per step), warm_pool:reuse (opt-in
steps_per_worker: a forked process runs many steps), cli (`dagster job execute`, warm pool), stack (GraphQL launch
of chunked_work_job on a running stack with tags limits/cpus=2, limits/memory=2g; with
--workload fanout: fanout_job with the fanout run config and tag limits/cpus=2).

Columns: total = wall time of the execute call (stack: launch -> SUCCESS);
work = chunks x seconds; limit = work / cores (what a perfect executor on this
container's CPUs would take); overhead = total - limit; per-step overhead =
(total x parallelism - work) / steps, i.e. the worker-slot time each step costs on top
of its work (parallelism 1 for in_process, cores otherwise; steps counted from the
run's STEP_START events, chunks + 2 for cli/stack); efficiency = limit / total;
cpu s / peak MiB / limit MiB (stack only) = medians of each run's "Run resource usage:" engine
event, which the warm-pool executor writes from the run container's cgroup (CPU seconds of the
whole container, its peak memory including page cache, and its memory limit).
cpu workloads (--kind cpu, fanout) also get bench/cpu_scaling.py's bare-Python probe
(before and after the measurements): measured sequential work of the same units, their
bare 2-process split, and the per-process slowdown of 2 concurrent CPU-bound processes;
efficiency is then reported vs the nominal limit, vs measured work / cores and vs the
bare 2-process time (--no-cpu-scaling skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from bench import baseline as baseline_tree
from bench.run_usage import RUN_USAGE_PREFIX, fetch_run_usage, median_usage
from bench.stack_login import StackLogin, requests_kwargs, stack_login
from stack_testing.instance_config import stack_instance_config
from stack_testing.postgres import throwaway_postgres

REPO_ROOT = Path(__file__).resolve().parent.parent
ALL_METHODS = [
    "in_process",
    "multiprocess_default",
    "multiprocess_tuned",
    "warm_pool",
    "warm_pool:reuse",
    "warm_pool:no_template_rows",
    "warm_pool:no_narrowing",
    "cli",
    "stack",
    baseline_tree.METHOD,
]
DEFAULT_METHODS = ["in_process", "multiprocess_default", "multiprocess_tuned", "warm_pool", "cli", "stack"]
FANOUT_METHODS = {
    "stack", "in_process", "multiprocess_default", "multiprocess_tuned", "warm_pool", "warm_pool:reuse",
    "warm_pool:no_template_rows", "warm_pool:no_narrowing",
    baseline_tree.METHOD,
}  # fmt: skip
STACK_TAGS = {"limits/cpus": "2", "limits/memory": "2g"}
# fanout through the stack: fanout_job with the in-process fanout workload's run config.
STACK_FANOUT_TAGS = {"limits/cpus": "2"}


@dataclass
class MethodResult:
    method: str
    totals_s: list[float] = field(default_factory=list)
    run_s: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    failures: int = 0
    skipped: str | None = None
    parallelism: int = 1
    # stack only: each run's "Run resource usage:" figures (its container's cgroup)
    usage: list[dict[str, float]] = field(default_factory=list)

    def stat(self, values: list[float]) -> tuple[float | None, float | None]:
        return (min(values), statistics.median(values)) if values else (None, None)


def _cores() -> int:
    from dagster_warm_pool import container_cpu_count

    return container_cpu_count()


def _make_home(postgres_url: str | None, instance: str = "stack") -> str:
    home = tempfile.mkdtemp(prefix="bench-dagster-home-")
    config: dict = {"telemetry": {"enabled": False}}
    if postgres_url and instance == "stack":
        config.update(stack_instance_config(postgres_url, str(Path(home, "compute_logs"))))
    elif postgres_url:
        config["storage"] = {"postgres": {"postgres_url": postgres_url}}
    # JSON is YAML: no YAML writer needed.
    Path(home, "dagster.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf8")
    return home


def _env(home: str, tree: Path = REPO_ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = home
    # A baseline tree's own packages shadow the installed (this tree's) ones.
    packages = [] if tree == REPO_ROOT else baseline_tree.package_paths(tree)
    paths = [str(tree), *packages, env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


WARM_POOL_VARIANTS: dict[str, dict] = {
    "": {},
    "reuse": {"steps_per_worker": 1000},
    # Each optimization that rests on Dagster's private code, turned off (BENCHMARKS.md,
    # "Optimizations on private Dagster code").
    "no_template_rows": {"optimizations_off": ["template_rows"]},
    "no_narrowing": {"optimizations_off": ["narrowed_plans"]},
}


def _execution_for(method: str, cores: int) -> dict | None:
    if method in ("cli", baseline_tree.METHOD):
        return {"max_concurrent": cores}
    if method.startswith("warm_pool"):
        _, _, variant = method.partition(":")
        return {"max_concurrent": cores, **WARM_POOL_VARIANTS[variant]}
    return None


Outcome = tuple[bool, float, float | None, int | None]


def _workload_fields(args) -> dict:
    """What defines the workload: sent to each measured process and kept in the JSON."""
    return {
        "workload": args.workload,
        "chunks": args.chunks,
        "seconds": args.seconds,
        "kind": args.kind,
        "records": args.records,
        "unit_work_ms": args.unit_work_ms,
        "unit_mode": args.unit_mode,
    }


def _run_python(method: str, args, home: str, cores: int, tree: Path = REPO_ROOT) -> Outcome:
    spec = {
        "method": baseline_tree.MEASURED_METHOD if method == baseline_tree.METHOD else method,
        **_workload_fields(args),
        "execution": _execution_for(method, cores),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_one", json.dumps(spec)],
        env=_env(home, tree),
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=args.timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tqdm.write(f"[{method}] failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        return False, float("nan"), None, None
    out = json.loads(lines[-1])
    return bool(out["success"]), float(out["wall_s"]), out.get("run_s"), out.get("steps")


def _latest_run_seconds(home: str, job_name: str) -> float | None:
    os.environ["DAGSTER_HOME"] = home
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(job_name=job_name), limit=1)
        if records and records[0].start_time and records[0].end_time:
            return records[0].end_time - records[0].start_time
    return None


def _run_cli(args, home: str, cores: int) -> Outcome:
    from bench.jobs import run_config

    cfg_path = Path(home, "bench-config.yaml")
    cfg = run_config(args.chunks, args.seconds, args.kind, _execution_for("cli", cores))
    cfg_path.write_text(json.dumps(cfg), encoding="utf8")  # JSON is valid YAML
    cmd = [
        sys.executable, "-m", "dagster", "job", "execute",
        "-m", "bench.jobs", "-j", args.cli_job, "-c", str(cfg_path),
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, env=_env(home), cwd=REPO_ROOT, capture_output=True, text=True, timeout=args.timeout
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tqdm.write(f"[cli] failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        return False, wall, None, None
    return True, wall, _latest_run_seconds(home, args.cli_job), None


def _stack_reachable(url: str, login: StackLogin) -> bool:
    """The stack answers through its front door, and the login is accepted."""
    import requests

    try:
        response = requests.get(url.rstrip("/") + "/server_info", timeout=3, **requests_kwargs(login))
        return response.status_code == 200
    except Exception:
        return False


def _stack_login(args) -> StackLogin:
    return stack_login(args.stack_user, args.stack_password_file, args.stack_ca)


def _run_stack(args) -> tuple[Outcome, dict[str, float] | None]:
    from dagster_graphql import DagsterGraphQLClient
    from gql.transport.requests import RequestsHTTPTransport

    from bench.jobs import fanout_run_config, run_config

    parsed = urllib.parse.urlparse(args.stack_url)
    login = _stack_login(args)
    transport = RequestsHTTPTransport(
        url=args.stack_url.rstrip("/") + "/graphql", use_json=True, timeout=300,
        auth=login.auth, verify=login.verify,
    )
    client = DagsterGraphQLClient(parsed.hostname or "localhost", port_number=parsed.port, transport=transport)
    if args.workload == "fanout":
        job_name, tags = args.stack_fanout_job, STACK_FANOUT_TAGS
        cfg = fanout_run_config(args.records, args.unit_work_ms, args.unit_mode)
    else:
        job_name, tags = args.stack_job, STACK_TAGS
        cfg = run_config(args.chunks, args.seconds, args.kind)
    t0 = time.perf_counter()
    run_id = client.submit_job_execution(
        job_name,
        repository_location_name=args.stack_location,
        repository_name=args.stack_repository,
        run_config=cfg,
        tags=tags,
    )
    deadline = time.monotonic() + args.timeout
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    run_s = None
    try:
        data = client._execute(  # noqa: SLF001 - no public accessor for run times
            "query($id: ID!){ runOrError(runId: $id){ ... on Run { startTime endTime } } }",
            {"id": run_id},
        )
        run = data["runOrError"]
        if run.get("startTime") and run.get("endTime"):
            run_s = run["endTime"] - run["startTime"]
    except Exception:
        pass
    if status != "SUCCESS":
        tqdm.write(f"[stack] run {run_id} ended {status}")
    usage = fetch_run_usage(client._execute, run_id)  # noqa: SLF001 - as above
    if status == "SUCCESS" and usage is None:
        tqdm.write(f"[stack] run {run_id} has no '{RUN_USAGE_PREFIX}' event (not the warm pool?)")
    return (status == "SUCCESS", wall, run_s, None), usage


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def _work_and_steps(args) -> tuple[float, int]:
    if args.workload == "fanout":
        from bench.jobs import fanout_work_seconds

        return fanout_work_seconds(args.records, args.unit_work_ms), args.records + 4
    return args.chunks * args.seconds, args.chunks + 2


def _table(results: list[MethodResult], args, cores: int) -> tuple[str, list[dict]]:
    work, default_steps = _work_and_steps(args)
    limit = work / cores
    header = (
        f"{'method':<22} | {'total s (min/med)':>17} | {'run s (min/med)':>15} | {'work s':>6} | "
        f"{'limit s':>7} | {'overhead s':>10} | {'steps':>5} | {'per-step ovh ms':>15} | {'efficiency':>10} | "
        f"{'cpu s':>6} | {'peak MiB':>8} | {'limit MiB':>9}"
    )
    lines = [header, "-" * len(header)]
    rows = []
    for r in results:
        if r.skipped:
            lines.append(f"{r.method:<22} | skipped: {r.skipped}")
            rows.append({"method": r.method, "skipped": r.skipped})
            continue
        tmin, tmed = r.stat(r.totals_s)
        rmin, rmed = r.stat(r.run_s)
        steps = max(r.steps) if r.steps else default_steps
        overhead = None if tmin is None else tmin - limit
        per_step = None if tmin is None else (tmin * r.parallelism - work) / steps * 1000
        eff = None if not tmin else limit / tmin
        fail = f"  ({r.failures} failed)" if r.failures else ""
        # Run resource usage (stack): medians over the runs, from each run container's cgroup.
        usage = median_usage(r.usage)
        lines.append(
            f"{r.method:<22} | {_fmt(tmin):>7} / {_fmt(tmed):<7} | {_fmt(rmin):>6} / {_fmt(rmed):<6} | "
            f"{work:>6.2f} | {limit:>7.2f} | {_fmt(overhead):>10} | {steps:>5} | {_fmt(per_step, '.1f'):>15} | "
            f"{_fmt(eff):>10} | {_fmt(usage.get('cpu_seconds')):>6} | "
            f"{_fmt(usage.get('peak_memory_mib'), '.0f'):>8} | {_fmt(usage.get('memory_limit_mib'), '.0f'):>9}{fail}"
        )
        rows.append(
            {
                **asdict(r),
                "total_min_s": tmin,
                "total_median_s": tmed,
                "run_min_s": rmin,
                "run_median_s": rmed,
                "work_s": work,
                "limit_s": limit,
                "step_count": steps,
                "overhead_s": overhead,
                "per_step_overhead_ms": per_step,
                "efficiency": eff,
                "cpu_seconds_median": usage.get("cpu_seconds"),
                "peak_memory_mib_median": usage.get("peak_memory_mib"),
                "memory_limit_mib_median": usage.get("memory_limit_mib"),
            }
        )
    return "\n".join(lines), rows


def _chart(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.get("total_min_s") is not None]
    if not rows:
        return
    names = [r["method"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(rows)), 4.5))
    ax.bar(names, [r["total_median_s"] for r in rows], label="total (median)", color="#8fb3d9")
    ax.bar(names, [r["total_min_s"] for r in rows], label="total (min)", color="#3b6ea5", width=0.5)
    ax.axhline(rows[0]["limit_s"], color="#c0392b", linestyle="--", label="2-core limit" if rows[0]["limit_s"] else "limit")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.legend()
    plt.xticks(rotation=20, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _is_cpu(args) -> bool:
    return args.workload == "fanout" or args.kind == "cpu"


def _cpu_scaling(args) -> dict | None:
    """bench.cpu_scaling in a fresh process (no Dagster): measured work and 2-process limit."""
    spec = {
        "workload": args.workload, "chunks": args.chunks, "seconds": args.seconds,
        "records": args.records, "unit_work_ms": args.unit_work_ms,
    }  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cpu_scaling", json.dumps(spec)],
        env=_env(tempfile.gettempdir()), cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=args.timeout,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tqdm.write(f"[cpu_scaling] failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")
        return None
    return json.loads(lines[-1])


def _merge_scaling(samples: list[dict]) -> dict | None:
    if not samples:
        return None
    out = {k: min(s[k] for s in samples) for k in ("sequential_s", "bare_split_s", "alone_s")}
    out["concurrent_s"] = min(s["concurrent_s"] for s in samples)
    out["slowdown"] = min(s["slowdown"] for s in samples)
    out["configured_work_s"] = samples[0]["configured_work_s"]
    out["samples"] = samples
    return out


def _scaling_report(scaling: dict, rows: list[dict], cores: int) -> str:
    work = scaling["configured_work_s"]
    seq = scaling["sequential_s"]
    bare = scaling["bare_split_s"]
    lines = [
        "cpu scaling (bare Python, no Dagster; min over samples):",
        f"  1 process alone {scaling['alone_s']:.2f} s; 2 at once {scaling['concurrent_s']:.2f} s each "
        f"-> slowdown x{scaling['slowdown']:.2f} per process",
        f"  configured work {work:.2f} s; measured sequential work (same units, 1 process) {seq:.2f} s "
        f"(x{seq / work:.2f} of configured)",
        f"  bare 2-process split of the same units: {bare:.2f} s (nominal limit {seq / cores:.2f} s; "
        f"bare efficiency {seq / cores / bare:.2f})",
        "",
        f"{'method':<22} | {'total min s':>11} | {'eff vs nominal':>14} | {'eff vs measured/2':>17} | {'eff vs bare 2-proc':>18}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in rows:
        tmin = r.get("total_min_s")
        if not tmin:
            continue
        par = r.get("parallelism", cores)
        lines.append(
            f"{r['method']:<22} | {tmin:>11.2f} | {work / cores / tmin:>14.2f} | "
            f"{seq / cores / tmin:>17.2f} | {bare / tmin:>18.2f}" + ("   (1 slot)" if par == 1 else "")
        )
        r["efficiency_vs_measured_work"] = seq / cores / tmin
        r["efficiency_vs_bare_2proc"] = bare / tmin
    return "\n".join(lines)


def _measure(
    results: dict[str, MethodResult],
    args,
    home: str,
    cores: int,
    baseline: tuple[Path, str] | None = None,
) -> None:
    """`baseline`: (tree, DAGSTER_HOME) of the --baseline commit's method."""
    todo = [(m, i) for i in range(args.repeat) for m in results if not results[m].skipped]
    label = (
        f"fanout {args.records} rec x {args.unit_work_ms}ms units"
        if args.workload == "fanout"
        else f"{args.chunks}x{args.seconds}s {args.kind}"
    )
    for method, _ in tqdm(todo, desc=label, unit="run"):
        if method == "cli":
            ok, wall, run_s, steps = _run_cli(args, home, cores)
        elif method == "stack":
            (ok, wall, run_s, steps), usage = _run_stack(args)
            if ok and usage:
                results[method].usage.append(usage)
        elif method == baseline_tree.METHOD and baseline:
            tree, baseline_home = baseline
            ok, wall, run_s, steps = _run_python(method, args, baseline_home, cores, tree)
        else:
            ok, wall, run_s, steps = _run_python(method, args, home, cores)
        r = results[method]
        if ok:
            r.totals_s.append(wall)
            if run_s is not None:
                r.run_s.append(run_s)
            if steps:
                r.steps.append(steps)
        else:
            r.failures += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", choices=["chunked", "fanout"], default="chunked")
    p.add_argument("--chunks", type=int, default=8)
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--kind", choices=["sleep", "cpu"], default="sleep")
    p.add_argument("--records", type=int, default=16, help="fanout: records (10-30 units each)")
    p.add_argument("--unit-work-ms", type=float, default=50.0, help="fanout: CPU work per unit")
    p.add_argument("--unit-mode", choices=["sequential", "parallel"], default="sequential")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--methods", default=None, help=f"comma list of {ALL_METHODS}")
    p.add_argument("--storage", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument(
        "--instance",
        choices=["stack", "stock"],
        default="stack",
        help="stack: the instance classes the stack configures; stock: Dagster's own",
    )
    p.add_argument("--postgres-url", default=None, help="existing database instead of a container")
    p.add_argument("--postgres-image", default=None, help="default $POSTGRES_IMAGE or postgres:15-bookworm")
    p.add_argument("--stack-url", default=None, help="front door of a running stack, e.g. https://127.0.0.1:3000")
    p.add_argument("--stack-user", default=None, help="front-door login (default $STACK_FRONTDOOR_USER or admin)")
    p.add_argument(
        "--stack-password-file", default=None,
        help="the login's password (default $STACK_SECRETS_DIR/frontdoor/USER.password)",
    )
    p.add_argument(
        "--stack-ca", default=None,
        help="CA of the front door's certificate (default $STACK_SECRETS_DIR/frontdoor/$STACK_NAME-ca.crt)",
    )
    p.add_argument("--stack-location", default="fanout")
    p.add_argument("--stack-repository", default="__repository__")
    p.add_argument("--stack-job", default="chunked_work_job")
    p.add_argument("--stack-fanout-job", default="fanout_job", help="fanout workload: job launched on the stack")
    p.add_argument("--cli-job", default="chunked_warm_pool")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--out-dir", default=str(REPO_ROOT / "bench-results"))
    p.add_argument("--keep-home", action="store_true")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="GIT_REF",
        help="also measure that commit's warm_pool (method `baseline`), side by side",
    )
    p.add_argument("--no-cpu-scaling", action="store_true", help="cpu workloads: skip the bare-Python scaling probe")
    args = p.parse_args(argv)

    if args.methods is None:
        methods = DEFAULT_METHODS if args.workload == "chunked" else ["in_process", "multiprocess_tuned", "warm_pool"]
    else:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.baseline and baseline_tree.METHOD not in methods:
        methods.append(baseline_tree.METHOD)
    if baseline_tree.METHOD in methods and not args.baseline:
        p.error(f"method {baseline_tree.METHOD} needs --baseline GIT_REF")
    unknown = set(methods) - set(ALL_METHODS)
    if unknown:
        p.error(f"unknown methods {sorted(unknown)}")
    if args.workload == "fanout" and set(methods) - FANOUT_METHODS:
        p.error(f"fanout workload supports {sorted(FANOUT_METHODS)}")
    cores = _cores()
    results = {m: MethodResult(m, parallelism=1 if m == "in_process" else cores) for m in methods}
    if methods == ["stack"]:
        args.storage = "none"  # nothing local to store; don't start a database
    if "stack" in results:
        if not args.stack_url:
            results["stack"].skipped = "no --stack-url given"
        elif not _stack_reachable(args.stack_url, _stack_login(args)):
            results["stack"].skipped = f"{args.stack_url} unreachable"

    with contextlib.ExitStack() as stack:
        postgres_url = None
        if args.storage == "postgres":
            postgres_url = args.postgres_url or stack.enter_context(
                throwaway_postgres(args.postgres_image)
            )
        home = _make_home(postgres_url, args.instance)  # sqlite unless postgres_url
        baseline = None
        if args.baseline:
            tree = stack.enter_context(baseline_tree.extracted_tree(REPO_ROOT, args.baseline))
            baseline_home = _make_home(postgres_url, baseline_tree.instance_of(tree, args.instance))
            stack.callback(shutil.rmtree, baseline_home, ignore_errors=True)
            baseline = (tree, baseline_home)
        scaling_samples = []
        try:
            if _is_cpu(args) and not args.no_cpu_scaling:
                scaling_samples += filter(None, [_cpu_scaling(args)])
            _measure(results, args, home, cores, baseline)
            if _is_cpu(args) and not args.no_cpu_scaling:
                scaling_samples += filter(None, [_cpu_scaling(args)])
        finally:
            if not args.keep_home:
                shutil.rmtree(home, ignore_errors=True)

    workload = (
        f"fanout {args.records} records x {args.unit_work_ms} ms cpu units ({args.unit_mode})"
        if args.workload == "fanout"
        else f"{args.chunks} x {args.seconds}s {args.kind}"
    )
    # The stack method always runs on the stack's own Postgres, whatever --storage says.
    storage = "stack" if methods == ["stack"] else args.storage
    title = f"{workload}, {cores} cores, {storage}"
    if args.baseline:
        title += f"; baseline = {baseline_tree.describe(REPO_ROOT, args.baseline)}"
    table, rows = _table(list(results.values()), args, cores)
    print(f"\n{title}, repeat={args.repeat}\n{table}")
    scaling = _merge_scaling(scaling_samples)
    if scaling:
        scaling_table = _scaling_report(scaling, rows, cores)
        print(f"\n{scaling_table}")
        table = f"{table}\n\n{scaling_table}"

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {
        **_workload_fields(args),
        "repeat": args.repeat,
        "cores": cores,
        "storage": storage,
        "instance": args.instance,
        "baseline": baseline_tree.describe(REPO_ROOT, args.baseline) if args.baseline else None,
        "postgres_image": (args.postgres_image or os.environ.get("POSTGRES_IMAGE")) if args.storage == "postgres" else None,
        "python": sys.version.split()[0],
        "title": title,
        "cpu_scaling": scaling,
    }
    json_path = out_dir / f"{stamp}-{args.workload}.json"
    json_path.write_text(json.dumps({"meta": meta, "table": table, "results": rows}, indent=2), encoding="utf8")
    png_path = out_dir / f"{stamp}-{args.workload}.png"
    _chart(rows, png_path, title)
    print(f"\nwrote {json_path} and {png_path}")
    return 0 if all(r.failures == 0 for r in results.values()) else 1
