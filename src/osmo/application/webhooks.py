"""Use cases: webhooks. Each webhook follows the store's global order from the position it was added at
(its ``cursor``); a serve process delivers it while it holds the webhook's lease in the database, so any
number of serve processes share the work and each webhook gets its events at least once, in order.

The network side (signing, POSTing, backing off) is the HTTP entrypoint's ``webhook_worker``; these use
cases are what it asks of the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from osmo.application.ports import DeliveryRow, WebhookRow
from osmo.application.service_roles import reading, writing
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.errors import InvalidInput
from osmo.domain.events import RecordedEvent
from osmo.domain.games import format_instant

# Configuration events stay private: the catalog names hidden awards and their rules.
DELIVERED_TYPES = tuple(t for t in ev.EVENT_TYPES if t != "CatalogChanged")
KEPT_DELIVERIES = 50
MAX_URL = 2000


def _now() -> str:
    return format_instant(datetime.now(UTC))


def check_event_types(types: list[str], field: str = "events") -> tuple[str, ...]:
    unknown = [t for t in types if t not in DELIVERED_TYPES]
    if unknown:
        raise InvalidInput(f"{field}: unknown event type(s) {', '.join(map(repr, unknown))} "
                           f"(known: {', '.join(DELIVERED_TYPES)})")
    return tuple(dict.fromkeys(types))


def add_webhook(uow: UnitOfWork, url: str, secret: str, events: list[str]) -> WebhookRow:
    """A webhook receiving the events committed from now on (of ``events``' types; every type when empty)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL or not url.isprintable():
        raise InvalidInput(f"webhook URL must be an http:// or https:// URL, not {url!r}")
    if not 16 <= len(secret) <= 200 or not secret.isprintable():
        raise InvalidInput("the webhook secret must be 16 to 200 printable characters")
    types = check_event_types(events)
    with writing(uow) as tx:
        cursor = tx.events.last_position()
        webhook_id = tx.webhooks.add_webhook(url, secret, types, _now(), cursor)
        return next(w for w in tx.webhooks.webhooks() if w.webhook_id == webhook_id)


@dataclass(frozen=True, slots=True)
class WebhookStatus:
    webhook: WebhookRow
    last_position: int
    deliveries: list[DeliveryRow]

    @property
    def behind(self) -> int:
        """Events committed after the cursor (not all of them may be of the webhook's types)."""
        return max(0, self.last_position - self.webhook.cursor)


def list_webhooks(uow: UnitOfWork, deliveries: int = 10) -> list[WebhookStatus]:
    with reading(uow) as tx:
        last = tx.events.last_position()
        return [WebhookStatus(w, last, tx.webhooks.deliveries(w.webhook_id, deliveries))
                for w in tx.webhooks.webhooks()]


def remove_webhook(uow: UnitOfWork, webhook_id: int) -> None:
    with writing(uow) as tx:
        if not tx.webhooks.remove_webhook(webhook_id):
            raise InvalidInput(f"no webhook has the id {webhook_id} (see 'osmo webhooks list')")


# -- delivery --------------------------------------------------------------------------------------

def claim_due(uow: UnitOfWork, owner: str, lease_s: float, now: float | None = None) -> list[WebhookRow]:
    """The webhooks with events to deliver, due now, whose lease ``owner`` took or extended. Reads first
    and writes only when there is something to claim."""
    now = time.time() if now is None else now
    with reading(uow) as tx:
        last = tx.events.last_position()
        due = [w.webhook_id for w in tx.webhooks.webhooks()
               if w.cursor < last and w.next_attempt_at <= now
               and (w.lease_owner in (None, owner) or w.lease_until < now)]
    if not due:
        return []
    with writing(uow) as tx:
        claimed = {i for i in due if tx.webhooks.claim_webhook(i, owner, now, now + lease_s)}
        return [w for w in tx.webhooks.webhooks() if w.webhook_id in claimed]


def pending(uow: UnitOfWork, webhook: WebhookRow, limit: int = 100) -> list[RecordedEvent]:
    """The events after the webhook's cursor, in order (of every type: the caller skips the unwanted)."""
    with reading(uow) as tx:
        return list(tx.events.read_all(webhook.cursor, limit))


def wanted(webhook: WebhookRow, event: RecordedEvent) -> bool:
    return event.type in DELIVERED_TYPES and (not webhook.events or event.type in webhook.events)


def settle(uow: UnitOfWork, webhook: WebhookRow, owner: str, cursor: int, attempts: int, next_attempt_at: float,
           delivery: DeliveryRow | None) -> bool:
    """Store where a webhook's delivery stands (and log the attempt); False when ``owner`` lost the lease
    or the webhook was removed (then another process, or none, carries on from the stored cursor)."""
    with writing(uow) as tx:
        if not tx.webhooks.advance_webhook(webhook.webhook_id, owner, cursor, attempts, next_attempt_at):
            return False
        if delivery is not None:
            tx.webhooks.add_delivery(delivery, KEPT_DELIVERIES)
        return True


def backoff(attempts: int, base: float = 0.5, cap: float = 300.0) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 0.5, 1, 2, 4, ... up to 5 minutes."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))
