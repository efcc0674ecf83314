"""dagster-postgres storages whose webserver connection pools ping before use.

Configured in dagster.yaml as `run_storage`, `event_log_storage` and `schedule_storage`
with dagster-postgres's own config (`postgres_db` / `postgres_url`). Only
`optimize_for_webserver` differs: everything else, schema and migrations included, is the
parent's. The event log is dagster-warm-pool's batching subclass of Dagster's."""

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from dagster_warm_pool.event_log import BatchingPostgresEventLogStorage
from typing_extensions import Self

from dagster_stack_storage.pre_ping import add_pre_ping


class PrePingOnWebserver:
    """Mixed in before a dagster-postgres storage class."""

    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)  # type: ignore[misc]
        add_pre_ping(self)


def _constructor_args(inst_data: ConfigurableClassData | None, config: Mapping[str, Any]) -> dict:
    # dagster-postgres's own from_config_value builds its own class, not `cls`.
    return {
        "postgres_url": pg_url_from_config(config),
        "should_autocreate_tables": config.get("should_autocreate_tables", True),
        "inst_data": inst_data,
        "token_provider": get_token_provider_from_config(config),
    }


class PrePingRunStorage(PrePingOnWebserver, PostgresRunStorage):
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(**_constructor_args(inst_data, config_value))


class PrePingScheduleStorage(PrePingOnWebserver, PostgresScheduleStorage):
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(**_constructor_args(inst_data, config_value))


class PrePingBatchingEventLogStorage(PrePingOnWebserver, BatchingPostgresEventLogStorage):
    """BatchingPostgresEventLogStorage.from_config_value already builds `cls`."""
