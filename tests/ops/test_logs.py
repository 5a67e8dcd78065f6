"""Structured logs: one line per HTTP request and per NATS batch, JSON objects with ``--log-format json``,
and never a key, a password or a query string in them (a real ``osmo serve`` on PostgreSQL and NATS)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from osmo.application.api_keys import create_key
from osmo.application.players import register_seed_players
from osmo.bootstrap import bootstrap
from osmo.entrypoints import logs
from tests.builders import wire_report
from tests.conftest import pg_admin_url, with_params
from tests.nats.conftest import NatsServer, connected, free_port, publish_reports
from tests.ops.conftest import Process


def test_configure_logging_is_idempotent_and_formats_fields(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        logs.configure_logging("json")
        logs.configure_logging("json", debug=True)
        ours = [h for h in root.handlers if h not in before]
        assert len(ours) == 1
        logging.getLogger("osmo.test").debug("hello %s", "there", extra={"status": 201, "latency_ms": 1.5})
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["msg"] == "hello there" and line["level"] == "debug" and line["logger"] == "osmo.test"
        assert line["status"] == 201 and line["latency_ms"] == 1.5 and line["ts"].endswith("Z")
        logs.configure_logging("text")
        logging.getLogger("osmo.test").info("a request", extra={"route": "/v1/x y"})
        text = capsys.readouterr().err.strip().splitlines()[-1]
        assert text.split(" ", 3)[1:3] == ["INFO", "osmo.test"] and text.endswith('a request route="/v1/x y"')
        with pytest.raises(ValueError, match="unknown log format"):
            logs.configure_logging("xml")
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        logging.getLogger("osmo").setLevel(logging.NOTSET)
        logging.captureWarnings(False)


def test_redact_url() -> None:
    assert logs.redact_url("nats://user:pw@127.0.0.1:4222") == "nats://127.0.0.1:4222"
    assert logs.redact_url("postgresql://u:pw@db/osmo?password=x") == "postgresql://db/osmo"


@pytest.fixture
def pg_with_password() -> Iterator[tuple[str, str]]:
    """A schema and a role of its own with a password: the URL (the password in it) and the password."""
    import psycopg

    admin = pg_admin_url()
    tag = uuid.uuid4().hex[:10]
    schema, role, password = f"osmo_logs_{tag}", f"osmo_logs_{tag}", f"pw-{secrets.token_hex(12)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION {role}')
    parts = urlsplit(admin)
    netloc = f"{role}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    url = with_params(urlunsplit(parts._replace(netloc=netloc)), options=f"-csearch_path={schema}")
    try:
        yield url, password
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_json_logs_of_a_serve_process_hold_no_secret(
        pg_with_password: tuple[str, str], own_nats: NatsServer,
        processes: Callable[[list[str], dict[str, str]], Process]) -> None:
    url, password = pg_with_password
    app = bootstrap(url)
    try:
        register_seed_players(app.uow)
        _, report_key = create_key(app.uow, "reporter", "report")
        _, admin_key = create_key(app.uow, "operator", "admin")
    finally:
        app.close()
    wrong_key = "osmo_" + secrets.token_hex(32)
    query_secret = secrets.token_hex(16)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = processes(["--db", url, "serve", "--http", f"127.0.0.1:{port}", "--nats", own_nats.url],
                      {"OSMO_LOG_FORMAT": "json"})
    serve.wait_ready(f"{base}/healthz")

    with httpx.Client(base_url=base, timeout=30) as client:
        reporter = {"Authorization": f"Bearer {report_key}"}
        answer = client.post(f"/v1/games?token={query_secret}", json=wire_report("h-1"), headers=reporter)
        assert answer.status_code == 201, answer.text
        assert client.post("/v1/games", json={"game_id": "bad"}, headers=reporter).status_code == 422
        assert client.post("/v1/games", json=wire_report("h-2"),
                           headers={"Authorization": f"Bearer {wrong_key}"}).status_code == 401
        assert client.get(f"/v1/players/thrall?api_key={query_secret}").status_code == 200
        assert client.post("/v1/backfill", json={"dry_run": True},
                           headers={"Authorization": f"Bearer {admin_key}"}).status_code == 200

    async def publish() -> None:
        async with connected(own_nats.url) as nc:
            await publish_reports(nc, [wire_report(f"n-{i}") for i in range(5)])
            await publish_reports(nc, [{"game_id": "n-bad"}])

    asyncio.run(publish())

    def batch_lines() -> list[dict[str, Any]]:
        parsed = []
        for line in list(serve.lines):
            if '"osmo.nats.recorder"' in line and '"outcome"' in line:
                parsed.append(json.loads(line))
        return parsed

    deadline = time.monotonic() + 30
    while sum(b["recorded"] for b in batch_lines()) < 5 or sum(b["rejected"] for b in batch_lines()) < 1:
        assert time.monotonic() < deadline, "the NATS batches were not logged:\n" + serve.stderr
        time.sleep(0.1)
    assert serve.stop() == 0, serve.stderr

    stderr = serve.stderr
    for secret in (report_key, admin_key, wrong_key, password, query_secret):
        assert secret not in stderr, "a secret was logged"
    assert "Bearer" not in stderr and "authorization" not in stderr.lower()
    lines = [json.loads(line) for line in serve.lines if line.strip()]  # every line is one JSON object
    for line in lines:
        assert isinstance(line, dict) and {"ts", "level", "logger", "msg"} <= set(line), line
    requests = [line for line in lines if line["logger"] == "osmo.http.requests"]
    posted = [r for r in requests if r["route"] == "/v1/games"]
    assert sorted(r["status"] for r in posted) == [201, 401, 422]
    for request in requests:
        assert {"method", "route", "path", "status", "latency_ms"} <= set(request)
        assert "?" not in request["path"] and request["latency_ms"] >= 0
    assert any(r["route"] == "/v1/players/{player}" and r["path"] == "/v1/players/thrall" for r in requests)
    for batch in batch_lines():
        assert {"size", "recorded", "duplicates", "rejected", "retried", "latency_ms", "outcome"} <= set(batch)
        assert batch["outcome"] == "recorded"
