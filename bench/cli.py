"""`python -m bench`: run `chunked_work_job` under several executors and compare.

    python -m bench --chunks 8 --seconds 0.5 --kind sleep --repeat 3
    python -m bench --chunks 128 --seconds 0.05 --postgres-url postgresql://u:p@host/db
    python -m bench --methods warm_pool,stack --stack-url http://localhost:3000

Every non-stack measurement runs in a fresh Python process (bench.run_one) against a
real persistent instance (temp DAGSTER_HOME with sqlite, or --postgres-url), timing
the execute call only; the run's start->end from the run record is reported too.

Columns: total = wall time of the execute call (stack: launch -> SUCCESS);
work = chunks x seconds; limit = work / cores (what a perfect executor on this
container's CPUs would take); overhead = total - limit; per-step overhead =
(total x parallelism - work) / steps, i.e. the worker-slot time each step costs on top
of its work (parallelism 1 for in_process, cores otherwise; steps = chunks + 2);
efficiency = limit / total.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parent.parent
ALL_METHODS = [
    "in_process",
    "multiprocess_default",
    "multiprocess_tuned",
    "warm_pool",
    "warm_pool_no_mirror",
    "cli",
    "stack",
]
DEFAULT_METHODS = [m for m in ALL_METHODS if m != "warm_pool_no_mirror"]


@dataclass
class MethodResult:
    method: str
    totals_s: list[float] = field(default_factory=list)
    run_s: list[float] = field(default_factory=list)
    failures: int = 0
    skipped: str | None = None
    parallelism: int = 1

    def stat(self, values: list[float]) -> tuple[float | None, float | None]:
        return (min(values), statistics.median(values)) if values else (None, None)


def _cores() -> int:
    from user_code.lib.cpu_quota import container_cpu_count

    return container_cpu_count()


def _make_home(postgres_url: str | None) -> str:
    home = tempfile.mkdtemp(prefix="bench-dagster-home-")
    lines = ["telemetry:", "  enabled: false"]
    if postgres_url:
        lines += ["storage:", "  postgres:", f"    postgres_url: {json.dumps(postgres_url)}"]
    Path(home, "dagster.yaml").write_text("\n".join(lines) + "\n", encoding="utf8")
    return home


def _env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = home
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _execution_for(method: str, cores: int) -> dict | None:
    if method in ("warm_pool", "cli"):
        return {"max_concurrent": cores}
    if method == "warm_pool_no_mirror":
        return {"max_concurrent": cores, "compute_logs": "no_mirror"}
    return None


def _run_python(method: str, args, home: str, cores: int) -> tuple[bool, float, float | None]:
    spec = {
        "method": method,
        "chunks": args.chunks,
        "seconds": args.seconds,
        "kind": args.kind,
        "execution": _execution_for(method, cores),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_one", json.dumps(spec)],
        env=_env(home),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=args.timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tqdm.write(f"[{method}] failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        return False, float("nan"), None
    out = json.loads(lines[-1])
    return bool(out["success"]), float(out["wall_s"]), out.get("run_s")


def _latest_run_seconds(home: str, job_name: str) -> float | None:
    os.environ["DAGSTER_HOME"] = home
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(job_name=job_name), limit=1)
        if records and records[0].start_time and records[0].end_time:
            return records[0].end_time - records[0].start_time
    return None


def _run_cli(args, home: str, cores: int) -> tuple[bool, float, float | None]:
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
        return False, wall, None
    return True, wall, _latest_run_seconds(home, args.cli_job)


def _stack_reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/server_info", timeout=3) as resp:
            return resp.status == 200
    except Exception:
        return False


def _run_stack(args) -> tuple[bool, float, float | None]:
    from dagster_graphql import DagsterGraphQLClient

    from bench.jobs import run_config

    parsed = urllib.parse.urlparse(args.stack_url)
    client = DagsterGraphQLClient(
        parsed.hostname or "localhost",
        port_number=parsed.port,
        use_https=parsed.scheme == "https",
    )
    cfg = run_config(args.chunks, args.seconds, args.kind)
    t0 = time.perf_counter()
    run_id = client.submit_job_execution(
        args.stack_job,
        repository_location_name=args.stack_location,
        repository_name=args.stack_repository,
        run_config=cfg,
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
    return status == "SUCCESS", wall, run_s


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def _table(results: list[MethodResult], args, cores: int) -> tuple[str, list[dict]]:
    work = args.chunks * args.seconds
    limit = work / cores
    steps = args.chunks + 2
    header = (
        f"{'method':<22} | {'total s (min/med)':>17} | {'run s (min/med)':>15} | {'work s':>6} | "
        f"{'limit s':>7} | {'overhead s':>10} | {'per-step ovh ms':>15} | {'efficiency':>10}"
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
        overhead = None if tmin is None else tmin - limit
        per_step = None if tmin is None else (tmin * r.parallelism - work) / steps * 1000
        eff = None if not tmin else limit / tmin
        fail = f"  ({r.failures} failed)" if r.failures else ""
        lines.append(
            f"{r.method:<22} | {_fmt(tmin):>7} / {_fmt(tmed):<7} | {_fmt(rmin):>6} / {_fmt(rmed):<6} | "
            f"{work:>6.2f} | {limit:>7.2f} | {_fmt(overhead):>10} | {_fmt(per_step, '.1f'):>15} | "
            f"{_fmt(eff):>10}{fail}"
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
                "overhead_s": overhead,
                "per_step_overhead_ms": per_step,
                "efficiency": eff,
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--chunks", type=int, default=8)
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--kind", choices=["sleep", "cpu"], default="sleep")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), help=f"comma list of {ALL_METHODS}")
    p.add_argument("--postgres-url", default=None, help="use Postgres storage instead of sqlite")
    p.add_argument("--stack-url", default=None, help="webserver of a running stack, e.g. http://localhost:3000")
    p.add_argument("--stack-location", default="fanout")
    p.add_argument("--stack-repository", default="__repository__")
    p.add_argument("--stack-job", default="chunked_work_job")
    p.add_argument("--cli-job", default="chunked_warm_pool")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--out-dir", default=str(REPO_ROOT / "bench-results"))
    p.add_argument("--keep-home", action="store_true")
    args = p.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(ALL_METHODS)
    if unknown:
        p.error(f"unknown methods {sorted(unknown)}")
    cores = _cores()
    home = _make_home(args.postgres_url)
    results = {m: MethodResult(m, parallelism=1 if m == "in_process" else cores) for m in methods}

    if "stack" in results:
        if not args.stack_url:
            results["stack"].skipped = "no --stack-url given"
        elif not _stack_reachable(args.stack_url):
            results["stack"].skipped = f"{args.stack_url} unreachable"

    todo = [(m, i) for i in range(args.repeat) for m in methods if not results[m].skipped]
    try:
        for method, _ in tqdm(todo, desc=f"{args.chunks}x{args.seconds}s {args.kind}", unit="run"):
            if method == "cli":
                ok, wall, run_s = _run_cli(args, home, cores)
            elif method == "stack":
                ok, wall, run_s = _run_stack(args)
            else:
                ok, wall, run_s = _run_python(method, args, home, cores)
            r = results[method]
            if ok:
                r.totals_s.append(wall)
                if run_s is not None:
                    r.run_s.append(run_s)
            else:
                r.failures += 1
    finally:
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    title = f"{args.chunks} x {args.seconds}s {args.kind}, {cores} cores, {'postgres' if args.postgres_url else 'sqlite'}"
    table, rows = _table(list(results.values()), args, cores)
    print(f"\n{title}, repeat={args.repeat}\n{table}")

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {
        "chunks": args.chunks,
        "seconds": args.seconds,
        "kind": args.kind,
        "repeat": args.repeat,
        "cores": cores,
        "storage": "postgres" if args.postgres_url else "sqlite",
        "python": sys.version.split()[0],
    }
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps({"meta": meta, "results": rows}, indent=2), encoding="utf8")
    png_path = out_dir / f"{stamp}.png"
    _chart(rows, png_path, title)
    print(f"\nwrote {json_path} and {png_path}")
    return 0 if all(r.failures == 0 for r in results.values()) else 1
