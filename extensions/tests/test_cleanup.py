"""Exited run containers beyond the newest `keep` are removed, in one list call."""

from dagster_run_limits.cleanup import remove_old_run_containers


class _Container:
    def __init__(self, cid: str, created: int, removed: list[str]) -> None:
        self.id = cid
        self.attrs = {"Id": cid, "Created": created}
        self._removed = removed

    def remove(self) -> None:
        self._removed.append(self.id)


class _Containers:
    def __init__(self, containers: list[_Container]) -> None:
        self._containers = containers
        self.calls: list[dict] = []

    def list(self, **kwargs: object) -> list[_Container]:
        self.calls.append(kwargs)
        return list(self._containers)


class _Client:
    def __init__(self, containers: list[_Container]) -> None:
        self.containers = _Containers(containers)


def test_keeps_the_newest_and_lists_once_without_inspecting() -> None:
    removed: list[str] = []
    client = _Client([_Container(f"c{i}", created=i, removed=removed) for i in (3, 1, 4, 2, 5)])
    assert remove_old_run_containers(client, {"dagster-fanout/stack": "s"}, keep=2) == removed
    assert sorted(removed) == ["c1", "c2", "c3"]
    (call,) = client.containers.calls
    assert call["sparse"] is True
    assert call["filters"] == {"status": "exited", "label": ["dagster-fanout/stack=s"]}
