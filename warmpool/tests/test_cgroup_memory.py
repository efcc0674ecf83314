from pathlib import Path

from dagster_warm_pool.cgroup_memory import MemoryStats, mib, parse_key_values, read_memory


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_cgroup_v2(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "memory.max": "536870912\n",
            "memory.current": "104857600\n",
            "memory.peak": "209715200\n",
            "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
        },
    )
    assert read_memory(root) == MemoryStats(536870912, 104857600, 209715200, 1)


def test_cgroup_v2_unlimited_and_old_kernel(tmp_path: Path) -> None:
    root = _write(tmp_path, {"memory.max": "max\n", "memory.current": "1000\n"})
    assert read_memory(root) == MemoryStats(None, 1000, None, None)


def test_cgroup_v1(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "memory/memory.limit_in_bytes": "314572800\n",
            "memory/memory.usage_in_bytes": "4079616\n",
            "memory/memory.max_usage_in_bytes": "8079616\n",
            "memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        },
    )
    assert read_memory(root) == MemoryStats(314572800, 4079616, 8079616, 2)


def test_cgroup_v1_unlimited(tmp_path: Path) -> None:
    root = _write(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712\n"})
    assert read_memory(root).limit_bytes is None


def test_nothing_readable(tmp_path: Path) -> None:
    assert read_memory(tmp_path / "absent") == MemoryStats(None, None, None, None)


def test_helpers() -> None:
    assert parse_key_values("a 1\noom_kill 7\n", "oom_kill") == 7
    assert parse_key_values("a 1\n", "oom_kill") is None
    assert parse_key_values(None, "x") is None
    assert mib(536870912) == 512.0
    assert mib(None) is None
