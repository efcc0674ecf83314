"""A real multi-node Docker Swarm on one machine, for the cluster tests: N Docker-in-Docker
nodes (swarm/node) on their own bridge network, node1 the manager, the others workers, and
the swarm's own registry (swarm/registry) on node1, from which every node pulls images by
digest. Nothing is mocked; the steps are the ones a real cluster takes (docs/swarm.md):

1. each machine runs a Docker engine that trusts the registry at `node1:5000` over HTTP
   (--insecure-registry, here by the node's SWARM_REGISTRY);
2. `docker swarm init --advertise-addr <node1 address>` on node1, `docker swarm join` on the
   others, and labels (`stack.role=core` on node1, `stack.role=runs` on the workers);
3. the registry as a service pinned to node1 by a label, its port 5000 published in host mode
   (the kernel may lack IPVS, so no routing mesh and no virtual IPs);
4. each image loaded into node1, pushed to the registry, and used as `node1:5000/name@sha256:...`.

    with SwarmCluster(prefix="swarmtest-1a2b3c") as cluster:
        image = cluster.distribute("fanout-local/python:3.11-bookworm")
        cluster.docker("node1", "service", "create", ..., image, ...)

Node names are the swarm's hostnames (`node1`, `node2`, ...); their containers are
`<prefix>-node1`, ... on network `<prefix>-net`, their engines' data on volumes
`<prefix>-node1-docker`, ...; teardown() removes them all, even after a failed start.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from stack_testing import swarm_images, swarm_nodes
from stack_testing.swarm_nodes import Network, NodeContainer, docker

MANAGER = "node1"
REGISTRY_PORT = 5000
REGISTRY_SERVICE = "swarm-registry"
# The label that pins the registry service to node1 (besides the caller's labels).
REGISTRY_NODE_LABEL = "stack-testing.registry"
CORE_LABELS: Mapping[str, str] = {"stack.role": "core"}
WORKER_LABELS: Mapping[str, str] = {"stack.role": "runs"}


class DistributedImage(str):
    """The digest-pinned reference of an image in the swarm's registry (the string itself,
    `node1:5000/name@sha256:...`), with what distributing it took."""

    source: str  # the host's image
    tag: str  # its tagged name in the registry
    digest: str
    saved_bytes: int  # the `docker save` stream copied from the host into node1
    registry_bytes: int  # compressed layers and config: what each node pulling it downloads
    load_seconds: float  # host -> node1 (`docker save | docker exec -i node1 docker load`)
    push_seconds: float  # node1 -> the registry (compressing the layers is most of it)

    def __new__(
        cls, reference: str, *, source: str, tag: str, saved_bytes: int, registry_bytes: int,
        load_seconds: float, push_seconds: float,
    ) -> DistributedImage:  # fmt: skip
        self = super().__new__(cls, reference)
        self.source, self.tag = source, tag
        self.digest = reference.rsplit("@", 1)[1]
        self.saved_bytes, self.registry_bytes = saved_bytes, registry_bytes
        self.load_seconds, self.push_seconds = load_seconds, push_seconds
        return self

    @property
    def reference(self) -> str:
        return str(self)

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.push_seconds

    def report(self) -> dict[str, Any]:
        return {
            "source": self.source, "reference": str(self),
            "saved_mb": round(self.saved_bytes / 1e6, 1), "registry_mb": round(self.registry_bytes / 1e6, 1),
            "load_s": round(self.load_seconds, 2), "push_s": round(self.push_seconds, 2),
        }  # fmt: skip


@dataclass(frozen=True)
class TaskResult:
    """The one task of a one-shot service (restart-condition none) once it has ended."""

    service: str
    node: str
    state: str  # Swarm's CurrentState word: complete, failed, rejected, shutdown
    error: str
    seconds: float  # from `service create` to the task's end, as polled


# Swarm's dispatcher heartbeat period unless `docker swarm init/update` sets another.
DEFAULT_DISPATCHER_HEARTBEAT = "5s"
_GO_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(duration: str) -> float:
    """A simple Go duration ("2s", "500ms", "1m30s") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


