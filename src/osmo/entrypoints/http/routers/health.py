"""``/healthz`` (the process answers), ``/readyz`` (the store answers), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from osmo.application.ports import Database
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.problems import Json
from osmo.entrypoints.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Json({"status": "ok"})


def _position(database: Database) -> int:
    with database.reader() as tx:
        return tx.events.last_position()


@router.get("/readyz", summary="The store is reachable", responses={503: {"description": "it is not"}})
async def readyz(request: Request) -> Response:
    store = service(request).store
    position = await store.read(_position, store.reader.database)
    return Json({"status": "ready", "position": position})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    return Response(service(request).metrics.exposition(), media_type=CONTENT_TYPE)
