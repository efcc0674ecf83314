"""The run limits policy on Kubernetes: a resolved `RunLimits` as the run pod's container
resources, in the `dagster-k8s/config` run tag that `dagster_k8s.K8sRunLauncher` reads.

One rule for requests and limits: requests = limits, both the policy's resolved values. On
Docker a run gets a hard cap and nothing else; on Kubernetes the same numbers as requests
make the scheduler place the pod only where they fit, and equal requests and limits give
the pod the Guaranteed QoS class: a run is OOM-killed only at its own limit (the failure the
Docker launcher reports), never evicted first under node memory pressure. The cost is that
capacity requested but unused stays idle; burstable requests would buy density by making
run deaths depend on the neighbours.

`pids_limit` has no per-container field in Kubernetes (the kubelet's `podPidsLimit` is a node
setting), so it is not carried here.

Pure functions; `dagster_k8s` is imported only inside `user_defined_k8s_config`, so the
images, which never launch on Kubernetes, need not install it.
"""

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster_run_limits.limits import LimitPolicy, RunLimits, RunLimitsError, resolve_run_limits

if TYPE_CHECKING:
    from dagster_k8s.job import UserDefinedDagsterK8sConfig

# dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY (a test checks they agree).
K8S_CONFIG_TAG = "dagster-k8s/config"
# dagster_k8s's older per-run resources tag: its resources replace those of K8S_CONFIG_TAG
# wholesale (get_user_defined_k8s_config), so a run carrying it would escape the policy.
K8S_LEGACY_RESOURCES_TAG = "dagster-k8s/resource_requirements"

_MIB = 1024**2


def cpu_quantity(cpus: float) -> str:
    """1.5 -> "1500m". Whole millicores, rounded up: Kubernetes takes nothing finer, and
    rounding up never gives a run less than the policy granted. The inner round() keeps
    float noise (1.1 * 1000 = 1100.0000000000002) from adding a millicore."""
    return f"{max(1, math.ceil(round(cpus * 1000, 6)))}m"


def memory_quantity(num_bytes: int) -> str:
    """Bytes -> "1536Mi" when a whole number of MiB, else the bare byte count: both exact,
    so the pod's limit is the policy's to the byte, as Docker's `mem_limit` is."""
    if num_bytes % _MIB == 0:
        return f"{num_bytes // _MIB}Mi"
    return str(num_bytes)


def k8s_resources(limits: RunLimits) -> dict[str, dict[str, str]]:
    """Container `resources` for the run pod: requests = limits (Guaranteed QoS; see the
    module docstring). Always all four keys, because dagster_k8s deep-merges this over the
    launcher's and the code location's resources: a key left out would be theirs."""
    amounts = {"cpu": cpu_quantity(limits.cpus), "memory": memory_quantity(limits.memory)}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def k8s_container_config(limits: RunLimits) -> dict[str, Any]:
    """The `container_config` of a dagster_k8s user-defined config (run tag, `run_k8s_config`
    or the Helm chart's `runK8sConfig.containerConfig`)."""
    return {"resources": k8s_resources(limits)}


def k8s_config_tag_value(limits: RunLimits, existing: str | None = None) -> str:
    """The JSON value of the run's `dagster-k8s/config` tag. Whatever else a value already on
    the run sets (node selector, labels, ...) is kept; only its container resources are
    replaced, so the tag cannot be used to ask past the operator's maximums."""
    config: dict[str, Any] = {}
    if existing:
        try:
            config = json.loads(existing)
        except json.JSONDecodeError:
            raise RunLimitsError(f"{K8S_CONFIG_TAG}: {existing!r} is not JSON") from None
        if not isinstance(config, dict):
            raise RunLimitsError(f"{K8S_CONFIG_TAG}: {existing!r} is not a JSON object")
    container_config = config.get("container_config") or {}
    if not isinstance(container_config, dict):
        raise RunLimitsError(f"{K8S_CONFIG_TAG}: container_config must be a JSON object")
    config["container_config"] = {**container_config, **k8s_container_config(limits)}
    return json.dumps(config, sort_keys=True)


def k8s_run_tags(tags: Mapping[str, str], policy: LimitPolicy) -> dict[str, str]:
    """The tags a run coordinator adds at submission so K8sRunLauncher sizes the run's pod by
    the policy. Raises the same RunLimitsError as the Docker launcher for a bad `limits/*`
    tag, and refuses the legacy resources tag, which would override the policy."""
    if K8S_LEGACY_RESOURCES_TAG in tags:
        raise RunLimitsError(
            f"{K8S_LEGACY_RESOURCES_TAG}: not accepted here; set limits/cpus and limits/memory"
        )
    limits = resolve_run_limits(tags, policy)
    return {K8S_CONFIG_TAG: k8s_config_tag_value(limits, tags.get(K8S_CONFIG_TAG))}


def user_defined_k8s_config(limits: RunLimits) -> "UserDefinedDagsterK8sConfig":
    """The config K8sRunLauncher derives from the tag, parsed by dagster_k8s itself (and so
    validated against its tag schema), to hand to `construct_dagster_k8s_job`."""
    from dagster_k8s.job import get_user_defined_k8s_config

    return get_user_defined_k8s_config({K8S_CONFIG_TAG: k8s_config_tag_value(limits)})
