import pytest

from fanout.lib.chunks import batch, plan_chunks, run_chunk


def test_plan_and_batch() -> None:
    chunks = plan_chunks(10, 0.0, "sleep")
    assert [c.index for c in chunks] == list(range(10))
    assert [len(b) for b in batch(chunks, 4)] == [4, 4, 2]
    assert [c for b in batch(chunks, 3) for c in b] == chunks


@pytest.mark.parametrize(("count", "seconds", "size"), [(0, 1.0, 1), (1, -1.0, 1), (1, 1.0, 0)])
def test_bad_plans_refused(count: int, seconds: float, size: int) -> None:
    with pytest.raises(ValueError):
        batch(plan_chunks(count, seconds, "sleep"), size)


def test_run_chunk_sleeps_about_its_seconds() -> None:
    result = run_chunk(plan_chunks(1, 0.05, "sleep")[0])
    # Only the lower bound holds on a loaded machine.
    assert result.work_s >= 0.05
