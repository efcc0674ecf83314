"""DockerRunLauncher whose run containers get CPU/memory limits from run tags."""

import time
from collections.abc import Mapping, Sequence
from typing import Any

import docker
import docker.errors
from dagster import Field, IntSource, StringSource
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    ResumeRunContext,
    WorkerStatus,
)
from dagster._core.instance import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.storage.tags import MAX_RETRIES_TAG
from dagster._serdes.config_class import ConfigurableClassData
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext
from dagster_docker.utils import DOCKER_CONFIG_SCHEMA
from docker.models.containers import Container
from typing_extensions import Self

from dagster_run_limits.cleanup import remove_old_run_containers
from dagster_run_limits.container_death import (
    ContainerDeath,
    describe_container_death,
    describe_missing_image,
)
from dagster_run_limits.limits import LimitPolicy, RunLimits, resolve_run_limits
from dagster_run_limits.runtime import over_runtime_limit
from dagster_run_limits.stack_context import (
    LOCATION_LABEL,
    SECRETS_TARGET,
    stack_context,
    tags_with_location_defaults,
)
from dagster_run_limits.start_watch import PeriodicCheck, dead_starting_runs

STACK_LABEL = "dagster-fanout/stack"
# Set on a run that failed because its container died; says which cause (see container_death).
FAILURE_CAUSE_TAG = "dagster-fanout/failure-cause"
# The cause set on a run stopped for exceeding its time limit.
TIMEOUT_CAUSE = "timeout"
# Lines of a dead container's output quoted in the run's failure message.
LOG_TAIL_LINES = 8

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
    "min_memory": Field(
        StringSource,
        is_required=False,
        description="Least memory a run may ask for: what a run worker needs to start.",
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
        start_watch_interval_seconds: float = 1.0,
        **docker_config: Any,
    ) -> None:
        self.policy = LimitPolicy.from_config(limits)
        self.mounts = list(mounts or [])
        self.stack_name = stack_name
        self.keep_exited_containers = keep_exited_containers
        self._start_watch = PeriodicCheck(
            self.fail_runs_whose_container_died_at_start,
            interval_seconds=start_watch_interval_seconds,
            name="run-start-watch",
        )
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
            "start_watch_interval_seconds": Field(
                float,
                default_value=1.0,
                description="How often to look for STARTING runs whose container has died.",
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        return cls(inst_data=inst_data, **config_value)

    def resolve_limits(self, run: DagsterRun) -> RunLimits:
        tags = tags_with_location_defaults(run.tags, stack_context(run))
        return resolve_run_limits(tags, self.policy)

    def get_container_context(self, dagster_run: DagsterRun) -> DockerContainerContext:
        context = super().get_container_context(dagster_run)
        labels = dict(context.container_kwargs.get("labels") or {})
        if self.stack_name:
            labels[STACK_LABEL] = self.stack_name
        volumes = {
            m["volume"]: {"bind": m["target"], "mode": "ro" if m["read_only"] else "rw"}
            for m in self.mounts
        }
        location = stack_context(dagster_run)
        if location.get("location"):
            labels[LOCATION_LABEL] = str(location["location"])
        if location.get("secrets_volume"):
            # The location's own secret files; no other location's runs get them.
            volumes[str(location["secrets_volume"])] = {"bind": SECRETS_TARGET, "mode": "ro"}
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
        # Only the process that launches runs (the daemon) watches their start.
        self._start_watch.ensure_started()
        self._report_limits(context.dagster_run)
        try:
            super().launch_run(context)
        except docker.errors.DockerException as error:
            if not _is_image_not_found(error):
                raise
            death = describe_missing_image(self._image_of(context))
            self.fail_run(context.dagster_run, death)
            # The daemon logs this and, seeing the run already FAILURE, moves on.
            raise RuntimeError(death.message) from error
        self._cleanup()

    def resume_run(self, context: ResumeRunContext) -> None:
        self._report_limits(context.dagster_run)
        super().resume_run(context)

    def _image_of(self, context: LaunchRunContext) -> str:
        origin = context.job_code_origin
        image = origin.repository_origin.container_image if origin else None
        return image or self.image or "(no image configured)"

    # --- Run containers that die --------------------------------------------------------

    def fail_run(self, run: DagsterRun, death: ContainerDeath, output: str = "") -> None:
        """Marks the run FAILURE with the cause (death_tags)."""
        self._instance.add_run_tags(run.run_id, death_tags(death))
        message = death.message + (f"\nLast output of the container:\n{output}" if output else "")
        self._instance.report_run_failed(
            run,
            message,
            JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
        )

    def fail_runs_whose_container_died_at_start(self) -> None:
        for run, container in dead_starting_runs(self._instance, docker.client.from_env):
            current = self._instance.get_run_by_id(run.run_id)
            # The run worker may have reported in between; then run monitoring owns it.
            if current is None or current.status != DagsterRunStatus.STARTING:
                continue
            death = _death_of(container, phase="before the run started")
            self.fail_run(current, death, _output_tail(container))

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        # Called by run monitoring for STARTED runs, in the daemon: also keeps the start
        # watch alive after a daemon restart.
        self._start_watch.ensure_started()
        result = super().check_run_worker_health(run)
        if result.status != WorkerStatus.FAILED:
            return result
        container = self._get_container(run)
        if container is None:
            return result
        death = _death_of(container, phase="while the run was executing")
        # Monitoring reports the failure right after this returns; see death_tags.
        self._instance.add_run_tags(run.run_id, death_tags(death))
        return CheckRunHealthResult(WorkerStatus.FAILED, msg=death.message)

    # --- Runs over their time limit --------------------------------------------------------

    def terminate(self, run_id: str) -> bool:
        """Also what run monitoring calls for a run over its time limit (mark_if_timed_out)."""
        mark_if_timed_out(self._instance, run_id)
        return super().terminate(run_id)

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


def death_tags(death: ContainerDeath) -> dict[str, str]:
    """The cause, and for a failure that would only repeat `dagster/max_retries: 0`. Set
    before the failure is reported: Dagster decides on a retry (the `dagster/will_retry`
    tag) when it stores the failure event."""
    tags = {FAILURE_CAUSE_TAG: death.cause}
    if not death.retryable:
        tags[MAX_RETRIES_TAG] = "0"
    return tags


def mark_if_timed_out(instance: DagsterInstance, run_id: str) -> None:
    """Run monitoring terminates a run over its time limit, then reports the failure. Such a
    run would only time out again: it is tagged not to be retried before the failure is
    stored. A terminate from the UI, within the limit, is left as Dagster handles it."""
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.dagster_run.is_finished:
        return
    limit = over_runtime_limit(
        record.dagster_run.tags,
        record.start_time,
        float(instance.run_monitoring_max_runtime_seconds or 0),
        time.time(),
    )
    if limit is not None:
        instance.add_run_tags(run_id, {FAILURE_CAUSE_TAG: TIMEOUT_CAUSE, MAX_RETRIES_TAG: "0"})


def _death_of(container: Container, phase: str) -> ContainerDeath:
    attrs = container.attrs
    memory = (attrs.get("HostConfig") or {}).get("Memory") or None
    return describe_container_death(attrs.get("State") or {}, memory, phase)


def _output_tail(container: Container) -> str:
    try:
        raw = container.logs(tail=LOG_TAIL_LINES)
    except docker.errors.DockerException:
        return ""
    return raw.decode("utf-8", errors="replace").strip()


def _is_image_not_found(error: BaseException) -> bool:
    """DockerRunLauncher pulls an image that is missing; with no registry (or a Docker proxy
    that refuses pulls) the pull fails, with the ImageNotFound from `create` as its context."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, docker.errors.ImageNotFound):
            return True
        seen = seen.__context__
    return False
