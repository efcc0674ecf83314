"""The Swarm stack file (`docker stack deploy`), derived from the one-host compose file as
`docker compose config` resolves it: the same images, commands, environment, health checks
and hardening; Swarm's placement, secrets, configs and overlay networks instead of volumes,
depends_on and restart. Pure: the resolved compose config in, the stack file out."""

import copy
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.code_server_spec import STACK_UID, container_context
from stackctl.declaration import GRPC_PORT, Location
from stackctl.settings import StackSettings
from stackctl.swarm_instance import PGPASS_SECRET, S3_CREDENTIALS_SECRET

CORE = "node.labels.stack.role==core"
MANAGER = "node.role==manager"
OBJECTSTORE_PORT = 9000
DAGSTER_HOME = "/opt/dagster/dagster_home"
# The front door's user (frontdoor/Dockerfile) and its port inside the container.
FRONTDOOR_UID = "10002"
FRONTDOOR_PORT = 8443
FRONTDOOR_SECRETS = ("frontdoor_users", "tls_cert", "tls_key")
# The container context's key the Swarm run launcher mounts a location's secrets from
# (dagster_run_limits.stack_context.SWARM_SECRETS_KEY).
SWARM_SECRETS_KEY = "swarm_secrets"
# The front door's own health: Caddy completes a TLS handshake. Not /healthz as on one host,
# which asks the webserver too: Swarm replaces an unhealthy task, and a slow or restarting
# webserver must not take the viewers' way in down with it.
FRONTDOOR_ALIVE = [
    "CMD", "python3", "-c",
    "import socket, ssl; ssl._create_unverified_context().wrap_socket("
    f"socket.create_connection(('127.0.0.1', {FRONTDOOR_PORT}), 4), server_hostname='localhost').close()",
]  # fmt: skip
WORKSPACE_TARGET = "/opt/dagster/deploy/workspace.yaml"
# Settings of the one host that a Swarm does not have: volumes mounted by name, pgpass on a
# volume, and the names from before the rename (DAGSTER_*, for images built before it). Every
# other variable of the instance environment is kept as compose resolved it.
_ONE_HOST_ONLY = ("_VOLUME", "DOCKER_NETWORK", "PGPASSFILE")


def content_name(stack: str, kind: str, content: bytes, salt: bytes = b"") -> str:
    """Swarm configs and secrets cannot change: each content gets its own name, so a redeploy
    with a new dagster.yaml, workspace or secret rolls the services that use it onto the new
    one. At most 64 characters, as Swarm allows: a long stem is cut, the hash kept. A secret's
    hash is keyed with the stack's `salt`, so its name says nothing about its value."""
    digest = hmac.new(salt, content, hashlib.sha256).hexdigest() if salt else hashlib.sha256(content).hexdigest()
    return f"{f'{stack}-{kind}'[:51]}-{digest[:12]}"


