"""A live stack under its own name, driven the way a user drives it: the deployer
(`python -m stackctl`, what scripts/up.sh and scripts/deploy.sh run) and `docker compose` for
the services, GraphQL for Dagster, the Docker API for containers."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container
from stack_testing.dagster_api import FrontDoorApi

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_LABEL = "dagster-fanout/stack"
LOCATIONS = ("fanout", "warehouse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float, check: bool,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Stack(FrontDoorApi):
    name: str
    port: int
    secrets_dir: Path
    overrides: dict[str, str] = field(default_factory=dict)
    # name -> password of the front door's users (the fixture adds an admin and a viewer).
    logins: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "STACK_NAME": self.name,
            "STACK_WEBSERVER_PORT": str(self.port),
            # Own image tags, so a test build never retags the images of a stack the user runs.
            "STACK_DAGSTER_IMAGE": f"{self.name}/dagster:test",
            "DOCKER_PROXY_IMAGE": f"{self.name}/docker-proxy:test",
            # The locations' secret files: the deployer creates random ones where missing.
            "STACK_SECRETS_DIR": str(self.secrets_dir),
            **self.overrides,
        }

    def compose(
        self, *args: str, timeout: float = 600, check: bool = True, stdin: str | None = None
    ) -> str:
        command = ["docker", "compose", "--project-name", self.name, *args]
        return _run(command, REPO_ROOT, self.env, timeout, check, stdin).stdout

    def stackctl(
        self, *args: str, root: Path = REPO_ROOT, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`python -m stackctl ARGS` from `root` (a checkout: the repository or a copy)."""
        command = [sys.executable, "-m", "stackctl", *args]
        return _run(command, root, {**self.env, "PYTHONPATH": str(root)}, timeout, check)

    def up(self) -> float:
        started = time.monotonic()
        self.stackctl("up", timeout=1200)
        return time.monotonic() - started

    def down(self) -> None:
        self.stackctl("down", "--volumes", "--images", timeout=300, check=False)

    def diagnostics(self) -> str:
        ps = self.compose("ps", "--all", check=False)
        logs = self.compose("logs", "--no-color", "--tail", "150", check=False)
        servers = []
        for container in self.code_servers():
            tail = container.logs(tail=60).decode(errors="replace")
            servers.append(f"--- {container.name} ({container.status})\n{tail}")
        return f"--- docker compose ps\n{ps}\n--- docker compose logs\n{logs}\n" + "\n".join(servers)

    @property
    def host(self) -> str:
        """The front door, the stack's only published port, on this host."""
        return "127.0.0.1"

    # --- the front door ---------------------------------------------------------------------

    def add_user(self, name: str, role: str) -> str:
        """Adds a front-door user the documented way (`python -m stackctl user add`, password
        on standard input, kept in NAME.password for the stack's tools); returns its password."""
        password = f"{name}-{os.urandom(9).hex()}"
        command = [sys.executable, "-m", "stackctl", "user", "add", name, "--role", role, "--save-password"]
        _run(command, REPO_ROOT, {**self.env, "PYTHONPATH": str(REPO_ROOT)}, 60, True, stdin=password + "\n")
        self.logins[name] = password
        return password

    @property
    def ca_file(self) -> Path:
        """Caddy's internal root CA, which the deployer copies out of the front door on `up`:
        the tests verify the certificate as any client should."""
        return self.secrets_dir / "frontdoor" / f"{self.name}-ca.crt"

    # --- Docker -----------------------------------------------------------------------------

    def run_containers(self, run_id: str) -> list[Any]:
        # ignore_removed: the launcher's cleanup may remove an old container between
        # Docker's list and the inspect that docker-py does for each listed container.
        return docker.from_env().containers.list(
            all=True, filters={"label": f"dagster/run_id={run_id}"}, ignore_removed=True
        )

    def code_servers(self, location: str | None = None) -> list[Container]:
        labels = [f"{STACK_LABEL}={self.name}", "dagster-fanout/role=code-server"]
        if location:
            labels.append(f"dagster-fanout/location={location}")
        return docker.from_env().containers.list(all=True, filters={"label": labels})

    def code_server(self, location: str = "fanout") -> Container:
        """The running code server of `location` (the one serving it)."""
        running = [c for c in self.code_servers(location) if c.status == "running"]
        assert len(running) == 1, f"{location}: {len(running)} running code servers"
        return running[0]

    def serving_image(self, location: str) -> str:
        return self.code_server(location).attrs["Config"]["Image"]

    def service_container(self, service: str) -> Any:
        containers = docker.from_env().containers.list(
            filters={
                "label": [
                    f"com.docker.compose.project={self.name}",
                    f"com.docker.compose.service={service}",
                    # Only compose-created containers: run containers inherit the project and
                    # service labels from the image compose built.
                    "com.docker.compose.config-hash",
                ]
            }
        )
        assert containers, f"no running container for service {service}"
        return containers[0]

    def psql(self, sql: str) -> str:
        # The server's own POSTGRES_* variables, so this follows whatever .env sets.
        return self.compose(
            "exec", "-T", "postgres", "sh", "-c",
            'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$0"', sql,
        ).strip()
