"""``GET /v1/leaderboards/{stat}``: all time by a career stat, or over the games finished ``since``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from osmo.application.leaderboards import MAX_LIMIT, leaderboard
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.problems import Json

router = APIRouter(tags=["leaderboards"])


@router.get("/v1/leaderboards/{stat}", summary="Players ranked by a stat, all time or since a time",
            responses={404: {"description": "unknown stat or player"}, 400: {"description": "a bad since"}})
async def board(request: Request, stat: str,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                since: Annotated[str | None, Query(max_length=64, description="ISO 8601 time with a zone")] = None,
                player: Annotated[str | None, Query(max_length=200, description="this player's rank and "
                                                    "neighbours")] = None) -> Response:
    store = service(request).store
    found = await store.read(leaderboard, store.reader.uow, stat, limit=limit, offset=offset, since=since,
                             player=player)
    return Json({"stat": found.stat, "since": found.since, "total": found.total, "entries": [
        {"rank": r.rank, "player_id": r.player_id, "name": r.name, "value": r.value} for r in found.rows]})
