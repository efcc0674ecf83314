"""The Swarm deployment's dagster.yaml and stack file, derived from the one-host ones."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.declaration import Location
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.swarm_instance import swarm_environment, swarm_instance
from stackctl.swarm_stack import content_name, swarm_stack, workspace_yaml

DIGEST = "sha256:" + "ab" * 32
IMAGES = {
    name: f"node1:5000/st/{name}@{DIGEST}" for name in ("dagster", "postgres", "docker-proxy", "objectstore", "fanout")
}


@pytest.fixture
def base_instance() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(
        name="st", webserver_url="http://127.0.0.1:3000", python_base_image="b", pip_install_args="",
        dagster_image="st/dagster:dev", secrets_dir=tmp_path, keep_images=3, env={"STACK_NAME": "st"},
    )  # fmt: skip


def test_instance_keeps_the_one_host_settings_but_the_launcher_and_logs(base_instance: dict[str, Any]) -> None:
    swarm = swarm_instance(base_instance, "st")
    for key in ("run_storage", "event_log_storage", "schedule_storage", "run_coordinator", "run_monitoring", "run_retries"):
        assert swarm[key] == base_instance[key], key
    launcher = swarm["run_launcher"]
    assert launcher["class"] == "SwarmRunLauncher"
    # One limits policy: the Docker launcher's settings, unchanged.
    assert launcher["config"]["limits"] == base_instance["run_launcher"]["config"]["limits"]
    env_vars = launcher["config"]["env_vars"]
    assert "STACK_POSTGRES_HOST" in env_vars and "STACK_S3_BUCKET" in env_vars
    assert not [v for v in env_vars if "VOLUME" in v]
    assert swarm["compute_logs"]["class"] == "S3FileComputeLogManager"
    assert "st-pgpass:pgpass" in launcher["config"]["secrets"]


def test_the_swarm_instance_loads_in_dagster(base_instance: dict[str, Any], tmp_path: Path) -> None:
    """The derived file is a valid instance config: Dagster's own schema check accepts it."""
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(swarm_instance(base_instance, "st")))
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_launcher"]["class"] == "SwarmRunLauncher"


def _compose_config() -> dict[str, Any]:
    """The repository's compose file as `docker compose config` resolves it, with .env."""
    result = subprocess.run(
        ["docker", "compose", "--project-name", "st", "config", "--format", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "STACK_NAME": "st", "HOME": "/tmp"},
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"docker compose config failed: {result.stderr}")
    return json.loads(result.stdout)


@pytest.mark.docker
def test_stack_file_from_the_compose_file(settings: StackSettings) -> None:
    compose = _compose_config()
    location = Location(name="fanout", path=REPO_ROOT, module="fanout.definitions", env={"A": "1"})
    env = swarm_environment("st", "st-network", "dagster", "http://objectstore:9000")
    stack = swarm_stack(compose, settings, IMAGES, [location], env, {"dagster_yaml": "c1", "workspace": "c2"}, 3000)
    services = stack["services"]
    assert set(services) == {"postgres", "objectstore", "migrate", "webserver", "daemon", "docker-proxy", "code-fanout"}
    for name, service in services.items():
        assert "@sha256:" in service["image"], name
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
    # The same command and health check as on one host.
    assert services["webserver"]["entrypoint"] == compose["services"]["webserver"]["entrypoint"]
    assert services["daemon"]["healthcheck"] == compose["services"]["daemon"]["healthcheck"]
    for name in ("migrate", "webserver", "daemon", "code-fanout"):
        service = services[name]
        assert service["user"] == "10001:10001" and service["cap_drop"] == ["ALL"] and service["read_only"], name
        assert service["environment"]["PGPASSFILE"] == "/run/secrets/pgpass"
        assert service["environment"]["RUN_DEFAULT_MEMORY"] == compose["services"]["migrate"]["environment"]["RUN_DEFAULT_MEMORY"]
    assert services["code-fanout"]["environment"]["DAGSTER_CURRENT_IMAGE"] == IMAGES["fanout"]
    assert services["code-fanout"]["environment"]["A"] == "1"
    assert services["webserver"]["ports"][0]["mode"] == "host"
    assert services["docker-proxy"]["deploy"]["placement"]["constraints"] == ["node.role==manager"]
    assert "haproxy-swarm.cfg" in services["docker-proxy"]["command"][-1]


def test_workspace_and_content_names() -> None:
    location = Location(name="fanout", path=REPO_ROOT, module="m")
    assert "host: code-fanout, port: 4000, location_name: fanout" in workspace_yaml([location])
    assert content_name("st", "workspace", b"a") != content_name("st", "workspace", b"b")
    assert content_name("st", "workspace", b"a").startswith("st-workspace-")


def test_run_services_get_no_names_from_before_the_rename(base_instance: dict[str, Any]) -> None:
    """The DAGSTER_* copies serve images built before the rename; a Swarm has none, and a
    run launcher that passes a variable the daemon lacks fails every launch."""
    env_vars = swarm_instance(base_instance, "st")["run_launcher"]["config"]["env_vars"]
    assert [v for v in env_vars if v.startswith("DAGSTER_")] == [
        "DAGSTER_DEFAULT_IO_MANAGER_MODULE",
        "DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE",
    ]
