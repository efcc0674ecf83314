"""`python -m stackctl swarm render`: the files `docker stack deploy` needs, in one folder:
stack.yml, the Swarm dagster.yaml, workspace.yaml and the secret files. They come from this
repository's compose file, dagster.yaml and code location declarations, as resolved for the
stack's settings (.env and the environment), so both deployments share one configuration."""

import json
import os
import sys
import secrets as random_secrets
from collections.abc import Mapping
from pathlib import Path

import yaml

from stackctl import frontdoor
from stackctl.compose import compose
from stackctl.declaration import Location, declared_locations
from stackctl.secrets import secret_files
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.swarm_instance import PGPASS_SECRET, S3_CREDENTIALS_SECRET, swarm_environment, swarm_instance
from stackctl.swarm_stack import (
    FRONTDOOR_SECRETS,
    OBJECTSTORE_PORT,
    content_name,
    location_secret_key,
    swarm_stack,
    workspace_yaml,
)

BUCKET = "dagster"


def pgpass_line(user: str, password: str) -> str:
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{user}:{escaped}\n"


def s3_credentials(secrets_dir: Path) -> str:
    """The object store's access key, kept in the secrets folder (created once, random)."""
    path = secrets_dir / "objectstore" / S3_CREDENTIALS_SECRET
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key, secret = random_secrets.token_hex(10), random_secrets.token_hex(20)
        _write_private(path, f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    return path.read_text()


def _operator_file(settings: StackSettings, variable: str) -> Path | None:
    value = settings.env.get(variable, "").strip()
    if not value:
        return None
    path = Path(value)
    # As compose reads it: a relative path is from the repository's folder.
    return path if path.is_absolute() else REPO_ROOT / path


def frontdoor_secret_files(settings: StackSettings) -> dict[str, str]:
    """The front door's users file (with a first `admin` when there is none, as `up` does on
    one host) and the operator's certificate and key when STACK_TLS_CERT_FILE/KEY_FILE name
    them. An empty pair leaves the internal CA in charge, as on one host."""
    users = frontdoor.users_file(settings)
    users.ensure_first_admin()
    files = {"secrets/frontdoor_users": users.path.read_text()}
    cert, key = _operator_file(settings, "STACK_TLS_CERT_FILE"), _operator_file(settings, "STACK_TLS_KEY_FILE")
    if (cert is None) != (key is None):
        raise ValueError("STACK_TLS_CERT_FILE and STACK_TLS_KEY_FILE go together: set both or neither")
    if cert is not None and key is not None:
        texts = cert.read_text(), key.read_text()
        if all(text.strip() for text in texts):
            files["secrets/tls_cert"], files["secrets/tls_key"] = texts
        else:
            print(f"{cert} or {key} is empty: the front door uses its internal CA", file=sys.stderr)
    return files


def location_secret_files(location: Location, settings: StackSettings) -> dict[str, str]:
    """The location's secret files as on one host (a missing one is created: random, or empty
    for an operator secret); an empty one is left out, since Swarm refuses an empty secret, and
    the location reads no file, as it does of an operator secret not filled in."""
    reserved = {PGPASS_SECRET, S3_CREDENTIALS_SECRET} & set(location.secrets)
    if reserved:
        raise ValueError(
            f"location {location.name}: a secret may not be named {', '.join(sorted(reserved))}, "
            "which every run on the swarm mounts already"
        )
    files = secret_files(location, settings.secrets_dir, log=lambda line: print(line, file=sys.stderr))
    for file, content in files.items():
        if not content:
            print(f"[{location.name}] secret {file} is empty: not mounted on the swarm", file=sys.stderr)
    return {file: content.decode() for file, content in files.items() if content}


def name_salt(secrets_dir: Path) -> bytes:
    """A random key of the stack's, kept in its secrets folder: a secret's Swarm name holds a
    hash of its content, which must not let anyone who sees the name test guesses of it."""
    path = secrets_dir / "swarm" / "name-salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(path, random_secrets.token_hex(32))
    return path.read_bytes()


def _write_private(path: Path, text: str) -> None:
    # Created 0600, never readable by others even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def render(settings: StackSettings, images: Mapping[str, str], out: Path, webserver_port: int = 3000) -> Path:
    resolved = json.loads(compose(settings, "config", "--format", "json"))
    locations = [loc for loc in declared_locations(REPO_ROOT, settings.env) if loc.name in images]
    network = f"{settings.name}-network"
    endpoint = f"http://objectstore:{OBJECTSTORE_PORT}"
    swarm_env = swarm_environment(settings.name, network, BUCKET, endpoint)
    base = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    instance = yaml.safe_dump(swarm_instance(base, settings.name), sort_keys=False)
    workspace = workspace_yaml(locations)
    env = settings.env
    files = {
        "dagster_yaml": instance,
        "workspace": workspace,
        f"secrets/postgres_password": env["STACK_POSTGRES_PASSWORD"],
        f"secrets/{PGPASS_SECRET}": pgpass_line(env["STACK_POSTGRES_USER"], env["STACK_POSTGRES_PASSWORD"]),
        f"secrets/{S3_CREDENTIALS_SECRET}": s3_credentials(settings.secrets_dir),
    }
    files.update(frontdoor_secret_files(settings))
    names = {key: content_name(settings.name, key.replace("_", "-"), files[key].encode()) for key in ("dagster_yaml", "workspace")}
    salt = name_salt(settings.secrets_dir)
    secret_keys = [key for key in FRONTDOOR_SECRETS if f"secrets/{key}" in files]
    for location in locations:
        for file, content in location_secret_files(location, settings).items():
            key = location_secret_key(location.name, file)
            files[f"secrets/{key}"] = content
            secret_keys.append(key)
    names.update({key: content_name(settings.name, key, files[f"secrets/{key}"].encode(), salt) for key in secret_keys})
    stack = swarm_stack(resolved, settings, images, locations, swarm_env, names, webserver_port)
    out.mkdir(parents=True, exist_ok=True)
    (out / "secrets").mkdir(exist_ok=True, mode=0o700)
    (out / "secrets").chmod(0o700)
    for name, text in files.items():
        path = out / name
        if name.startswith("secrets/"):
            _write_private(path, text)
        else:
            path.write_text(text)
            path.chmod(0o644)
    (out / "stack.yml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return out / "stack.yml"
