import pytest
from dagster_warm_pool.sizing import MIB, size_workers


@pytest.mark.parametrize(
    ("cpus", "limit_mib", "orchestrator_mib", "per_worker_mib", "workers", "bound"),
    [
        (2, None, 200, 64, 2, "CPU quota"),
        (2, 2048, 200, 64, 2, "CPU quota"),
        (4, 512, 200, 100, 3, "memory"),
        (4, 300, 250, 100, 1, "memory"),  # never below one
        (1, 8192, 200, 64, 1, "CPU quota"),
        (0, None, 0, 64, 1, "CPU quota"),
    ],
)
def test_workers_are_the_smaller_bound(
    cpus: int,
    limit_mib: int | None,
    orchestrator_mib: int,
    per_worker_mib: int,
    workers: int,
    bound: str,
) -> None:
    sizing = size_workers(
        cpus,
        None if limit_mib is None else limit_mib * MIB,
        orchestrator_mib * MIB,
        per_worker_mib * MIB,
    )
    assert sizing.workers == workers
    assert bound in sizing.reason


def test_reason_gives_the_arithmetic() -> None:
    sizing = size_workers(4, 512 * MIB, 200 * MIB, 100 * MIB)
    assert sizing.reason == (
        "3 by memory (memory limit 512 MiB - orchestrator 200 MiB = 312 MiB free, 100 MiB per "
        "worker); the CPU quota allows 4"
    )
