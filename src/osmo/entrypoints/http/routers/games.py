"""``POST /v1/games`` (report scope) and ``POST /v1/games/{game_id}/void`` (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from osmo.application.corrections import void_game
from osmo.domain.events import AwardRevoked, AwardUnlocked
from osmo.entrypoints.http.auth import Admin, Reporter
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.models import Reason, decisions_json
from osmo.entrypoints.http.problems import Json
from osmo.entrypoints.http.reports import record_body

router = APIRouter(prefix="/v1/games", tags=["games"])

REPORT_SCHEMA: dict[str, Any] = {"type": "object", "required": ["game_id", "started_at", "finished_at", "winner",
                                                                 "teams"]}
REPORTS_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [REPORT_SCHEMA, {"type": "array", "items": REPORT_SCHEMA}]}},
    "application/x-ndjson": {"schema": {"type": "string"}},
}}}
RECORD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "every report was a duplicate: nothing new"},
    201: {"description": "recorded: {recorded, duplicates, unlocked, rejected}"},
    401: {"description": "no API key, or an unknown one"}, 403: {"description": "the key is not of the report scope"},
    409: {"description": "a game id already recorded with other content; nothing stored"},
    413: {"description": "the body is over the limit"}, 415: {"description": "not JSON"},
    422: {"description": "invalid reports, each with its index, game_id and error; nothing stored"},
    503: {"description": "the store is unreachable (see Retry-After)"},
}


@router.post("", status_code=201, openapi_extra=REPORTS_BODY, responses=RECORD_RESPONSES,
             summary="Record finished games (one report, a list, or JSON Lines)")
async def post_games(request: Request, key: Reporter,
                     skip_invalid: Annotated[bool, Query(description="record the valid reports, list the others")]
                     = False) -> Response:
    context = service(request)
    body = await request.body()
    store = context.store
    recorded = await store.write(record_body, store.writer, body, skip_invalid)
    result = recorded.result
    context.metrics.recorded(result.recorded, (u.award for u in result.unlocked), len(result.rejected))
    answer = recorded.to_json()
    if recorded.rejected_batch:
        status = 409 if recorded.conflict_only else 422
        first = answer["rejected"][0]
        return Json({"error": f"report {first['index']} (line {first['line']}): {first['error']}"
                              + (f" (and {len(result.rejected) - 1} more)" if len(result.rejected) > 1 else "")
                              + "; nothing was recorded", "field": "body", **answer}, status_code=status)
    return Json(answer, status_code=201 if result.recorded else 200)


@router.post("/{game_id}/void", summary="Void a recorded game (admin)",
             responses={401: {}, 403: {}, 400: {"description": "no such game, or voided already"}})
async def void(request: Request, game_id: str, body: Reason, key: Admin) -> dict[str, Any]:
    store = service(request).store
    decided = await store.write(void_game, store.writer.uow, game_id, body.reason)
    moved = [e.payload for e in decided]
    return {"voided": game_id, **decisions_json([p for p in moved if isinstance(p, AwardRevoked | AwardUnlocked)])}
