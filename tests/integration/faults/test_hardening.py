"""Hardened run containers and code server, the password only as a file, and a Docker
proxy that passes the launcher's container calls and nothing else."""

import json
import textwrap

import pytest

from tests.integration.faults.deaths import TRIVIAL
from tests.integration.stack import Stack

STACK_USER = "10001:10001"


def _password(stack: Stack) -> str:
    """The stack's database password as compose got it (.env or the environment)."""
    from dotenv import dotenv_values

    from tests.integration.stack import REPO_ROOT

    return stack.env.get("STACK_POSTGRES_PASSWORD") or dotenv_values(REPO_ROOT / ".env")[
        "STACK_POSTGRES_PASSWORD"
    ]


@pytest.fixture(scope="module")
def run_container_attrs(stack: Stack) -> dict:
    run_id = stack.launch("chunked_work_job", TRIVIAL)
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    (container,) = stack.run_containers(run_id)
    return container.attrs


def _assert_hardened(attrs: dict, password: str, what: str) -> None:
    host = attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"], what
    assert not host.get("CapAdd"), what
    assert any(opt.startswith("no-new-privileges") for opt in host["SecurityOpt"] or []), what
    assert host["ReadonlyRootfs"] is True, what
    assert not host["Privileged"], what
    assert attrs["Config"]["User"] == STACK_USER, what
    assert "/tmp" in (host.get("Tmpfs") or {}), what
    assert not any("docker.sock" in (m.get("Source") or "") for m in attrs["Mounts"]), what
    env = attrs["Config"]["Env"] or []
    assert not any(
        e.startswith(("STACK_POSTGRES_PASSWORD=", "DAGSTER_POSTGRES_PASSWORD=")) for e in env
    ), what
    assert password not in json.dumps(attrs), f"{what}: the password is visible in docker inspect"


def test_run_containers_are_hardened_and_hold_no_password(
    stack: Stack, run_container_attrs: dict
) -> None:
    _assert_hardened(run_container_attrs, _password(stack), "run container")
    # The process pools' semaphores live in /dev/shm; it is sized for them.
    assert run_container_attrs["HostConfig"]["ShmSize"] == 256 * 1024**2
    mounts = {m["Destination"]: m for m in run_container_attrs["Mounts"]}
    assert mounts["/opt/dagster/secrets"]["RW"] is False
    print(
        "\n[faults] run container: CapDrop=ALL, no-new-privileges, read-only root, "
        f"user {STACK_USER}, /tmp tmpfs, /dev/shm 256 MiB, password only in a read-only file"
    )


def test_code_servers_are_hardened_and_hold_no_password(stack: Stack) -> None:
    for location in ("fanout", "warehouse"):
        _assert_hardened(stack.code_server(location).attrs, _password(stack), f"{location} code server")


def test_no_container_of_the_stack_shows_the_password(stack: Stack) -> None:
    password = _password(stack)
    for service in ("postgres", "webserver", "daemon", "docker-proxy"):
        attrs = stack.service_container(service).attrs
        assert password not in json.dumps(attrs), f"{service}: password visible in docker inspect"
    for location in ("fanout", "warehouse"):
        attrs = stack.code_server(location).attrs
        assert password not in json.dumps(attrs), f"{location}: password visible in docker inspect"


def test_only_the_proxy_holds_the_docker_socket(stack: Stack) -> None:
    for service in ("webserver", "daemon"):
        attrs = stack.service_container(service).attrs
        assert not any("docker.sock" in (m.get("Source") or "") for m in attrs["Mounts"]), service
        assert "DOCKER_HOST=tcp://docker-proxy:2375" in attrs["Config"]["Env"], service
        assert attrs["Config"]["User"] == STACK_USER, service
    proxy = stack.service_container("docker-proxy").attrs
    assert any(m["Destination"] == "/var/run/docker.sock" for m in proxy["Mounts"])


