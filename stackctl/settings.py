"""The stack's settings as docker compose reads them: `.env`, with the environment winning."""

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from stackctl.renamed import resolve_renamed

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEEP_IMAGES = 3
# Settings docker-compose.yml needs but cannot require itself: each falls back to its name
# before the rename (${NEW:-${OLD:-}}), and compose evaluates a nested ${OLD:?} eagerly.
COMPOSE_REQUIRED = (
    "STACK_POSTGRES_USER",
    "STACK_POSTGRES_PASSWORD",
    "STACK_POSTGRES_DB",
    "STACK_MAX_CONCURRENT_RUNS",
)


class SettingError(RuntimeError):
    """A setting is missing or invalid; the message names it and where to set it."""


def dotenv_file(repo_root: Path = REPO_ROOT) -> dict[str, str]:
    return {k: v for k, v in dotenv_values(repo_root / ".env").items() if v is not None}


def _warn(message: str) -> None:
    print(f"stackctl: warning: {message}", file=sys.stderr, flush=True)


def load_environment(
    repo_root: Path = REPO_ROOT,
    environ: dict[str, str] | None = None,
    warn: Callable[[str], None] = _warn,
) -> dict[str, str]:
    """`.env`'s values overlaid with the environment's, as compose interpolates them. A setting
    found only under its name before the rename (stackctl.renamed) is given its new name too,
    so compose and the deployer read the new one; each old name set is warned about."""
    dotenv = dotenv_file(repo_root)
    environ = dict(os.environ if environ is None else environ)
    from_old, warnings = resolve_renamed(dotenv, environ)
    for message in warnings:
        warn(message)
    return {**dotenv, **environ, **from_old}


@dataclass(frozen=True)
class StackSettings:
    name: str
    webserver_url: str
    python_base_image: str
    pip_install_args: str
    dagster_image: str
    secrets_dir: Path
    keep_images: int
    env: dict[str, str]

    @property
    def network(self) -> str:
        return f"{self.name}-network"

    @property
    def state_volume(self) -> str:
        """Holds the workspace as deployed, the proxy's run-image list and deploy history."""
        return f"{self.name}-deploy"

    @property
    def shared_volumes(self) -> tuple[str, ...]:
        """Volumes every code server and run container mounts that no compose service owns:
        the IO manager's storage and the data folder (the sensor's incoming files)."""
        return (f"{self.name}-storage", f"{self.name}-data")

    def image_repository(self, location: str) -> str:
        return f"{self.name}/{location}"

    def secrets_volume(self, location: str) -> str:
        return f"{self.name}-secrets-{location}"


def _required(env: dict[str, str], key: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise SettingError(f"{key} is not set: set it in .env or the environment")
    return value


def load_settings(
    repo_root: Path = REPO_ROOT,
    environ: dict[str, str] | None = None,
    warn: Callable[[str], None] = _warn,
) -> StackSettings:
    env = load_environment(repo_root, environ, warn)
    keep = env.get("STACK_KEEP_IMAGES", "").strip() or str(DEFAULT_KEEP_IMAGES)
    if not re.fullmatch(r"[0-9]+", keep) or int(keep) < 1:
        raise SettingError(f'STACK_KEEP_IMAGES="{keep}" must be a whole number of at least 1')
    port = _required(env, "STACK_WEBSERVER_PORT")
    for key in COMPOSE_REQUIRED:
        _required(env, key)
    secrets_dir = Path(env.get("STACK_SECRETS_DIR", "").strip() or "secrets")
    return StackSettings(
        name=_required(env, "STACK_NAME"),
        webserver_url=env.get("STACK_URL", "").strip() or f"https://127.0.0.1:{port}",
        python_base_image=_required(env, "PYTHON_BASE_IMAGE"),
        pip_install_args=env.get("PIP_INSTALL_ARGS", ""),
        dagster_image=_required(env, "STACK_DAGSTER_IMAGE"),
        secrets_dir=secrets_dir if secrets_dir.is_absolute() else repo_root / secrets_dir,
        keep_images=int(keep),
        env=env,
    )
