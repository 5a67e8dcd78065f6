"""Bad input and abuse: always a 4xx naming the field, never a 500, nothing stored."""

from __future__ import annotations

import socket

import orjson
import pytest

from tests.builders import wire_report
from tests.http.conftest import Server

JSON = {"content-type": "application/json"}


def _nothing_stored(server: Server) -> None:
    with server.client() as c:
        assert c.get("/v1/players/thrall/games").json()["games"] == []
        assert [p["player_id"] for p in c.get("/v1/players").json()][-1] == "medivh"


@pytest.mark.parametrize(("path", "body", "headers", "status", "field"), [
    ("/v1/games", b'{"game_id": ', JSON, 422, "body"),  # a syntax error is a rejected report, with its line
    ("/v1/games", b"[" * 50_000 + b"]" * 50_000, JSON, None, "body"),  # deep nesting
    ("/v1/games", orjson.dumps(wire_report("g")), {"content-type": "text/plain"}, 415, "content-type"),
    ("/v1/games", orjson.dumps(wire_report("g")), {}, 415, "content-type"),
    ("/v1/games", b"x" * 30_000, JSON, 413, "body"),
    ("/v1/games", orjson.dumps([{"game_id": str(i)} for i in range(2000)]), JSON, 413, "body"),  # a huge array
    ("/v1/players", b'{"player_id": "a", "name": "b", "admin": true}', JSON, 422, "admin"),
    ("/v1/players", b'{"player_id": 5, "name": "b"}', JSON, 422, "player_id"),
    ("/v1/players", b'{"player_id": "a"', JSON, 400, "body"),
    ("/v1/players", b"[" * 100_00 + b"]" * 100_00, JSON, 400, "body"),
    ("/v1/players", b'{"player_id": "a", "name": "b"}', {"content-type": "application/xml"}, 415, "content-type"),
    ("/v1/players", b"\xff\xfe", JSON, 400, "body"),
    ("/v1/players", b'{"player_id": "' + b"a" * 200 + b'", "name": "b"}', JSON, 422, "player_id"),
])
def test_bad_bodies_are_4xx_naming_the_field(sqlite_server: Server, path: str, body: bytes,
                                             headers: dict[str, str], status: int | None, field: str) -> None:
    with sqlite_server.client(sqlite_server.report_key) as c:
        answer = c.post(path, content=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    if status is not None:
        assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["error"]
    if answer.status_code != 422 or path != "/v1/games":
        assert problem["field"] == field
    _nothing_stored(sqlite_server)


def test_a_bad_content_length_is_refused(sqlite_server: Server) -> None:
    host, port = sqlite_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/players HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + sqlite_server.report_key.encode() + b"\r\n"
                     b"Content-Length: 99999999999\r\n\r\n{}")
        status = sock.recv(100).split(b" ")[1]
    assert status == b"413"


def test_a_streamed_body_over_the_limit_is_413(sqlite_server: Server) -> None:
    def chunks() -> object:
        for _ in range(100):
            yield b" " * 1000

    with sqlite_server.client(sqlite_server.report_key) as c:
        answer = c.post("/v1/games", content=chunks(), headers=JSON)  # type: ignore[arg-type]
    assert answer.status_code == 413
    _nothing_stored(sqlite_server)


def test_bad_queries_and_headers(sqlite_server: Server) -> None:
    with sqlite_server.client() as c:
        assert c.get("/v1/players/thrall/games", params={"limit": "many"}).json()["field"] == "limit"
        assert c.get("/v1/players/thrall/games", params={"limit": 10_000}).status_code == 422
        assert c.get("/v1/events", headers={"Last-Event-ID": "abc"}).status_code == 400
        assert c.get("/v1/events", params={"types": "Nope"}).status_code == 400
        assert c.get("/v1/events", params={"player": "nobody"}).status_code == 404
        assert c.get("/v1/nothing").status_code == 404
        assert c.delete("/v1/players").status_code == 405
