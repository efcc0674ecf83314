"""The deploy state volume ({stack}-deploy): the workspace as deployed (the webserver and
daemon read it), the Docker proxy's run-image patterns, and each location's deploy history.
Files go in and out through the Docker archive API on a container that is created and never
started, so the deployer needs nothing on the host but the Docker API."""

import io
import json
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
from docker.models.containers import Container

from stackctl.settings import StackSettings

MOUNT = "/state"
WORKSPACE_FILE = "workspace.yaml"
RUN_IMAGES_FILE = "run-images.acl"
HISTORY_KEPT = 50


def tar_files(files: dict[str, bytes], uid: int = 0, gid: int = 0, mode: int = 0o644) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class DeployState:
    def __init__(self, client: docker.DockerClient, settings: StackSettings) -> None:
        self.client = client
        self.settings = settings

    @contextmanager
    def _mounted(self, volume: str) -> Iterator[Container]:
        self.ensure_volume(volume)
        container = self.client.containers.create(
            self.settings.dagster_image,
            ["true"],
            network_mode="none",
            volumes={volume: {"bind": MOUNT, "mode": "rw"}},
            labels={"dagster-fanout/stack": self.settings.name, "dagster-fanout/role": "deployer"},
        )
        try:
            yield container
        finally:
            container.remove(force=True)

    def put(self, files: dict[str, bytes], volume: str | None = None, uid: int = 0, gid: int = 0, mode: int = 0o644) -> None:
        with self._mounted(volume or self.settings.state_volume) as container:
            if not container.put_archive(MOUNT, tar_files(files, uid, gid, mode)):
                raise RuntimeError(f"could not write {sorted(files)} to volume {volume}")

    def write(self, files: dict[str, str]) -> None:
        self.put({name: text.encode() for name, text in files.items()})

    def read_files(self, names: list[str]) -> dict[str, str | None]:
        """Each named file's text (None where it does not exist), through one container."""
        found: dict[str, str | None] = {}
        with self._mounted(self.settings.state_volume) as container:
            for name in names:
                try:
                    stream, _ = container.get_archive(f"{MOUNT}/{name}")
                except docker.errors.NotFound:
                    found[name] = None
                    continue
                with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                    member = archive.extractfile(archive.getmembers()[0])
                    found[name] = member.read().decode() if member else None
        return found

    def read(self, name: str) -> str | None:
        return self.read_files([name])[name]

    def history(self, location: str) -> list[str]:
        """Versions deployed for `location`, oldest first; the last is the one serving."""
        text = self.read(f"history-{location}.json")
        return list(json.loads(text)["versions"]) if text else []

    def record(self, location: str, version: str) -> None:
        versions = [v for v in self.history(location) if v != version] + [version]
        self.write({f"history-{location}.json": json.dumps({"versions": versions[-HISTORY_KEPT:]}) + "\n"})

    def ensure_volume(self, name: str) -> None:
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels={"dagster-fanout/stack": self.settings.name})
