"""The tests' and the benchmark's instance configuration is dagster.yaml's, on another
database and log folder."""

from pathlib import Path

import yaml
from stack_testing.instance_config import DAGSTER_YAML, POSTGRES_STORAGES, stack_instance_config


def test_storages_and_compute_logs_are_dagster_yamls_on_another_database(tmp_path: Path) -> None:
    stack = yaml.safe_load(DAGSTER_YAML.read_text())
    config = stack_instance_config("postgresql://u@h/db", str(tmp_path))
    for key in POSTGRES_STORAGES:
        assert (config[key]["module"], config[key]["class"]) == (
            stack[key]["module"],
            stack[key]["class"],
        )
        assert config[key]["config"] == {"postgres_url": "postgresql://u@h/db"}
    assert config["compute_logs"]["class"] == stack["compute_logs"]["class"]
    assert config["compute_logs"]["config"]["base_dir"] == str(tmp_path)
    # Only what a test instance can use: no launcher or coordinator of the deployed stack.
    assert set(config) == {*POSTGRES_STORAGES, "compute_logs"}
