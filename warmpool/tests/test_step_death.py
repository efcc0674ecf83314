from dagster_warm_pool.step_death import StepDeath, describe_death, describe_oom

MIB = 1024 * 1024


def test_oom_names_the_limit_and_the_hint() -> None:
    death = StepDeath("process_record[a]", 42, -9, True, 512 * MIB, True)
    assert describe_death(death, "Raise limits/memory.") == (
        "The step process (pid 42) for process_record[a] was killed by the kernel for exceeding "
        "the container's memory limit of 512 MiB (out of memory, SIGKILL). Raise limits/memory."
    )


def test_oom_without_a_known_limit_or_pid() -> None:
    assert describe_oom("s", None, None) == (
        "The step process for s was killed by the kernel for exceeding the container's memory "
        "limit (out of memory, SIGKILL)."
    )


def test_signal_and_exit_code() -> None:
    assert describe_death(StepDeath("s", 7, -15, False, None, True)) == (
        "The step process (pid 7) for s was killed by SIGTERM without reporting a result."
    )
    assert describe_death(StepDeath("s", 7, 3, False, None, False)) == (
        "The step process (pid 7) for s exited with code 3 before the step started without "
        "reporting a result."
    )
