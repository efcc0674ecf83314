from pathlib import Path

from dagster_warm_pool.run_usage import RUN_USAGE_PREFIX, RunUsage, read_run_usage


def test_read_run_usage_v1(tmp_path: Path) -> None:
    for name, text in {
        "cpuacct/cpuacct.usage": "2500000000\n",
        "memory/memory.limit_in_bytes": "536870912\n",
        "memory/memory.max_usage_in_bytes": "209715200\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    usage = read_run_usage(tmp_path)
    assert usage == RunUsage(cpu_seconds=2.5, peak_memory_mib=200.0, memory_limit_mib=512.0)
    assert usage.describe() == (
        f"{RUN_USAGE_PREFIX} CPU 2.5 s, peak memory 200 MiB of 512 MiB (the run container's cgroup)"
    )
    assert usage.metadata() == {
        "cpu_seconds": 2.5,
        "peak_memory_mib": 200.0,
        "memory_limit_mib": 512.0,
    }


def test_unknown_values_are_left_out(tmp_path: Path) -> None:
    usage = read_run_usage(tmp_path / "absent")
    assert usage.metadata() == {}
    assert "CPU unknown" in usage.describe() and "no limit" in usage.describe()
