"""A run's time limit as run monitoring reads it: the run's tag, else the instance default;
the launcher marks a run over it so it is not retried."""

import pytest
from dagster_run_limits.runtime import over_runtime_limit, runtime_limit_seconds


@pytest.mark.parametrize(
    ("tags", "default", "limit"),
    [
        ({}, 21600, 21600),
        ({"dagster/max_runtime": "5"}, 21600, 5),
        ({"dagster/max_runtime_seconds": "7"}, 21600, 7),
        ({"dagster/max_runtime": "0"}, 21600, None),
        ({}, 0, None),
        ({"dagster/max_runtime": "soon"}, 21600, None),
    ],
)
def test_the_limit_comes_from_the_tag_else_the_default(
    tags: dict[str, str], default: float, limit: float | None
) -> None:
    assert runtime_limit_seconds(tags, default) == limit


def test_a_run_is_over_its_limit_only_once_past_it() -> None:
    tags = {"dagster/max_runtime": "5"}
    assert over_runtime_limit(tags, 100.0, 21600, 104.0) is None
    assert over_runtime_limit(tags, 100.0, 21600, 105.5) == 5
    assert over_runtime_limit(tags, None, 21600, 1e9) is None
