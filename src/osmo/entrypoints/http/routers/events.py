"""``GET /v1/events``: committed events as Server-Sent Events, each with ``id:`` its global position. A
client resumes with ``Last-Event-ID`` (or ``?after=``) and misses nothing; without either it starts from
now. ``?player=`` keeps the events concerning one player, ``?types=`` some event types."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from osmo.application.lookups import known_player
from osmo.application.ports import Database
from osmo.application.webhooks import check_event_types
from osmo.bootstrap import App
from osmo.domain.events import RecordedEvent
from osmo.entrypoints.http.context import Service, service
from osmo.entrypoints.http.feed import PUBLIC_TYPES, players_of, sse_message
from osmo.entrypoints.http.problems import FieldError
from osmo.entrypoints.runtime import follow_events

router = APIRouter(tags=["live"])
KEEPALIVE_S = 15.0
RETRY_MS = 2000


def _start(database: Database) -> int:
    with database.reader() as tx:
        return tx.events.last_position()


def _player_id(app: App, key: str) -> str:
    with app.uow.read() as reader:
        return known_player(reader.tx, key).player_id


@router.get("/v1/events", summary="Live events (Server-Sent Events); resume with Last-Event-ID",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}, 404: {"description": "unknown player"}})
async def events(request: Request,
                 player: Annotated[str | None, Query(max_length=200)] = None,
                 types: Annotated[str | None, Query(max_length=500, description="comma-separated types")] = None,
                 after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
                 last_event_id: Annotated[str | None, Header(max_length=30)] = None) -> StreamingResponse:
    context = service(request)
    store = context.store
    start = after
    if last_event_id is not None and last_event_id.strip():
        if not last_event_id.strip().isdigit():
            raise FieldError(400, "Last-Event-ID must be an event position (a non-negative integer)", "last-event-id")
        start = int(last_event_id.strip())
    if start is None:
        start = await store.read(_start, store.reader.database)
    wanted = set(check_event_types([t.strip() for t in types.split(",") if t.strip()], "types")) if types \
        else set(PUBLIC_TYPES)
    player_id = await store.read(_player_id, store.reader, player) if player is not None else None
    return StreamingResponse(_stream(context, start, wanted, player_id), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(context: Service, after: int, wanted: set[str], player_id: str | None) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[RecordedEvent | BaseException | None] = asyncio.Queue(1000)
    stop = asyncio.Event()

    async def pump() -> None:
        try:
            async for event in follow_events(context.store, after, stop):
                if event.type in wanted and (player_id is None or player_id in players_of(event)):
                    await queue.put(event)
            await queue.put(None)
        except Exception as error:  # the store went away: end the stream, the client resumes later
            await queue.put(error)

    async def halt_on_shutdown() -> None:
        await context.stop.wait()
        stop.set()
        await queue.put(None)

    tasks = [asyncio.create_task(pump()), asyncio.create_task(halt_on_shutdown())]
    try:
        yield b"retry: %d\n: position %d\n\n" % (RETRY_MS, after)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            if item is None or isinstance(item, BaseException):
                return
            yield sse_message(item)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
