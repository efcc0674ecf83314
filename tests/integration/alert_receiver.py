"""A webhook receiver on the stack's network, so the code server that evaluates the alert
sensors and the watchdog service reach it by name: a container of the stack's Dagster image
running an http.server receiver that prints each body, with when it arrived, as a JSON line."""

import json
import time
from dataclasses import dataclass
from typing import Any

import docker
from docker.models.containers import Container

from tests.integration.stack import STACK_LABEL, Stack

PORT = 8080
SERVER = f"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(json.dumps({{"received_at": time.time(), "path": self.path, "body": json.loads(body)}}), flush=True)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

HTTPServer(("0.0.0.0", {PORT}), Handler).serve_forever()
"""


@dataclass
class Receiver:
    container: Container
    url: str

    def received(self) -> list[dict[str, Any]]:
        lines = self.container.logs(stdout=True, stderr=False).decode().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, text: str, timeout: float, since: float = 0.0) -> dict[str, Any]:
        """The first message whose `text` contains `text`, received after `since` (Unix time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received():
                if text in message["body"].get("text", "") and message["received_at"] > since:
                    return message
            time.sleep(0.5)
        texts = [m["body"].get("text") for m in self.received()]
        raise AssertionError(f"no alert containing {text!r} within {timeout:.0f} s; received: {texts}")

    def stop(self) -> None:
        self.container.remove(force=True)


def start_receiver(stack: Stack) -> Receiver:
    name = f"{stack.name}-alert-receiver"
    container = docker.from_env().containers.run(
        f"{stack.name}/dagster:test",
        ["python3", "-c", SERVER],
        name=name,
        detach=True,
        network=f"{stack.name}-network",
        # The stack's label: `stackctl down` removes it with the stack if a test leaves it.
        labels={STACK_LABEL: stack.name, "dagster-fanout/role": "test-receiver"},
        user="10001:10001",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
    )
    return Receiver(container, f"http://{name}:{PORT}/hook")
