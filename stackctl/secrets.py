"""A location's secrets: files in $STACK_SECRETS_DIR/<location>/, copied into the location's
own volume (mounted read-only at /run/secrets in its code server and run containers only)."""

import secrets as random_secrets
from collections.abc import Callable
from pathlib import Path

from stackctl.code_server_spec import STACK_UID
from stackctl.declaration import Location
from stackctl.state import DeployState


def secret_files(location: Location, secrets_dir: Path, log: Callable[[str], None] = print) -> dict[str, bytes]:
    """The location's secret files. One that is missing is created, so a fresh clone comes up:
    with a random value (said loudly: replace it for anything shared), or empty for an
    operator secret, which only the operator can fill in."""
    files = {}
    for name in location.secrets:
        path = secrets_dir / location.name / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if name in location.operator_secrets:
                path.write_text("")
                what = "empty: put its value in it and deploy again"
            else:
                path.write_text(random_secrets.token_urlsafe(24))
                what = "with a random value (replace it for production)"
            path.chmod(0o600)
            log(f"[{location.name}] secret {name} was missing: created {path} {what}")
        files[name] = path.read_bytes()
    return files


def install_secrets(state: DeployState, location: Location, volume: str, secrets_dir: Path, log: Callable[[str], None] = print) -> None:
    files = secret_files(location, secrets_dir, log)
    if files:
        # Owned by the dagster user and readable by it alone.
        state.put(files, volume=volume, uid=STACK_UID, gid=STACK_UID, mode=0o400)
