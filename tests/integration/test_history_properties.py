"""Backfill equals live evaluation, and rebuild equals live state, over random histories and rules.

For every generated history and award rule (game and career stats, divisions, zero divisors):
"record everything with the award in the catalog" and "record everything without it, then add it and
backfill" grant the same players at the same games and times; and replaying the log (``rebuild``)
gives back exactly the live careers, game lines, unlocks and rarity. Each runs on every backend.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osmo.adapters.catalog_files import load_catalog
from osmo.application.backfill import backfill, rebuild
from osmo.application.players import register_seed_players
from osmo.application.queries import award_catalog
from osmo.application.recording import record_games
from osmo.bootstrap import App, bootstrap
from osmo.domain import rules
from osmo.domain.rules import Arith, BoolOp, Compare, Node, Not, Num, Ref
from tests.builders import SEED_IDS, apply_catalog, submissions
from tests.conftest import PgSchema, pg_admin_url

SQLITE = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
POSTGRES = settings(SQLITE, max_examples=10)
PLAYERS = SEED_IDS[:8]
GAME_NAMES = ("kills", "deaths", "hits", "attempted_attacks", "damage_done", "won")
CAREER_NAMES = ("games_played", "wins", "losses", "best_win_streak", "current_win_streak", "total_kills",
                "total_deaths", "best_damage_done")


@contextmanager
def fresh_app(backend: str) -> Iterator[App]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            app = bootstrap(str(Path(folder) / "osmo.db"))
            register_seed_players(app.uow)
            try:
                yield app
            finally:
                app.close()
        return
    schema = PgSchema(pg_admin_url())
    try:
        app = bootstrap(schema.url)
        register_seed_players(app.uow)
        try:
            yield app
        finally:
            app.close()
    finally:
        schema.drop()


# -- strategies -------------------------------------------------------------------------------------

small = st.integers(0, 6)


@st.composite
def line_stats(draw: st.DrawFn, minutes: int) -> dict[str, int]:
    attempts = draw(st.integers(0, 8))
    hits = draw(st.integers(0, attempts))
    kills = draw(small)
    return {"attempted_attacks": attempts, "hits": hits, "headshots": draw(st.integers(0, hits)),
            "kills": kills, "first_hit_kills": draw(st.integers(0, kills)), "deaths": draw(small),
            "damage_done": draw(st.sampled_from([0, 10, 250, 499, 500, 501, 900, 2**31 - 1])),
            "time_played": draw(st.integers(0, minutes * 60))}


@st.composite
def game_reports(draw: st.DrawFn, count: int) -> list[dict[str, Any]]:
    reports = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        size = draw(st.integers(3, 4))
        players = draw(st.permutations(PLAYERS))[: 2 * size]
        minutes = draw(st.integers(1, 30))
        begun = start + timedelta(hours=index)
        lines = [{"player_id": p, "stats": draw(line_stats(minutes))} for p in players]
        reports.append({
            "game_id": f"g{index}", "winner": draw(st.integers(0, 1)),
            "started_at": begun.isoformat().replace("+00:00", "Z"),
            "finished_at": (begun + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "teams": [lines[:size], lines[size:]],
        })
    return reports


refs = st.sampled_from([Ref("game", n) for n in GAME_NAMES] + [Ref("career", n) for n in CAREER_NAMES])
numbers = st.one_of(st.integers(0, 12).map(Num), st.sampled_from([0.5, 0.75, 1.5, 2.25]).map(Num),
                    st.sampled_from([2**31, 10**12, 10**15]).map(Num))


def numeric(depth: int) -> st.SearchStrategy[Node]:
    if depth == 0:
        return st.one_of(refs, numbers)
    inner = numeric(depth - 1)
    return st.one_of(refs, numbers, st.builds(Arith, st.sampled_from(["+", "-", "*", "/"]), inner, inner))


def condition(depth: int) -> st.SearchStrategy[Node]:
    compare = st.builds(Compare, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numeric(1), numeric(1))
    if depth == 0:
        return compare
    inner = condition(depth - 1)
    return st.one_of(
        compare,
        st.builds(lambda a, b: BoolOp("and", (a, b)), inner, inner),
        st.builds(lambda a, b: BoolOp("or", (a, b)), inner, inner),
        st.builds(Not, inner),
    )


def catalog_file(folder: Path, rule: Node) -> str:
    path = folder / "catalog.toml"
    path.write_text(f'[awards.prop]\nname = "Prop"\ndescription = "generated"\nrule = "{rules.render(rule)}"\n')
    return str(path)


def unlocks_of(app: App, award: str) -> dict[str, tuple[str | None, str]]:
    with app.database.reader() as tx:
        return {p: (u.game_id, u.unlocked_at) for p in PLAYERS if (u := tx.unlocks.unlock(p, award)) and u.active}


def state(app: App) -> dict[str, Any]:
    """Everything a reader can see: careers, game lines (in the current layout), unlocks, rarity."""
    with app.uow.read() as reader:
        tx = reader.tx
        careers = tx.careers.careers(PLAYERS)
        lines = [(b.keys.tolist(), b.positions.tolist(), b.game.tolist(), b.career.tolist(), b.games)
                 for b in tx.lines.line_blocks()]
        unlocks = {p: sorted((u.award_id, u.game_id, u.unlocked_at, u.source, u.active)
                             for u in tx.unlocks.unlocks_of(p)) for p in PLAYERS}
    rarity = [(a.id, a.holders, a.rarity) for a in award_catalog(app.uow)]
    return {"careers": {p: careers[p] for p in PLAYERS}, "lines": lines, "unlocks": unlocks, "rarity": rarity}


# -- properties -------------------------------------------------------------------------------------

histories = st.integers(1, 14).flatmap(game_reports)


def backfill_equals_live(backend: str, reports: list[dict[str, Any]], rule: Node, split: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        user_catalog = catalog_file(Path(folder), rule)
        with fresh_app(backend) as live, fresh_app(backend) as late:
            apply_catalog(live.uow, load_catalog(user_catalog))
            for part in (reports[:split], reports[split:]):
                if part:
                    record_games(live.uow, submissions(*part))

            record_games(late.uow, submissions(*reports))
            apply_catalog(late.uow, load_catalog(user_catalog))
            first = backfill(late.uow, ["prop"])
            again = backfill(late.uow, ["prop"])

            assert unlocks_of(late, "prop") == unlocks_of(live, "prop")
            assert len(first.grants) == len(unlocks_of(live, "prop"))
            assert again.grants == []


def rebuild_equals_live(backend: str, reports: list[dict[str, Any]], void: int) -> None:
    from osmo.application.corrections import void_game

    with fresh_app(backend) as app:
        record_games(app.uow, submissions(*reports))
        if void < len(reports):
            void_game(app.uow, reports[void]["game_id"], "property test")
        live = state(app)
        rebuild(app.uow)
        assert state(app) == live
        rebuild(app.uow)
        assert state(app) == live


@SQLITE
@given(reports=histories, rule=condition(1), split=st.integers(0, 14))
def test_backfill_grants_what_live_evaluation_grants_on_sqlite(reports: list[dict[str, Any]], rule: Node,
                                                                split: int) -> None:
    backfill_equals_live("sqlite", reports, rule, split)


@pytest.mark.postgres
@POSTGRES
@given(reports=histories, rule=condition(1), split=st.integers(0, 14))
def test_backfill_grants_what_live_evaluation_grants_on_postgres(reports: list[dict[str, Any]], rule: Node,
                                                                  split: int) -> None:
    backfill_equals_live("postgres", reports, rule, split)


@SQLITE
@given(reports=histories, void=st.integers(0, 13))
def test_rebuild_gives_back_the_live_state_on_sqlite(reports: list[dict[str, Any]], void: int) -> None:
    rebuild_equals_live("sqlite", reports, void)


@pytest.mark.postgres
@POSTGRES
@given(reports=histories, void=st.integers(0, 13))
def test_rebuild_gives_back_the_live_state_on_postgres(reports: list[dict[str, Any]], void: int) -> None:
    rebuild_equals_live("postgres", reports, void)
