"""The host's side of the front door: the login the stack's own tools use, the internal CA
they verify its certificate against, and restarting it after the users file changed."""

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from stackctl.compose import service_container_id
from stackctl.settings import StackSettings
from stackctl.users import FIRST_ADMIN, UsersFile

SERVICE = "frontdoor"
# Where Caddy keeps its internal CA's root certificate (XDG_DATA_HOME=/data in the image).
CA_IN_CONTAINER = "/data/caddy/pki/authorities/local/root.crt"


@dataclass(frozen=True)
class Login:
    user: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)


def users_file(settings: StackSettings) -> UsersFile:
    return UsersFile(settings.secrets_dir / "frontdoor")


def ca_file(settings: StackSettings) -> Path:
    """The internal CA's root certificate, copied out of the front door by `up` (one per stack:
    two stacks may share a secrets folder, each has its own CA)."""
    return settings.secrets_dir / "frontdoor" / f"{settings.name}-ca.crt"


def own_certificate(settings: StackSettings) -> bool:
    return bool(settings.env.get("STACK_TLS_CERT_FILE", "").strip())


def tools_login(settings: StackSettings) -> Login | None:
    """The admin login the deployer, backup and benchmark use: STACK_FRONTDOOR_USER (default
    admin) with the password in its .password file in the front door's secrets folder."""
    user = settings.env.get("STACK_FRONTDOOR_USER", "").strip() or FIRST_ADMIN
    path = users_file(settings).password_file(user)
    if not path.is_file():
        return None
    return Login(user, path.read_text().strip())


def tls_verify(settings: StackSettings) -> str | bool:
    """What requests verifies the front door's certificate with: STACK_TLS_CA_FILE if set; the
    system's CAs for an operator's certificate; the copied internal CA otherwise."""
    explicit = settings.env.get("STACK_TLS_CA_FILE", "").strip()
    if explicit:
        return explicit
    if own_certificate(settings):
        return True
    path = ca_file(settings)
    return str(path) if path.is_file() else True


def copy_ca(settings: StackSettings, client: docker.DockerClient, timeout: float = 60) -> Path | None:
    """Copies the internal CA's root certificate out of the running front door (Caddy writes it
    on its first start); removes a stale copy when the operator's certificate is used."""
    target = ca_file(settings)
    if own_certificate(settings):
        target.unlink(missing_ok=True)
        return None
    container_id = service_container_id(settings, SERVICE)
    if not container_id:
        return None
    container = client.containers.get(container_id)
    deadline = time.monotonic() + timeout
    while True:
        try:
            stream, _ = container.get_archive(CA_IN_CONTAINER)
            break
        except docker.errors.NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile("root.crt")
        assert member is not None
        pem = member.read()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.write_bytes(pem)
    return target


def restart(settings: StackSettings, client: docker.DockerClient) -> bool:
    """The front door reads the users file at start: restart it if it runs. True if it did."""
    container_id = service_container_id(settings, SERVICE)
    if not container_id:
        return False
    container = client.containers.get(container_id)
    if container.status != "running":
        return False
    container.restart(timeout=5)
    return True
