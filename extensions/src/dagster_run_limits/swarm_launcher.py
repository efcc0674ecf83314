"""Run launcher for Docker Swarm: each run is a one-shot service that Swarm places on a node
with room for the run's `limits/*` (the same policy as the Docker launcher, as limits and
reservations). Run monitoring reads the service's task and the node it is on, so a failed
task, an OOM kill and a node that went down each end the run with the node and the cause."""

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import docker
import docker.errors
import docker.types
from dagster import Array, Field, IntSource, StringSource
from dagster._cli.api import ExecuteRunArgs, ResumeRunArgs
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.launcher import RunLauncher
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    ResumeRunContext,
    WorkerStatus,
)
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import MAX_RETRIES_TAG
from dagster._core.utils import parse_env_var
from dagster._serdes import ConfigurableClass
from dagster._serdes.config_class import ConfigurableClassData
from typing_extensions import Self

from dagster_run_limits.launcher import FAILURE_CAUSE_TAG, LIMITS_SCHEMA, death_tags, mark_if_timed_out
from dagster_run_limits.limits import LimitPolicy, RunLimits, RunLimitsError, resolve_run_limits
from dagster_run_limits.stack_context import (
    LOCATION_LABEL,
    location_swarm_secrets,
    stack_context,
    tags_with_location_defaults,
)
from dagster_run_limits.start_watch import PeriodicCheck
from dagster_run_limits.swarm_spec import (
    RunService,
    RunServiceSettings,
    build_run_service,
    placement_problem,
    service_name,
)
from dagster_run_limits.swarm_tasks import TaskHealth, TaskPhase, task_health

logger = logging.getLogger("dagster_run_limits.swarm_launcher")

SERVICE_TAG = "dagster-swarm/service"
NODE_TAG = "dagster-swarm/node"


class SwarmRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run as a Swarm service with restart condition none, sized by the run's
    `limits/cpus` and `limits/memory` tags; terminating a run removes its service."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        stack_name: str = "stack",
        limits: Mapping[str, Any] | None = None,
        image: str | None = None,
        networks: Sequence[str] | None = None,
        env_vars: Sequence[str] | None = None,
        constraints: Sequence[str] | None = None,
        secrets: Sequence[str] | None = None,
        keep_finished_services: int = 20,
        start_watch_interval_seconds: float = 1.0,
    ) -> None:
        self._inst_data = inst_data
        self.policy = LimitPolicy.from_config(limits)
        self.image = image
        self.env_vars = list(env_vars or [])
        self.settings = RunServiceSettings(
            stack_name=stack_name,
            networks=tuple(networks or ()),
            constraints=tuple(constraints or ()),
            secrets=tuple(secrets or ()),
        )
        self.keep_finished_services = keep_finished_services
        # The task watch and run monitoring (two threads of the daemon) both fail runs.
        self._report_lock = threading.Lock()
        self._start_watch = PeriodicCheck(
            self.fail_runs_whose_task_died,
            interval_seconds=start_watch_interval_seconds,
            name="swarm-run-task-watch",
        )
        super().__init__()

    # --- Configuration ------------------------------------------------------------------

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "stack_name": Field(StringSource, description="Labels and names the run services."),
            "limits": Field(LIMITS_SCHEMA, is_required=False),
            "image": Field(
                StringSource,
                is_required=False,
                description="Image for runs whose code location names none.",
            ),
            "networks": Field(Array(StringSource), is_required=False),
            "env_vars": Field(
                Array(StringSource),
                is_required=False,
                description="KEY (from the launching process) or KEY=VALUE, for every run.",
            ),
            "constraints": Field(
                Array(StringSource),
                is_required=False,
                description='Placement constraints, e.g. "node.labels.stack.role==runs".',
            ),
            "secrets": Field(
                Array(StringSource),
                is_required=False,
                description="Swarm secrets every run service gets under /run/secrets.",
            ),
            "keep_finished_services": Field(IntSource, default_value=20),
            "start_watch_interval_seconds": Field(
                float,
                default_value=1.0,
                description="How often to look for runs whose task died or whose node went down.",
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

    def _client(self) -> docker.DockerClient:
        # DOCKER_HOST: the stack's Docker proxy, which passes only the calls made here.
        return docker.client.from_env()

    # --- Launch -------------------------------------------------------------------------

    def _service_for(self, run: DagsterRun, command: list[str]) -> RunService:
        origin = run.job_code_origin
        image = (origin.repository_origin.container_image if origin else None) or self.image
        if not image:
            raise RunLimitsError("No image for the run: its code location names none")
        env = dict(parse_env_var(var) for var in self.env_vars)
        # The location's settings, as the Docker launcher passes them (Dagster's own key of
        # the container context, which the deployer fills from the location's pyproject.toml).
        context = (origin.repository_origin.container_context if origin else None) or {}
        env.update(parse_env_var(var) for var in (context.get("docker") or {}).get("env_vars") or [])
        location = stack_context(run).get("location")
        return build_run_service(
            run_id=run.run_id,
            job_name=run.job_name,
            image=image,
            command=command,
            env=env,
            limits=self.resolve_limits(run),
            settings=self.settings,
            extra_labels={LOCATION_LABEL: str(location)} if location else None,
        )

    def _create(self, run: DagsterRun, command: list[str]) -> None:
        self._start_watch.ensure_started()
        service = self._service_for(run, command)
        client = self._client()
        problem = placement_problem(service.limits, client.api.nodes(), self.settings.constraints)
        if problem is not None:
            message = f"Run refused: no node can place it: {problem}"
            # The same run would be refused again: never retried.
            self._instance.add_run_tags(run.run_id, {MAX_RETRIES_TAG: "0", FAILURE_CAUSE_TAG: "unplaceable"})
            raise RunLimitsError(message)
        created = client.services.create(
            image=service.image,
            command=list(service.command),
            name=service.name,
            env=[f"{key}={value}" for key, value in service.env.items()],
            labels=dict(service.labels),
            container_labels=dict(service.labels),
            user=self.settings.user,
            read_only=True,
            cap_drop=["ALL"],
            mounts=[
                docker.types.Mount(target=path, source="", type="tmpfs", tmpfs_size=size)
                for path, size in self.settings.tmpfs.items()
            ],
            secrets=[
                _secret_reference(client, entry, self.settings.user)
                for entry in (*self.settings.secrets, *location_swarm_secrets(stack_context(run)))
            ],
            resources=_resources(service),
            restart_policy=docker.types.RestartPolicy(condition="none"),
            constraints=list(self.settings.constraints),
            networks=list(self.settings.networks),
            stop_grace_period=self.settings.stop_grace_seconds * 1_000_000_000,
        )
        # A retry inherits its parent's node tag: cleared until the watch sees this run's task.
        self._instance.add_run_tags(run.run_id, {SERVICE_TAG: service.name, NODE_TAG: ""})
        self._instance.report_engine_event(
            message=f"{service.describe()}; service id {created.id[:12]}",
            dagster_run=run,
            cls=self.__class__,
        )
        self._cleanup(client)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        command = ExecuteRunArgs(
            job_origin=context.job_code_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
        ).get_command_args()
        self._create(run, command)

    @property
    def supports_resume_run(self) -> bool:
        return True

    def resume_run(self, context: ResumeRunContext) -> None:
        run = context.dagster_run
        self._remove_service(run)
        command = ResumeRunArgs(
            job_origin=context.job_code_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
        ).get_command_args()
        self._create(run, command)

    # --- Health -------------------------------------------------------------------------

    def _service_name(self, run: DagsterRun) -> str:
        """Derived from the run id, never read from the run's tags: a retry inherits its
        parent's tags, and with them the parent's service name."""
        return service_name(self.settings.stack_name, run.run_id)

    def _own_tasks(self, client: docker.DockerClient, run: DagsterRun) -> list[Mapping[str, Any]] | None:
        try:
            tasks = client.api.tasks(filters={"service": self._service_name(run)})
        except docker.errors.NotFound:
            return None
        return [t for t in tasks if _task_run_id(t) == run.run_id]

    def _health_of(self, run: DagsterRun, tasks: list[Mapping[str, Any]], nodes: Mapping[str, Any]) -> TaskHealth:
        return task_health(tasks, nodes, _task_memory_limit(tasks) or self._memory_of(run))

    def _memory_of(self, run: DagsterRun) -> int | None:
        try:
            return self.resolve_limits(run).memory
        except RunLimitsError:
            # The operator's policy changed since the launch; the message then omits the limit.
            return None

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        self._start_watch.ensure_started()
        client = self._client()
        tasks = self._own_tasks(client, run)
        if tasks is None:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, msg="The run's service is gone.")
        health = self._health_of(run, tasks, {node["ID"]: node for node in client.api.nodes()})
        if health.node:
            self._note_node(run, health.node)
        if health.phase is TaskPhase.SUCCEEDED:
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        if health.phase is not TaskPhase.FAILED or health.death is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, msg=health.detail)
        # Reported here, under the lock the task watch takes too: run monitoring re-reads the
        # run before reporting, sees it FAILURE, and does not report it a second time.
        self._fail(client, run, health)
        return CheckRunHealthResult(WorkerStatus.FAILED, msg=health.death.message)

    def _note_node(self, run: DagsterRun, node: str) -> None:
        if run.tags.get(NODE_TAG) != node:
            self._instance.add_run_tags(run.run_id, {NODE_TAG: node})

    def _fail(self, client: docker.DockerClient, run: DagsterRun, health: TaskHealth) -> None:
        death = health.death
        assert death is not None
        with self._report_lock:
            current = self._instance.get_run_by_id(run.run_id)
            if current is None or current.status not in (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED):
                return
            tags = death_tags(death)
            if health.node:
                tags[NODE_TAG] = health.node
            self._instance.add_run_tags(run.run_id, tags)
            self._instance.report_run_failed(
                current,
                death.message,
                JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
            )
        if death.cause == "node_down":
            # Should the node come back, Swarm then stops the lost task instead of letting a
            # second worker write to a run that has already failed.
            self._remove_service(run, client)

    def fail_runs_whose_task_died(self) -> None:
        """Every second, with one task and one node query for all of them: runs STARTING or
        STARTED whose task failed or whose node went down. Run monitoring checks STARTED runs
        too, but only every `poll_interval_seconds`, and a STARTING run only against its start
        timeout; this ends such a run within about a second of Swarm knowing."""
        records = self._instance.get_run_records(
            RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED])
        )
        if not records:
            return
        client = self._client()
        # Every task of the swarm, filtered here by the run id label: a filter by service
        # name fails as a whole when one of the services is gone.
        tasks = client.api.tasks()
        nodes = {node["ID"]: node for node in client.api.nodes()}
        for record in records:
            run = record.dagster_run
            own = [task for task in tasks if _task_run_id(task) == run.run_id]
            if not own:
                continue
            try:
                health = self._health_of(run, own, nodes)
                if health.node and health.phase is TaskPhase.RUNNING:
                    self._note_node(run, health.node)
                if health.phase is TaskPhase.FAILED and health.death is not None:
                    self._fail(client, run, health)
            except Exception:
                # One run's trouble (its storage row, the proxy) must not blind the watch
                # to the others.
                logger.exception("Swarm task watch: checking run %s failed", run.run_id)

    def get_run_worker_debug_info(self, run: DagsterRun, include_container_logs: bool | None = True) -> str | None:
        node = run.tags.get(NODE_TAG) or "(not placed)"
        return f"Swarm service {self._service_name(run)} on node {node}"

    # --- Termination and cleanup --------------------------------------------------------

    def terminate(self, run_id: str) -> bool:
        mark_if_timed_out(self._instance, run_id)
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        if not self._remove_service(run):
            self._instance.report_engine_event(
                message="The run's Swarm service was already gone.", dagster_run=run, cls=self.__class__
            )
            return False
        return True

    def _remove_service(self, run: DagsterRun, client: docker.DockerClient | None = None) -> bool:
        try:
            (client or self._client()).api.remove_service(self._service_name(run))
        except docker.errors.NotFound:
            return False
        return True

    def _cleanup(self, client: docker.DockerClient) -> None:
        """Removes the services of finished runs beyond the newest `keep_finished_services`:
        a one-shot service stays after its task ends, holding its logs for inspection."""
        try:
            services = client.api.services(
                filters={"label": [f"dagster-fanout/stack={self.settings.stack_name}", "dagster-fanout/role=run"]}
            )
            services.sort(key=lambda s: s.get("CreatedAt") or "", reverse=True)
            for service in services[max(self.keep_finished_services, 0) :]:
                run_id = ((service.get("Spec") or {}).get("Labels") or {}).get("dagster/run_id")
                run = self._instance.get_run_by_id(run_id) if run_id else None
                if run is None or run.is_finished:
                    # By name: the proxy lets the launcher remove this stack's run services only.
                    client.api.remove_service(service["Spec"]["Name"])
        except Exception:
            # Housekeeping: a failure here must never fail the launched run.
            pass


