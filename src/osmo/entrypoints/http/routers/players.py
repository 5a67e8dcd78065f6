"""Players: register (report scope), list, profile, recent games."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from osmo.application import players as players_uc
from osmo.application import queries
from osmo.application.player_games import MAX_LIMIT, PlayerGame, player_games
from osmo.entrypoints import wire
from osmo.entrypoints.http.auth import Reporter
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.models import NewPlayer
from osmo.entrypoints.http.problems import Json

router = APIRouter(prefix="/v1/players", tags=["players"])
UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "no player has this id or name"}}


@router.post("", status_code=201, summary="Register a player",
             responses={401: {}, 403: {}, 409: {"description": "the id or the name is taken"}, 422: {}})
async def register(request: Request, body: NewPlayer, key: Reporter) -> Response:
    store = service(request).store
    row = await store.write(players_uc.register_player, store.writer.uow, body.player_id, body.name)
    return Json(wire.player(row), status_code=201)


@router.get("", summary="Every registered player")
async def list_players(request: Request) -> Response:
    store = service(request).store
    return Json(wire.players(await store.read(players_uc.list_players, store.reader.uow)))


@router.get("/{player}", summary="A player's profile: career, unlocked awards, locked ones with progress",
            responses=UNKNOWN)
async def profile(request: Request, player: str) -> Response:
    store = service(request).store
    return Json(wire.profile(await store.read(queries.profile, store.reader.uow, player)))


def game_json(game: PlayerGame) -> dict[str, Any]:
    return {"game_id": game.game_id, "finished_at": game.finished_at, "team": game.team, "won": game.won,
            "stats": game.stats, "unlocked": game.unlocked}


@router.get("/{player}/games", summary="A player's recent games with their line and what each unlocked",
            responses=UNKNOWN)
async def games(request: Request, player: str,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> Response:
    store = service(request).store
    row, found = await store.read(player_games, store.reader.uow, player, limit)
    return Json({"player_id": row.player_id, "name": row.name, "games": [game_json(g) for g in found]})
