"""Streamed ingest: a durable pull consumer of the reports stream records reports in batches.

One fetch (up to ``batch`` reports, one per message) is recorded in one call of the record use case, so one
store transaction. Each message is then settled once the commit is done:

- recorded or duplicate (same game, same content): ``ack_sync`` (double ack: the server confirmed it);
- invalid (bad report, unknown player, conflicting duplicate): republished with its error to the
  dead-letter stream, then terminated;
- the store unavailable: ``nak`` with a delay growing with the deliveries (nothing is lost; the recorder
  also pauses before fetching again);
- anything else (a bug): the batch is retried report by report, so a single bad message is isolated;
  that one is ``nak``-ed with a delay and logged, and dead-lettered after ``max_bug_deliveries``.

No message is ever acked before its game is committed, and none is dropped without a log line and a
dead-letter copy. A crash between the commit and the acks only causes a redelivery, which the store
counts as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from osmo.application.game_chunk import GameChunk
from osmo.application.recording import RecordResult, Submission, record_games
from osmo.bootstrap import App
from osmo.domain.errors import InvalidInput, StoreUnavailable
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.nats_services import config as names
from osmo.entrypoints.nats_services.config import NatsConfig
from osmo.entrypoints.nats_services.endpoints import header_safe
from osmo.entrypoints.nats_services.streams import ensure_consumer
from osmo.entrypoints.runtime import Store

if TYPE_CHECKING:
    from osmo.adapters.report_fast import FastReportParser

log = logging.getLogger("osmo.nats.recorder")

MAX_PAUSE = 30.0


@dataclass
class RecorderStats:
    """What this process's recorder did (answered on ``<subjects>.recorder.stats``)."""

    batches: int = 0
    recorded: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retried: int = 0
    bugs: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Parsers:
    """One report parser per set of stats (building a parser is costly; the catalog rarely changes)."""

    def __init__(self) -> None:
        self._parsers: dict[tuple[str, ...], FastReportParser] = {}

    def submissions(self, app: App, payloads: Sequence[bytes]) -> list[Submission | GameChunk]:
        """One submission per message; its ``line`` is the message's index in the batch, from 1."""
        catalog = app.uow.catalog()
        key = tuple(catalog.stat_ids)
        parser = self._parsers.get(key)
        if parser is None:
            parser = self._parsers[key] = app.report_parser(catalog)
        parser.now = datetime.now(UTC)
        return parser.parse_chunk(list(enumerate(payloads, 1)))

    def record(self, app: App, payloads: Sequence[bytes]) -> RecordResult:
        """Runs in the writer thread: decode, then the record use case (invalid reports are listed)."""
        return record_games(app.uow, self.submissions(app, payloads), skip_invalid=True)


def backoff(deliveries: int) -> float:
    """Seconds before a redelivery: 0.5, 1, 2, 4 ... up to 30."""
    return float(min(MAX_PAUSE, 0.5 * 2 ** max(0, min(deliveries, 10) - 1)))


def deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered or 1)
    except Exception:  # not a JetStream message (cannot happen on a pull consumer)
        return 1


def outcome_of(done: RecorderStats) -> str:
    """What became of a batch, from what it added to the stats: ``recorded`` (everything recorded, a
    duplicate or dead-lettered as invalid), ``retried`` (some reports nak-ed: the store unavailable, a
    report that failed) or ``bug``."""
    if done.bugs:
        return "bug"
    if done.retried:
        return "retried"
    return "recorded"


