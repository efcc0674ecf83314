"""The Swarm deployment's dagster.yaml, derived from the one-host dagster.yaml rather than
kept beside it: the same storages, coordinator, monitoring, retries and limits policy; only
what a cluster must do differently is replaced. Pure: a parsed dagster.yaml in, one out."""

import copy
from typing import Any

# Where a run service finds its secret files (the launcher mounts them as Swarm secrets).
SECRETS_DIR = "/run/secrets"
PGPASS_SECRET = "pgpass"
S3_CREDENTIALS_SECRET = "s3_credentials"

# Variables that only mean something with the one host's named volumes.
_VOLUME_VARIABLES = ("_VOLUME", "STACK_DOCKER_NETWORK", "DAGSTER_DOCKER_NETWORK", "RUN_KEEP_EXITED_CONTAINERS")

# What every Dagster process and run of the Swarm deployment gets besides the one host's:
# the object store (stack_object_store, docs/object-storage.md) and the overlay network.
SWARM_VARIABLES = (
    "STACK_SWARM_NETWORK",
    "STACK_SWARM_RUN_CONSTRAINT",
    "STACK_S3_ENDPOINT_URL",
    "STACK_S3_BUCKET",
    "STACK_S3_PREFIX",
    "AWS_SHARED_CREDENTIALS_FILE",
    "DAGSTER_DEFAULT_IO_MANAGER_MODULE",
    "DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE",
    "RUN_KEEP_FINISHED_SERVICES",
)

COMPUTE_LOGS = {
    # Captured to local files as on one host (no mirror processes per step), then uploaded:
    # the webserver on another node reads them from the bucket.
    "module": "stack_object_store",
    "class": "S3FileComputeLogManager",
    "config": {
        "bucket": {"env": "STACK_S3_BUCKET"},
        "prefix": {"env": "STACK_S3_PREFIX"},
        "endpoint_url": {"env": "STACK_S3_ENDPOINT_URL"},
        "local_dir": "/tmp/compute_logs",
    },
}


def _env_name(value: Any) -> str:
    return value.get("env", "") if isinstance(value, dict) else str(value)


def swarm_instance(base: dict[str, Any], stack_name: str) -> dict[str, Any]:
    """`base` is the parsed one-host dagster.yaml."""
    instance = copy.deepcopy(base)
    docker = base["run_launcher"]["config"]
    env_vars = [
        var
        for var in docker.get("env_vars", [])
        if not any(part in _env_name(var) for part in _VOLUME_VARIABLES)
        # The names before the rename serve images built before it; a Swarm has none.
        and not _env_name(var).startswith("DAGSTER_")
    ]
    instance["run_launcher"] = {
        "module": "dagster_run_limits",
        "class": "SwarmRunLauncher",
        "config": {
            "stack_name": {"env": "STACK_NAME"},
            "networks": [{"env": "STACK_SWARM_NETWORK"}],
            "constraints": [{"env": "STACK_SWARM_RUN_CONSTRAINT"}],
            # Stack-prefixed Swarm secret names, mounted under the file names PGPASSFILE
            # and AWS_SHARED_CREDENTIALS_FILE point at.
            "secrets": [
                f"{stack_name}-{PGPASS_SECRET}:{PGPASS_SECRET}",
                f"{stack_name}-{S3_CREDENTIALS_SECRET}:{S3_CREDENTIALS_SECRET}",
            ],
            "env_vars": [*env_vars, *SWARM_VARIABLES],
            "limits": copy.deepcopy(docker["limits"]),
            "keep_finished_services": {"env": "RUN_KEEP_FINISHED_SERVICES"},
        },
    }
    instance["compute_logs"] = copy.deepcopy(COMPUTE_LOGS)
    # The IO manager writes to the object store (DAGSTER_DEFAULT_IO_MANAGER_*); what is left
    # on local disk is scratch, on each container's /tmp.
    instance["local_artifact_storage"] = {
        "module": "dagster.core.storage.root",
        "class": "LocalArtifactStorage",
        "config": {"base_dir": "/tmp/dagster-storage"},
    }
    return instance


def swarm_environment(stack_name: str, network: str, bucket: str, endpoint_url: str) -> dict[str, str]:
    """The variables SWARM_VARIABLES names, as the stack file gives them to every Dagster
    service; the launcher passes them on to run services."""
    return {
        "STACK_SWARM_NETWORK": network,
        "STACK_SWARM_RUN_CONSTRAINT": "node.labels.stack.role==runs",
        "STACK_S3_ENDPOINT_URL": endpoint_url,
        "STACK_S3_BUCKET": bucket,
        "STACK_S3_PREFIX": "dagster",
        "AWS_SHARED_CREDENTIALS_FILE": f"{SECRETS_DIR}/{S3_CREDENTIALS_SECRET}",
        "DAGSTER_DEFAULT_IO_MANAGER_MODULE": "stack_object_store.io_manager",
        "DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE": "s3_io_manager",
        "RUN_KEEP_FINISHED_SERVICES": "20",
        "PGPASSFILE": f"{SECRETS_DIR}/{PGPASS_SECRET}",
        "STACK_NAME": stack_name,
    }
