"""stackctl.code_server_spec: a location's code server container, as docker-py kwargs."""

import json
from pathlib import Path
from typing import Any

import pytest

from stackctl.code_server_spec import (
    LOCATION_LABEL,
    ROLE_LABEL,
    STACK_LABEL,
    VERSION_LABEL,
    code_server_kwargs,
    container_name,
    image_tag,
)
from stackctl.declaration import Location
from stackctl.settings import StackSettings

VERSION = "0123456789ab"
SECRET_VALUE = "s3cr3t-value-never-in-kwargs"
INSTANCE_ENV = {"STACK_POSTGRES_HOST": "postgres", "DAGSTER_HOME": "/opt/dagster/dagster_home"}


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    secrets_dir = tmp_path / "secrets"
    (secrets_dir / "warehouse").mkdir(parents=True)
    (secrets_dir / "warehouse" / "api_token").write_text(SECRET_VALUE)
    return StackSettings(
        name="teststack",
        webserver_url="http://127.0.0.1:3000",
        python_base_image="python:3.11-slim-bookworm",
        pip_install_args="",
        dagster_image="teststack/dagster:dev",
        secrets_dir=secrets_dir,
        keep_images=3,
        env={"STACK_NAME": "teststack"},
    )


def _location(secrets: tuple[str, ...] = (), run_limits: dict[str, str] | None = None) -> Location:
    return Location(
        name="warehouse",
        path=Path("/repo/user_code/warehouse"),
        module="warehouse.definitions",
        env={"WAREHOUSE_REGION": "eu", "A_FIRST": "x=y"},
        secrets=secrets,
        run_limits=run_limits or {},
    )


def _context(kwargs: dict[str, Any]) -> dict[str, Any]:
    return json.loads(kwargs["environment"]["DAGSTER_CONTAINER_CONTEXT"])


def test_container_is_hardened(settings: StackSettings) -> None:
    kwargs = code_server_kwargs(settings, _location(), VERSION, INSTANCE_ENV)
    assert kwargs["user"] == "10001:10001"
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["read_only"] is True
    assert kwargs["security_opt"] == ["no-new-privileges:true"]
    assert "privileged" not in kwargs
    assert kwargs["network"] == "teststack-network"


def test_image_name_and_labels(settings: StackSettings) -> None:
    kwargs = code_server_kwargs(settings, _location(), VERSION, INSTANCE_ENV)
    assert kwargs["image"] == image_tag(settings, "warehouse", VERSION) == f"teststack/warehouse:{VERSION}"
    assert kwargs["name"] == container_name(settings, "warehouse", VERSION) == f"teststack-code-warehouse-{VERSION}"
    assert kwargs["labels"] == {
        STACK_LABEL: "teststack",
        ROLE_LABEL: "code-server",
        LOCATION_LABEL: "warehouse",
        VERSION_LABEL: VERSION,
    }


def test_environment_carries_instance_location_and_current_image(settings: StackSettings) -> None:
    environment = code_server_kwargs(settings, _location(), VERSION, INSTANCE_ENV)["environment"]
    assert environment["DAGSTER_CURRENT_IMAGE"] == f"teststack/warehouse:{VERSION}"
    assert environment["STACK_POSTGRES_HOST"] == "postgres"
    assert environment["WAREHOUSE_REGION"] == "eu"


def test_location_env_cannot_replace_the_current_image(settings: StackSettings) -> None:
    location = Location(
        name="warehouse", path=Path("/x"), module="m", env={"DAGSTER_CURRENT_IMAGE": "evil:latest"}
    )
    environment = code_server_kwargs(settings, location, VERSION, {})["environment"]
    assert environment["DAGSTER_CURRENT_IMAGE"] == f"teststack/warehouse:{VERSION}"


def test_container_context_with_secrets_and_limits(settings: StackSettings) -> None:
    location = _location(secrets=("api_token",), run_limits={"cpus": "1", "memory": "512m"})
    context = _context(code_server_kwargs(settings, location, VERSION, INSTANCE_ENV))
    assert context["docker"]["env_vars"] == ["A_FIRST=x=y", "WAREHOUSE_REGION=eu"]
    assert context["stack"] == {
        "location": "warehouse",
        "version": VERSION,
        "secrets_volume": "teststack-secrets-warehouse",
        "run_limits": {"cpus": "1", "memory": "512m"},
    }


def test_container_context_without_secrets(settings: StackSettings) -> None:
    context = _context(code_server_kwargs(settings, _location(), VERSION, INSTANCE_ENV))
    assert context["stack"]["secrets_volume"] is None
    assert context["stack"]["run_limits"] == {}


def test_secrets_volume_is_mounted_read_only_only_when_declared(settings: StackSettings) -> None:
    with_secrets = code_server_kwargs(settings, _location(secrets=("api_token",)), VERSION, INSTANCE_ENV)
    assert with_secrets["volumes"]["teststack-secrets-warehouse"] == {"bind": "/run/secrets", "mode": "ro"}
    without = code_server_kwargs(settings, _location(), VERSION, INSTANCE_ENV)
    assert "teststack-secrets-warehouse" not in without["volumes"]
    assert all(mount["bind"] != "/run/secrets" for mount in without["volumes"].values())


def test_no_volume_is_writable_but_storage_and_data(settings: StackSettings) -> None:
    volumes = code_server_kwargs(settings, _location(secrets=("api_token",)), VERSION, INSTANCE_ENV)["volumes"]
    writable = {mount["bind"] for mount in volumes.values() if mount["mode"] != "ro"}
    assert writable == {"/opt/dagster/storage", "/opt/dagster/data"}


def test_no_secret_value_appears_in_the_kwargs(settings: StackSettings) -> None:
    location = _location(secrets=("api_token",), run_limits={"cpus": "1"})
    kwargs = code_server_kwargs(settings, location, VERSION, INSTANCE_ENV)
    assert SECRET_VALUE not in json.dumps(kwargs)
    assert "api_token" not in json.dumps(kwargs["environment"])
