"""What a location's code server container is: name, labels, environment, mounts and the
container context its runs inherit. Pure: settings and a location in, docker-py kwargs out."""

import json
from typing import Any

from stackctl.declaration import GRPC_PORT, Location
from stackctl.settings import StackSettings

STACK_LABEL = "dagster-fanout/stack"
ROLE_LABEL = "dagster-fanout/role"
LOCATION_LABEL = "dagster-fanout/location"
VERSION_LABEL = "dagster-fanout/version"
SECRETS_TARGET = "/run/secrets"
# The dagster user of both images (their STACK_UID build argument) and of every container.
STACK_UID = 10001


def container_name(settings: StackSettings, location: str, version: str) -> str:
    return f"{settings.name}-code-{location}-{version}"


def image_tag(settings: StackSettings, location: str, version: str) -> str:
    return f"{settings.image_repository(location)}:{version}"


def container_context(settings: StackSettings, location: Location, version: str) -> dict[str, Any]:
    """DAGSTER_CONTAINER_CONTEXT of the code server. Dagster stores it with every run
    submitted from this server, so a queued run keeps this version's settings:
    `docker.env_vars` reaches the run container (Dagster's own key), `stack` is read by the
    stack's run launcher (secrets volume, default limits, labels)."""
    return {
        "docker": {"env_vars": [f"{key}={value}" for key, value in sorted(location.env.items())]},
        "stack": {
            "location": location.name,
            "version": version,
            "secrets_volume": settings.secrets_volume(location.name) if location.secrets else None,
            "run_limits": dict(location.run_limits),
        },
    }


# The code server's health probe, and how often Docker runs it once the server is up.
HEALTH_PROBE = ("python3", "-m", "stack_probes.grpc_serving", str(GRPC_PORT))
HEALTH_INTERVAL_S = 15


def code_server_kwargs(
    settings: StackSettings, location: Location, version: str, instance_env: dict[str, str]
) -> dict[str, Any]:
    """docker-py `containers.create` arguments: hardened like every Dagster service (the
    dagster user, no capabilities, no privilege escalation, read-only root filesystem)."""
    image = image_tag(settings, location.name, version)
    environment = {
        **instance_env,
        **location.env,
        # The run launcher starts this location's runs from exactly this image.
        "DAGSTER_CURRENT_IMAGE": image,
        "DAGSTER_CONTAINER_CONTEXT": json.dumps(container_context(settings, location, version)),
    }
    storage, data = settings.shared_volumes
    volumes = {
        storage: {"bind": "/opt/dagster/storage", "mode": "rw"},
        data: {"bind": "/opt/dagster/data", "mode": "rw"},
        f"{settings.name}-secrets": {"bind": "/opt/dagster/secrets", "mode": "ro"},
    }
    if location.secrets:
        volumes[settings.secrets_volume(location.name)] = {"bind": SECRETS_TARGET, "mode": "ro"}
    return {
        "image": image,
        "name": container_name(settings, location.name, version),
        "labels": {
            STACK_LABEL: settings.name,
            ROLE_LABEL: "code-server",
            LOCATION_LABEL: location.name,
            VERSION_LABEL: version,
        },
        "environment": environment,
        "volumes": volumes,
        "user": f"{STACK_UID}:{STACK_UID}",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=256m"},
        "network": settings.network,
        "restart_policy": {"Name": "unless-stopped"},
        "healthcheck": {
            # The gRPC health service, asked with grpcio alone (no Dagster import). Each
            # check is a `docker exec` of a Python process, CPU taken from the runs at all
            # times, per location: hence a long interval. A deploy does not wait for
            # Docker's first check; it runs the same probe itself (CodeServers.wait_healthy).
            "test": ["CMD", *HEALTH_PROBE],
            "interval": HEALTH_INTERVAL_S * 1_000_000_000,
            "timeout": 10_000_000_000,
            "retries": 3,
            "start_period": 300_000_000_000,
        },
    }