# Run inside the daemon container, through the proxy, with the same docker-py client the
# launcher uses. Prints one JSON object: request -> HTTP status.
PROBE = textwrap.dedent(
    """
    import json, os, docker, requests
    base = "http://docker-proxy:2375/v1.41"
    client = docker.from_env()
    stack, image = os.environ["STACK_NAME"], os.environ["RUN_IMAGE"]
    other, service_image = os.environ["OTHER_LOCATION_IMAGE"], os.environ["SERVICE_IMAGE"]
    warehouse_secrets = {f"{stack}-secrets-warehouse": {"bind": "/run/secrets", "mode": "ro"}}
    result = {}

    def status(name, call):
        try:
            call()
            result[name] = 200
        except docker.errors.APIError as error:
            result[name] = error.status_code

    def raw(name, method, path, body=None):
        response = requests.request(method, base + path, data=body, timeout=10,
                                    headers={"Content-Type": "application/json"})
        result[name] = response.status_code

    run_kwargs = dict(
        image=image, command=["true"], network=f"{stack}-network", user="10001:10001",
        labels={"dagster-fanout/stack": stack}, read_only=True, cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )

    def create_and_remove(**overrides):
        container = client.containers.create(**{**run_kwargs, **overrides})
        container.remove()

    status("GET /version (allowed)", client.version)
    status("GET /containers/json of this stack (allowed)", lambda: client.containers.list(
        all=True, filters={"label": f"dagster-fanout/stack={stack}"}))
    status("POST /containers/create hardened run container (allowed)", create_and_remove)
    status("POST /containers/create another declared location's image (allowed)",
           lambda: create_and_remove(image=other))
    status("POST /containers/create a location's image with its own secrets (allowed)",
           lambda: create_and_remove(image=other, volumes=warehouse_secrets))
    status("create: another location's secrets volume", lambda: create_and_remove(volumes=warehouse_secrets))
    status("create: an undeclared location's image",
           lambda: create_and_remove(image=f"{stack}/undeclared:0123456789ab"))
    status("create: a location image by a mutable tag", lambda: create_and_remove(image=f"{stack}/fanout:latest"))
    status("create: the Dagster services' image", lambda: create_and_remove(image=service_image))
    status("GET /images/json", client.images.list)
    status("POST /volumes/create", lambda: client.volumes.create(f"{stack}-probe"))
    status("GET /info", client.info)
    status("POST /images/create (pull)", lambda: client.images.pull("busybox", tag="latest"))
    status("GET /containers/json of every container", lambda: client.containers.list(all=True))
    some = client.containers.list(all=True, filters={"label": f"dagster-fanout/stack={stack}"})[0]
    raw("POST /containers/{id}/exec", "POST", f"/containers/{some.id}/exec",
        json.dumps({"Cmd": ["id"], "AttachStdout": True}))
    raw("POST /containers/{id}/kill", "POST", f"/containers/{some.id}/kill")
    raw("DELETE /containers/{id}?force=1", "DELETE", f"/containers/{some.id}?force=1")
    raw("GET /events", "GET", "/events?until=0")
    raw("POST /networks/create", "POST", "/networks/create", json.dumps({"Name": "x"}))
    status("create: privileged", lambda: create_and_remove(privileged=True))
    status("create: cap_add SYS_ADMIN", lambda: create_and_remove(cap_add=["SYS_ADMIN"]))
    status("create: host path bind /etc", lambda: create_and_remove(
        volumes={"/etc": {"bind": "/host-etc", "mode": "ro"}}))
    status("create: writable root filesystem", lambda: create_and_remove(read_only=False))
    status("create: root user", lambda: create_and_remove(user="0"))
    status("create: another image", lambda: create_and_remove(image="busybox"))
    status("create: host PID namespace", lambda: create_and_remove(pid_mode="host"))
    body = json.loads(json.dumps(client.api.create_host_config(
        read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
        network_mode=f"{stack}-network")))
    config = {"Image": image, "User": "10001:10001", "Labels": {"dagster-fanout/stack": stack},
              "HostConfig": body}
    dup = json.dumps(config)[:-1] + ', "hostconfig": {"Privileged": true}}'
    raw("create: repeated key (HostConfig twice)", "POST", "/containers/create", dup)
    escaped = json.dumps(config).replace('"ReadonlyRootfs": true',
                                         '"ReadonlyRootfs": true, "Privil\\\\u0065ged": true')
    raw("create: unicode-escaped key", "POST", "/containers/create", escaped)
    print(json.dumps(result))
    """
)


def test_the_docker_proxy_refuses_everything_but_the_launchers_container_calls(
    stack: Stack,
) -> None:
    daemon = stack.service_container("daemon")
    exit_code, output = daemon.exec_run(
        ["python3", "-c", PROBE],
        environment={
            "RUN_IMAGE": stack.serving_image("fanout"),
            "OTHER_LOCATION_IMAGE": stack.serving_image("warehouse"),
            "SERVICE_IMAGE": stack.env["STACK_DAGSTER_IMAGE"],
        },
    )
    assert exit_code == 0, output.decode()
    result = json.loads(output.decode().strip().splitlines()[-1])
    print("\n[faults] Docker proxy, seen from the daemon:")
    for name, code in result.items():
        print(f"  {code}  {name}")
    allowed = {name for name in result if name.endswith("(allowed)")}
    assert {result[name] for name in allowed} == {200}, result
    refused = {name: code for name, code in result.items() if name not in allowed}
    assert set(refused.values()) == {403}, refused


def test_run_containers_cannot_reach_the_proxy(stack: Stack) -> None:
    """The code server sits on the network run containers use; the proxy is not on it."""
    exit_code, output = stack.code_server("fanout").exec_run(
        ["python3", "-c",
         "import socket\n"
         "try:\n    socket.create_connection(('docker-proxy', 2375), timeout=3)\n"
         "except OSError as e:\n    print('unreachable', e)\nelse:\n    print('REACHABLE')"]
    )  # fmt: skip
    assert b"unreachable" in output, output