_ENDED = ("complete", "failed", "rejected", "shutdown", "orphaned")


class SwarmCluster:
    """A swarm of `nodes` Docker-in-Docker nodes on this machine's engine.

    labels: node labels by hostname (default: node1 `stack.role=core`, the rest
    `stack.role=runs`); managers: how many nodes, from node1 on, are managers (default only
    node1); memory / cpus: per-node limits (`--memory`, `--cpus`), which also bound the node's
    containers (swarm/node/entrypoint.sh nests their cgroups); dispatcher_heartbeat: Swarm's
    heartbeat period (e.g. "2s"; None keeps Swarm's 5 s); start_timeout: seconds each node's
    engine may take to answer.
    """

    def __init__(
        self,
        prefix: str | None = None,
        nodes: int = 3,
        labels: Mapping[str, Mapping[str, str]] | None = None,
        *,
        managers: int = 1,
        worker_labels: Mapping[str, str] = WORKER_LABELS,
        node_image: str = swarm_images.NODE_IMAGE,
        registry_image: str = swarm_images.REGISTRY_IMAGE,
        base_image: str | None = None,
        memory: str | None = None,
        cpus: str | None = None,
        dispatcher_heartbeat: str | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        if nodes < 1 or not 1 <= managers <= nodes:
            raise ValueError(f"need 1 <= managers ({managers}) <= nodes ({nodes})")
        self.prefix = prefix or f"swarm-{uuid.uuid4().hex[:6]}"
        self.size = nodes
        self.managers = managers
        self.worker_labels = dict(worker_labels)
        self.labels: dict[str, dict[str, str]] = {
            f"node{i}": dict(CORE_LABELS if i == 1 else worker_labels) for i in range(1, nodes + 1)
        }
        if labels is not None:
            self.labels = {f"node{i}": dict(labels.get(f"node{i}", {})) for i in range(1, nodes + 1)}
        self.node_image = node_image
        self.registry_image = registry_image
        self.base_image = base_image
        self.memory = memory
        self.cpus = cpus
        self.dispatcher_heartbeat = dispatcher_heartbeat
        self.start_timeout = start_timeout
        self.network: Network | None = None
        self.nodes: dict[str, NodeContainer] = {}
        # Seconds (and a few sizes) of each step, for reports.
        self.timings: dict[str, float] = {}
        self.distributions: list[DistributedImage] = []
        self._tokens: dict[str, str] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> SwarmCluster:
        try:
            return self.start()
        except BaseException:
            self.teardown()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.teardown()

    def start(self) -> SwarmCluster:
        """Start the nodes, form the swarm, label it and start the registry; builds the node
        and registry images first if this machine lacks them. A node whose engine does not
        come up fails it with the node's log tail; the caller tears down (`with` does)."""
        started = time.monotonic()
        built = swarm_images.ensure_swarm_images(self.node_image, self.registry_image, self.base_image)
        if built:
            self.timings["images_built_s"] = built
        self.network = swarm_nodes.create_network(self.prefix)
        step = time.monotonic()
        hostnames = [f"node{i}" for i in range(1, self.size + 1)]
        for hostname in hostnames:
            self._run_node(hostname)
        with ThreadPoolExecutor(max_workers=len(hostnames)) as pool:
            waited = list(pool.map(self._wait_engine, hostnames))
        self.timings["node_engine_up_max_s"] = max(waited)
        self.timings["nodes_up_s"] = time.monotonic() - step

        step = time.monotonic()
        self._init_swarm()
        with ThreadPoolExecutor(max_workers=max(1, len(hostnames) - 1)) as pool:
            list(pool.map(self._join, hostnames[1:]))
        self.wait_ready(hostnames)
        for hostname in hostnames:
            self._label(hostname, self.labels.get(hostname, {}))
        self.docker(MANAGER, "node", "update", "--label-add", f"{REGISTRY_NODE_LABEL}=true", MANAGER)
        self.timings["swarm_formed_s"] = time.monotonic() - step

        step = time.monotonic()
        self.timings["registry_image_bytes"] = swarm_images.load_into(
            self.registry_image, self.container(MANAGER)
        )
        self._start_registry()
        self.timings["registry_ready_s"] = time.monotonic() - step
        self.timings["start_s"] = time.monotonic() - started
        return self

    def teardown(self) -> list[str]:
        """Remove the nodes' containers, their volumes and the network; what could not be
        removed (empty when all went). Safe to call twice and after a failed start."""
        problems = swarm_nodes.remove_all(self.prefix)
        self.nodes.clear()
        self.network = None
        return problems

    # --- nodes --------------------------------------------------------------------------

    def container(self, node: str) -> str:
        """The container of node `node1` (or of `<prefix>-node1` itself)."""
        return f"{self.prefix}-{self._hostname(node)}"

    def node_ip(self, node: str = MANAGER) -> str:
        """The node's address on the cluster network, which this host reaches: a port a
        service publishes in host mode on the node is at `node_ip(node):port`."""
        return self.nodes[self._hostname(node)].address

    @property
    def manager_ip(self) -> str:
        return self.node_ip(MANAGER)

    def url(self, port: int, node: str = MANAGER, scheme: str = "http") -> str:
        """The host's URL of a port published in host mode on `node`."""
        return f"{scheme}://{self.node_ip(node)}:{port}"

    def exec(
        self, node: str, *args: str, check: bool = True, input: str | None = None, timeout: float = 300
    ) -> str:
        """Run a command in the node's container (`docker exec`); its stdout, stripped."""
        flags = ["-i"] if input is not None else []
        return docker(
            "exec", *flags, self.container(node), *args, check=check, input=input, timeout=timeout
        )

    def docker(self, node: str, *args: str, check: bool = True, timeout: float = 300) -> str:
        """The docker CLI on the node's engine (`docker service ...` on node1, the manager)."""
        return self.exec(node, "docker", *args, check=check, timeout=timeout)

    def copy_to(self, node: str, source: Path | str, destination: str) -> None:
        """`docker cp` a host file or folder into the node's container."""
        docker("cp", str(source), f"{self.container(node)}:{destination}")

    def add_node(self, labels: Mapping[str, str] | None = None, *, manager: bool = False) -> str:
        """Start one more node, join it (a worker unless `manager`) and label it (by default
        as a worker); its hostname. It pulls images from the registry like the others."""
        started = time.monotonic()
        hostname = f"node{max(int(h[4:]) for h in self.nodes) + 1}"
        self.labels[hostname] = dict(self.worker_labels if labels is None else labels)
        self._run_node(hostname)
        self._wait_engine(hostname)
        self._join(hostname, manager=manager)
        self.wait_ready([hostname])
        self._label(hostname, self.labels[hostname])
        self.timings[f"add_{hostname}_s"] = time.monotonic() - started
        return hostname

    def stop_node(self, node: str, timeout: int = 10, *, kill: bool = False) -> float:
        """Take a node's machine down: `docker stop` (its engine shuts down, SIGKILL after
        `timeout` s) or, with `kill`, `docker kill` (a power cut); seconds it took."""
        started = time.monotonic()
        if kill:
            docker("kill", self.container(node))
        else:
            docker("stop", "--time", str(timeout), self.container(node))
        return time.monotonic() - started

    def start_node(self, node: str, *, wait: bool = True, timeout: float = 90) -> float:
        """Start a stopped node again (same address, same engine data); with `wait`, until
        Swarm reports it Ready. Seconds it took."""
        started = time.monotonic()
        docker("start", self.container(node))
        if wait:
            hostname = self._hostname(node)
            self._wait_engine(hostname)
            # The manager may not have noticed the node was away (a quick restart), so its
            # "Ready" alone can be stale: wait for the node's own engine to be back in the swarm.
            deadline = time.monotonic() + timeout
            while (local := self._local_swarm_state(hostname)) != "active":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{hostname} did not rejoin the swarm ({local})\n{self.diagnostics()}")
                time.sleep(0.25)
            self.wait_ready([hostname], timeout=max(1.0, deadline - time.monotonic()))
        return time.monotonic() - started

    def _local_swarm_state(self, hostname: str) -> str:
        """The node engine's own swarm state: inactive, pending, active, error, locked."""
        return self.docker(hostname, "info", "--format", "{{.Swarm.LocalNodeState}}", check=False)

    def drain(self, node: str) -> None:
        self.docker(MANAGER, "node", "update", "--availability", "drain", self._hostname(node))

    def activate(self, node: str) -> None:
        self.docker(MANAGER, "node", "update", "--availability", "active", self._hostname(node))

    def node_ids(self) -> dict[str, str]:
        """Swarm's node ID by hostname."""
        out = self.docker(MANAGER, "node", "ls", "--format", "{{.Hostname}} {{.ID}}")
        return dict(line.split() for line in out.splitlines())

    def node_info(self) -> dict[str, dict[str, Any]]:
        """By hostname: Swarm's view of each node (state, availability, role, labels, address)."""
        ids = list(self.node_ids().values())
        nodes = json.loads(self.docker(MANAGER, "node", "inspect", *ids))
        return {
            n["Description"]["Hostname"]: {
                "id": n["ID"],
                "state": n["Status"]["State"],
                "availability": n["Spec"]["Availability"],
                "role": n["Spec"]["Role"],
                "labels": n["Spec"].get("Labels") or {},
                "address": n["Status"].get("Addr"),
            }
            for n in nodes
        }

    def node_state(self, node: str) -> str:
        """Swarm's state of the node: ready, down, unknown, disconnected."""
        return self.docker(MANAGER, "node", "inspect", "--format", "{{.Status.State}}", self._hostname(node))

    def wait_node_state(self, node: str, state: str, timeout: float = 60, interval: float = 0.25) -> float:
        """Wait until Swarm reports the node in `state`; the seconds waited."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < timeout:
            last = self.node_state(node)
            if last == state:
                return time.monotonic() - started
            time.sleep(interval)
        raise AssertionError(
            f"{node} not {state} within {timeout:.0f} s (last: {last})\n{self.diagnostics()}"
        )

    def wait_ready(self, nodes: Sequence[str] | None = None, timeout: float = 60) -> None:
        """Wait until Swarm reports each of `nodes` (default all) Ready."""
        wanted = {self._hostname(n) for n in (nodes or list(self.nodes))}
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            out = self.docker(MANAGER, "node", "ls", "--format", "{{.Hostname}} {{.Status}}", check=False)
            states = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
            if all(states.get(n) == "Ready" for n in wanted):
                return
            time.sleep(0.25)
        raise RuntimeError(f"nodes not Ready within {timeout:.0f} s: {states}\n{self.diagnostics()}")

    def set_dispatcher_heartbeat(self, period: str, *, wait: bool = True) -> None:
        """`docker swarm update --dispatcher-heartbeat PERIOD` (a Go duration: "2s", "500ms"):
        how often nodes report to the manager; one that misses reports for about three periods
        is marked down. A node learns the new period from its next report, so with `wait` this
        waits one old period (plus Swarm's jitter) until every connected node uses it."""
        old = _seconds(self.dispatcher_heartbeat or DEFAULT_DISPATCHER_HEARTBEAT)
        self.docker(MANAGER, "swarm", "update", "--dispatcher-heartbeat", period)
        self.dispatcher_heartbeat = period
        if wait:
            time.sleep(old + 1.0)

    def kill_task_container(self, node: str, run_id: str, label: str = "dagster/run_id") -> list[str]:
        """SIGKILL the containers on `node` labelled `label=run_id` (a Dagster run's task);
        their IDs. Fails if there is none."""
        ids = self.docker(node, "ps", "-q", "--filter", f"label={label}={run_id}").split()
        if not ids:
            raise AssertionError(f"no container labelled {label}={run_id} on {node}")
        self.docker(node, "kill", *ids)
        return ids

    # --- images -------------------------------------------------------------------------

    @property
    def registry(self) -> str:
        """The registry's address as every node's engine knows it."""
        return f"{MANAGER}:{REGISTRY_PORT}"

    def distribute(self, image: str) -> DistributedImage:
        """Put a host image in the swarm's registry: load it into node1, tag it
        `node1:5000/<name>:<tag>`, push it; its digest-pinned reference, which any node pulls
        when a service needs it."""
        name, tag = swarm_images.split_reference(image)
        target = f"{self.registry}/{name}:{tag}"
        started = time.monotonic()
        saved = swarm_images.load_into(image, self.container(MANAGER))
        loaded = time.monotonic()
        self.docker(MANAGER, "tag", image, target)
        out = self.docker(MANAGER, "push", target, timeout=900)
        pushed = time.monotonic()
        # The push's last line: "<tag>: digest: sha256:... size: N".
        found = re.findall(r"digest: (sha256:[0-9a-f]{64})", out)
        if not found:
            raise RuntimeError(f"no digest in the output of pushing {target}:\n{out}")
        reference = f"{self.registry}/{name}@{found[-1]}"
        manifest = swarm_images.registry_manifest(self.url(REGISTRY_PORT), name, found[-1])
        result = DistributedImage(
            reference, source=image, tag=target, saved_bytes=saved,
            registry_bytes=swarm_images.compressed_size(manifest),
            load_seconds=loaded - started, push_seconds=pushed - loaded,
        )  # fmt: skip
        self.distributions.append(result)
        return result

    def has_image(self, node: str, reference: str) -> bool:
        return bool(self.docker(node, "image", "inspect", "--format", "{{.Id}}", reference, check=False))

    def pulls(self, node: str, since: float, until: float | None = None) -> list[str]:
        """The image references the node's engine pulled between two Unix times (its events)."""
        out = self.docker(
            node, "events", "--since", f"{since:.3f}", "--until", f"{until or time.time():.3f}",
            "--filter", "type=image", "--filter", "event=pull", "--format", "{{.Actor.ID}}",
        )  # fmt: skip
        return [line for line in out.splitlines() if line.strip()]

    # --- services -----------------------------------------------------------------------

    def run_once(
        self,
        image: str,
        *command: str,
        constraints: Sequence[str] = (),
        name: str | None = None,
        timeout: float = 120,
    ) -> TaskResult:
        """A one-shot service (restart-condition none) of `image` running `command`; waits for
        its task to end and returns where and how, then removes the service."""
        name = name or f"once-{uuid.uuid4().hex[:8]}"
        args = ["service", "create", "--detach", "--quiet", "--name", name, "--restart-condition", "none"]
        for constraint in constraints:
            args += ["--constraint", constraint]
        started = time.monotonic()
        self.docker(MANAGER, *args, image, *command)
        try:
            while time.monotonic() - started < timeout:
                out = self.docker(
                    MANAGER, "service", "ps", "--no-trunc", "--format", "{{json .}}", name, check=False
                )
                tasks = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
                if tasks and (state := tasks[0]["CurrentState"].split()[0].lower()) in _ENDED:
                    seconds = time.monotonic() - started
                    return TaskResult(name, tasks[0]["Node"], state, tasks[0]["Error"], seconds)
                time.sleep(0.25)
            raise AssertionError(f"service {name}'s task did not end within {timeout:.0f} s: {out}")
        finally:
            self.docker(MANAGER, "service", "rm", name, check=False)

    # --- reports ------------------------------------------------------------------------

    def diagnostics(self, lines: int = 25) -> str:
        """Swarm's nodes and services, and each node's container state and log tail."""
        parts = []
        if MANAGER in self.nodes:
            for args in (("node", "ls"), ("service", "ls")):
                parts.append(f"$ docker {' '.join(args)}\n" + self.docker(MANAGER, *args, check=False))
        for node in self.nodes.values():
            status = docker("inspect", "--format", "{{.State.Status}}", node.container, check=False)
            tail = swarm_nodes.log_tail(node.container, lines)
            parts.append(f"--- {node.container} ({status or 'missing'})\n{tail}")
        return "\n".join(parts)

    # --- steps --------------------------------------------------------------------------

    def _hostname(self, node: str) -> str:
        return node.removeprefix(f"{self.prefix}-")

    def _run_node(self, hostname: str) -> None:
        assert self.network is not None, "start() first"
        node = NodeContainer(self.prefix, hostname, self.network.address(int(hostname[4:])))
        self.nodes[hostname] = node
        swarm_nodes.run_node(
            node, self.network, self.node_image,
            env={"SWARM_REGISTRY": self.registry},
            memory=self.memory, cpus=self.cpus,
        )  # fmt: skip

    def _wait_engine(self, hostname: str) -> float:
        return swarm_nodes.wait_engine(self.container(hostname), self.start_timeout)

    def _init_swarm(self) -> None:
        args = ["swarm", "init", "--advertise-addr", self.node_ip(MANAGER)]
        if self.dispatcher_heartbeat:
            args += ["--dispatcher-heartbeat", self.dispatcher_heartbeat]
        self.docker(MANAGER, *args)
        for role in ("worker", "manager"):
            self._tokens[role] = self.docker(MANAGER, "swarm", "join-token", "--quiet", role)

    def _join(self, hostname: str, manager: bool | None = None) -> None:
        if manager is None:
            manager = int(hostname[4:]) <= self.managers
        token = self._tokens["manager" if manager else "worker"]
        self.docker(
            hostname, "swarm", "join", "--token", token, "--advertise-addr", self.node_ip(hostname),
            f"{self.node_ip(MANAGER)}:2377",
        )  # fmt: skip

    def _label(self, hostname: str, labels: Mapping[str, str]) -> None:
        if labels:
            args = [arg for key, value in labels.items() for arg in ("--label-add", f"{key}={value}")]
            self.docker(MANAGER, "node", "update", *args, hostname)

    def _start_registry(self, timeout: float = 60) -> None:
        # By image ID: an engine pulls a service's image before each task unless the image is
        # named by ID or by a digest it has; the registry's own image is only on node1.
        image_id = self.docker(MANAGER, "image", "inspect", "--format", "{{.Id}}", self.registry_image)
        self.docker(
            MANAGER, "service", "create", "--detach", "--quiet", "--name", REGISTRY_SERVICE,
            "--container-label", f"stack-testing.image={self.registry_image}",
            "--constraint", f"node.labels.{REGISTRY_NODE_LABEL}==true",
            "--publish", f"mode=host,target=5000,published={REGISTRY_PORT}",
            "--endpoint-mode", "dnsrr",
            "--mount", f"type=volume,source={REGISTRY_SERVICE},target=/var/lib/docker-registry",
            "--no-resolve-image", image_id,
        )  # fmt: skip
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                with opener.open(f"{self.url(REGISTRY_PORT)}/v2/", timeout=2) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as error:
                last = error
            if time.monotonic() > deadline:
                tasks = self.docker(MANAGER, "service", "ps", "--no-trunc", REGISTRY_SERVICE, check=False)
                raise RuntimeError(f"the registry did not answer within {timeout:.0f} s ({last}):\n{tasks}")
            time.sleep(0.25)
