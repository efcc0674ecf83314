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
