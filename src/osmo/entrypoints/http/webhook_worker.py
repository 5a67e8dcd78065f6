"""Delivers webhooks from a serve process. Every ``poll`` seconds it claims the due webhooks (a lease in
the database: any number of serve processes share the work, a webhook is delivered by one at a time) and
POSTs their events in order: the body is the event's JSON, ``X-Osmo-Signature-256: sha256=<HMAC-SHA256 of
the body with the webhook's secret>``, ``X-Osmo-Event-Id`` (the event's id, to drop a repeat) and
``X-Osmo-Event-Position``. A 2xx moves the cursor past the event; anything else (or no answer) is retried
with backoff, and the events after it wait: delivery is at least once and in order per webhook."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from osmo.application import webhooks as uc
from osmo.application.ports import DeliveryRow, WebhookRow
from osmo.application.unit_of_work import UnitOfWork
from osmo.bootstrap import App
from osmo.domain.events import RecordedEvent
from osmo.domain.games import format_instant
from osmo.entrypoints.http.feed import event_bytes
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.runtime import Store

log = logging.getLogger("osmo.webhooks")
LEASE_S = 30.0
TIMEOUT_S = 10.0
SIGNATURE = "X-Osmo-Signature-256"
T = TypeVar("T")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_S) -> tuple[int | None, str | None]:
    """POST ``body``; the status (None when there was no answer) and an error message unless 2xx."""
    request = urllib.request.Request(url, body, {**headers, "Content-Type": "application/json",
                                                 "User-Agent": "osmo-webhooks"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), None
    except urllib.error.HTTPError as error:
        error.close()  # it holds the answer's connection
        return int(error.code), f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:300]


class WebhookWorker:
    def __init__(self, store: Store, metrics: Metrics, *, poll: float = 0.25, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.metrics = metrics
        self.poll = poll
        self.lease_s = lease_s
        self.owner = f"serve-{uuid.uuid4().hex[:12]}"
        self._app: App | None = None  # its own connection, used from one thread: never waits behind API calls
        self._db = ThreadPoolExecutor(1, thread_name_prefix="osmo-webhooks")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args))

    def _uow(self) -> UnitOfWork:
        if self._app is None:
            self._app = self.store.open_app()
        return self._app.uow

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.round(stop)
                except Exception as error:  # the store went away (or a bug): log, wait, try again
                    log.warning("webhook delivery round failed: %s", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll)
        finally:
            if self._app is not None:
                await self._call(self._app.close)
            self._db.shutdown(wait=False)

    async def round(self, stop: asyncio.Event) -> None:
        uow = await self._call(self._uow)
        claimed = await self._call(uc.claim_due, uow, self.owner, self.lease_s)
        await asyncio.gather(*(self.deliver(uow, hook, stop) for hook in claimed))

    async def deliver(self, uow: UnitOfWork, hook: WebhookRow, stop: asyncio.Event) -> None:
        """Deliver the webhook's pending events in order until one fails, half the lease is used, or stop."""
        deadline = time.monotonic() + self.lease_s / 2
        events = await self._call(uc.pending, uow, hook)
        cursor, attempts, settled = hook.cursor, hook.attempts, hook.cursor
        for event in events:
            if stop.is_set() or time.monotonic() > deadline:
                break
            if not uc.wanted(hook, event):
                cursor = event.position
                continue
            tries = attempts + 1
            status, error = await self._send(hook, event)
            ok = status is not None and 200 <= status < 300
            self.metrics.webhook_deliveries.labels("delivered" if ok else "failed").inc()
            if ok:
                cursor, attempts, next_at = event.position, 0, 0.0
            else:
                attempts, next_at = tries, time.time() + uc.backoff(tries)
            delivery = DeliveryRow(hook.webhook_id, event.position, event.type, tries, status, error,
                                   format_instant(datetime.now(UTC)))
            kept = await self._call(uc.settle, uow, hook, self.owner, cursor, attempts, next_at, delivery)
            settled = cursor
            if not kept or not ok:
                return
        if cursor != settled:
            await self._call(uc.settle, uow, hook, self.owner, cursor, attempts, 0.0, None)

    async def _send(self, hook: WebhookRow, event: RecordedEvent) -> tuple[int | None, str | None]:
        body = event_bytes(event)
        headers = {SIGNATURE: sign(hook.secret, body), "X-Osmo-Event-Id": str(event.event_id),
                   "X-Osmo-Event-Position": str(event.position), "X-Osmo-Event-Type": event.type}
        return await asyncio.to_thread(post, hook.url, body, headers)
