import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration talks to the live stack: mark it so it can be
    # selected (`-m integration`) or skipped (`-m "not integration"`).
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
