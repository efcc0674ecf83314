"""The stack's deploy commands: up, deploy, rollback, gc, down."""

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.models.containers import Container

from stackctl.code_server_spec import image_tag
from stackctl.code_servers import CodeServerError, CodeServers, version_of
from stackctl.compose import compose, instance_env, service_container_id
from stackctl.gc import collect_garbage
from stackctl.declaration import Location, declared_locations, workspace_line
from stackctl.images import build, image_exists, version_of as content_version_of
from stackctl.proxy_rules import run_image_patterns
from stackctl import frontdoor
from stackctl.secrets import install_secrets
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.state import RUN_IMAGES_FILE, WORKSPACE_FILE, DeployState
from stackctl.webserver import Webserver, WebserverError


class DeployError(RuntimeError):
    """A deploy was refused or failed; the location's old version keeps serving."""


@dataclass
class Deployer:
    settings: StackSettings
    client: docker.DockerClient
    log: Callable[[str], None] = field(default=print)

    def __post_init__(self) -> None:
        self.state = DeployState(self.client, self.settings)
        self.servers = CodeServers(self.client, self.settings)
        self._instance_env: dict[str, str] | None = None

    @property
    def webserver(self) -> Webserver:
        """Through the front door with the tools' admin login; built on each use, since `up`
        creates the login and copies out the CA its certificate is checked against."""
        login = frontdoor.tools_login(self.settings)
        return Webserver(
            self.settings.webserver_url,
            auth=login.auth if login else None,
            verify=frontdoor.tls_verify(self.settings),
        )

    def say(self, message: str) -> None:
        self.log(message)

    def locations(self) -> dict[str, Location]:
        return {loc.name: loc for loc in declared_locations(REPO_ROOT, self.settings.env)}

    def instance_env(self) -> dict[str, str]:
        if self._instance_env is None:
            self._instance_env = instance_env(self.settings)
        return self._instance_env

    # --- the declaration, written where the services read it ---------------------------

    def publish_declaration(self, locations: dict[str, Location]) -> bool:
        """Writes the workspace and the proxy's run-image patterns; True if either changed."""
        names = list(locations)
        workspace = "# Written by stackctl from the repository's workspace.yaml.\nload_from:\n" + "".join(
            workspace_line(name) + "\n" for name in names
        )
        patterns = run_image_patterns(self.settings.name, names)
        wanted = {WORKSPACE_FILE: workspace, RUN_IMAGES_FILE: patterns}
        changed = self.state.read_files(list(wanted)) != wanted
        if changed:
            self.state.write(wanted)
        return changed

    def reload_services(self) -> None:
        """After the set of locations changed: the proxy re-reads its image patterns, the
        webservers their workspace (the daemon re-reads it on its own within a minute)."""
        proxy = service_container_id(self.settings, "docker-proxy")
        if proxy:
            container = self.client.containers.get(proxy)
            if container.status == "running":
                container.kill(signal="SIGUSR2")
        if self.webserver.reachable():
            self.webserver.reload_workspace()
        # The read-only webserver may not reload through GraphQL: it restarts and reads the
        # new workspace at start.
        viewer = service_container_id(self.settings, "webserver-viewer")
        if viewer:
            container = self.client.containers.get(viewer)
            if container.status == "running":
                container.restart(timeout=10)
                self._wait_viewer_healthy(container)

    def _wait_viewer_healthy(self, container: Container, timeout: float = 180) -> None:
        # Viewers get the front door's 503 until it answers again: the deploy ends only once
        # they are served, so nothing after it (a user, a test) meets the restart.
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            container.reload()
            state = container.attrs["State"]
            if (state.get("Health") or {}).get("Status") == "healthy":
                self.say(f"[webserver-viewer] restarted on the new workspace in {time.monotonic() - started:.1f} s")
                return
            if state["Status"] in ("exited", "dead"):
                break
            time.sleep(1.0)
        tail = container.logs(tail=20).decode(errors="replace").rstrip()
        raise DeployError(f"the read-only webserver did not come back after the workspace changed:\n{tail}")

    # --- one location ---------------------------------------------------------------------

    def deploy(self, name: str, version: str | None = None, wait_for_webserver: bool = True) -> str:
        """Builds (unless `version` is given) and switches `name` to the new version with no
        downtime. Returns the version now serving."""
        locations = self.locations()
        if name not in locations:
            raise DeployError(f"location {name} is not declared: add it to workspace.yaml as\n{workspace_line(name)}")
        location = locations[name]
        if self.publish_declaration(locations):
            self.reload_services()
        for volume in self.settings.shared_volumes:
            self.state.ensure_volume(volume)
        install_secrets(self.state, location, self.settings.secrets_volume(name), self.settings.secrets_dir, self.say)
        if version is None:
            version = content_version_of(self.client, self.settings, location)
            build(self.client, self.settings, location, version, log=self.say)
        elif not image_exists(self.client, image_tag(self.settings, name, version)):
            raise DeployError(f"[{name}] image {image_tag(self.settings, name, version)} no longer exists")
        old = self.servers.serving(name)
        if old is not None and version_of(old) == version and old.status == "running":
            self.say(f"[{name}] version {version} is already serving")
            self.state.record(name, version)
            return version
        started = time.monotonic()
        new = self.servers.start(location, version, self.instance_env())
        if old is not None and old.name == new.name:
            old = None  # a stopped server of this same version, which start replaced
        try:
            self.servers.wait_healthy(new)
        except CodeServerError as error:
            logs = str(error)
            self.servers.retire(new, timeout=1)
            kept = f"version {version_of(old)} keeps serving" if old else "nothing was serving it"
            raise DeployError(f"[{name}] version {version} refused ({kept}): {logs}") from None
        self.say(f"[{name}] {new.name} healthy in {time.monotonic() - started:.1f} s; switching")
        self.servers.switch(name, new, old)
        image = image_tag(self.settings, name, version)
        if wait_for_webserver and self.webserver.reachable():
            try:
                self.webserver.wait_for_image(name, image)
            except WebserverError:
                if old is not None:
                    self.servers.switch(name, old, new)
                self.servers.retire(new, timeout=1)
                raise
        if old is not None:
            self.servers.retire(old)
        self.state.record(name, version)
        self.say(f"[{name}] serving {image} ({time.monotonic() - started:.1f} s from start to switch)")
        return version

    def rollback(self, name: str) -> str:
        history = self.state.history(name)
        serving = self.servers.serving(name)
        current = version_of(serving) if serving else (history[-1] if history else None)
        earlier = [v for v in history if v != current]
        if not earlier:
            raise DeployError(f"[{name}] no earlier version to roll back to (history: {history or 'empty'})")
        target = earlier[-1]
        self.say(f"[{name}] rolling back {current} -> {target}")
        return self.deploy(name, version=target)

    # --- the whole stack ----------------------------------------------------------------

    def check_port_free(self) -> None:
        """The stack's host port: free, or held by this stack's own front door."""
        bind = self.settings.env.get("STACK_WEBSERVER_BIND") or "127.0.0.1"
        port = int(self.settings.env.get("STACK_WEBSERVER_PORT") or 3000)
        if service_container_id(self.settings, frontdoor.SERVICE):
            return
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((bind, port))
            except OSError as error:
                raise DeployError(
                    f"port {port} on {bind} is taken by another process ({error.strerror}): "
                    "stop it, or set STACK_WEBSERVER_PORT to a free port in .env or the environment"
                ) from None

    def up(self) -> None:
        locations = self.locations()  # a wrong declaration fails before anything starts
        self.check_port_free()
        created = frontdoor.users_file(self.settings).ensure_first_admin()
        if created:
            self.say(f"[up] front door: created user admin, its password in {created}")
        self.say(f"[up] building and creating the services of stack {self.settings.name}")
        compose(self.settings, "up", "--no-start", "--build", capture=False)
        self.publish_declaration(locations)
        # Code servers load the instance: Postgres and its schema come first.
        compose(self.settings, "up", "--detach", "--wait", "--wait-timeout", "300", "migrate", "docker-proxy", capture=False)
        for name in locations:
            self.deploy(name, wait_for_webserver=False)
        self.say("[up] starting the services")
        compose(self.settings, "up", "--detach", "--wait", "--wait-timeout", "420", capture=False)
        # A deploy switches on the probe's first answer; `up` ends once Docker, too, reports
        # every code server healthy (its own first check comes later), as it does the services.
        for name in locations:
            serving = self.servers.serving(name)
            if serving is not None:
                self.servers.wait_healthy(serving, probe=False)
        frontdoor.copy_ca(self.settings, self.client)
        self.gc()
        login = frontdoor.tools_login(self.settings)
        who = (
            f"log in as {login.user}, password in {frontdoor.users_file(self.settings).password_file(login.user)}"
            if login else f"log in with a user of {frontdoor.users_file(self.settings).path}"
        )
        self.say(
            f"The stack is up: {self.settings.webserver_url} ({who}; "
            f"{len(locations)} code locations: {', '.join(locations)})"
        )

    def gc(self) -> None:
        history = {name: self.state.history(name) for name in self.locations()}
        self.say(collect_garbage(self.client, self.settings, self.webserver, history).describe())

    def remove(self, name: str) -> None:
        """Retires a location that is no longer in workspace.yaml: its code servers stop and
        the webserver, daemon and proxy stop serving it. Its images stay until `gc`."""
        locations = self.locations()
        if name in locations:
            raise DeployError(f"location {name} is still in workspace.yaml: remove its line first")
        if self.publish_declaration(locations):
            self.reload_services()
        for container in self.servers.of_location(name):
            self.servers.retire(container)
        self.say(f"[{name}] removed from the stack")

    def down(self, volumes: bool = False, images: bool = False) -> None:
        removed = self.servers.remove_all()
        self.say(f"[down] removed {removed} code server container(s)")
        for container in self.client.containers.list(all=True, filters={"label": f"dagster-fanout/stack={self.settings.name}"}):
            container.remove(force=True)
        args = ["down", "--remove-orphans", "--timeout", "20"] + (["--volumes"] if volumes else [])
        compose(self.settings, *args, capture=False)
        if volumes:
            for volume in self.client.volumes.list(filters={"label": f"dagster-fanout/stack={self.settings.name}"}):
                volume.remove(force=True)
            for name in self.settings.shared_volumes:  # also when a restore created them
                try:
                    self.client.volumes.get(name).remove(force=True)
                except docker.errors.NotFound:
                    pass
        if images:
            for image in self.client.images.list(filters={"label": f"dagster-fanout/stack={self.settings.name}"}):
                # By tag: an image also tagged for another stack stays for that one.
                for tag in image.tags:
                    if tag.startswith(f"{self.settings.name}/"):
                        self.client.images.remove(tag)
