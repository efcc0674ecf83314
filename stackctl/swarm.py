"""`python -m stackctl swarm render`: the files `docker stack deploy` needs, in one folder:
stack.yml, the Swarm dagster.yaml, workspace.yaml and the secret files. They come from this
repository's compose file, dagster.yaml and code location declarations, as resolved for the
stack's settings (.env and the environment), so both deployments share one configuration."""

import json
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
        path.write_text(f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        path.chmod(0o600)
    return path.read_text()


def frontdoor_secret_files(settings: StackSettings) -> dict[str, str]:
    """The front door's users file (with a first `admin` when there is none, as `up` does on
    one host) and the operator's certificate and key when STACK_TLS_CERT_FILE/KEY_FILE name
    them."""
    users = frontdoor.users_file(settings)
    users.ensure_first_admin()
    files = {"secrets/frontdoor_users": users.path.read_text()}
    cert = settings.env.get("STACK_TLS_CERT_FILE", "").strip()
    key = settings.env.get("STACK_TLS_KEY_FILE", "").strip()
    if cert and key:
        files["secrets/tls_cert"] = Path(cert).read_text()
        files["secrets/tls_key"] = Path(key).read_text()
    return files


def location_secret_files(location: Location, settings: StackSettings) -> dict[str, str]:
    """The location's secret files as on one host (a missing one is created: random, or empty
    for an operator secret); an empty one is left out, since Swarm refuses an empty secret, and
    the location reads no file, as it does of an operator secret not filled in."""
    files = secret_files(location, settings.secrets_dir, log=lambda line: print(line, file=sys.stderr))
    for file, content in files.items():
        if not content:
            print(f"[{location.name}] secret {file} is empty: not mounted on the swarm", file=sys.stderr)
    return {file: content.decode() for file, content in files.items() if content}


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
    content_named = ["dagster_yaml", "workspace", *(f"secrets/{k}" for k in FRONTDOOR_SECRETS)]
    for location in locations:
        for file, content in location_secret_files(location, settings).items():
            key = f"secrets/{location_secret_key(location.name, file)}"
            files[key] = content
            content_named.append(key)
    names = {
        key.removeprefix("secrets/"): content_name(settings.name, key.removeprefix("secrets/").replace("_", "-"), files[key].encode())
        for key in content_named
        if key in files
    }
    stack = swarm_stack(resolved, settings, images, locations, swarm_env, names, webserver_port)
    out.mkdir(parents=True, exist_ok=True)
    (out / "secrets").mkdir(exist_ok=True)
    for name, text in files.items():
        path = out / name
        path.write_text(text)
        path.chmod(0o600 if name.startswith("secrets/") else 0o644)
    (out / "stack.yml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return out / "stack.yml"
