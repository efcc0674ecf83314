"""What the stack's deployer puts in a code server's container context under the `stack`
key (stackctl/code_server_spec.py), as read back from a run. Dagster stores the context with
every run at submission, so a queued run keeps the settings of the version it came from."""

from collections.abc import Mapping
from typing import Any

from dagster._core.storage.dagster_run import DagsterRun

from dagster_run_limits.limits import CPUS_TAG, MEMORY_TAG

IMAGE_TAG = "stack/image"
CODE_VERSION_TAG = "stack/code-version"
LOCATION_TAG = "stack/location"
LOCATION_LABEL = "dagster-fanout/location"
SECRETS_TARGET = "/run/secrets"


def stack_context(run: DagsterRun) -> Mapping[str, Any]:
    origin = run.job_code_origin
    context = origin.repository_origin.container_context if origin else None
    return (context or {}).get("stack") or {}


def run_image(run: DagsterRun) -> str | None:
    origin = run.job_code_origin
    return origin.repository_origin.container_image if origin else None


# The location's Swarm secrets, `NAME:FILE` each (stackctl swarm render writes them).
SWARM_SECRETS_KEY = "swarm_secrets"


def location_swarm_secrets(context: Mapping[str, Any]) -> tuple[str, ...]:
    """The Swarm secrets of the run's location, mounted into its run service as on one host
    its secrets volume is mounted into its run container."""
    entries = context.get(SWARM_SECRETS_KEY) or []
    return tuple(str(entry) for entry in entries if str(entry).strip())


def tags_with_location_defaults(tags: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """The run's tags, with the location's default `limits/*` where the run sets none."""
    defaults = context.get("run_limits") or {}
    merged = dict(tags)
    for key, tag in (("cpus", CPUS_TAG), ("memory", MEMORY_TAG)):
        if tag not in merged and defaults.get(key):
            merged[tag] = str(defaults[key])
    return merged


def provenance_tags(run: DagsterRun) -> dict[str, str]:
    """Tags that say which build a run uses, shown in the UI with the run."""
    tags = {}
    image = run_image(run)
    context = stack_context(run)
    if image:
        tags[IMAGE_TAG] = image
    if context.get("version"):
        tags[CODE_VERSION_TAG] = str(context["version"])
    if context.get("location"):
        tags[LOCATION_TAG] = str(context["location"])
    return tags