def _hardened(service: Mapping[str, Any]) -> dict[str, Any]:
    """The compose service's hardening, as Swarm takes it. `security_opt` has no Swarm form
    on Engine API 1.41 (no no-new-privileges): docs/swarm.md says what stands in for it."""
    out: dict[str, Any] = {}
    for key in ("user", "cap_drop", "read_only"):
        if key in service:
            out[key] = service[key]
    if service.get("tmpfs"):
        out["volumes"] = [{"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 256 * 1024**2}}]
    return out


def _instance_env(compose: Mapping[str, Any], swarm_env: Mapping[str, str]) -> dict[str, str]:
    environment = compose["services"]["migrate"].get("environment") or {}
    kept = {
        key: "" if value is None else str(value)
        for key, value in environment.items()
        if not any(part in key for part in _ONE_HOST_ONLY) and not key.startswith("DAGSTER_")
    }
    return {**kept, **swarm_env}


def _deploy(constraint: str, condition: str = "any", **extra: Any) -> dict[str, Any]:
    return {
        "endpoint_mode": "dnsrr",
        "placement": {"constraints": [constraint]},
        "restart_policy": {"condition": condition, "delay": "5s"},
        **extra,
    }


def _dagster_service(
    compose: Mapping[str, Any], name: str, image: str, env: Mapping[str, str], configs: Mapping[str, str]
) -> dict[str, Any]:
    source = compose["services"][name]
    service: dict[str, Any] = {"image": image, **_hardened(source)}
    for key in ("entrypoint", "command", "healthcheck"):
        if source.get(key) is not None:
            service[key] = copy.deepcopy(source[key])
    service["environment"] = dict(env)
    service["configs"] = [
        {"source": "dagster_yaml", "target": f"{DAGSTER_HOME}/dagster.yaml", "uid": str(STACK_UID), "mode": 0o444},
        {"source": "workspace", "target": WORKSPACE_TARGET, "uid": str(STACK_UID), "mode": 0o444},
    ]
    service["secrets"] = _dagster_secrets()
    service["networks"] = ["dagster"]
    del configs  # the names are the top-level entries'; services refer to their keys
    return service


def _dagster_secrets() -> list[dict[str, Any]]:
    return [
        {"source": PGPASS_SECRET, "target": PGPASS_SECRET, "uid": str(STACK_UID), "gid": str(STACK_UID), "mode": 0o400},
        {"source": S3_CREDENTIALS_SECRET, "target": S3_CREDENTIALS_SECRET, "uid": str(STACK_UID), "gid": str(STACK_UID), "mode": 0o400},
    ]


def location_secret_key(location: str, file: str) -> str:
    """The stack file's key of a location's secret file (also its file name in the render):
    a location's name has no "-", so no two locations' files share a key."""
    return f"location-{location}-{file}"


def _frontdoor(compose: Mapping[str, Any], image: str, port: int, own_tls: bool) -> dict[str, Any]:
    """The one-host front door: TLS, the users file's logins, admins to `webserver` and
    viewers to `webserver-viewer`. Without the operator's certificate no TLS secret is
    mounted (Swarm refuses empty secrets) and Caddy's internal CA issues one, kept in its
    volume on the core node."""
    source = compose["services"]["frontdoor"]
    secret_keys = FRONTDOOR_SECRETS if own_tls else FRONTDOOR_SECRETS[:1]
    return {
        "image": image,
        "user": f"{FRONTDOOR_UID}:{FRONTDOOR_UID}",
        "cap_drop": ["ALL"],
        "read_only": True,
        "environment": {"FRONTDOOR_HOSTS": (source.get("environment") or {}).get("FRONTDOOR_HOSTS") or ""},
        "secrets": [
            {"source": key, "target": key, "uid": FRONTDOOR_UID, "gid": FRONTDOOR_UID, "mode": 0o400}
            for key in secret_keys
        ],
        "volumes": [
            "frontdoor-data:/data",
            {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 16 * 1024**2}},
            {"type": "tmpfs", "target": "/config", "tmpfs": {"size": 16 * 1024**2}},
        ],
        "healthcheck": {**copy.deepcopy(source["healthcheck"]), "test": FRONTDOOR_ALIVE, "start_period": "30s"},
        # No routing mesh without IPVS: published on the node it runs on.
        "ports": [{"target": FRONTDOOR_PORT, "published": port, "mode": "host"}],
        "networks": ["dagster"],
        "deploy": _deploy(CORE),
    }


def workspace_yaml(locations: Sequence[Location]) -> str:
    lines = ["load_from:"]
    lines += [
        f"  - grpc_server: {{host: {location.alias}, port: {GRPC_PORT}, location_name: {location.name}}}"
        for location in locations
    ]
    return "\n".join(lines) + "\n"


def swarm_stack(
    compose: Mapping[str, Any],
    settings: StackSettings,
    images: Mapping[str, str],
    locations: Sequence[Location],
    swarm_env: Mapping[str, str],
    names: Mapping[str, str],
    webserver_port: int,
) -> dict[str, Any]:
    """`images`: digest-pinned references for "dagster", "postgres", "docker-proxy",
    "objectstore", "frontdoor" and each location; `names`: the content names of the two
    configs (dagster_yaml, workspace), of the front door's secrets (frontdoor_users, and
    tls_cert and tls_key when the operator brings a certificate) and of each location's
    secret files (`location_secret_key`; an empty file has none: Swarm refuses it). `webserver_port`: the front
    door's port on its node, the stack's only published port."""
    env = _instance_env(compose, swarm_env)
    configs = {"dagster_yaml": names["dagster_yaml"], "workspace": names["workspace"]}
    frontdoor_secrets = {key: names[key] for key in FRONTDOOR_SECRETS if key in names}
    # Each location's secret files: {location: {file: stack-file key}}, the keys' Swarm names
    # in `names`.
    location_secrets = {
        location.name: {file: key for file in location.secrets if (key := location_secret_key(location.name, file)) in names}
        for location in locations
    }
    stack_secrets = {key: names[key] for own in location_secrets.values() for key in own.values()}
    services: dict[str, Any] = {}

    postgres = compose["services"]["postgres"]
    services["postgres"] = {
        "image": images["postgres"],
        "entrypoint": postgres["entrypoint"],
        "command": postgres["command"],
        "environment": postgres["environment"],
        "healthcheck": postgres["healthcheck"],
        "secrets": ["postgres_password"],
        "volumes": ["postgres-data:/var/lib/postgresql/data"],
        "networks": ["dagster"],
        "deploy": _deploy(CORE),
    }
    services["objectstore"] = {
        "image": images["objectstore"],
        "user": f"{STACK_UID}:{STACK_UID}",
        "cap_drop": ["ALL"],
        "read_only": True,
        "secrets": [_dagster_secrets()[1]],
        "volumes": ["objectstore-data:/data", {"type": "tmpfs", "target": "/tmp"}],
        "networks": ["dagster"],
        "deploy": _deploy(CORE),
    }
    migrate = _dagster_service(compose, "migrate", images["dagster"], env, configs)
    # A one-shot: retried until Postgres answers, then done (Swarm has no depends_on).
    migrate["deploy"] = _deploy(CORE, condition="on-failure")
    services["migrate"] = migrate

    api_env = {**env, "DOCKER_HOST": "tcp://docker-proxy:2375"}
    webserver = _dagster_service(compose, "webserver", images["dagster"], api_env, configs)
    webserver["networks"] = ["dagster", "docker-api"]
    webserver["deploy"] = _deploy(CORE)
    services["webserver"] = webserver
    # Viewers' webserver, read-only and without the Docker proxy, as on one host.
    viewer = _dagster_service(compose, "webserver-viewer", images["dagster"], env, configs)
    viewer["deploy"] = _deploy(CORE)
    services["webserver-viewer"] = viewer
    services["frontdoor"] = _frontdoor(compose, images["frontdoor"], webserver_port, own_tls="tls_cert" in names)

    daemon = _dagster_service(compose, "daemon", images["dagster"], {**api_env, "STACK_STORAGE_POOLED": "1"}, configs)
    daemon["networks"] = ["dagster", "docker-api"]
    daemon["deploy"] = _deploy(CORE)
    services["daemon"] = daemon

    proxy = compose["services"]["docker-proxy"]
    services["docker-proxy"] = {
        "image": images["docker-proxy"],
        "command": ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy-swarm.cfg"],
        "environment": {"STACK_NAME": settings.name},
        "volumes": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}],
        "cap_drop": ["ALL"],
        "read_only": True,
        "healthcheck": proxy["healthcheck"],
        "networks": ["docker-api"],
        # Service calls are answered by a manager only.
        "deploy": _deploy(MANAGER),
    }

    for location in locations:
        image = images[location.name]
        version = image.partition("@sha256:")[2][:12] or image.rsplit(":", 1)[-1]
        context = container_context(settings, location, version)
        own = location_secrets.get(location.name) or {}
        # The runs of this location mount the same secrets (the launcher reads them here).
        context["stack"]["secrets_volume"] = None
        context["stack"][SWARM_SECRETS_KEY] = [f"{stack_secrets[key]}:{file}" for file, key in own.items()]
        services[location.alias] = {
            "image": image,
            "user": f"{STACK_UID}:{STACK_UID}",
            "cap_drop": ["ALL"],
            "read_only": True,
            "volumes": [{"type": "tmpfs", "target": "/tmp"}],
            "environment": {
                **env,
                **location.env,
                "DAGSTER_CURRENT_IMAGE": image,
                "DAGSTER_CONTAINER_CONTEXT": json.dumps(context, sort_keys=True),
            },
            "configs": [{"source": "dagster_yaml", "target": f"{DAGSTER_HOME}/dagster.yaml", "uid": str(STACK_UID), "mode": 0o444}],
            "secrets": _dagster_secrets() + [
                {"source": key, "target": file, "uid": str(STACK_UID), "gid": str(STACK_UID), "mode": 0o400}
                for file, key in own.items()
            ],
            "networks": ["dagster"],
            "deploy": _deploy(CORE),
        }

    return {
        "version": "3.8",
        "services": services,
        "networks": {
            "dagster": {"driver": "overlay", "attachable": True, "name": swarm_env["STACK_SWARM_NETWORK"]},
            "docker-api": {"driver": "overlay", "internal": True},
        },
        "volumes": {"postgres-data": {}, "objectstore-data": {}, "frontdoor-data": {}},
        "configs": {key: {"file": f"./{key}", "name": name} for key, name in configs.items()},
        "secrets": {
            # Fixed names: the run launcher mounts the last two into every run service.
            **{
                key: {"file": f"./secrets/{key}", "name": f"{settings.name}-{key}"}
                for key in ("postgres_password", PGPASS_SECRET, S3_CREDENTIALS_SECRET)
            },
            # Named by content: a redeploy after `stackctl user add` rolls the front door
            # onto the new users file.
            **{key: {"file": f"./secrets/{key}", "name": name} for key, name in frontdoor_secrets.items()},
            **{key: {"file": f"./secrets/{key}", "name": name} for key, name in stack_secrets.items()},
        },
    }
