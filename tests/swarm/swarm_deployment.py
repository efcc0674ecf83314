"""The stack deployed on a real multi-node Swarm, the documented way (docs/swarm.md): images
built from this tree, pushed to the swarm's registry and pinned by digest, the stack files
rendered by `python -m stackctl swarm render`, then `docker stack deploy` on the manager."""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from stack_testing.dagster_api import ADMIN_USER, VIEWER_USER, FrontDoorApi
from stack_testing.objectstore import build_objectstore_image
from stackctl.declaration import declared_locations
from stackctl.frontdoor import CA_IN_CONTAINER, tools_login, users_file
from stackctl.images import build, version_of
from stackctl.settings import load_settings
from stack_testing.swarm_cluster import SwarmCluster

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGER = "node1"
WEBHOOK_FILE = "alert_webhook_url"
WEBHOOK_URL = "http://127.0.0.1:9/alerts"
# The front door's port on the manager, the stack's only published port.
FRONTDOOR_PORT = 3000


def _build_location(env: dict[str, str], name: str) -> str:
    """The location's image, built as `scripts/deploy.sh` builds it; its tag."""
    settings = load_settings(environ=env)
    client = docker.from_env()
    (location,) = [loc for loc in declared_locations(REPO_ROOT, settings.env) if loc.name == name]
    return build(client, settings, location, version_of(client, settings, location), log=lambda _: None)


