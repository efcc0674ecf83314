"""The run limits policy on Kubernetes, on paper: run tags -> the run's Job manifest, built by
dagster_k8s's own job builder and checked against the Kubernetes OpenAPI schema.

Needs neither Docker nor a cluster nor network: the "cluster" is a kubeconfig nobody dials,
and the one test that goes through K8sRunLauncher.launch_run hands it a fake batch API that
keeps the Job instead of creating it.
"""

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
import kubernetes_validate
import pytest
from dagster._config import process_config
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import (
    K8S_RESOURCE_REQUIREMENTS_KEY,
    USER_DEFINED_K8S_CONFIG_KEY,
    DagsterK8sJobConfig,
    construct_dagster_k8s_job,
    get_job_name_from_run_id,
    get_user_defined_k8s_config,
)
from dagster_k8s.models import k8s_snake_case_dict
from kubernetes.client import ApiClient, V1SecurityContext
from kubernetes.utils import parse_quantity

from dagster_run_limits import CPUS_TAG, MEMORY_TAG, LimitedDockerRunLauncher, LimitPolicy
from dagster_run_limits.k8s_resources import (
    K8S_CONFIG_TAG,
    K8S_LEGACY_RESOURCES_TAG,
    k8s_resources,
    k8s_run_tags,
    user_defined_k8s_config,
)
from dagster_run_limits.limits import RunLimitsError, resolve_run_limits

# The API the kubernetes client, and so dagster_k8s's models, were generated from
# (kubernetes 36.x: "release-1.36"); kubernetes-validate 1.37.0 ships its schema.
K8S_VERSION = "1.36"

POLICY = LimitPolicy.from_strings(
    default_cpus="1", default_memory="1g", max_cpus="2", max_memory="4g", pids_limit=256
)
RUN_ID = "0f6d2c5e-6a8f-4a47-9d8e-3c1b7f4a2e10"
JOB_NAME = "fanout_job"
# Well-formed but fake: one repository per location, an immutable content-derived tag.
IMAGE = "registry.example.com/stack/fanout:3f2a9c1e5b7d"
ARGS = ["dagster", "api", "execute_run", '{"__class__": "ExecuteRunArgs"}']

# The Quantity grammar of k8s.io/apimachinery (the schema itself takes any string).
QUANTITY_RE = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(\d+(\.\d*)?|\.\d+)))?$"
)

# The run launcher's config as the Helm chart renders it into dagster.yaml (docs/kubernetes.md),
# hardened like the stack's Docker run containers; kubeconfig_file replaces in-cluster config.
HELM_RUN_LAUNCHER = {
    "service_account_name": "dagster",
    "instance_config_map": "dagster-instance",
    "postgres_password_secret": "dagster-postgresql-secret",
    "dagster_home": "/opt/dagster/dagster_home",
    "job_namespace": "dagster",
    "image_pull_policy": "IfNotPresent",
    "load_incluster_config": False,
    "security_context": {
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "volumes": [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
    ],
    "volume_mounts": [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "shm", "mountPath": "/dev/shm"},
    ],
}

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: paper, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: paper, user: {token: not-a-token}}]
contexts: [{name: paper, context: {cluster: paper, user: paper}}]
current-context: paper
"""


def _job_config() -> DagsterK8sJobConfig:
    config = {k: v for k, v in HELM_RUN_LAUNCHER.items() if k in DagsterK8sJobConfig._fields}
    # K8sRunLauncher snake-cases the security context on its way to the container
    # (K8sContainerContext); the job config takes it as the builder wants it.
    config["security_context"] = k8s_snake_case_dict(V1SecurityContext, config["security_context"])
    return DagsterK8sJobConfig(job_image=IMAGE, **config)


def _manifest(tags: Mapping[str, str]) -> dict[str, Any]:
    """The run's Job as a plain dict: tags -> policy -> dagster-k8s/config tag -> parsed by
    dagster_k8s as K8sRunLauncher does -> its job builder -> the API's JSON."""
    run_tags = {**tags, **k8s_run_tags(tags, POLICY)}
    job = construct_dagster_k8s_job(
        job_config=_job_config(),
        args=ARGS,
        job_name=get_job_name_from_run_id(RUN_ID),
        user_defined_k8s_config=get_user_defined_k8s_config(run_tags),
        component="run_worker",
        labels={"dagster/job": JOB_NAME, "dagster/run-id": RUN_ID},
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": JOB_NAME}],
    )
    return ApiClient().sanitize_for_serialization(job)


