"""ASGI middleware in front of every route: request metrics, one log line per request (method, route, path
without the query string, status, latency: never a header, so never a key), the body size limit (413,
counted as the body arrives, so a lying or missing Content-Length does not help) and the content type of
bodies (415)."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from osmo.entrypoints.metrics import Metrics

JSON_TYPES = ("application/json",)
REPORT_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "application/json-lines")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
log = logging.getLogger("osmo.http.requests")


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _answer(send: Send, status: int, message: str, field: str | None) -> None:
    body = orjson.dumps({"error": message, "field": field})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app: ASGIApp, metrics: Metrics, body_limit: int) -> None:
        self.app = app
        self.metrics = metrics
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = False

        async def sending(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status, sent = int(message["status"]), True
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                status = refusal[0]
                await _answer(send, *refusal)
                return
            await self.app(scope, self._limited(receive), sending)
        except _TooLarge:
            if not sent:
                status = 413
                await _answer(send, 413, f"the body is larger than {self.body_limit} bytes", "body")
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or ("/static" if scope["path"].startswith("/static/") else "unmatched")
            seconds = time.perf_counter() - started
            self.metrics.request(path, scope["method"], status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info("%s %s %d", scope["method"], path, status,
                         extra={"method": scope["method"], "route": path, "path": scope["path"], "status": status,
                                "latency_ms": round(seconds * 1000, 3)})

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        if scope["method"] not in WRITES:
            return None
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.body_limit):
            return 413, f"the body is larger than {self.body_limit} bytes", "body"
        if length == "0" or (length is None and _header(scope, b"transfer-encoding") is None):
            return None  # no body
        kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        allowed = REPORT_TYPES if scope["path"].rstrip("/") == "/v1/games" else JSON_TYPES
        if kind not in allowed:
            return 415, f"content type must be {' or '.join(allowed)}, not {kind or 'missing'!r}", "content-type"
        return None

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.body_limit

        async def receiving() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        return receiving
