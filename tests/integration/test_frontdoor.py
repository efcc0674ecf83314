"""The front door on a live stack: who gets what, through TLS, with the logins of the stack's
users file; the webserver itself is not published on the host."""

import datetime
import json
import os
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import docker
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import requests

from bench.burst import LAUNCH, REPOSITORIES, TRIVIAL_CONFIG, JOB, find_job
from stack_testing.dagster_api import ADMIN_USER, VIEWER_USER

from tests.integration.stack import Stack, free_port

pytestmark = pytest.mark.integration

QUERY = "{ version }"
# The front door's user (frontdoor/Dockerfile, docker-compose.yml).
FRONTDOOR_UID = 10002


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


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    # As docs/frontdoor.md tells operators: readable by the front door's uid only.
    os.chown(key_file, 0, FRONTDOOR_UID)
    key_file.chmod(0o640)
    return cert_file, key_file


def test_operator_certificate_is_served(stack: Stack, tmp_path: Path) -> None:
    """The stack's front-door image with an operator's certificate and key mounted where
    compose mounts STACK_TLS_CERT_FILE/STACK_TLS_KEY_FILE: it serves that certificate."""
    cert_file, key_file = self_signed(tmp_path, "dagster.example")
    users = stack.secrets_dir / "frontdoor" / "users"
    port = free_port()
    container = docker.from_env().containers.run(
        stack.service_container("frontdoor").attrs["Config"]["Image"],
        detach=True, user=f"{FRONTDOOR_UID}:{FRONTDOOR_UID}", cap_drop=["ALL"], read_only=True,
        tmpfs={"/tmp": "", "/config": f"uid={FRONTDOOR_UID},gid={FRONTDOOR_UID}"},
        volumes={
            str(users): {"bind": "/run/secrets/frontdoor_users", "mode": "ro"},
            str(cert_file): {"bind": "/run/secrets/tls_cert", "mode": "ro"},
            str(key_file): {"bind": "/run/secrets/tls_key", "mode": "ro"},
        },
        ports={"8443/tcp": ("127.0.0.1", port)},
    )
    try:
        context = ssl.create_default_context(cafile=str(cert_file))
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with context.wrap_socket(raw, server_hostname="dagster.example") as tls:
                        tls.sendall(b"GET /graphql HTTP/1.1\r\nHost: dagster.example\r\nConnection: close\r\n\r\n")
                        status_line = tls.recv(64).split(b"\r\n")[0]
                break
            except (OSError, ssl.SSLError):
                if time.monotonic() > deadline:
                    raise AssertionError(container.logs().decode(errors="replace")) from None
                time.sleep(0.5)
        assert status_line == b"HTTP/1.1 401 Unauthorized"
        assert "tls /run/secrets/tls_cert /run/secrets/tls_key" in container.logs().decode()
    finally:
        container.remove(force=True)
