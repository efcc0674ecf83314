"""Docker-in-Docker Swarm nodes on this machine's engine: the docker CLI runner, the cluster's
bridge network with fixed node addresses, and the node containers themselves
(swarm/node/Dockerfile). Used by stack_testing.swarm_cluster; no Swarm logic here.

Every object made here carries the label `stack-testing.swarm=<prefix>`, so a teardown finds
all of a cluster's containers, volumes and network even after a start that failed halfway.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

LABEL = "stack-testing.swarm"

# `--privileged` fails on hosts whose bounding set lacks CAP_SYS_RESOURCE; this is the most a
# node can get there, and enough for dockerd, iptables, overlay mounts and runc.
NODE_SECURITY = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
)  # fmt: skip


class DockerError(RuntimeError):
    def __init__(self, command: Sequence[str], result: subprocess.CompletedProcess[str]):
        self.command = list(command)
        self.returncode = result.returncode
        self.stdout = result.stdout
        self.stderr = result.stderr
        super().__init__(
            f"{' '.join(self.command)} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def run(
    command: Sequence[str], *, check: bool = True, input: str | None = None, timeout: float = 300
) -> str:
    """Run a command; its stdout, stripped. Raises DockerError when it fails and `check`."""
    result = subprocess.run(
        list(command), input=input, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise DockerError(command, result)
    return result.stdout.strip()


def docker(*args: str, check: bool = True, input: str | None = None, timeout: float = 300) -> str:
    """The host's docker CLI."""
    return run(["docker", *args], check=check, input=input, timeout=timeout)


@dataclass(frozen=True)
class Network:
    name: str
    subnet: ipaddress.IPv4Network

    def address(self, index: int) -> str:
        """The fixed address of node `index` (1-based): a node keeps it across a stop and a
        start, which Swarm needs (the manager's address is in every worker's state)."""
        return str(self.subnet.network_address + 10 + index)


def create_network(prefix: str) -> Network:
    """A user-defined bridge network `<prefix>-net` on a subnet the engine picks (so it
    overlaps none of its other networks), recreated with that subnet written down: only then
    does the engine accept a fixed address per container."""
    name = f"{prefix}-net"
    docker("network", "create", "--label", f"{LABEL}={prefix}", name)
    subnet = docker("network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", name)
    gateway = docker("network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", name)
    docker("network", "rm", name)
    docker(
        "network", "create", "--label", f"{LABEL}={prefix}",
        "--subnet", subnet, "--gateway", gateway, name,
    )  # fmt: skip
    return Network(name, ipaddress.ip_network(subnet))


@dataclass
class NodeContainer:
    """One node: container `<prefix>-<hostname>`, engine data on volume `<prefix>-<hostname>`."""

    prefix: str
    hostname: str
    address: str

    @property
    def container(self) -> str:
        return f"{self.prefix}-{self.hostname}"

    @property
    def volume(self) -> str:
        return f"{self.prefix}-{self.hostname}-docker"


def run_node(
    node: NodeContainer,
    network: Network,
    image: str,
    *,
    aliases: Sequence[str] = (),
    env: dict[str, str] | None = None,
    memory: str | None = None,
    cpus: str | None = None,
    dockerd_args: Sequence[str] = (),
) -> None:
    """Start the node's container (detached); its engine comes up in about a second."""
    docker("volume", "create", "--label", f"{LABEL}={node.prefix}", node.volume)
    args = [
        "run", "--detach", "--name", node.container, "--hostname", node.hostname,
        "--label", f"{LABEL}={node.prefix}",
        "--network", network.name, "--ip", node.address,
        "--network-alias", node.hostname,
        "-v", f"{node.volume}:/var/lib/docker",
        *NODE_SECURITY,
    ]  # fmt: skip
    for alias in aliases:
        args += ["--network-alias", alias]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    if memory:
        args += ["--memory", memory, "--memory-swap", memory]
    if cpus:
        args += ["--cpus", cpus]
    docker(*args, image, *dockerd_args)


def log_tail(container: str, lines: int = 40) -> str:
    result = subprocess.run(
        ["docker", "logs", "--tail", str(lines), container], capture_output=True, text=True
    )
    return (result.stdout + result.stderr).strip()


def is_running(container: str) -> bool:
    state = docker("inspect", "--format", "{{.State.Running}}", container, check=False)
    return state == "true"


def wait_engine(container: str, timeout: float) -> float:
    """Wait until the node's dockerd answers `docker info`; the seconds it took. Fails at
    once if the node's container exited, else after `timeout`, with the node's log tail."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        probe = subprocess.run(
            ["docker", "exec", container, "docker", "info", "--format", "{{.ID}}"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if probe.returncode == 0:
            return time.monotonic() - started
        if not is_running(container):
            raise RuntimeError(
                f"node {container} exited before its engine answered:\n{log_tail(container)}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"node {container}'s engine did not answer within {timeout:.0f} s "
                f"({probe.stderr.strip()}):\n{log_tail(container)}"
            )
        time.sleep(0.2)


def remove_all(prefix: str) -> list[str]:
    """Remove every container, volume and network labelled for `prefix`; the problems met
    (the rest is still removed)."""
    problems: list[str] = []
    selector = f"label={LABEL}={prefix}"
    containers = docker("ps", "-aq", "--filter", selector, check=False).split()
    if containers:
        result = subprocess.run(["docker", "rm", "-f", "-v", *containers], capture_output=True, text=True)
        if result.returncode:
            problems.append(result.stderr.strip())
    for volume in docker("volume", "ls", "-q", "--filter", selector, check=False).split():
        result = subprocess.run(["docker", "volume", "rm", volume], capture_output=True, text=True)
        if result.returncode:
            problems.append(result.stderr.strip())
    for network in docker("network", "ls", "-q", "--filter", selector, check=False).split():
        for attempt in range(5):  # an endpoint can linger a moment after its container
            result = subprocess.run(["docker", "network", "rm", network], capture_output=True, text=True)
            if result.returncode == 0:
                break
            time.sleep(0.5 * (attempt + 1))
        else:
            problems.append(result.stderr.strip())
    return problems
