"""dagster-postgres storage whose webserver connection pools ping before use.

Configured in dagster.yaml as `storage: custom:` with dagster-postgres's own config
(`postgres_db` / `postgres_url`). Only `optimize_for_webserver` differs: everything else,
schema and migrations included, is dagster-postgres's."""

from collections.abc import Mapping
from typing import Any

from dagster._config.config_schema import UserConfigSchema
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.config import pg_config
from dagster._serdes import ConfigurableClass, ConfigurableClassData
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from dagster_postgres.utils import pg_url_from_config
from typing_extensions import Self

from dagster_stack_storage.pre_ping import add_pre_ping


class PrePingRunStorage(PostgresRunStorage):
    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)
        add_pre_ping(self)


class PrePingEventLogStorage(PostgresEventLogStorage):
    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)
        add_pre_ping(self)


class PrePingScheduleStorage(PostgresScheduleStorage):
    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)
        add_pre_ping(self)


class PrePingPostgresStorage(DagsterStorage, ConfigurableClass):
    """Run, event-log and schedule storage in one Postgres database, as `storage: postgres:`."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self.postgres_url = postgres_url
        self._inst_data = inst_data
        self._run_storage = PrePingRunStorage(postgres_url, should_autocreate_tables)
        self._event_log_storage = PrePingEventLogStorage(postgres_url, should_autocreate_tables)
        self._schedule_storage = PrePingScheduleStorage(postgres_url, should_autocreate_tables)
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return pg_config()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
        )

    @property
    def event_log_storage(self) -> PostgresEventLogStorage:
        return self._event_log_storage

    @property
    def run_storage(self) -> PostgresRunStorage:
        return self._run_storage

    @property
    def schedule_storage(self) -> PostgresScheduleStorage:
        return self._schedule_storage