def _container(manifest: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize(
    ("tags", "cpu", "memory"),
    [
        pytest.param({}, "1000m", "1024Mi", id="defaults"),
        pytest.param({CPUS_TAG: "1.5", MEMORY_TAG: "768m"}, "1500m", "768Mi", id="within-max"),
        pytest.param({CPUS_TAG: "8", MEMORY_TAG: "16g"}, "2000m", "4096Mi", id="clamped"),
        pytest.param({CPUS_TAG: "0.25"}, "250m", "1024Mi", id="fractional-cpu"),
        pytest.param({CPUS_TAG: "1.1"}, "1100m", "1024Mi", id="fractional-cpu-float-noise"),
        pytest.param({MEMORY_TAG: "1.5g"}, "1000m", "1536Mi", id="memory-fractional-g"),
        pytest.param({MEMORY_TAG: "2Gi"}, "1000m", "2048Mi", id="memory-Gi"),
        pytest.param({MEMORY_TAG: "8192k"}, "1000m", "8Mi", id="memory-k"),
        pytest.param({MEMORY_TAG: "1048576000"}, "1000m", "1000Mi", id="memory-bytes-whole-MiB"),
        pytest.param({MEMORY_TAG: "1.1g"}, "1000m", "1181116006", id="memory-bytes"),
    ],
)
def test_job_manifest_is_valid_and_sized_by_the_policy(
    tags: dict[str, str], cpu: str, memory: str
) -> None:
    manifest = _manifest(tags)

    assert kubernetes_validate.validate(manifest, K8S_VERSION, strict=True) == K8S_VERSION
    resolved = resolve_run_limits(tags, POLICY)
    amounts = {"cpu": cpu, "memory": memory}
    resources = _container(manifest)["resources"]
    assert resources == {"requests": amounts, "limits": amounts}
    assert resources == k8s_resources(resolved)
    # Exactly the policy's numbers, read back the way Kubernetes reads quantities.
    for quantity in amounts.values():
        assert QUANTITY_RE.match(quantity), quantity
    assert parse_quantity(cpu) == Decimal(str(resolved.cpus))
    assert parse_quantity(memory) == resolved.memory


def test_clamping_applies_on_kubernetes_as_on_docker() -> None:
    tags = {CPUS_TAG: "8", MEMORY_TAG: "16g"}
    resolved = resolve_run_limits(tags, POLICY)
    assert (resolved.cpus, resolved.memory) == (POLICY.max_cpus, POLICY.max_memory)
    assert len(resolved.notes) == 2
    limits = _container(_manifest(tags))["resources"]["limits"]
    assert parse_quantity(limits["cpu"]) == Decimal(str(POLICY.max_cpus))
    assert parse_quantity(limits["memory"]) == POLICY.max_memory


def test_the_schema_check_has_teeth() -> None:
    manifest = _manifest({})
    _container(manifest)["resources"]["limits"]["cpu"] = {"millicores": 1000}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    manifest = _manifest({})
    _container(manifest)["resourceLimits"] = {"cpu": "1"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_tag_names_are_dagster_k8s_own() -> None:
    assert K8S_CONFIG_TAG == USER_DEFINED_K8S_CONFIG_KEY
    assert K8S_LEGACY_RESOURCES_TAG == K8S_RESOURCE_REQUIREMENTS_KEY


def test_user_defined_k8s_config_is_what_dagster_k8s_parses() -> None:
    resolved = resolve_run_limits({CPUS_TAG: "1.5"}, POLICY)
    config = user_defined_k8s_config(resolved)
    assert dict(config.container_config) == {"resources": k8s_resources(resolved)}


def _docker_launcher(over_max: str) -> LimitedDockerRunLauncher:
    limits = {"default_cpus": "1", "default_memory": "1g", "max_cpus": "2", "max_memory": "4g"}
    config = {"network": "paper", "limits": {**limits, "over_max": over_max}}
    processed = process_config(LimitedDockerRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    return LimitedDockerRunLauncher.from_config_value(None, processed.value)


@pytest.mark.parametrize(
    ("tags", "over_max"),
    [
        ({CPUS_TAG: "lots"}, "clamp"),
        ({CPUS_TAG: "0"}, "clamp"),
        ({MEMORY_TAG: "1.5x"}, "clamp"),
        ({MEMORY_TAG: "4k"}, "clamp"),
        ({CPUS_TAG: "3"}, "reject"),
        ({MEMORY_TAG: "5g"}, "reject"),
    ],
)
def test_invalid_tags_raise_the_same_error_as_on_docker(
    tags: dict[str, str], over_max: str
) -> None:
    docker = _docker_launcher(over_max)
    with pytest.raises(RunLimitsError) as on_docker:
        docker.resolve_limits(dg.DagsterRun(job_name=JOB_NAME, run_id=RUN_ID, tags=tags))
    with pytest.raises(RunLimitsError) as on_k8s:
        k8s_run_tags(tags, docker.policy)
    assert str(on_k8s.value) == str(on_docker.value)


def test_a_config_tag_keeps_its_settings_but_not_its_resources() -> None:
    # A run asking past the maximum through dagster-k8s/config is clamped like any other.
    own = {
        "container_config": {"resources": {"limits": {"cpu": "64", "memory": "256Gi"}}},
        "pod_spec_config": {"node_selector": {"pool": "batch"}},
    }
    manifest = _manifest({CPUS_TAG: "8", K8S_CONFIG_TAG: json.dumps(own)})
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    amounts = {"cpu": "2000m", "memory": "1024Mi"}
    assert _container(manifest)["resources"] == {"requests": amounts, "limits": amounts}
    assert manifest["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "batch"}


@pytest.mark.parametrize("value", ["{not json", "[]", '{"container_config": "big"}'])
def test_a_malformed_config_tag_is_refused(value: str) -> None:
    with pytest.raises(RunLimitsError, match=K8S_CONFIG_TAG):
        k8s_run_tags({K8S_CONFIG_TAG: value}, POLICY)


def test_the_legacy_resources_tag_is_refused() -> None:
    legacy = json.dumps({"limits": {"cpu": "64"}})
    with pytest.raises(RunLimitsError, match=K8S_LEGACY_RESOURCES_TAG):
        k8s_run_tags({K8S_LEGACY_RESOURCES_TAG: legacy}, POLICY)


# --- Through K8sRunLauncher itself --------------------------------------------------------

# What `includeConfigInLaunchedRuns` (on by default) copies from a user deployment into its
# runs' container context: including the *code server's* `resources`.
CODE_SERVER_CONTEXT = {
    "k8s": {
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        }
    }
}
# runLauncher.config.k8sRunLauncher.resources: a key the policy does not set survives.
LAUNCHER_RESOURCES = {"limits": {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "2Gi"}}


def _launch(tmp_path: Path, tags: Mapping[str, str]) -> dict[str, Any]:
    """K8sRunLauncher.launch_run for one run; returns the Job it would have created."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    batch_api = mock.MagicMock()
    config = {**HELM_RUN_LAUNCHER, "kubeconfig_file": str(kubeconfig)}
    processed = process_config(DagsterK8sJobConfig.config_type_run_launcher(), config)
    assert processed.success, processed.errors
    launcher = K8sRunLauncher(
        **processed.value,
        resources=LAUNCHER_RESOURCES,
        k8s_client_batch_api=batch_api,
        k8s_client_core_api=mock.MagicMock(),
    )
    origin = JobPythonOrigin(
        JOB_NAME,
        RepositoryPythonOrigin(
            executable_path="/opt/venv/bin/python",
            code_pointer=ModuleCodePointer("fanout.definitions", "defs", None),
            container_image=IMAGE,
            container_context=CODE_SERVER_CONTEXT,
        ),
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        launcher.register_instance(instance)
        run = instance.add_run(
            dg.DagsterRun(job_name=JOB_NAME, run_id=RUN_ID, tags=dict(tags), job_code_origin=origin)
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    body = batch_api.create_namespaced_job.call_args.kwargs["body"]
    assert batch_api.create_namespaced_job.call_args.kwargs["namespace"] == "dagster"
    return ApiClient().sanitize_for_serialization(body)


def test_k8s_run_launcher_sizes_the_pod_by_the_policy_tag(tmp_path: Path) -> None:
    tags = {CPUS_TAG: "1.5", MEMORY_TAG: "16g"}
    manifest = _launch(tmp_path, {**tags, **k8s_run_tags(tags, POLICY)})

    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    container = _container(manifest)
    amounts = {"cpu": "1500m", "memory": "4096Mi"}
    assert container["resources"] == {
        "requests": amounts,
        "limits": {**amounts, "ephemeral-storage": "2Gi"},
    }
    assert container["image"] == IMAGE
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_without_the_tag_a_run_would_be_sized_like_its_code_server(tmp_path: Path) -> None:
    # Why the coordinator must tag every run, untagged ones included.
    manifest = _launch(tmp_path, {CPUS_TAG: "1.5", MEMORY_TAG: "768m"})
    resources = _container(manifest)["resources"]
    assert resources["limits"]["cpu"] == "500m"
    assert resources["limits"]["memory"] == "512Mi"
