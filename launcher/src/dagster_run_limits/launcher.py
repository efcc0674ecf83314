"""DockerRunLauncher whose run containers get CPU/memory limits from run tags."""

from collections.abc import Mapping, Sequence
from typing import Any

import docker
import docker.errors
from dagster import Field, IntSource, StringSource
from dagster._core.launcher.base import LaunchRunContext, ResumeRunContext
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes.config_class import ConfigurableClassData
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext
from dagster_docker.utils import DOCKER_CONFIG_SCHEMA
from typing_extensions import Self

from dagster_run_limits.cleanup import remove_old_run_containers
from dagster_run_limits.limits import LimitPolicy, RunLimits, resolve_run_limits

STACK_LABEL = "dagster-fanout/stack"

LIMITS_SCHEMA = {
    "default_cpus": Field(StringSource, default_value="1", description="CPUs for an untagged run."),
    "default_memory": Field(
        StringSource, default_value="1g", description="Memory for an untagged run, e.g. 768m."
    ),
    "max_cpus": Field(
        StringSource, is_required=False, description="Most CPUs a run may get; empty: no cap."
    ),
    "max_memory": Field(
        StringSource, is_required=False, description="Most memory a run may get; empty: no cap."
    ),
    "pids_limit": Field(IntSource, is_required=False, description="Process cap per run."),
    "over_max": Field(
        StringSource,
        default_value="clamp",
        description='"clamp" a request above the maximum down to it, or "reject" the run.',
    ),
}

MOUNT_SCHEMA = {
    "volume": Field(StringSource, description="Docker volume name (as created by compose)."),
    "target": Field(str, description="Path inside the run container."),
    "read_only": Field(bool, default_value=False),
}


class LimitedDockerRunLauncher(DockerRunLauncher):
    """Launches each run in its own container, sized by the run's `limits/cpus` and
    `limits/memory` tags (defaults and maximums from the operator's config), with the stack's
    volumes mounted, and removes old exited run containers so they do not pile up."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        limits: Mapping[str, Any] | None = None,
        mounts: Sequence[Mapping[str, Any]] | None = None,
        stack_name: str | None = None,
        keep_exited_containers: int = 20,
        **docker_config: Any,
    ) -> None:
        limits = dict(limits or {})
        self.policy = LimitPolicy.from_strings(
            default_cpus=limits.get("default_cpus", "1"),
            default_memory=limits.get("default_memory", "1g"),
            max_cpus=limits.get("max_cpus"),
            max_memory=limits.get("max_memory"),
            pids_limit=limits.get("pids_limit"),
            over_max=limits.get("over_max", "clamp"),
        )
        self.mounts = list(mounts or [])
        self.stack_name = stack_name
        self.keep_exited_containers = keep_exited_containers
        super().__init__(inst_data=inst_data, **docker_config)

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            **DOCKER_CONFIG_SCHEMA,
            "limits": Field(LIMITS_SCHEMA, is_required=False),
            "mounts": Field([MOUNT_SCHEMA], is_required=False),
            "stack_name": Field(
                StringSource,
                is_required=False,
                description="Labels run containers so cleanup only touches this stack's.",
            ),
            "keep_exited_containers": Field(
                IntSource,
                default_value=20,
                description="Exited run containers kept for inspection; older ones are removed.",
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(inst_data=inst_data, **config_value)

    def resolve_limits(self, run: DagsterRun) -> RunLimits:
        return resolve_run_limits(run.tags, self.policy)

    def get_container_context(self, dagster_run: DagsterRun) -> DockerContainerContext:
        context = super().get_container_context(dagster_run)
        labels = dict(context.container_kwargs.get("labels") or {})
        if self.stack_name:
            labels[STACK_LABEL] = self.stack_name
        volumes = {
            m["volume"]: {"bind": m["target"], "mode": "ro" if m["read_only"] else "rw"}
            for m in self.mounts
        }
        extra: dict[str, Any] = {**self.resolve_limits(dagster_run).container_kwargs()}
        extra["labels"] = labels
        if volumes:
            extra["volumes"] = {**(context.container_kwargs.get("volumes") or {}), **volumes}
        return context.merge(DockerContainerContext(container_kwargs=extra))

    def _report_limits(self, run: DagsterRun) -> None:
        # Raises RunLimitsError before any container exists; the daemon then fails the run
        # with this message, which the UI and GraphQL show.
        limits = self.resolve_limits(run)
        self._instance.report_engine_event(
            message=f"Run container limits: {limits.describe()}",
            dagster_run=run,
            cls=self.__class__,
        )

    def launch_run(self, context: LaunchRunContext) -> None:
        self._report_limits(context.dagster_run)
        super().launch_run(context)
        self._cleanup()

    def resume_run(self, context: ResumeRunContext) -> None:
        self._report_limits(context.dagster_run)
        super().resume_run(context)

    def _cleanup(self) -> None:
        if not self.stack_name:
            return
        try:
            client = docker.client.from_env()
            remove_old_run_containers(
                client, {STACK_LABEL: self.stack_name}, keep=self.keep_exited_containers
            )
        except docker.errors.DockerException:
            # Cleanup is housekeeping: a failure here must never fail the launched run.
            pass
