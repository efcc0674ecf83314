"""`python -m stackctl swarm render`: the files `docker stack deploy` needs, in one folder:
stack.yml, the Swarm dagster.yaml, workspace.yaml and the secret files. They come from this
repository's compose file, dagster.yaml and code location declarations, as resolved for the
stack's settings (.env and the environment), so both deployments share one configuration."""

import json
import secrets as random_secrets
from collections.abc import Mapping
from pathlib import Path

import yaml

from stackctl import frontdoor
from stackctl.compose import compose
from stackctl.declaration import declared_locations
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.swarm_instance import PGPASS_SECRET, S3_CREDENTIALS_SECRET, swarm_environment, swarm_instance
from stackctl.swarm_stack import FRONTDOOR_SECRETS, OBJECTSTORE_PORT, content_name, swarm_stack, workspace_yaml

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
    names = {
        key.removeprefix("secrets/"): content_name(settings.name, key.removeprefix("secrets/").replace("_", "-"), files[key].encode())
        for key in ("dagster_yaml", "workspace", *(f"secrets/{k}" for k in FRONTDOOR_SECRETS))
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
