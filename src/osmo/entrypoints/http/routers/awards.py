"""Awards: the catalog with holders and rarity, one award with its recent unlocks; grants and revocations
(admin), backfill (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from osmo.application import queries
from osmo.application.backfill import BackfillResult, total_games
from osmo.application.backfill import backfill as backfill_uc
from osmo.application.corrections import grant as grant_uc
from osmo.application.corrections import revoke as revoke_uc
from osmo.application.player_games import MAX_LIMIT, award_detail
from osmo.application.ports import UnlockRow
from osmo.application.unit_of_work import UnitOfWork
from osmo.entrypoints import wire
from osmo.entrypoints.http.auth import Admin
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.models import Backfill, Grant, Revocation
from osmo.entrypoints.http.problems import Json
from osmo.entrypoints.metrics import Metrics

router = APIRouter(tags=["awards"])
ADMIN: dict[int | str, dict[str, Any]] = {401: {"description": "no API key"}, 403: {"description": "not an admin key"},
         404: {"description": "unknown award or player"}, 400: {"description": "refused (see the message)"}}


def unlock_json(row: UnlockRow) -> dict[str, Any]:
    return {"player_id": row.player_id, "award": row.award_id, "game_id": row.game_id,
            "unlocked_at": row.unlocked_at, "recorded_at": row.recorded_at, "source": row.source}


@router.get("/v1/awards", summary="The award catalog with holders and rarity (hidden ones masked)")
async def awards(request: Request) -> Response:
    store = service(request).store
    return Json(wire.award_listing(await store.read(queries.award_catalog, store.reader.uow)))


@router.get("/v1/awards/{award}", summary="One award with its most recent unlocks",
            responses={404: {"description": "no such award (or a hidden one nobody holds)"}})
async def award(request: Request, award: str, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> Response:
    store = service(request).store
    detail = await store.read(award_detail, store.reader.uow, award, limit)
    return Json({**wire.award_listing([detail.award])[0], "rule": detail.rule,
                 "recent_unlocks": [unlock_json(u) for u in detail.recent]})


@router.post("/v1/awards/{award}/grants", status_code=201, summary="Grant an award by hand (admin)",
             responses=ADMIN)
async def grant(request: Request, award: str, body: Grant, key: Admin) -> Response:
    context = service(request)
    store = context.store
    await store.write(grant_uc, store.writer.uow, award, body.player, body.reason, force=body.force)
    context.metrics.recorded(0, [award], 0)
    status = await store.read(queries.check_award, store.reader.uow, award, body.player)
    return Json({"granted": award, "player": body.player, "status": wire.award_status(status)}, status_code=201)


@router.post("/v1/awards/{award}/revocations", status_code=201, summary="Revoke an award (admin)",
             responses=ADMIN)
async def revoke(request: Request, award: str, body: Revocation, key: Admin) -> Response:
    store = service(request).store
    await store.write(revoke_uc, store.writer.uow, award, body.player, body.reason)
    return Json({"revoked": award, "player": body.player}, status_code=201)


@router.post("/v1/backfill", summary="Grant awards earned in recorded history (admin; dry_run to preview)",
             responses=ADMIN)
async def backfill(request: Request, body: Backfill, key: Admin) -> Response:
    context = service(request)
    store = context.store
    result = await store.write(_backfill, store.writer.uow, context.metrics, body.awards, body.dry_run)
    if not body.dry_run:
        context.metrics.recorded(0, (g.award for g in result.grants), 0)
    return Json(wire.backfill_result(result, body.dry_run))


def _backfill(uow: UnitOfWork, metrics: Metrics, awards: list[str], dry_run: bool) -> BackfillResult:
    """The backfill use case, its progress (games scanned of the total) in the process's metrics."""
    advance = metrics.backfill_started(total_games(uow))
    try:
        return backfill_uc(uow, awards, dry_run=dry_run, progress=advance)
    finally:
        metrics.backfill_done()
