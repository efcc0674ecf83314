"""dagster-postgres storages whose connection pools ping before use, and which the daemon and
run workers also pool (STACK_STORAGE_POOLED).

Configured in dagster.yaml as `run_storage`, `event_log_storage` and `schedule_storage`
with dagster-postgres's own config (`postgres_db` / `postgres_url`). Only
`optimize_for_webserver` (and calling it where POOLED_ENV asks) differs: everything else,
schema and migrations included, is the parent's. The event log is dagster-warm-pool's
batching subclass of Dagster's."""

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from dagster_warm_pool import BatchingPostgresEventLogStorage
from stack_env import stack_setting
from typing_extensions import Self

from dagster_stack_storage.pre_ping import add_pre_ping


# Set (to "1") in the daemon's and the run workers' environment: their storages keep their
# connections open, as the webserver's do, instead of dagster-postgres's default of a new
# Postgres connection (a server process, authentication, a cold catalog cache) for every
# query. A burst of runs spent more CPU in Postgres on those connections than on the queries.
POOLED_ENV = "STACK_STORAGE_POOLED"
# Its name until this release, read (with a warning) until the next one.
OLD_POOLED_ENV = "DAGSTER_STORAGE_POOLED"
# Connections a pooled process may open beyond its one kept connection (daemon threads query
# at once); they are closed when returned.
POOL_MAX_OVERFLOW = 8
POOL_RECYCLE_S = 3600


class PrePingOnWebserver:
    """Mixed in before a dagster-postgres storage class."""

    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)  # type: ignore[misc]
        add_pre_ping(self)


def pooled_if_asked(storage: PrePingOnWebserver) -> None:
    """Hold connections (the webserver's switch: one kept, pinged before use, no statement
    timeout) when POOLED_ENV is set."""
    if stack_setting(POOLED_ENV, OLD_POOLED_ENV).strip() in ("1", "true", "yes"):
        storage.optimize_for_webserver(
            statement_timeout=0, pool_recycle=POOL_RECYCLE_S, max_overflow=POOL_MAX_OVERFLOW
        )


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
        storage = cls(**_constructor_args(inst_data, config_value))
        pooled_if_asked(storage)
        return storage


class PrePingScheduleStorage(PrePingOnWebserver, PostgresScheduleStorage):
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        storage = cls(**_constructor_args(inst_data, config_value))
        pooled_if_asked(storage)
        return storage


class PrePingBatchingEventLogStorage(PrePingOnWebserver, BatchingPostgresEventLogStorage):
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        # BatchingPostgresEventLogStorage.from_config_value already builds `cls`.
        storage = super().from_config_value(inst_data, config_value)
        pooled_if_asked(storage)
        return storage
