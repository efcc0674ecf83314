from pathlib import Path

import pytest
from dagster_warm_pool.cgroup_cpu import (
    container_cpu_count,
    parse_cgroup_v1_quota,
    parse_cgroup_v2_cpu_max,
    read_cpu_quota,
    read_cpu_seconds,
    usable_cpu_count,
)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "200000 100000\n"}, 2.0),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "garbage\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        (
            {
                "cpu,cpuacct/cpu.cfs_quota_us": "300000\n",
                "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            },
            3.0,
        ),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_read_cpu_quota_from_fixture_files(
    tmp_path: Path, files: dict[str, str], quota: float | None
) -> None:
    assert read_cpu_quota(_write(tmp_path, files)) == quota


def test_parsers() -> None:
    assert parse_cgroup_v2_cpu_max("max") is None
    assert parse_cgroup_v2_cpu_max("50000 100000") == 0.5
    assert parse_cgroup_v1_quota("-1", "100000") is None
    assert parse_cgroup_v1_quota("250000", "100000") == 2.5


@pytest.mark.parametrize(
    ("quota", "affinity", "expected"),
    [
        (1.5, 4, 2),  # fractional quota rounds up
        (0.1, 4, 1),
        (8.0, 2, 2),  # affinity caps the quota
        (None, 3, 3),
        (None, 0, 1),  # never below 1
        (0.001, 0, 1),
    ],
)
def test_usable_cpu_count(quota: float | None, affinity: int, expected: int) -> None:
    assert usable_cpu_count(quota, affinity) == expected


def test_container_cpu_count_from_fixture(tmp_path: Path) -> None:
    root = _write(tmp_path, {"cpu.max": "100000 100000"})
    assert container_cpu_count(root) == 1
    assert container_cpu_count(tmp_path / "missing") >= 1


@pytest.mark.parametrize(
    ("files", "seconds"),
    [
        ({"cpu.stat": "usage_usec 2500000\nuser_usec 2000000\n"}, 2.5),
        ({"cpuacct/cpuacct.usage": "38426558\n"}, 0.038426558),
        ({"cpu,cpuacct/cpuacct.usage": "1000000000\n"}, 1.0),
        ({"cpuacct/cpuacct.usage": "bad\n"}, None),
        ({}, None),
    ],
)
def test_read_cpu_seconds(tmp_path: Path, files: dict[str, str], seconds: float | None) -> None:
    assert read_cpu_seconds(_write(tmp_path, files)) == seconds
