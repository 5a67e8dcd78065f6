"""The FastAPI application: routers by resource, the error answers, the guard (metrics, body limit,
content types) and the static files of the pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from osmo.entrypoints.http import problems
from osmo.entrypoints.http.context import Service
from osmo.entrypoints.http.guard import Guard
from osmo.entrypoints.http.routers import awards, events, games, health, leaderboards, pages, players
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.runtime import Store

DESCRIPTION = """Record finished games, read players' achievements, follow unlocks live.

Reads are public. Writes need `Authorization: Bearer <key>` (`osmo keys create NAME --scope report|admin`):
the `report` scope posts games and registers players, `admin` also voids games, grants, revokes and backfills.
Every error is JSON: `{"error": message, "field": name}`."""


def create_app(store: Store, *, body_limit: int = 1_000_000, stop: asyncio.Event | None = None,
               metrics: Metrics | None = None) -> FastAPI:
    app = FastAPI(title="osmo", version="1", description=DESCRIPTION)
    found = metrics or Metrics()
    app.state.service = Service(store, found, stop or asyncio.Event(), body_limit)
    problems.install(app)
    for module in (games, players, awards, leaderboards, events, health, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")
    app.add_middleware(Guard, metrics=found, body_limit=body_limit)
    return app
