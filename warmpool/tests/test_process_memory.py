import os

from dagster_warm_pool.process_control import os_thread_count
from dagster_warm_pool.process_memory import parse_status_kib, resident_bytes


def test_parse_status() -> None:
    text = "Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
    assert parse_status_kib(text, "VmRSS") == 1024 * 1024
    assert parse_status_kib(text, "VmHWM") == 2048 * 1024
    assert parse_status_kib(text, "VmSwap") is None


def test_this_process() -> None:
    rss = resident_bytes()
    assert rss is not None and rss > 10 * 1024 * 1024
    assert resident_bytes(os.getpid()) is not None
    assert resident_bytes(2**22 + 7) is None  # no such pid
    assert os_thread_count() >= 1


def test_private_memory_of_a_fork_is_what_it_adds() -> None:
    import time

    from dagster_warm_pool.process_memory import private_bytes

    mine = private_bytes()
    assert mine is not None and mine > 1024 * 1024
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child adds 64 MiB of its own, then reports and waits
        held = b"\x5a" * (64 * 1024 * 1024)
        os.write(write, b"x")
        time.sleep(5)
        del held
        os._exit(0)
    try:
        os.read(read, 1)
        child = private_bytes(pid)
        assert child is not None and 60 * 1024 * 1024 < child < mine + 80 * 1024 * 1024
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
