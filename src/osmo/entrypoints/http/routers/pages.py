"""The web pages, rendered on the server: ``/`` (top players and the live feed of unlocks),
``/players/{player}`` (the profile with badges) and ``/awards`` (the catalog with rarity bars)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from osmo.application import queries
from osmo.application.leaderboards import Board, leaderboard
from osmo.application.player_games import PlayerGame, player_games, recent_unlocks
from osmo.application.ports import UnlockRow
from osmo.application.queries import AwardListing, Profile
from osmo.bootstrap import App
from osmo.entrypoints.http.context import service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
CAREER_SHOWN = ("games_played", "wins", "losses", "best_win_streak", "total_kills", "total_assists",
                "total_damage_done", "total_headshots")


def _home(app: App) -> tuple[int, Board, list[UnlockRow], list[AwardListing], dict[str, str]]:
    with app.uow.read() as reader:
        position = reader.tx.events.last_position()  # the feed goes on live from here: nothing falls between
    top = leaderboard(app.uow, "wins", limit=10)
    recent = recent_unlocks(app.uow, 20)
    listing = queries.award_catalog(app.uow)
    names = {p.player_id: p.name for p in _players(app, {u.player_id for u in recent})}
    return position, top, recent, listing, names


def _players(app: App, ids: set[str]) -> list[Any]:
    with app.uow.read() as reader:
        return [p for p in (reader.tx.players.find_player(i) for i in ids) if p is not None]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    store = service(request).store
    position, top, recent, listing, names = await store.read(_home, store.reader)
    awards = {a.id: {"name": a.name, "tier": a.tier} for a in listing if a.id != queries.HIDDEN}
    return templates.TemplateResponse(request, "index.html", {
        "top": top.rows, "recent": recent, "awards": awards, "names": names, "position": position})


def _profile(app: App, key: str) -> tuple[Profile, list[PlayerGame]]:
    found = queries.profile(app.uow, key)
    return found, player_games(app.uow, found.player_id, 10)[1]


@router.get("/players/{player}", response_class=HTMLResponse)
async def player_page(request: Request, player: str) -> Response:
    store = service(request).store
    found, games = await store.read(_profile, store.reader, player)
    career = {k: found.career.get(k, 0) for k in CAREER_SHOWN if k in found.career}
    unlocked = sum(1 for a in found.awards if a.unlocked)
    game_names = {g.game_id: g for g in games}
    return templates.TemplateResponse(request, "player.html", {
        "profile": found, "career": career, "games": games, "unlocked": unlocked, "game_names": game_names})


@router.get("/awards", response_class=HTMLResponse)
async def awards_page(request: Request) -> Response:
    store = service(request).store
    listing = await store.read(queries.award_catalog, store.reader.uow)
    return templates.TemplateResponse(request, "awards.html", {"awards": listing})
