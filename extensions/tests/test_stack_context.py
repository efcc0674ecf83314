"""dagster_run_limits.stack_context: the deployer's `stack` container context, read from a run."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pytest
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

from dagster_run_limits import CPUS_TAG, MEMORY_TAG
from dagster_run_limits.stack_context import (
    CODE_VERSION_TAG,
    IMAGE_TAG,
    LOCATION_TAG,
    location_swarm_secrets,
    provenance_tags,
    run_image,
    stack_context,
    tags_with_location_defaults,
)

LIMITS = {"run_limits": {"cpus": "1", "memory": "512m"}}
IMAGE = "STACK/warehouse:0123456789ab"


@pytest.mark.parametrize(
    ("tags", "context", "expected"),
    [
        ({}, LIMITS, {CPUS_TAG: "1", MEMORY_TAG: "512m"}),
        ({CPUS_TAG: "2"}, LIMITS, {CPUS_TAG: "2", MEMORY_TAG: "512m"}),
        ({MEMORY_TAG: "2g"}, LIMITS, {CPUS_TAG: "1", MEMORY_TAG: "2g"}),
        ({CPUS_TAG: "0.5", MEMORY_TAG: "1g"}, LIMITS, {CPUS_TAG: "0.5", MEMORY_TAG: "1g"}),
        ({"team": "a"}, LIMITS, {"team": "a", CPUS_TAG: "1", MEMORY_TAG: "512m"}),
        ({}, {"run_limits": {"cpus": "1"}}, {CPUS_TAG: "1"}),
        ({}, {"run_limits": {"cpus": 2}}, {CPUS_TAG: "2"}),
        ({}, {"run_limits": {"cpus": "", "memory": None}}, {}),
        ({}, {"run_limits": None}, {}),
        ({"team": "a"}, {}, {"team": "a"}),
    ],
)
def test_tags_with_location_defaults(
    tags: dict[str, str], context: Mapping[str, Any], expected: dict[str, str]
) -> None:
    assert tags_with_location_defaults(tags, context) == expected


def test_tags_with_location_defaults_does_not_change_its_input() -> None:
    tags = {"team": "a"}
    tags_with_location_defaults(tags, LIMITS)
    assert tags == {"team": "a"}


def _run(container_context: dict[str, Any] | None, image: str | None = IMAGE) -> dg.DagsterRun:
    origin = JobPythonOrigin(
        "job",
        RepositoryPythonOrigin(
            executable_path="/opt/venv/bin/python",
            code_pointer=ModuleCodePointer("warehouse.definitions", "defs", None),
            container_image=image,
            container_context=container_context,
        ),
    )
    return dg.DagsterRun(job_name="job", run_id="run-1", job_code_origin=origin)


def test_provenance_tags_from_the_code_server_context() -> None:
    run = _run({"docker": {"env_vars": []}, "stack": {"location": "warehouse", "version": "0123456789ab", **LIMITS}})
    assert stack_context(run)["run_limits"] == LIMITS["run_limits"]
    assert run_image(run) == IMAGE
    assert provenance_tags(run) == {
        IMAGE_TAG: IMAGE,
        CODE_VERSION_TAG: "0123456789ab",
        LOCATION_TAG: "warehouse",
    }


def test_provenance_tags_without_a_stack_context() -> None:
    run = _run(None, image=None)
    assert stack_context(run) == {}
    assert provenance_tags(run) == {}


def test_run_without_code_origin() -> None:
    run = dg.DagsterRun(job_name="job", run_id="run-2")
    assert stack_context(run) == {}
    assert run_image(run) is None
    assert provenance_tags(run) == {}


def test_a_locations_swarm_secrets_come_from_its_context() -> None:
    assert location_swarm_secrets({"swarm_secrets": ["st-tok-1:api_token", " "]}) == ("st-tok-1:api_token",)
    assert location_swarm_secrets({}) == ()
    assert location_swarm_secrets({"swarm_secrets": None}) == ()
