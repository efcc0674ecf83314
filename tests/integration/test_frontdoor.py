"""The front door on a live stack: who gets what, through TLS, with the logins of the stack's
users file; the webserver itself is not published on the host."""

import json
import ssl
import socket
from typing import Any

import pytest
import requests

from bench.burst import LAUNCH, REPOSITORIES, TRIVIAL_CONFIG, JOB, find_job
from tests.integration.stack import ADMIN_USER, VIEWER_USER, Stack

pytestmark = pytest.mark.integration

QUERY = "{ version }"


def launch_params(stack: Stack) -> dict[str, Any]:
    location, repository = find_job(stack.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"], JOB)
    return {
        "params": {
            "selector": {"repositoryLocationName": location, "repositoryName": repository, "jobName": JOB},
            "runConfigData": TRIVIAL_CONFIG,
            "executionMetadata": {"tags": [{"key": "test", "value": "frontdoor"}]},
        }
    }


def post(stack: Stack, user: str | None, query: str, variables: dict[str, Any] | None = None) -> requests.Response:
    return stack.session(user).post(
        f"{stack.base_url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )


def test_graphql_status_by_role(stack: Stack) -> None:
    variables = launch_params(stack)
    seen: dict[str, Any] = {}
    for user in (None, VIEWER_USER, ADMIN_USER):
        who = user or "anonymous"
        query = post(stack, user, QUERY)
        mutation = post(stack, user, LAUNCH, variables)
        seen[who] = {
            "query": query.status_code,
            "mutation": mutation.status_code,
            "mutation_result": (
                mutation.json()["data"]["launchRun"]["__typename"] if mutation.status_code == 200 else None
            ),
        }
    print(f"\n[frontdoor] /graphql status codes: {json.dumps(seen)}")
    assert seen["anonymous"] == {"query": 401, "mutation": 401, "mutation_result": None}
    # The read-only webserver answers the mutation with a GraphQL UnauthorizedError, not an
    # HTTP error: nothing is launched.
    assert seen[VIEWER_USER] == {"query": 200, "mutation": 200, "mutation_result": "UnauthorizedError"}
    assert seen[ADMIN_USER] == {"query": 200, "mutation": 200, "mutation_result": "LaunchRunSuccess"}
    assert len(stack.runs({"tags": [{"key": "test", "value": "frontdoor"}]})) == 1


@pytest.mark.parametrize("path", ["/", "/graphql", "/runs", "/server_info", "/assets"])
def test_nothing_without_credentials(stack: Stack, path: str) -> None:
    response = stack.session(None).get(f"{stack.base_url}{path}", timeout=30)
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic")
    wrong = stack.session(None)
    wrong.auth = (ADMIN_USER, "not-the-password")
    assert wrong.get(f"{stack.base_url}{path}", timeout=30).status_code == 401


def test_health_probe_is_open_and_reveals_nothing(stack: Stack) -> None:
    response = stack.session(None).get(f"{stack.base_url}/healthz", timeout=30)
    assert response.status_code == 200
    assert response.text == "ok"
    assert "Server" not in response.headers
    assert not any("dagster" in f"{k}: {v}".lower() for k, v in response.headers.items())


def test_certificate_verifies_against_the_stack_ca(stack: Stack) -> None:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # Plain HTTP on the port gets no Dagster page.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{stack.port}/graphql", timeout=10).raise_for_status()


def test_only_the_front_door_is_published(stack: Stack) -> None:
    published = {}
    for service in ("frontdoor", "webserver", "webserver-viewer", "postgres", "daemon", "docker-proxy"):
        ports = stack.service_container(service).attrs["NetworkSettings"]["Ports"] or {}
        published[service] = {k: v for k, v in ports.items() if v}
    assert published["frontdoor"] == {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(stack.port)}]}
    assert all(not ports for service, ports in published.items() if service != "frontdoor"), published
    assert stack.compose("port", "webserver", "3000", check=False).strip() in ("", ":0")


def test_viewer_webserver_is_read_only(stack: Stack) -> None:
    container = stack.service_container("webserver-viewer")
    assert "--read-only" in " ".join(container.attrs["Config"]["Entrypoint"] or [])
    permissions = """{ permissions { permission value } }"""
    by_user = {}
    for user in (VIEWER_USER, ADMIN_USER):
        body = post(stack, user, permissions).json()
        by_user[user] = {p["permission"]: p["value"] for p in body["data"]["permissions"]}
    assert by_user[VIEWER_USER]["launch_pipeline_execution"] is False
    assert by_user[VIEWER_USER]["terminate_pipeline_execution"] is False
    assert by_user[ADMIN_USER]["launch_pipeline_execution"] is True
