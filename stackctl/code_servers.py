"""Starting, switching and retiring a location's code server containers.

The webserver and daemon reach a location at the network alias `code-<location>`. A new
version starts beside the serving one without the alias; once healthy, the alias moves to
it in one step and Dagster's own server watch (webserver and daemon) reloads the location."""

import time
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from stackctl.code_server_spec import (
    HEALTH_PROBE,
    LOCATION_LABEL,
    ROLE_LABEL,
    STACK_LABEL,
    VERSION_LABEL,
    code_server_kwargs,
)
from stackctl.declaration import Location, code_server_host
from stackctl.settings import StackSettings

LOG_TAIL_LINES = 30


class CodeServerError(RuntimeError):
    pass


def _aliases(container: Container, network: str) -> list[str]:
    networks = container.attrs["NetworkSettings"]["Networks"] or {}
    return list((networks.get(network) or {}).get("Aliases") or [])


def version_of(container: Container) -> str:
    return container.labels.get(VERSION_LABEL, "")


class CodeServers:
    def __init__(self, client: docker.DockerClient, settings: StackSettings) -> None:
        self.client = client
        self.settings = settings

    def of_location(self, location: str) -> list[Container]:
        return self.client.containers.list(
            all=True,
            filters={"label": [f"{STACK_LABEL}={self.settings.name}", f"{ROLE_LABEL}=code-server", f"{LOCATION_LABEL}={location}"]},
        )

    def serving(self, location: str) -> Container | None:
        """The container that holds the location's alias, if any."""
        for container in self.of_location(location):
            if code_server_host(location) in _aliases(container, self.settings.network):
                return container
        return None

    def start(self, location: Location, version: str, instance_env: dict[str, str]) -> Container:
        kwargs: dict[str, Any] = code_server_kwargs(self.settings, location, version, instance_env)
        try:
            stale = self.client.containers.get(kwargs["name"])
            stale.remove(force=True)  # a leftover of an earlier, interrupted deploy
        except docker.errors.NotFound:
            pass
        container = self.client.containers.create(kwargs.pop("image"), **kwargs)
        container.start()
        return container

    def wait_healthy(self, container: Container, timeout: float = 300, probe: bool = True) -> None:
        """Until Docker reports the server healthy or (with `probe`) it answers the same
        probe run here once a second (Docker's first check comes only after
        HEALTH_INTERVAL_S); a server that exits (its code failed to load) or turns unhealthy
        raises with its last output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            container.reload()
            state = container.attrs["State"]
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy":
                return
            if state["Status"] in ("exited", "dead") or state.get("Restarting") or health == "unhealthy":
                raise CodeServerError(self._failure(container, f"exited with code {state.get('ExitCode')}"))
            if probe and state["Status"] == "running" and self._probe(container):
                return
            time.sleep(1.0)
        raise CodeServerError(self._failure(container, f"not healthy after {timeout:.0f} s"))

    def _probe(self, container: Container) -> bool:
        try:
            return container.exec_run(list(HEALTH_PROBE)).exit_code == 0
        except docker.errors.APIError:
            return False  # it stopped in between: the next State says why

    def _failure(self, container: Container, what: str) -> str:
        output = container.logs(tail=LOG_TAIL_LINES).decode(errors="replace").rstrip()
        lines = [line for line in output.splitlines() if line.strip()]
        cause = lines[-1].strip() if lines else "(no output)"
        return f"the new code server {container.name} {what}: {cause}\nIts last output:\n{output}"

    def switch(self, location: str, new: Container, old: Container | None) -> None:
        """Moves the location's alias from `old` to `new`: the new server takes requests
        first, then the old one leaves the network (its open requests end there)."""
        network = self.client.networks.get(self.settings.network)
        alias = code_server_host(location)
        network.disconnect(new)
        network.connect(new, aliases=[alias])
        if old is not None:
            network.disconnect(old)

    def retire(self, container: Container, timeout: int = 20) -> None:
        try:
            container.stop(timeout=timeout)
            container.remove()
        except docker.errors.NotFound:
            pass

    def remove_all(self) -> int:
        containers = self.client.containers.list(
            all=True, filters={"label": [f"{STACK_LABEL}={self.settings.name}", f"{ROLE_LABEL}=code-server"]}
        )
        for container in containers:
            container.remove(force=True)
        return len(containers)
