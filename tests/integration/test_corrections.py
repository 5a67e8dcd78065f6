"""The history use cases on every backend: void a game, grant and revoke by hand, backfill, explain, rebuild.

Each scenario is small and exact (built with ``wire_report``), so the game that should hold an award is known.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.application.backfill import backfill, rebuild
from osmo.application.corrections import grant, revoke, void_game
from osmo.application.explain import explain
from osmo.application.queries import award_catalog, check_award, profile
from osmo.application.recording import record_games
from osmo.bootstrap import App
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput, UnknownAward, UnknownPlayer
from osmo.entrypoints.wire import award_status as award_json
from tests.builders import SEED_IDS, apply_catalog, submissions, wire_report

BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}
MILD = {"attempted_attacks": 40, "hits": 20, "damage_done": 500, "time_played": 600}
REGULAR = ('[awards.regular]\nname = "Regular"\ndescription = "Play 3 games"\n'
           'rule = "career.games_played >= 3"\ntier = "bronze"\n')
BRAWLER = ('[awards.brawler]\nname = "Brawler"\ndescription = "Kill 3 in one game"\n'
           'rule = "game.kills >= 3"\ntier = "bronze"\n')
REVIVES = '[stats.revives]\ndescription = "Allies revived"\n'


# -- helpers ----------------------------------------------------------------------------------------

def use_catalog(app: App, tmp_path: Path, text: str, name: str = "catalog.toml") -> Catalog:
    """Make the built-ins overridden by ``text`` the catalog in effect (a new stored version)."""
    path = tmp_path / name
    path.write_text(text)
    return apply_catalog(app.uow, load_catalog(str(path)))


def play(app: App, *reports: dict[str, Any], catalog: Catalog | None = None) -> dict[str, dict[str, Any]]:
    """Record the reports; returns them by game id (for their finish times)."""
    record_games(app.uow, submissions(*reports))
    return {r["game_id"]: r for r in reports}


def bruiser_history(app: App) -> dict[str, dict[str, Any]]:
    """Thrall deals more than 500 damage at g2 and g5 only; rexxar at g3 only."""
    return play(app, *[
        wire_report(f"g{i}", stats={"thrall": BRUISER if i in (2, 5) else MILD, "rexxar": BRUISER if i == 3 else MILD})
        for i in range(1, 7)
    ])


def holding(app: App, award: str, player: str, catalog: Catalog | None = None) -> tuple[str | None, str | None]:
    """(game_id, source) of the award if the player holds it, else (None, None)."""
    status = check_award(app.uow, award, player)
    return (status.game_id, status.source) if status.unlocked else (None, None)


def award_events(app: App, award: str, player: str) -> list[tuple[str, dict[str, Any]]]:
    with app.database.reader() as tx:
        return [(e.type, e.data) for e in tx.events.read_stream(ev.award_stream(award, player))]


def event_count(app: App) -> int:
    with app.database.reader() as tx:
        return tx.events.last_position()


def career(app: App, player: str, catalog: Catalog | None = None) -> dict[str, int]:
    return profile(app.uow, player).career


def snapshot(app: App, catalog: Catalog | None = None) -> dict[str, Any]:
    """What a reader sees: every profile as ``profile --json`` renders it, and the award listing."""

    profiles = {}
    for player in SEED_IDS:
        found = profile(app.uow, player)
        profiles[player] = {"career": found.career, "awards": [award_json(a) for a in found.awards]}
    return {"profiles": profiles, "awards": [asdict(a) for a in award_catalog(app.uow)]}


# -- void -------------------------------------------------------------------------------------------

class TestVoid:
    def test_voiding_the_game_that_earned_an_award_moves_it_to_the_next_game_where_it_holds(self, app: App) -> None:
        games = bruiser_history(app)
        assert holding(app, "bruiser", "thrall") == ("g2", "live")
        decided = void_game(app.uow, "g2", "stat padding")
        assert [(e.type, e.data["player_id"], e.data["award_id"]) for e in decided] == [
            (ev.AWARD_REVOKED, "thrall", "bruiser"), (ev.AWARD_UNLOCKED, "thrall", "bruiser")]
        status = check_award(app.uow, "bruiser", "thrall")
        assert (status.game_id, status.source) == ("g5", "correction")
        assert status.unlocked_at == games["g5"]["finished_at"]
        types = [t for t, _ in award_events(app, "bruiser", "thrall")]
        assert types == [ev.AWARD_UNLOCKED, ev.AWARD_REVOKED, ev.AWARD_UNLOCKED]
        revoked = award_events(app, "bruiser", "thrall")[1][1]
        assert "g2" in revoked["reason"] and "stat padding" in revoked["reason"]

    def test_voiding_the_last_game_where_it_holds_revokes_it_with_the_reason(self, app: App) -> None:
        bruiser_history(app)
        void_game(app.uow, "g2", "stat padding")
        decided = void_game(app.uow, "g5", "smurf account")
        assert [(e.type, e.data["player_id"]) for e in decided] == [(ev.AWARD_REVOKED, "thrall")]
        assert holding(app, "bruiser", "thrall") == (None, None)
        assert "smurf account" in award_events(app, "bruiser", "thrall")[-1][1]["reason"]
        assert "bruiser" not in {a.id for a in profile(app.uow, "thrall").awards if a.unlocked}
        assert {a.id: a.holders for a in award_catalog(app.uow)}["bruiser"] == 1  # rexxar

    def test_other_players_of_the_voided_game_keep_awards_it_did_not_earn(self, app: App) -> None:
        bruiser_history(app)
        void_game(app.uow, "g2", "stat padding")
        assert holding(app, "bruiser", "rexxar") == ("g3", "live")
        assert [t for t, _ in award_events(app, "bruiser", "rexxar")] == [ev.AWARD_UNLOCKED]

    def test_awards_earned_before_the_voided_game_are_untouched(self, app: App) -> None:
        bruiser_history(app)
        assert void_game(app.uow, "g4", "desync") == []
        assert holding(app, "bruiser", "thrall") == ("g2", "live")
        assert holding(app, "bruiser", "rexxar") == ("g3", "live")
        assert len(award_events(app, "bruiser", "thrall")) == 1

    def test_careers_no_longer_count_the_voided_game(self, app: App) -> None:
        # thrall (team 0) wins g1, loses g2, wins g3 and g4: voiding the loss joins the streaks.
        play(app, wire_report("g1", winner=0), wire_report("g2", winner=1, stats={"thrall": BRUISER}),
             wire_report("g3", winner=0), wire_report("g4", winner=0))
        assert career(app, "thrall")["best_win_streak"] == 2
        void_game(app.uow, "g2", "server crash")
        thrall, uther = career(app, "thrall"), career(app, "uther")
        assert (thrall["games_played"], thrall["wins"], thrall["losses"]) == (3, 3, 0)
        assert (thrall["best_win_streak"], thrall["current_win_streak"]) == (3, 3)
        assert (thrall["total_damage_done"], thrall["best_damage_done"]) == (300, 100)
        assert (uther["games_played"], uther["wins"], uther["losses"]) == (3, 0, 3)
        assert holding(app, "bruiser", "thrall") == (None, None)

    def test_a_career_award_moves_by_one_game_when_an_earlier_game_is_voided(self, app: App,
                                                                            tmp_path: Path) -> None:
        catalog = use_catalog(app, tmp_path, REGULAR)
        games = play(app, *[wire_report(f"g{i}") for i in range(1, 6)], catalog=catalog)
        assert holding(app, "regular", "thrall", catalog) == ("g3", "live")
        decided = void_game(app.uow, "g1", "test game")
        assert {(e.type, e.data["player_id"]) for e in decided} == {
            (t, p) for t in (ev.AWARD_REVOKED, ev.AWARD_UNLOCKED) for p in SEED_IDS[:6]}
        status = check_award(app.uow, "regular", "uther")
        assert (status.game_id, status.source, status.unlocked_at) == ("g4", "correction", games["g4"]["finished_at"])
        void_game(app.uow, "g5", "test game")  # after the unlock at g4: nothing moves
        assert holding(app, "regular", "uther", catalog) == ("g4", "correction")
        void_game(app.uow, "g2", "test game")  # only g3 and g4 remain: two games
        assert holding(app, "regular", "uther", catalog) == (None, None)
        assert career(app, "uther", catalog)["games_played"] == 2

    def test_after_a_revoke_by_void_the_award_is_earned_again_by_playing(self, app: App, tmp_path: Path) -> None:
        catalog = use_catalog(app, tmp_path, REGULAR)
        play(app, *[wire_report(f"g{i}") for i in range(1, 4)], catalog=catalog)
        void_game(app.uow, "g1", "test game")
        assert holding(app, "regular", "thrall", catalog) == (None, None)
        play(app, wire_report("g4"), catalog=catalog)
        assert holding(app, "regular", "thrall", catalog) == ("g4", "live")

    def test_an_operator_grant_is_not_touched_by_a_void(self, app: App) -> None:
        play(app, wire_report("g1"), wire_report("g2"))
        grant(app.uow, "bruiser", "thrall", "tournament prize")
        assert void_game(app.uow, "g1", "desync") == []
        assert holding(app, "bruiser", "thrall") == (None, "operator")

    def test_voiding_an_unrelated_earlier_game_keeps_an_award_granted_under_an_older_rule(
            self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"thrall": MILD}), wire_report("g2", stats={"thrall": BRUISER}))
        catalog = use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "harder"\n'
                                             'rule = "game.damage_done > 900"\n')
        assert void_game(app.uow, "g1", "desync") == []
        assert holding(app, "bruiser", "thrall", catalog) == ("g2", "live")

    def test_an_award_moved_under_an_older_rule_keeps_naming_that_rule(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"thrall": MILD}), wire_report("g2", stats={"thrall": BRUISER}),
             wire_report("g3", stats={"thrall": BRUISER}))
        granted_by = app.uow.catalog().version
        catalog = use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "harder"\n'
                                             'rule = "game.damage_done > 900"\n')
        void_game(app.uow, "g2", "stat padding")
        assert holding(app, "bruiser", "thrall", catalog) == ("g3", "correction")
        why = explain(app.uow, "bruiser", "thrall")
        assert (why.rule, why.catalog_version) == ("game.damage_done > 500", granted_by)
        assert void_game(app.uow, "g1", "desync") == []
        assert holding(app, "bruiser", "thrall", catalog) == ("g3", "correction")

    def test_a_voided_game_stays_in_history(self, app: App) -> None:
        bruiser_history(app)
        void_game(app.uow, "g2", "stat padding")
        with app.database.reader() as tx:
            stream = tx.events.read_stream(ev.game_stream("g2"))
        assert [e.type for e in stream] == [ev.GAME_RECORDED, ev.GAME_VOIDED]
        assert stream[1].data["reason"] == "stat padding" and stream[1].data["game_id"] == "g2"

    def test_voiding_an_unknown_game_or_a_game_twice_is_bad_input(self, app: App) -> None:
        bruiser_history(app)
        with pytest.raises(InvalidInput, match="no game has the id 'nope'"):
            void_game(app.uow, "nope", "typo")
        void_game(app.uow, "g2", "stat padding")
        before = event_count(app)
        with pytest.raises(InvalidInput, match="already voided"):
            void_game(app.uow, "g2", "again")
        with pytest.raises(InvalidInput, match="reason"):
            void_game(app.uow, "g3", "  ")
        assert event_count(app) == before

    def test_a_voided_game_is_not_a_game_where_an_award_can_be_backfilled(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}), wire_report("g2"))
        void_game(app.uow, "g1", "bot lobby")
        use_catalog(app, tmp_path, BRAWLER)
        assert backfill(app.uow, ["brawler"]).grants == []


# -- grant and revoke -------------------------------------------------------------------------------

class TestGrantAndRevoke:
    def test_an_operator_grant_is_held_with_its_reason_and_no_game(self, app: App) -> None:
        grant(app.uow, "veteran", "Thrall", "founding player")
        status = check_award(app.uow, "veteran", "thrall")
        assert status.unlocked and status.game_id is None and status.source == "operator"
        assert status.unlocked_at is not None
        ((kind, data),) = award_events(app, "veteran", "thrall")
        assert kind == ev.AWARD_GRANTED and data["reason"] == "founding player"
        assert {a.id: a.holders for a in award_catalog(app.uow)}["veteran"] == 1

    def test_granting_an_award_already_held_is_bad_input(self, app: App) -> None:
        bruiser_history(app)
        before = event_count(app)
        with pytest.raises(InvalidInput, match="already holds"):
            grant(app.uow, "bruiser", "thrall", "twice")
        grant(app.uow, "veteran", "thrall", "prize")
        with pytest.raises(InvalidInput, match="already holds"):
            grant(app.uow, "veteran", "thrall", "prize again")
        assert event_count(app) == before + 1

    def test_revoking_an_award_not_held_is_bad_input(self, app: App) -> None:
        bruiser_history(app)
        with pytest.raises(InvalidInput, match="does not hold"):
            revoke(app.uow, "bruiser", "guldan", "never had it")
        revoke(app.uow, "bruiser", "thrall", "exploit")
        with pytest.raises(InvalidInput, match="does not hold"):
            revoke(app.uow, "bruiser", "thrall", "again")

    def test_an_unknown_award_or_player_or_an_empty_reason_is_bad_input(self, app: App) -> None:
        with pytest.raises(UnknownAward):
            grant(app.uow, "nope", "thrall", "why")
        with pytest.raises(UnknownPlayer):
            revoke(app.uow, "bruiser", "nobody", "why")
        with pytest.raises(InvalidInput, match="reason"):
            grant(app.uow, "veteran", "thrall", "")

    def test_a_revoked_award_is_no_longer_held(self, app: App) -> None:
        bruiser_history(app)
        revoke(app.uow, "bruiser", "thrall", "exploit")
        assert holding(app, "bruiser", "thrall") == (None, None)
        assert {a.id: a.holders for a in award_catalog(app.uow)}["bruiser"] == 1
        kinds = [(t, d.get("reason")) for t, d in award_events(app, "bruiser", "thrall")]
        assert kinds == [(ev.AWARD_UNLOCKED, None), (ev.AWARD_REVOKED, "exploit")]

    def test_after_a_revoke_the_player_earns_it_again_by_playing(self, app: App) -> None:
        play(app, wire_report("g1", stats={"thrall": BRUISER}))
        revoke(app.uow, "bruiser", "thrall", "exploit")
        play(app, wire_report("g2", stats={"thrall": MILD}))
        assert holding(app, "bruiser", "thrall") == (None, None)
        games = play(app, wire_report("g3", stats={"thrall": BRUISER}))
        status = check_award(app.uow, "bruiser", "thrall")
        assert (status.game_id, status.source, status.unlocked_at) == ("g3", "live", games["g3"]["finished_at"])
        assert [t for t, _ in award_events(app, "bruiser", "thrall")] == [
            ev.AWARD_UNLOCKED, ev.AWARD_REVOKED, ev.AWARD_UNLOCKED]

    def test_a_revoked_award_can_be_granted_again_and_revoked_again(self, app: App) -> None:
        play(app, wire_report("g1", stats={"thrall": BRUISER}))
        revoke(app.uow, "bruiser", "thrall", "exploit")
        grant(app.uow, "bruiser", "thrall", "appeal won")
        assert holding(app, "bruiser", "thrall") == (None, "operator")
        revoke(app.uow, "bruiser", "thrall", "appeal overturned")
        assert holding(app, "bruiser", "thrall") == (None, None)
        assert [d["reason"] for t, d in award_events(app, "bruiser", "thrall")[1:]] == [
            "exploit", "appeal won", "appeal overturned"]

    def test_grants_and_revokes_survive_rebuild(self, app: App) -> None:
        bruiser_history(app)
        grant(app.uow, "veteran", "guldan", "prize")
        revoke(app.uow, "bruiser", "rexxar", "exploit")
        rebuild(app.uow)
        assert holding(app, "veteran", "guldan") == (None, "operator")
        assert holding(app, "bruiser", "rexxar") == (None, None)
        assert holding(app, "bruiser", "thrall") == ("g2", "live")
        reasons = [h.reason for h in explain(app.uow, "bruiser", "rexxar").history]
        assert reasons == [None, "exploit"]


# -- backfill ---------------------------------------------------------------------------------------

class TestBackfill:
    def test_a_new_award_is_granted_at_the_game_where_each_player_first_qualified(self, app: App,
                                                                                 tmp_path: Path) -> None:
        games = play(app, wire_report("g1"), wire_report("g2", stats={"rexxar": {"kills": 3}}),
                     wire_report("g3", stats={"thrall": {"kills": 4}, "rexxar": {"kills": 5}}), wire_report("g4"))
        catalog = use_catalog(app, tmp_path, BRAWLER)
        result = backfill(app.uow, ["brawler"])
        assert [(g.player_id, g.award, g.game_id, g.unlocked_at) for g in result.grants] == [
            ("rexxar", "brawler", "g2", games["g2"]["finished_at"]),
            ("thrall", "brawler", "g3", games["g3"]["finished_at"])]
        assert result.per_award() == {"brawler": 2}
        rexxar = {a.id: a for a in profile(app.uow, "rexxar").awards}["brawler"]
        assert rexxar.unlocked and rexxar.backfilled and rexxar.source == "backfill"
        assert (rexxar.game_id, rexxar.unlocked_at) == ("g2", games["g2"]["finished_at"])
        assert award_json(rexxar)["backfilled"] is True and award_json(rexxar)["source"] == "backfill"
        assert explain(app.uow, "brawler", "rexxar").catalog_version == catalog.version

    def test_running_it_twice_changes_nothing(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}))
        catalog = use_catalog(app, tmp_path, BRAWLER)
        assert len(backfill(app.uow).grants) == 1
        before, seen = event_count(app), snapshot(app, catalog)
        assert backfill(app.uow).grants == []
        assert backfill(app.uow, ["brawler"]).grants == []
        assert event_count(app) == before and snapshot(app, catalog) == seen

    def test_a_dry_run_lists_the_grants_and_writes_nothing(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}), wire_report("g2", stats={"uther": {"kills": 9}}))
        catalog = use_catalog(app, tmp_path, BRAWLER)
        before = event_count(app)
        planned = backfill(app.uow, ["brawler"], dry_run=True)
        assert [(g.player_id, g.game_id) for g in planned.grants] == [("rexxar", "g1"), ("uther", "g2")]
        assert event_count(app) == before and holding(app, "brawler", "rexxar", catalog) == (None, None)
        assert backfill(app.uow, ["brawler"]).grants == planned.grants

    def test_it_never_revokes_and_leaves_holders_alone(self, app: App, tmp_path: Path) -> None:
        bruiser_history(app)  # live: thrall at g2, rexxar at g3
        play(app, wire_report("g7", stats={"guldan": MILD}))
        # The rule changes: the 501-damage games no longer qualify, the 500-damage ones do.
        catalog = use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "changed"\n'
                                             'rule = "game.damage_done == 500"\ntier = "silver"\n')
        result = backfill(app.uow, ["bruiser"])
        assert [(g.player_id, g.game_id) for g in result.grants] == [("guldan", "g7")]
        assert holding(app, "bruiser", "thrall", catalog) == ("g2", "live")
        assert holding(app, "bruiser", "rexxar", catalog) == ("g3", "live")

    def test_a_changed_rule_grants_the_players_who_now_qualify_and_keeps_earlier_unlocks(
            self, app: App, tmp_path: Path) -> None:
        games = play(app, wire_report("g1", stats={"thrall": BRUISER}),
                     wire_report("g2", stats={"guldan": {"damage_done": 400, "kills": 2}}),
                     wire_report("g3", stats={"guldan": {"damage_done": 450, "kills": 2},
                                              "uther": {"damage_done": 350, "kills": 1}}))
        first_version = app.uow.catalog().version
        catalog = use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "changed"\n'
                                             'rule = "game.damage_done > 300 and game.kills >= 2"\n')
        result = backfill(app.uow, ["bruiser"])
        assert [(g.player_id, g.game_id, g.unlocked_at) for g in result.grants] == [
            ("guldan", "g2", games["g2"]["finished_at"])]
        with app.database.reader() as tx:
            thrall, guldan = tx.unlocks.unlock("thrall", "bruiser"), tx.unlocks.unlock("guldan", "bruiser")
        assert thrall is not None and (thrall.game_id, thrall.source, thrall.catalog_version) == (
            "g1", "live", first_version)
        assert guldan is not None and (guldan.source, guldan.catalog_version) == ("backfill", catalog.version)

    def test_players_whose_award_an_operator_revoked_are_left_alone(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}))
        catalog = use_catalog(app, tmp_path, BRAWLER)
        grant(app.uow, "brawler", "rexxar", "early access")
        revoke(app.uow, "brawler", "rexxar", "abused early access")
        grant(app.uow, "brawler", "uther", "community prize")
        assert backfill(app.uow, ["brawler"]).grants == []
        assert holding(app, "brawler", "rexxar", catalog) == (None, None)
        assert holding(app, "brawler", "uther", catalog) == (None, "operator")

    def test_a_player_whose_award_a_void_revoked_is_backfilled_when_a_changed_rule_now_holds(
            self, app: App, tmp_path: Path) -> None:
        games = play(app, wire_report("g1", stats={"thrall": MILD}), wire_report("g2", stats={"thrall": BRUISER}))
        void_game(app.uow, "g2", "cheating")
        use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "easier"\n'
                                             'rule = "game.damage_done > 400"\n')
        result = backfill(app.uow, ["bruiser"])
        assert [(g.player_id, g.game_id, g.unlocked_at) for g in result.grants] == [
            ("thrall", "g1", games["g1"]["finished_at"])]

    def test_a_career_award_is_granted_at_the_game_that_crossed_the_threshold(self, app: App,
                                                                              tmp_path: Path) -> None:
        late = ("thrall", "rexxar", "guldan", "anduin", "valeera", "morgl")  # anduin..morgl: 2 games only
        games = play(app, wire_report("g1"), wire_report("g2"), wire_report("g3", players=late),
                     wire_report("g4", players=late))
        catalog = use_catalog(app, tmp_path, REGULAR)
        result = backfill(app.uow, ["regular"])
        assert {(g.player_id, g.game_id) for g in result.grants} == {("thrall", "g3"), ("rexxar", "g3"),
                                                                     ("guldan", "g3")}
        assert holding(app, "regular", "uther", catalog) == (None, None)
        assert check_award(app.uow, "regular", "guldan").unlocked_at == games["g3"]["finished_at"]

    def test_a_new_stat_that_older_games_lack_counts_as_zero(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"thrall": {"kills": 3}, "rexxar": {"kills": 1}}))
        with_stat = use_catalog(app, tmp_path, REVIVES, "stat.toml")
        play(app, wire_report("g2", stats={"thrall": {"revives": 2}, "rexxar": {"revives": 3}}), catalog=with_stat)
        catalog = use_catalog(app, tmp_path, REVIVES + (
            '[awards.helper]\nname = "Helper"\ndescription = "5 kills and revives"\n'
            'rule = "career.total_kills + career.total_revives >= 5"\n'
            '[awards.clean]\nname = "Clean"\ndescription = "3 kills, no revive"\n'
            'rule = "game.kills >= 3 and game.revives == 0"\n'), "awards.toml")
        result = backfill(app.uow)
        assert sorted((g.award, g.player_id, g.game_id) for g in result.grants) == [
            ("clean", "thrall", "g1"), ("helper", "thrall", "g2")]
        assert career(app, "thrall", catalog)["total_revives"] == 2

    def test_an_unknown_or_retired_award_is_bad_input(self, app: App, tmp_path: Path) -> None:
        with pytest.raises(UnknownAward):
            backfill(app.uow, ["nope"])
        use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "old"\n'
                                             'rule = "game.damage_done > 500"\nretired = true\n')
        with pytest.raises(InvalidInput, match="retired"):
            backfill(app.uow, ["bruiser"])

    def test_without_award_names_every_active_award_is_backfilled(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}))
        catalog = use_catalog(app, tmp_path, BRAWLER + REGULAR)
        play(app, wire_report("g2"), wire_report("g3"), catalog=catalog)  # live: regular at g3
        result = backfill(app.uow)
        assert result.per_award() == {"brawler": 1}
        assert holding(app, "regular", "rexxar", catalog) == ("g3", "live")


# -- explain ----------------------------------------------------------------------------------------

class TestExplain:
    def test_a_held_award_names_the_game_the_rule_and_the_values_that_satisfied_it(self, app: App) -> None:
        games = bruiser_history(app)
        why = explain(app.uow, "bruiser", "Thrall")
        assert why.held and why.player_id == "thrall"
        assert (why.game_id, why.unlocked_at, why.source) == ("g2", games["g2"]["finished_at"], "live")
        assert why.rule == "game.damage_done > 500" and why.catalog_version == app.uow.catalog().version
        as_json = why.to_json()
        assert as_json["values"] == {"game.damage_done": 501} and as_json["closest"] is None
        assert [(h["type"], h["game_id"], h["source"]) for h in as_json["history"]] == [
            (ev.AWARD_UNLOCKED, "g2", "live")]

    def test_the_rule_shown_is_the_one_of_the_catalog_version_that_granted_it(self, app: App,
                                                                             tmp_path: Path) -> None:
        bruiser_history(app)
        granted_by = app.uow.catalog().version
        catalog = use_catalog(app, tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "harder"\n'
                                             'rule = "game.damage_done > 900 and game.kills >= 1"\n')
        assert catalog.version > granted_by
        why = explain(app.uow, "bruiser", "thrall")
        assert (why.rule, why.catalog_version, why.game_id) == ("game.damage_done > 500", granted_by, "g2")
        assert why.values == {"game.damage_done": 501}
        locked = explain(app.uow, "bruiser", "guldan")
        assert not locked.held and locked.rule == "game.damage_done > 900 and game.kills >= 1"

    def test_a_career_award_shows_the_career_value_that_satisfied_it(self, app: App, tmp_path: Path) -> None:
        catalog = use_catalog(app, tmp_path, REGULAR)
        play(app, *[wire_report(f"g{i}") for i in range(1, 5)], catalog=catalog)
        why = explain(app.uow, "regular", "uther")
        assert (why.game_id, why.values) == ("g3", {"career.games_played": 3})

    def test_a_locked_award_shows_the_closest_game_and_the_current_progress(self, app: App, tmp_path: Path) -> None:
        catalog = use_catalog(app, tmp_path, '[awards.trifecta]\nname = "Trifecta"\ndescription = "All three"\n'
                                             'rule = "game.kills >= 5 and game.assists >= 5 and game.damage_done > 500"'
                                             '\nprogress = "career.total_kills >= 20"\n')
        play(app, wire_report("g1", stats={"thrall": {"kills": 5}}),
             wire_report("g2", stats={"thrall": {"kills": 6, "assists": 5, "damage_done": 10}}),
             wire_report("g3", stats={"thrall": {"damage_done": 600}}), catalog=catalog)
        why = explain(app.uow, "trifecta", "thrall")
        assert not why.held and why.game_id is None
        out = why.to_json()
        assert out["closest"] == {"game_id": "g2", "conditions_met": "2 of 3"}
        assert out["values"] == {"game.kills": 6, "game.assists": 5, "game.damage_done": 10}
        assert out["progress"] == {"current": 11, "target": 20, "ratio": 0.55}
        veteran = explain(app.uow, "veteran", "thrall").to_json()
        assert veteran["progress"] == {"current": 3, "target": 1001, "ratio": 0.003}
        assert veteran["closest"]["conditions_met"] == "0 of 1"

    def test_history_lists_unlocks_grants_and_revokes_with_their_reasons(self, app: App) -> None:
        play(app, wire_report("g1", stats={"thrall": BRUISER}))
        revoke(app.uow, "bruiser", "thrall", "exploit")
        grant(app.uow, "bruiser", "thrall", "appeal won")
        why = explain(app.uow, "bruiser", "thrall")
        assert why.held and why.source == "operator" and why.game_id is None
        assert [(h.type, h.game_id, h.reason) for h in why.history] == [
            (ev.AWARD_UNLOCKED, "g1", None), (ev.AWARD_REVOKED, None, "exploit"),
            (ev.AWARD_GRANTED, None, "appeal won")]
        assert (why.history[0].source, why.history[2].source) == ("live", "operator")

    def test_a_moved_award_is_explained_by_its_new_game(self, app: App) -> None:
        games = bruiser_history(app)
        void_game(app.uow, "g2", "stat padding")
        why = explain(app.uow, "bruiser", "thrall")
        assert (why.game_id, why.source, why.unlocked_at) == ("g5", "correction", games["g5"]["finished_at"])
        assert why.values == {"game.damage_done": 501}
        assert [h.type for h in why.history] == [ev.AWARD_UNLOCKED, ev.AWARD_REVOKED, ev.AWARD_UNLOCKED]
        assert (why.history[0].source, why.history[2].source) == ("live", "correction")
        assert "stat padding" in (why.history[1].reason or "") and "stat padding" in (why.history[2].reason or "")

    def test_a_backfilled_award_names_the_catalog_version_that_added_it(self, app: App, tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"rexxar": {"kills": 3}}))
        catalog = use_catalog(app, tmp_path, BRAWLER)
        backfill(app.uow)
        why = explain(app.uow, "brawler", "rexxar")
        assert (why.game_id, why.source, why.catalog_version, why.rule) == (
            "g1", "backfill", catalog.version, "game.kills >= 3")
        assert why.values == {"game.kills": 3}

    def test_an_unknown_award_or_player_is_bad_input(self, app: App) -> None:
        with pytest.raises(UnknownAward):
            explain(app.uow, "nope", "thrall")
        with pytest.raises(UnknownPlayer):
            explain(app.uow, "bruiser", "nobody")


# -- rebuild ----------------------------------------------------------------------------------------

class TestRebuild:
    def test_rebuild_after_records_a_void_grants_and_revokes_leaves_everything_identical(self, app: App) -> None:
        bruiser_history(app)
        play(app, wire_report("g7", winner=1, players=SEED_IDS[4:], stats={"medivh": BRUISER}))
        void_game(app.uow, "g2", "stat padding")
        grant(app.uow, "veteran", "guldan", "prize")
        revoke(app.uow, "bruiser", "rexxar", "exploit")
        live = snapshot(app)
        explained = explain(app.uow, "bruiser", "thrall").to_json()
        rebuild(app.uow)
        assert snapshot(app) == live
        assert explain(app.uow, "bruiser", "thrall").to_json() == explained
        rebuild(app.uow)
        assert snapshot(app) == live

    def test_rebuild_after_catalog_changes_and_a_backfill_leaves_everything_identical(self, app: App,
                                                                                     tmp_path: Path) -> None:
        play(app, wire_report("g1", stats={"thrall": {"kills": 3}}))
        catalog = use_catalog(app, tmp_path, REVIVES + BRAWLER)
        play(app, wire_report("g2", stats={"rexxar": {"kills": 4, "revives": 1}}), catalog=catalog)
        backfill(app.uow)
        void_game(app.uow, "g1", "bot lobby")
        live = snapshot(app, catalog)
        rebuild(app.uow)
        assert snapshot(app, catalog) == live

    def test_recording_voiding_and_revoking_go_on_normally_after_a_rebuild(self, app: App) -> None:
        bruiser_history(app)
        revoke(app.uow, "bruiser", "thrall", "exploit")
        rebuild(app.uow)
        play(app, wire_report("g7", stats={"thrall": BRUISER}))
        assert holding(app, "bruiser", "thrall") == ("g7", "live")
        assert career(app, "thrall")["games_played"] == 7
        void_game(app.uow, "g3", "desync")
        assert holding(app, "bruiser", "rexxar") == (None, None)
        assert career(app, "thrall")["games_played"] == 6
