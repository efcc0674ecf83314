"""A dead run container's Docker state -> the failure message and the retry decision."""

import pytest

from dagster_run_limits.container_death import describe_container_death, describe_missing_image

MiB = 1024**2


def test_oom_names_the_limit_and_the_tag_to_raise() -> None:
    death = describe_container_death(
        {"OOMKilled": True, "ExitCode": 137}, 64 * MiB, phase="before the run started"
    )
    assert death.cause == "oom"
    assert not death.retryable
    assert death.message.startswith(
        "Run container was OOM-killed before the run started: it needed more than its "
        "memory limit of 64 MiB (exit code 137)."
    )
    assert 'Raise the run\'s `limits/memory` tag (e.g. to "128m")' in death.message


def test_oom_without_a_known_limit_still_names_the_tag() -> None:
    death = describe_container_death({"OOMKilled": True, "ExitCode": 137}, None, phase="x")
    assert "`limits/memory`" in death.message


@pytest.mark.parametrize(("code", "name"), [(137, "SIGKILL"), (143, "SIGTERM"), (139, "SIGSEGV")])
def test_a_signal_is_named_and_retried(code: int, name: str) -> None:
    death = describe_container_death({"OOMKilled": False, "ExitCode": code}, 64 * MiB, phase="p")
    assert death.cause == "signal"
    assert death.retryable
    assert f"killed by {name} p (exit code {code})" in death.message
    assert "not by the memory limit" in death.message


@pytest.mark.parametrize("code", [0, 1, 2, 127])
def test_a_plain_exit_code_is_reported_and_retried(code: int) -> None:
    death = describe_container_death(
        {"OOMKilled": False, "ExitCode": code, "Error": ""}, None, phase="before the run started"
    )
    assert death.cause == "exit_code"
    assert death.retryable
    assert death.message == f"Run container exited with code {code} before the run started."


def test_dockers_own_error_is_quoted() -> None:
    death = describe_container_death(
        {"ExitCode": 127, "Error": 'exec: "dagster": not found'}, None, phase="p"
    )
    assert death.message.endswith('p: exec: "dagster": not found.')


def test_missing_image_is_not_retried_and_says_how_to_fix() -> None:
    death = describe_missing_image("fanout/user-code:dev")
    assert death.cause == "image_missing"
    assert not death.retryable
    assert "fanout/user-code:dev was not found" in death.message
    assert "scripts/deploy.sh" in death.message
