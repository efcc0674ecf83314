"""Root-level only: what marks and orders the full suite. The fixtures every package's tests
share (Postgres, the markers for tests that need a service) are the stack_testing plugin's
(testing/)."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration talks to the live stack: mark it so it can be
    # selected (`-m integration`) or skipped (`-m "not integration"`). The browser tests under
    # tests/integration/ui are also `ui`. The fault suite (tests/integration/faults) restarts
    # services and kills containers: it is also `faults` and runs last, so the other tests see
    # a stack nobody has disturbed.
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/tests/integration/ui/" in path:
            item.add_marker(pytest.mark.ui)
        if "/tests/integration/faults/" in path:
            item.add_marker(pytest.mark.faults)
    items.sort(key=lambda item: "/tests/integration/faults/" in str(item.path))

