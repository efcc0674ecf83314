"""Settings of the platform's sensors and purge, read from the environment the deployer gives
this location (its pyproject.toml's [tool.dagster-stack] env). Pure."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class PlatformSettings:
    # Base of the run links in alerts: the URL people open the UI at.
    public_url: str
    sensor_interval_s: int
    queue_age_threshold_s: float
    retention_days: float
    retention_keep_last: int
    retention_cron: str

    def run_url(self, run_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/runs/{run_id}"

    def queued_runs_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/runs?q%5B0%5D=status%3AQUEUED"


def platform_settings(env: Mapping[str, str] = os.environ) -> PlatformSettings:
    return PlatformSettings(
        public_url=env.get("STACK_PUBLIC_URL", "").strip() or "https://127.0.0.1:3000",
        sensor_interval_s=int(_number(env, "STACK_ALERT_SENSOR_INTERVAL_SECONDS", 10)),
        queue_age_threshold_s=_number(env, "STACK_ALERT_QUEUE_AGE_SECONDS", 600),
        retention_days=_number(env, "STACK_RETENTION_DAYS", 30),
        retention_keep_last=int(_number(env, "STACK_RETENTION_KEEP_LAST", 20)),
        retention_cron=env.get("STACK_RETENTION_CRON", "").strip() or "15 3 * * *",
    )