class Recorder:
    def __init__(self, js: JetStreamContext, store: Store, config: NatsConfig, metrics: Metrics | None = None) -> None:
        self.js = js
        self.store = store
        self.config = config
        self.parsers = Parsers()
        self.stats = RecorderStats()
        self.ack_wait = config.ack_wait
        self.metrics = metrics or Metrics()

    async def run(self, stop: asyncio.Event, ready: asyncio.Event) -> None:
        self.ack_wait = await ensure_consumer(self.js, self.config)
        subscription = await self.js.pull_subscribe_bind(durable=self.config.durable,
                                                         stream=self.config.reports_stream)
        ready.set()
        try:
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(self.config.batch, timeout=self.config.fetch_wait)
                except TimeoutError:
                    continue
                except NatsError as error:
                    log.warning("cannot fetch reports (%s: %s); retrying", type(error).__name__, error)
                    await pause(stop, 0.5)
                    continue
                wait = await self.batch(messages)
                if wait:
                    await pause(stop, wait)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def batch(self, messages: list[Msg]) -> float:
        """``handle`` a fetched batch, with its metrics and its log line (size, recorded, duplicates,
        rejected, retried, latency, outcome)."""
        if not messages:
            return 0.0
        before = replace(self.stats)
        started = time.perf_counter()
        try:
            return await self.handle(messages)
        finally:
            seconds = time.perf_counter() - started
            now = self.stats
            done = RecorderStats(*(getattr(now, k) - getattr(before, k) for k in asdict(now)))
            outcome = outcome_of(done)
            metrics = self.metrics
            metrics.batches.labels(outcome).inc()
            metrics.batch_latency.observe(seconds)
            metrics.batch_size.observe(len(messages))
            for kind, count in (("recorded", done.recorded), ("duplicate", done.duplicates),
                                ("dead_lettered", done.dead_lettered), ("retried", done.retried)):
                if count:
                    metrics.reports.labels(kind).inc(count)
            log.log(logging.WARNING if outcome == "bug" else logging.INFO,
                    "batch of %d: %d recorded, %d duplicate(s), %d rejected, %d retried in %.1f ms (%s)",
                    len(messages), done.recorded, done.duplicates, done.dead_lettered, done.retried,
                    seconds * 1000, outcome,
                    extra={"size": len(messages), "recorded": done.recorded, "duplicates": done.duplicates,
                           "rejected": done.dead_lettered, "retried": done.retried,
                           "latency_ms": round(seconds * 1000, 3), "outcome": outcome})

    async def handle(self, messages: list[Msg]) -> float:
        """Record a batch and settle every message; returns how long to pause before fetching again."""
        self.stats.batches += 1
        try:
            async with self.keeping_alive(messages):
                result = await self.store.write(self.parsers.record, self.store.writer, [m.data for m in messages])
        except StoreUnavailable as error:
            delay = backoff(max(deliveries(m) for m in messages))
            log.warning("store unavailable (%s): %d report(s) will be redelivered in %.1f s", error,
                        len(messages), delay)
            await self.retry(messages, delay)
            return delay
        except InvalidInput as error:  # a whole-batch verdict (a concurrent conflicting duplicate)
            if len(messages) == 1:
                await self.dead_letter(messages[0], str(error))
                return 0.0
            return await self.one_by_one(messages)
        except Exception as error:
            self.stats.bugs += 1
            if len(messages) > 1:
                log.error("unexpected error recording a batch of %d report(s) (%s: %s); retrying them one by one",
                          len(messages), type(error).__name__, error, exc_info=error)
                return await self.one_by_one(messages)
            await self.bug(messages[0], error)
            return 0.0
        await self.settle(messages, result)
        return 0.0

    async def one_by_one(self, messages: list[Msg]) -> float:
        wait = 0.0
        for message in messages:
            wait = max(wait, await self.handle([message]))
        return wait

    async def settle(self, messages: list[Msg], result: RecordResult) -> None:
        self.stats.recorded += result.recorded
        self.stats.duplicates += result.duplicates
        self.metrics.recorded(result.recorded, (u.award for u in result.unlocked), 0)
        rejected = {r.line: r.error for r in result.rejected}
        settled = []
        for line, message in enumerate(messages, 1):
            if line in rejected:
                settled.append(self.dead_letter(message, rejected[line]))
            else:
                settled.append(self.ack(message))
        await asyncio.gather(*settled)

    async def ack(self, message: Msg) -> None:
        try:
            await message.ack_sync(timeout=self.config.request_timeout)
        except NatsError as error:  # redelivered later: a duplicate then
            log.warning("ack not confirmed (%s: %s): the report will be redelivered and counted as a duplicate",
                        type(error).__name__, error)

    async def dead_letter(self, message: Msg, error: str) -> None:
        """Republish to the dead-letter stream with the error, then terminate; nak if that fails."""
        metadata = message.metadata
        sequence = metadata.sequence.stream if metadata.sequence else 0
        suffix = message.subject.removeprefix(f"{self.config.reports_subject}.")
        headers = {names.ERROR: header_safe(error, 4000), names.ORIGINAL_SUBJECT: message.subject,
                   names.ORIGINAL_SEQUENCE: str(sequence),
                   names.MSG_ID: f"{self.config.reports_stream}-{sequence}"}
        if message.headers and names.MSG_ID in message.headers:
            headers["Osmo-Original-Msg-Id"] = message.headers[names.MSG_ID]
        try:
            await self.js.publish(f"{self.config.rejected_subject}.{suffix}", message.data,
                                  timeout=self.config.request_timeout, stream=self.config.rejected_stream,
                                  headers=headers)
            await message.term()
        except NatsError as failure:
            log.warning("cannot dead-letter report %s (%s: %s); it will be redelivered", sequence,
                        type(failure).__name__, failure)
            await self.retry([message], backoff(deliveries(message)))
            return
        self.stats.dead_lettered += 1
        self.metrics.recorded(0, (), 1)
        log.info("report %s (%s) rejected and dead-lettered: %s", sequence, message.subject, header_safe(error))

    async def bug(self, message: Msg, error: Exception) -> None:
        count = deliveries(message)
        log.error("unexpected error recording report %s (delivery %d): %s: %s", message.metadata.sequence,
                  count, type(error).__name__, error, exc_info=error)
        if count >= self.config.max_bug_deliveries:
            await self.dead_letter(message, f"unexpected error after {count} deliveries "
                                            f"({type(error).__name__}: {error})")
        else:
            await self.retry([message], backoff(count))

    async def retry(self, messages: list[Msg], delay: float) -> None:
        self.stats.retried += len(messages)
        for message in messages:
            try:
                await message.nak(delay=delay)
            except NatsError as error:  # redelivered after the ack wait anyway
                log.warning("nak not sent (%s: %s)", type(error).__name__, error)

    @contextlib.asynccontextmanager
    async def keeping_alive(self, messages: list[Msg]) -> AsyncIterator[None]:
        """While a batch is being recorded, tell JetStream it is in progress (a store slow to answer must
        not get it redelivered elsewhere meanwhile)."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(max(0.5, self.ack_wait / 3))
                for message in messages:
                    with contextlib.suppress(Exception):
                        await message.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
