"""docker compose, run the way the stack's commands run it: this repository's compose file,
the stack's project name, `.env` overlaid with the environment."""

import json
import subprocess

from stackctl.settings import REPO_ROOT, StackSettings

# The service whose environment is the Dagster instance's (docker-compose.yml, x-dagster-env).
INSTANCE_ENV_SERVICE = "migrate"


class ComposeError(RuntimeError):
    pass


def compose(settings: StackSettings, *args: str, timeout: float = 1200, capture: bool = True) -> str:
    command = ["docker", "compose", "--project-name", settings.name, *args]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=settings.env, capture_output=capture, text=True, timeout=timeout
    )
    if result.returncode != 0:
        detail = f"\n{result.stdout or ''}{result.stderr or ''}".rstrip() if capture else ""
        raise ComposeError(f"`docker compose {' '.join(args)}` failed ({result.returncode}){detail}")
    return result.stdout or ""


def instance_env(settings: StackSettings) -> dict[str, str]:
    """The environment every process that loads dagster.yaml gets, as compose resolves it,
    so a code server sees the instance exactly as the webserver and daemon do."""
    config = json.loads(compose(settings, "config", "--format", "json"))
    environment = config["services"][INSTANCE_ENV_SERVICE].get("environment") or {}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def service_container_id(settings: StackSettings, service: str) -> str | None:
    output = compose(settings, "ps", "--quiet", service).strip()
    return output.splitlines()[0] if output else None