def _run(command: list[str], env: dict[str, str], timeout: float = 1200, stdin: str | None = None) -> str:
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class SwarmDeployment(FrontDoorApi):
    cluster: SwarmCluster
    name: str
    overrides: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    port: int = FRONTDOOR_PORT

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "STACK_NAME": self.name, **self.overrides, "PYTHONPATH": str(REPO_ROOT)}
        env["STACK_SECRETS_DIR"] = str(self.secrets_dir)
        return env

    @property
    def secrets_dir(self) -> Path:
        return Path(tempfile.gettempdir()) / f"{self.name}-secrets"

    # --- deploy -------------------------------------------------------------------------

    def build_images(self) -> dict[str, str]:
        """The one-host build, unchanged: the Dagster and proxy images from the compose file,
        the fanout location's image from stackctl; Postgres and the object store as provisioned."""
        env = self.env
        _run(["docker", "compose", "--project-name", self.name, "build", "pgpass", "docker-proxy", "frontdoor"], env)
        location_image = _build_location(env, "fanout")
        return {
            "dagster": env.get("STACK_DAGSTER_IMAGE") or f"{self.name}/dagster:swarm",
            "docker-proxy": env.get("DOCKER_PROXY_IMAGE") or f"{self.name}/docker-proxy:swarm",
            "frontdoor": env.get("FRONTDOOR_IMAGE") or f"{self.name}/frontdoor:dev",
            "postgres": env["POSTGRES_IMAGE"],
            "objectstore": build_objectstore_image(f"{self.name}/objectstore:swarm"),
            "fanout": location_image,
        }

    def add_user(self, name: str, role: str) -> str:
        """A front-door user, added as on one host (`python -m stackctl user add`, the password
        on standard input); it reaches the swarm with the next render and deploy."""
        password = f"{name}-{os.urandom(9).hex()}"
        _run([sys.executable, "-m", "stackctl", "user", "add", name, "--role", role], self.env, stdin=password + "\n")
        self.logins[name] = password
        return password

    def deploy(self) -> None:
        """docs/swarm.md's steps: users, images into the swarm's registry, render, deploy."""
        # The internal certificate names the address the tests (and a browser) dial.
        self.overrides["STACK_FRONTDOOR_HOSTS"] = f"{MANAGER} {self.cluster.node_ip(MANAGER)}"
        _run([sys.executable, "-m", "stackctl", "user", "init"], self.env)
        self.add_user(VIEWER_USER, "viewer")
        # The fanout location's operator secret, filled in as an operator would: a closed
        # port, so an alert is refused at once rather than sent anywhere.
        hook = self.secrets_dir / "fanout" / WEBHOOK_FILE
        hook.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        hook.write_text(WEBHOOK_URL)
        started = time.monotonic()
        local = self.build_images()
        self.timings["build_s"] = time.monotonic() - started
        started = time.monotonic()
        self.images = {key: self.cluster.distribute(image) for key, image in local.items()}
        self.timings["distribute_s"] = time.monotonic() - started
        started = time.monotonic()
        self.render_and_deploy()
        self.wait_ready()
        self.timings["deploy_to_ready_s"] = time.monotonic() - started

    def render_and_deploy(self) -> None:
        """Render from this tree and the pushed images' digests, then `docker stack deploy` on
        the manager: the first deploy and every upgrade alike."""
        out = Path(tempfile.mkdtemp(prefix=f"{self.name}-swarm-"))
        (out / "images.json").write_text(json.dumps(self.images))
        _run(
            [sys.executable, "-m", "stackctl", "swarm", "render", "--images", str(out / "images.json"),
             "--out", str(out / "stack"), "--port", str(self.port)],
            self.env,
        )  # fmt: skip
        login = tools_login(load_settings(environ=self.env))
        assert login and login.user == ADMIN_USER, f"no first admin in {users_file(load_settings(environ=self.env)).path}"
        self.logins[ADMIN_USER] = login.password
        self.cluster.exec(MANAGER, "rm", "-rf", "/stack")
        self.cluster.copy_to(MANAGER, out / "stack", "/stack")
        self.cluster.exec(MANAGER, "docker", "stack", "deploy", "--compose-file", "/stack/stack.yml", self.name)

    def wait_ready(self, timeout: float = 420) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                self.copy_ca()
                data = self.graphql(
                    "{ workspaceOrError { ... on Workspace { locationEntries { name "
                    "locationOrLoadError { __typename } } } } }"
                )
                entries = data["workspaceOrError"]["locationEntries"]
                loaded = entries and all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries)
                waiting = self.services_not_running()
                if loaded and not waiting:
                    return
                last = f"locations {json.dumps(entries)}; services not running: {waiting}"
            except Exception as error:  # not up yet: connection refused, 502, GraphQL errors
                last = str(error)
            time.sleep(2)
        raise AssertionError(f"the Swarm stack was not ready within {timeout:.0f} s: {last}\n{self.diagnostics()}")

    def services_not_running(self) -> list[str]:
        """The stack's long-running services without their one task running (migrate, a
        one-shot, excepted)."""
        out = self.cluster.exec(MANAGER, "docker", "stack", "services", "--format", "{{.Name}} {{.Replicas}}", self.name)
        return [
            line for line in out.splitlines()
            if line.strip() and not line.split()[0].endswith("_migrate") and not line.split()[1].startswith("1/")
        ]  # fmt: skip

    def diagnostics(self) -> str:
        return self.cluster.exec(MANAGER, "docker", "stack", "ps", "--no-trunc", self.name, check=False)

    # --- the front door, on the manager: GraphQL goes through it (FrontDoorApi) ------------

    @property
    def host(self) -> str:
        return self.cluster.node_ip(MANAGER)

    @property
    def ca_file(self) -> Path:
        return self.secrets_dir / "frontdoor" / f"{self.name}-ca.crt"

    def copy_ca(self) -> None:
        """Caddy's internal root CA, out of the front door's container on the manager (as
        `stackctl up` copies it on one host); it exists once Caddy has issued a certificate."""
        if self.ca_file.exists():
            return
        container = self.cluster.exec(
            MANAGER, "docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={self.name}_frontdoor"
        ).split()
        if not container:
            raise RuntimeError("the front door has no running container yet")
        pem = self.cluster.exec(MANAGER, "docker", "exec", container[0], "cat", CA_IN_CONTAINER)
        self.ca_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca_file.write_text(pem)

    # --- Swarm --------------------------------------------------------------------------

    def run_service(self, run_id: str) -> dict[str, Any] | None:
        tags = self.run_tags(run_id)
        name = tags.get("dagster-swarm/service")
        if not name:
            return None
        out = self.cluster.exec(MANAGER, "docker", "service", "inspect", name, check=False)
        parsed = json.loads(out) if out.strip().startswith("[") else []
        return parsed[0] if parsed else None

    def run_node(self, run_id: str) -> str | None:
        """The node the run's task was placed on, as Swarm reports it."""
        name = self.run_tags(run_id).get("dagster-swarm/service")
        if not name:
            return None
        out = self.cluster.exec(
            MANAGER, "docker", "service", "ps", "--format", "{{.Node}}", "--no-trunc", name, check=False
        )
        nodes = [line for line in out.splitlines() if line.strip()]
        return nodes[0] if nodes else None

    def kill_run_container(self, node: str, run_id: str) -> None:
        """SIGKILL the run's container on its node, from outside (as `docker kill` would)."""
        ids = self.cluster.exec(node, "docker", "ps", "-q", "--filter", f"label=dagster/run_id={run_id}").split()
        assert ids, f"no container of run {run_id} on {node}"
        self.cluster.exec(node, "docker", "kill", *ids)

    def remove(self) -> None:
        self.cluster.exec(MANAGER, "docker", "stack", "rm", self.name, check=False)
