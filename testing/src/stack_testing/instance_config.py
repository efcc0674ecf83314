"""The stack's instance configuration, read from the repository's dagster.yaml, on another
database: the one place tests and the benchmark get it from, so what they measure and check
is what the stack runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DAGSTER_YAML = Path(__file__).resolve().parents[3] / "dagster.yaml"
POSTGRES_STORAGES = ("run_storage", "event_log_storage", "schedule_storage")


def stack_instance_config(
    postgres_url: str, compute_logs_dir: str, dagster_yaml: Path = DAGSTER_YAML
) -> dict[str, Any]:
    """dagster.yaml's storages and compute log manager, with the database and the log folder
    overridden (its run launcher, coordinator and the rest belong to the deployed stack)."""
    stack = yaml.safe_load(dagster_yaml.read_text(encoding="utf8"))
    config: dict[str, Any] = {
        key: {
            "module": stack[key]["module"],
            "class": stack[key]["class"],
            "config": {"postgres_url": postgres_url},
        }
        for key in POSTGRES_STORAGES
    }
    logs = stack["compute_logs"]
    config["compute_logs"] = {
        "module": logs["module"],
        "class": logs["class"],
        "config": {**logs.get("config", {}), "base_dir": compute_logs_dir},
    }
    return config
