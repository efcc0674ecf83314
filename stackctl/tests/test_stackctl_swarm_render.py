"""The Swarm deployment's dagster.yaml and stack file, derived from the one-host ones."""

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.declaration import Location
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.swarm_instance import swarm_environment, swarm_instance
from stackctl.swarm_stack import content_name, location_secret_key, swarm_stack, workspace_yaml

DIGEST = "sha256:" + "ab" * 32
IMAGES = {
    name: f"node1:5000/st/{name}@{DIGEST}" for name in ("dagster", "postgres", "docker-proxy", "objectstore", "frontdoor", "fanout")
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
    names = {"dagster_yaml": "c1", "workspace": "c2", "frontdoor_users": "st-frontdoor-users-1"}
    stack = swarm_stack(compose, settings, IMAGES, [location], env, names, 3000)
    services = stack["services"]
    assert set(services) == {
        "postgres", "objectstore", "migrate", "webserver", "webserver-viewer", "frontdoor", "daemon", "docker-proxy",
        "code-fanout",
    }  # fmt: skip
    for name, service in services.items():
        assert "@sha256:" in service["image"], name
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
    # The same command and health check as on one host.
    assert services["webserver"]["entrypoint"] == compose["services"]["webserver"]["entrypoint"]
    assert services["daemon"]["healthcheck"] == compose["services"]["daemon"]["healthcheck"]
    for name in ("migrate", "webserver", "webserver-viewer", "daemon", "code-fanout"):
        service = services[name]
        assert service["user"] == "10001:10001" and service["cap_drop"] == ["ALL"] and service["read_only"], name
        assert service["environment"]["PGPASSFILE"] == "/run/secrets/pgpass"
        assert service["environment"]["RUN_DEFAULT_MEMORY"] == compose["services"]["migrate"]["environment"]["RUN_DEFAULT_MEMORY"]
    assert services["code-fanout"]["environment"]["DAGSTER_CURRENT_IMAGE"] == IMAGES["fanout"]
    assert services["code-fanout"]["environment"]["A"] == "1"
    # The front door is the only published port, as on one host; viewers get the read-only
    # webserver, which has no Docker access.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"frontdoor"}
    assert services["frontdoor"]["ports"] == [{"target": 8443, "published": 3000, "mode": "host"}]
    # Its own health only: Swarm would replace a front door whose webserver is slow.
    health = services["frontdoor"]["healthcheck"]
    assert "8443" in health["test"][-1] and "/healthz" not in health["test"][-1]
    assert health["interval"] == compose["services"]["frontdoor"]["healthcheck"]["interval"]
    assert services["frontdoor"]["user"] == "10002:10002" and services["frontdoor"]["read_only"]
    assert [secret["source"] for secret in services["frontdoor"]["secrets"]] == ["frontdoor_users"]
    assert stack["secrets"]["frontdoor_users"]["name"] == "st-frontdoor-users-1"
    assert "--read-only" in services["webserver-viewer"]["entrypoint"][-1]
    assert services["webserver-viewer"]["networks"] == ["dagster"]
    assert "DOCKER_HOST" not in services["webserver-viewer"]["environment"]
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


@pytest.mark.docker
def test_the_operators_certificate_reaches_the_front_door(settings: StackSettings) -> None:
    names = {"dagster_yaml": "c1", "workspace": "c2", "frontdoor_users": "u", "tls_cert": "c", "tls_key": "k"}
    env = swarm_environment("st", "st-network", "dagster", "http://objectstore:9000")
    stack = swarm_stack(_compose_config(), settings, IMAGES, [], env, names, 443)
    mounted = {secret["source"]: secret for secret in stack["services"]["frontdoor"]["secrets"]}
    assert set(mounted) == {"frontdoor_users", "tls_cert", "tls_key"}
    assert all(secret["uid"] == "10002" and secret["mode"] == 0o400 for secret in mounted.values())
    assert {stack["secrets"][key]["name"] for key in mounted} == {"u", "c", "k"}


def test_render_writes_the_front_doors_users_and_a_first_admin(settings: StackSettings, tmp_path: Path) -> None:
    from stackctl.swarm import frontdoor_secret_files

    files = frontdoor_secret_files(settings)
    assert list(files) == ["secrets/frontdoor_users"]
    assert "\nadmin admin $2" in files["secrets/frontdoor_users"]
    assert (tmp_path / "frontdoor" / "admin.password").read_text().strip()
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("CERT"), key.write_text("KEY")
    own = dataclasses.replace(settings, env={**settings.env, "STACK_TLS_CERT_FILE": str(cert), "STACK_TLS_KEY_FILE": str(key)})
    files = frontdoor_secret_files(own)
    assert (files["secrets/tls_cert"], files["secrets/tls_key"]) == ("CERT", "KEY")


@pytest.mark.docker
def test_a_locations_secrets_reach_its_code_server_and_its_runs(settings: StackSettings) -> None:
    location = Location(name="warehouse", path=REPO_ROOT, module="m", secrets=("api_token", "hook"), operator_secrets=("hook",))
    images = {**IMAGES, "warehouse": IMAGES["fanout"]}
    # The render left `hook` out (empty, as an operator secret not filled in is).
    names = {"dagster_yaml": "c1", "workspace": "c2", "frontdoor_users": "u", "location-warehouse-api_token": "st-tok-1"}
    env = swarm_environment("st", "st-network", "dagster", "http://objectstore:9000")
    stack = swarm_stack(_compose_config(), settings, images, [location], env, names, 3000)
    server = stack["services"]["code-warehouse"]
    mounted = [s for s in server["secrets"] if s["source"] == "location-warehouse-api_token"]
    assert mounted == [{"source": "location-warehouse-api_token", "target": "api_token", "uid": "10001", "gid": "10001", "mode": 0o400}]
    assert stack["secrets"]["location-warehouse-api_token"]["name"] == "st-tok-1"
    context = json.loads(server["environment"]["DAGSTER_CONTAINER_CONTEXT"])
    assert context["stack"]["swarm_secrets"] == ["st-tok-1:api_token"]
    assert context["stack"]["secrets_volume"] is None


def test_render_leaves_an_empty_location_secret_out(settings: StackSettings, tmp_path: Path) -> None:
    from stackctl.swarm import location_secret_files

    location = Location(name="warehouse", path=REPO_ROOT, module="m", secrets=("api_token", "hook"), operator_secrets=("hook",))
    files = location_secret_files(location, settings)
    assert list(files) == ["api_token"] and files["api_token"]
    assert (tmp_path / "warehouse" / "hook").read_text() == ""


def test_content_names_fit_swarms_64_characters() -> None:
    name = content_name("a-rather-long-stack-name", "location-warehouse-a-very-long-secret-file-name", b"x")
    assert len(name) <= 64 and name.endswith(content_name("s", "k", b"x")[-12:])


def test_no_two_locations_share_a_secret_key() -> None:
    assert location_secret_key("a", "b_c") != location_secret_key("a_b", "c")


def test_a_location_secret_may_not_take_a_name_every_run_mounts(settings: StackSettings) -> None:
    from stackctl.swarm import location_secret_files

    location = Location(name="w", path=REPO_ROOT, module="m", secrets=("pgpass",))
    with pytest.raises(ValueError, match="may not be named pgpass"):
        location_secret_files(location, settings)


def test_the_operators_certificate_goes_as_a_pair(settings: StackSettings, tmp_path: Path) -> None:
    from stackctl.swarm import frontdoor_secret_files

    cert = tmp_path / "c.pem"
    cert.write_text("CERT")
    with pytest.raises(ValueError, match="go together"):
        frontdoor_secret_files(dataclasses.replace(settings, env={**settings.env, "STACK_TLS_CERT_FILE": str(cert)}))
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    env = {**settings.env, "STACK_TLS_CERT_FILE": str(cert), "STACK_TLS_KEY_FILE": str(empty)}
    assert list(frontdoor_secret_files(dataclasses.replace(settings, env=env))) == ["secrets/frontdoor_users"]


def test_secret_names_are_keyed_by_the_stacks_salt(tmp_path: Path) -> None:
    from stackctl.swarm import name_salt

    salt = name_salt(tmp_path)
    assert name_salt(tmp_path) == salt and len(salt) == 64
    assert (tmp_path / "swarm" / "name-salt").stat().st_mode & 0o777 == 0o600
    assert content_name("st", "k", b"v", salt) != content_name("st", "k", b"v")
    assert content_name("st", "k", b"v", salt) != content_name("st", "k", b"v", name_salt(tmp_path / "other"))
