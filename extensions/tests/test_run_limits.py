"""Run tags -> container limits: parsing, defaults, clamping, rejection."""

import pytest

from dagster_run_limits import (
    CPUS_TAG,
    MEMORY_TAG,
    LimitPolicy,
    RunLimitsError,
    parse_cpus,
    parse_memory,
    resolve_run_limits,
)

MiB = 1024**2
GiB = 1024**3

POLICY = LimitPolicy.from_strings(
    default_cpus="1", default_memory="1g", max_cpus="2", max_memory="4g", pids_limit=256
)


@pytest.mark.parametrize(
    ("text", "cpus"), [("1", 1.0), ("1.5", 1.5), (" 0.25 ", 0.25), ("2.0", 2.0)]
)
def test_parse_cpus(text: str, cpus: float) -> None:
    assert parse_cpus(text) == cpus


@pytest.mark.parametrize("text", ["lots", "", "-1", "0", "nan", "inf", "1,5"])
def test_parse_cpus_refuses_with_the_tag_and_value(text: str) -> None:
    with pytest.raises(RunLimitsError, match=CPUS_TAG) as error:
        parse_cpus(text)
    assert f'"{text}"' in str(error.value)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("768m", 768 * MiB),
        ("768M", 768 * MiB),
        ("768Mi", 768 * MiB),
        ("768MB", 768 * MiB),
        ("1.5g", int(1.5 * GiB)),
        ("2Gi", 2 * GiB),
        ("1048576000", 1048576000),
        ("8192k", 8 * MiB),
    ],
)
def test_parse_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "-512m", "1.5x", "", "1 g b", "4k"])
def test_parse_memory_refuses(text: str) -> None:
    with pytest.raises(RunLimitsError, match=MEMORY_TAG):
        parse_memory(text)


def test_untagged_run_gets_the_defaults() -> None:
    limits = resolve_run_limits({}, POLICY)
    assert limits.container_kwargs() == {
        "nano_cpus": 1_000_000_000,
        "mem_limit": GiB,
        "memswap_limit": GiB,
        "pids_limit": 256,
    }
    assert limits.notes == ()


def test_tags_within_the_maximum_are_used_as_given() -> None:
    limits = resolve_run_limits({CPUS_TAG: "1.5", MEMORY_TAG: "768m"}, POLICY)
    assert limits.container_kwargs()["nano_cpus"] == 1_500_000_000
    assert limits.container_kwargs()["mem_limit"] == 768 * MiB
    assert limits.container_kwargs()["memswap_limit"] == 768 * MiB, "no swap beyond the limit"


def test_tags_above_the_maximum_are_clamped_and_say_so() -> None:
    limits = resolve_run_limits({CPUS_TAG: "8", MEMORY_TAG: "16g"}, POLICY)
    assert limits.cpus == 2.0
    assert limits.memory == 4 * GiB
    assert any("clamped" in note for note in limits.notes)
    assert "clamped" in limits.describe()


def test_tags_above_the_maximum_are_rejected_when_the_policy_says_so() -> None:
    policy = LimitPolicy.from_strings(
        default_cpus="1", default_memory="1g", max_cpus="2", max_memory="4g", over_max="reject"
    )
    with pytest.raises(RunLimitsError, match="above the operator maximum of 2"):
        resolve_run_limits({CPUS_TAG: "3"}, policy)
    with pytest.raises(RunLimitsError, match="above the operator maximum of 4 GiB"):
        resolve_run_limits({MEMORY_TAG: "5g"}, policy)


def test_no_maximum_means_no_clamp() -> None:
    policy = LimitPolicy.from_strings(
        default_cpus="1", default_memory="1g", max_cpus="", max_memory=""
    )
    limits = resolve_run_limits({CPUS_TAG: "16", MEMORY_TAG: "64g"}, policy)
    assert (limits.cpus, limits.memory) == (16.0, 64 * GiB)


def test_invalid_tag_is_refused_even_with_clamping() -> None:
    with pytest.raises(RunLimitsError, match='limits/cpus: "lots"'):
        resolve_run_limits({CPUS_TAG: "lots"}, POLICY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_cpus": "4", "max_cpus": "2"}, "default_cpus 4 is above max_cpus 2"),
        ({"default_memory": "8g", "max_memory": "4g"}, "default_memory 8 GiB is above"),
        ({"over_max": "ignore"}, 'over_max: "ignore"'),
        ({"default_cpus": "many"}, 'default_cpus: "many"'),
        ({"default_memory": "128m", "min_memory": "160m"}, "default_memory 128 MiB is below min_memory"),
        ({"max_memory": "100m", "default_memory": "100m", "min_memory": "160m"}, "is below min_memory"),
    ],
)
def test_operator_policy_errors_are_clear(kwargs: dict[str, str], message: str) -> None:
    settings = {"default_cpus": "1", "default_memory": "1g", **kwargs}
    with pytest.raises(RunLimitsError, match=message):
        LimitPolicy.from_strings(**settings)


FLOORED = LimitPolicy.from_strings(
    default_cpus="1", default_memory="1g", max_memory="4g", min_memory="160m"
)


@pytest.mark.parametrize("text", ["64m", "159m", "0.1g"])
def test_memory_below_the_floor_is_refused_with_the_floor(text: str) -> None:
    with pytest.raises(RunLimitsError) as error:
        resolve_run_limits({MEMORY_TAG: text}, FLOORED)
    assert str(error.value) == (
        f'limits/memory: "{text}" is below the 160 MiB a run worker needs to start; '
        'ask for at least "160m"'
    )


@pytest.mark.parametrize(("text", "size"), [("160m", 160 * MiB), ("1g", GiB), ("9g", 4 * GiB)])
def test_memory_at_or_above_the_floor_is_accepted(text: str, size: int) -> None:
    assert resolve_run_limits({MEMORY_TAG: text}, FLOORED).memory == size


def test_floor_tag_value_rounds_up_to_whole_mebibytes() -> None:
    from dagster_run_limits.limits import floor_tag_value

    assert floor_tag_value(160 * MiB) == "160m"
    assert floor_tag_value(160 * MiB + 1) == "161m"
