"""The request/reply services (``nats.micro``): Player, Game and Achievement, as in the original.

Each handler decodes the request, runs one use case off the event loop and encodes the reply with the
CLI's ``--json`` serialisers; errors are answered with the service API's error headers and a JSON body
``{"error": message}``, their code chosen by ``errors.outcome`` alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service, ServiceConfig

from osmo.application import players, queries
from osmo.application.play import play_games
from osmo.application.recording import BatchRejected, RecordResult, record_games
from osmo.bootstrap import App
from osmo.entrypoints import wire
from osmo.entrypoints.errors import BUG, outcome
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.nats_services.config import SKIP_INVALID, NatsConfig
from osmo.entrypoints.nats_services.requests import flag, integer, json_object, text
from osmo.entrypoints.runtime import Store

log = logging.getLogger("osmo.nats")

MAX_PLAY = 100_000
"""Games one ``games.play`` request may simulate (the writer is busy meanwhile)."""

Reply = Callable[[Store, Request], Awaitable[Any]]


# -- Player ----------------------------------------------------------------------------------------

async def create_player(store: Store, request: Request) -> Any:
    body = json_object(request.data, ("player_id", "name"))
    row = await store.write(players.register_player, store.writer.uow, text(body, "player_id", mandatory=False),
                            text(body, "name", mandatory=False))
    return wire.player(row)


async def list_players(store: Store, request: Request) -> Any:
    json_object(request.data, ())
    return wire.players(await store.read(players.list_players, store.reader.uow))


async def get_player(store: Store, request: Request) -> Any:
    body = json_object(request.data, ("player",))
    return wire.profile(await store.read(queries.profile, store.reader.uow, text(body, "player")))


# -- Game ------------------------------------------------------------------------------------------

def _record_content(app: App, content: bytes, skip_invalid: bool) -> RecordResult:
    return record_games(app.uow, app.parse_reports(content), skip_invalid=skip_invalid)


async def record(store: Store, request: Request) -> Any:
    skip_invalid = flag(request.headers, SKIP_INVALID)
    return wire.record_result(await store.write(_record_content, store.writer, request.data, skip_invalid))


async def play(store: Store, request: Request) -> Any:
    body = json_object(request.data, ("n", "seed"))
    games = integer(body, "n", 100, minimum=1, maximum=MAX_PLAY)
    seed = integer(body, "seed", None)
    assert games is not None
    return wire.record_result(await store.write(play_games, store.writer.uow, store.writer.simulate, games, seed))


# -- Achievement -----------------------------------------------------------------------------------

async def list_awards(store: Store, request: Request) -> Any:
    json_object(request.data, ())
    return wire.award_listing(await store.read(queries.award_catalog, store.reader.uow))


async def check_award(store: Store, request: Request) -> Any:
    body = json_object(request.data, ("award", "player"))
    award, player = text(body, "award"), text(body, "player")
    status = await store.read(queries.check_award, store.reader.uow, award, player)
    return {"held": status.unlocked, **wire.award_status(status)}


# -- the services ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    name: str
    subject: str  # under the configured root, e.g. "players.create"
    reply: Reply
    records: bool = False  # answers as ``osmo record --json``: counted in the games/unlocks/rejected metrics


SERVICES: dict[str, tuple[str, tuple[Endpoint, ...]]] = {
    "player": ("Players: register, list, profile", (
        Endpoint("create", "players.create", create_player),
        Endpoint("list", "players.list", list_players),
        Endpoint("get", "players.get", get_player),
    )),
    "game": ("Games: record reports, play simulated games", (
        Endpoint("record", "games.record", record, records=True),
        Endpoint("play", "games.play", play, records=True),
    )),
    "achievement": ("Achievements: the award catalog, award checks", (
        Endpoint("list", "awards.list", list_awards),
        Endpoint("check", "awards.check", check_award),
    )),
}


def osmo_version() -> str:
    try:
        return version("osmo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def header_safe(text: str, limit: int = 1000) -> str:
    """``text`` fit for a header value: one line, bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def error_reply(error: BaseException) -> tuple[int, str, dict[str, Any]]:
    """The code, description and body that answer ``error``."""
    code = outcome(error).nats_code
    if code == BUG.nats_code:
        log.error("bug while answering a request: %s: %s", type(error).__name__, error, exc_info=error)
        message = f"unexpected error ({type(error).__name__}: {error}); please report it"
    else:
        message = str(error)
    body: dict[str, Any] = {"error": message}
    if isinstance(error, BatchRejected):
        body.update(wire.record_result(RecordResult(rejected=error.rejected)))
    return code, message, body


def handler(store: Store, reply: Reply, name: str = "", metrics: Metrics | None = None,
            records: bool = False) -> Callable[[Request], Awaitable[None]]:
    """The micro endpoint's handler: ``reply``, its errors answered, counted in ``metrics`` as ``name``."""
    async def handle(request: Request) -> None:
        started = time.perf_counter()
        try:
            answer = await reply(store, request)
        except Exception as error:
            code, message, body = error_reply(error)
            await send(request.respond_error(str(code), header_safe(message), orjson.dumps(body)))
            if metrics is not None:
                metrics.nats_request(name, code, time.perf_counter() - started)
                if records and isinstance(error, BatchRejected):
                    metrics.recorded(0, (), len(error.rejected))
            return
        await send(request.respond(orjson.dumps(answer)))
        if metrics is not None:
            metrics.nats_request(name, 200, time.perf_counter() - started)
            if records and isinstance(answer, dict):
                metrics.recorded(int(answer.get("recorded", 0)), (u["award"] for u in answer.get("unlocked", ())),
                                 len(answer.get("rejected", ())))

    return handle


async def send(responding: Awaitable[None]) -> None:
    try:
        await responding
    except ValueError:  # published without a reply subject: nobody to answer
        log.debug("a request without a reply subject was served")


async def start_services(nc: Client, store: Store, config: NatsConfig, only: frozenset[str],
                         metrics: Metrics | None = None) -> list[Service]:
    """Start the selected services (every ``osmo serve`` process joins the same queue group)."""
    started = []
    for kind, (description, endpoints) in SERVICES.items():
        if kind not in only:
            continue
        service = await add_service(nc, ServiceConfig(name=config.service_name(kind), version=osmo_version(),
                                                      description=description))
        for endpoint in endpoints:
            await service.add_endpoint(name=endpoint.name, subject=f"{config.subjects}.{endpoint.subject}",
                                       handler=handler(store, endpoint.reply, endpoint.subject, metrics,
                                                       endpoint.records))
        started.append(service)
    return started
