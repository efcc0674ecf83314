"""A failed run's alert message, and its delivery to a real HTTP receiver on this host."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from stack_alerts import failed_run_message, first_line, post_json


class _Receiver:
    """A webhook receiver that answers the statuses it is given, in turn, and keeps bodies."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[_Receiver]:
    r = _Receiver(list(getattr(request, "param", [])))
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()


def test_the_message_names_job_location_run_steps_and_first_error_line() -> None:
    message = failed_run_message(
        "fanout_job", "fanout", "abc123", "http://ui/runs/abc123",
        ["run_one_chunk[chunk_3]"], "\nValueError: bad record 7\n  File ...",
    )  # fmt: skip
    text = json.dumps(message)
    for part in ("fanout_job", "fanout", "abc123", "http://ui/runs/abc123",
                 "run_one_chunk[chunk_3]", "ValueError: bad record 7"):  # fmt: skip
        assert part in text
    assert "File ..." not in text
    assert message["text"].startswith("Run failed: fanout_job in fanout")


def test_many_failed_steps_are_cut_and_counted() -> None:
    steps = [f"s{i}" for i in range(25)]
    detail = failed_run_message("j", "l", "r", "u", steps, None)["blocks"][1]["text"]["text"]
    assert "s9" in detail and "s10" not in detail and "and 15 more" in detail
    assert first_line(None) == "(no error message)"


def test_delivered_once_to_a_receiver_that_answers(receiver: _Receiver) -> None:
    delivery = post_json(receiver.url, {"text": "hi"}, sleep=lambda s: None)
    assert (delivery.delivered, delivery.attempts) == (True, 1)
    assert receiver.bodies == [{"text": "hi"}]


@pytest.mark.parametrize("receiver", [[503, 429]], indirect=True)
def test_a_busy_receiver_is_retried_with_back_off(receiver: _Receiver) -> None:
    waits: list[float] = []
    delivery = post_json(receiver.url, {"text": "hi"}, backoff_s=0.5, sleep=waits.append)
    assert (delivery.delivered, delivery.attempts) == (True, 3)
    assert waits == [0.5, 1.0] and len(receiver.bodies) == 3


@pytest.mark.parametrize("receiver", [[404]], indirect=True)
def test_a_refusing_receiver_is_not_retried_and_says_why(receiver: _Receiver) -> None:
    delivery = post_json(receiver.url, {"text": "hi"}, sleep=lambda s: None)
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert "HTTP 404" in (delivery.error or "")


def test_no_receiver_ends_in_a_failed_delivery_not_an_exception() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    delivery = post_json(f"http://127.0.0.1:{port}/hook", {}, attempts=2, sleep=lambda s: None)
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert "Connection refused" in (delivery.error or "") or "URLError" in (delivery.error or "")
