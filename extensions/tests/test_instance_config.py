"""dagster.yaml as the run containers receive it: every variable it reads reaches them,
no password is among them, and it stays ASCII (the Docker proxy refuses container-create
bodies with \\u escapes, and Dagster's instance reference travels in the command)."""

import re
from pathlib import Path

import yaml

DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


def _config() -> dict:
    return yaml.safe_load(DAGSTER_YAML.read_text())


def test_every_variable_dagster_yaml_reads_reaches_run_containers() -> None:
    read = set(re.findall(r"\{env: (\w+)\}", DAGSTER_YAML.read_text()))
    passed = set(_config()["run_launcher"]["config"]["env_vars"])
    assert read - passed == set()


def test_no_password_in_the_config_or_the_run_container_environment() -> None:
    text = DAGSTER_YAML.read_text()
    assert "password:" not in text
    assert not [v for v in _config()["run_launcher"]["config"]["env_vars"] if "PASSWORD" in v]
    assert "PGPASSFILE" in _config()["run_launcher"]["config"]["env_vars"]


def test_dagster_yaml_is_ascii() -> None:
    DAGSTER_YAML.read_bytes().decode("ascii")


def test_run_containers_are_created_hardened() -> None:
    kwargs = _config()["run_launcher"]["config"]["container_kwargs"]
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["security_opt"] == ["no-new-privileges"]
    assert kwargs["read_only"] is True
    assert kwargs["user"] == "10001:10001"


def test_names_before_the_rename_still_reach_run_containers() -> None:
    """Until the next release: a run from a location image built before the rename (DAGSTER_*
    to STACK_*) loads that image's dagster.yaml, which reads the old names, so each variable
    reaches run containers under both (docker-compose.yml sets both)."""
    passed = set(_config()["run_launcher"]["config"]["env_vars"])
    renamed = {v for v in passed if v.startswith("STACK_") and v != "STACK_NAME"}
    assert {"DAGSTER_" + v.removeprefix("STACK_") for v in renamed} == {
        v for v in passed if v.startswith("DAGSTER_")
    }