def _task_run_id(task: Mapping[str, Any]) -> str | None:
    labels = (((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels")) or {}
    return labels.get("dagster/run_id")


def _resources(service: RunService) -> docker.types.Resources:
    resources = docker.types.Resources(**service.resources())
    if service.limits.pids_limit:
        # Engine API 1.41's service process limit, which docker-py does not name.
        resources["Limits"]["Pids"] = service.limits.pids_limit
    return resources


def _task_memory_limit(tasks: list[Mapping[str, Any]]) -> int | None:
    """The memory limit the task was given, as Swarm recorded it."""
    for task in tasks:
        limit = (((task.get("Spec") or {}).get("Resources") or {}).get("Limits") or {}).get("MemoryBytes")
        if limit:
            return int(limit)
    return None


def _secret_reference(client: docker.DockerClient, entry: str, user: str) -> docker.types.SecretReference:
    """`NAME` or `NAME:FILE`: the Swarm secret NAME as /run/secrets/FILE, readable by the run's
    user only (libpq refuses a password file others can read)."""
    name, _, filename = entry.partition(":")
    matches = [s for s in client.api.secrets(filters={"name": name}) if s["Spec"]["Name"] == name]
    if not matches:
        raise RunLimitsError(f"Swarm secret {name!r}, which the run's service mounts, does not exist")
    uid, _, gid = user.partition(":")
    return docker.types.SecretReference(
        secret_id=matches[0]["ID"], secret_name=name, filename=filename or name,
        uid=uid, gid=gid or uid, mode=0o400,
    )  # fmt: skip
