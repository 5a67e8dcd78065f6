"""Live unlocks: the SSE stream (resume with Last-Event-ID, ?player=) and webhooks (signed, in order,
retried after a failure) against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from osmo.application.webhooks import add_webhook, list_webhooks
from osmo.bootstrap import bootstrap
from tests.builders import wire_report
from tests.http.conftest import Server, free_port

BRUISER = {"attempted_attacks": 10, "hits": 5, "damage_done": 900, "kills": 2, "time_played": 600}


def read_events(response: httpx.Response, count: int) -> Iterator[tuple[int, str, dict[str, object]]]:
    """(id, event, data) of the next ``count`` events of an SSE response."""
    fields: dict[str, str] = {}
    seen = 0
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield int(fields["id"]), fields["event"], orjson.loads(fields["data"])
                seen += 1
                if seen == count:
                    return
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


def test_sse_streams_committed_events_and_resumes_with_last_event_id(server: Server) -> None:
    with server.client(server.report_key) as c:
        c.post("/v1/games", json=wire_report("sse-1", stats={"thrall": BRUISER}))
        with c.stream("GET", "/v1/events", params={"after": 0, "types": "GameRecorded,AwardUnlocked"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = list(read_events(stream, 2))
        assert [e for _, e, _ in first] == ["GameRecorded", "AwardUnlocked"]
        assert first[1][2]["data"] == {**first[1][2]["data"], "player_id": "thrall", "award_id": "bruiser"}
        last_id = first[0][0]
        with c.stream("GET", "/v1/events", headers={"Last-Event-ID": str(last_id)},
                      params={"types": "AwardUnlocked"}) as stream:
            resumed = next(read_events(stream, 1))
        assert resumed[0] == first[1][0]


def test_sse_delivers_new_unlocks_live_and_filters_by_player(server: Server) -> None:
    got: list[tuple[int, str, dict[str, object]]] = []

    def listen() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client, client.stream(
                "GET", "/v1/events", params={"player": "uther"}) as stream:
            got.extend(read_events(stream, 2))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(0.5)
    with server.client(server.report_key) as c:
        c.post("/v1/games", json=wire_report("sse-other", players=("thrall", "rexxar", "guldan", "malfurion",
                                                                     "garrosh", "anduin")))
        c.post("/v1/games", json=wire_report("sse-2", stats={"uther": BRUISER}))
    listener.join(20)
    assert [e for _, e, _ in got] == ["GameRecorded", "AwardUnlocked"]
    assert got[0][2]["data"]["game_id"] == "sse-2"  # type: ignore[index]


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    fail_first: list[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.fail_first and self.fail_first.pop():
            self.send_response(500)
        else:
            self.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (Receiver,), {"received": received, "fail_first": [True]})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
    httpd.server_close()


def test_webhooks_are_signed_in_order_and_retried_after_a_failure(
        server: Server, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, received = receiver
    secret = "s3cret-s3cret-s3cret"
    app = bootstrap(server.db)
    try:
        add_webhook(app.uow, url, secret, ["GameRecorded", "AwardUnlocked"])
        with server.client(server.report_key) as c:
            c.post("/v1/games", json=[wire_report("wh-1", stats={"thrall": BRUISER}), wire_report("wh-2")])
        deadline = time.monotonic() + 20
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        kinds = [orjson.loads(body)["type"] for _, body in received]
        assert sorted(kinds) == ["AwardUnlocked", "GameRecorded", "GameRecorded"]
        positions = [orjson.loads(body)["position"] for _, body in received]
        assert positions == sorted(positions)
        for headers, body in received:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Osmo-Signature-256"] == expected
            assert headers["X-Osmo-Event-Id"] == orjson.loads(body)["id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = list_webhooks(app.uow)[0]
            if status.webhook.cursor >= positions[-1]:
                break
            time.sleep(0.1)
        log = list(reversed(status.deliveries))
        assert (log[0].status, log[0].attempt) == (500, 1)
        assert (log[1].status, log[1].attempt, log[1].position) == (204, 2, log[0].position)
    finally:
        app.close()
