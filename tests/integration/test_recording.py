from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.application.queries import award_catalog, check_award, profile
from osmo.application.recording import BatchRejected, record_games
from osmo.bootstrap import App
from osmo.domain.errors import InvalidCatalog
from tests.builders import SEED_IDS, apply_catalog, submissions, wire_report

BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}
MILD = {"attempted_attacks": 40, "hits": 20, "damage_done": 500, "time_played": 600}


def event_count(app: App) -> int:
    with app.database.reader() as tx:
        return tx.events.last_position()


class TestRecordGame:
    def test_records_the_game_and_folds_every_career(self, app: App) -> None:
        result = record_games(app.uow, submissions(wire_report("g1", winner=1)))
        assert (result.recorded, result.duplicates, result.rejected) == (1, 0, [])
        thrall = profile(app.uow, "thrall")
        uther = profile(app.uow, "uther")
        assert thrall.career["games_played"] == 1 and thrall.career["losses"] == 1
        assert uther.career["wins"] == 1 and uther.career["current_win_streak"] == 1
        assert thrall.career["total_damage_done"] == 100 and thrall.career["best_hits"] == 5

    def test_unlocks_an_award_once_at_the_game_that_earned_it(self, app: App) -> None:
        first = wire_report("g1", stats={"thrall": BRUISER})
        second = wire_report("g2", stats={"thrall": BRUISER})
        result = record_games(app.uow, submissions(wire_report("g0", stats={"thrall": MILD}),
                                                                     first, second))
        assert [(u.player_id, u.award, u.game_id) for u in result.unlocked if u.award == "bruiser"] == [
            ("thrall", "bruiser", "g1")]
        status = check_award(app.uow, "bruiser", "Thrall")
        assert status.unlocked and status.game_id == "g1" and status.unlocked_at == first["finished_at"]
        again = record_games(app.uow, submissions(wire_report("g3", stats={"thrall": BRUISER})))
        assert [u for u in again.unlocked if u.award == "bruiser"] == []

    def test_an_invalid_report_in_a_batch_stores_nothing(self, app: App) -> None:
        before = event_count(app)
        bad = wire_report("bad", stats={"thrall": {"attempted_attacks": 3, "hits": 4}})
        with pytest.raises(BatchRejected) as raised:
            record_games(app.uow, submissions(wire_report("ok"), bad))
        assert event_count(app) == before
        (rejection,) = raised.value.rejected
        assert rejection.line == 2 and rejection.game_id == "bad"
        assert "thrall" in rejection.error and "hits" in rejection.error and "'bad'" in rejection.error

    def test_skip_invalid_records_the_valid_reports_and_lists_the_others(self, app: App) -> None:
        bad = wire_report("bad", players=("thrall", "rexxar", "guldan", "malfurion", "garrosh", "nobody"))
        result = record_games(app.uow, submissions(wire_report("ok"), bad), skip_invalid=True)
        assert result.recorded == 1
        assert [(r.line, r.game_id) for r in result.rejected] == [(2, "bad")]
        assert "'nobody' is not registered" in result.rejected[0].error

    def test_the_same_game_again_is_a_duplicate_not_an_error(self, app: App) -> None:
        report = wire_report("g1")
        record_games(app.uow, submissions(report))
        before = event_count(app)
        shifted = dict(report, started_at=report["started_at"].replace("Z", "+00:00"))
        result = record_games(app.uow, submissions(shifted))
        assert (result.recorded, result.duplicates) == (0, 1) and event_count(app) == before
        assert profile(app.uow, "thrall").career["games_played"] == 1

    def test_the_same_instant_in_another_time_zone_is_the_same_game(self, app: App) -> None:
        start = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
        record_games(app.uow, submissions(wire_report("g1", started_at=start)))
        paris = wire_report("g1", started_at=start.astimezone(timezone(timedelta(hours=1))))
        paris["started_at"] = start.astimezone(timezone(timedelta(hours=1))).isoformat()
        assert paris["started_at"].endswith("+01:00")
        result = record_games(app.uow, submissions(paris))
        assert (result.recorded, result.duplicates) == (0, 1)

    def test_the_same_game_id_with_different_content_is_rejected(self, app: App) -> None:
        record_games(app.uow, submissions(wire_report("g1")))
        with pytest.raises(BatchRejected, match="already recorded with different content"):
            record_games(app.uow, submissions(wire_report("g1", winner=1)))

    def test_the_same_game_twice_in_one_batch_counts_once(self, app: App) -> None:
        report = wire_report("g1")
        result = record_games(app.uow, submissions(report, report))
        assert (result.recorded, result.duplicates) == (1, 1)
        with pytest.raises(BatchRejected, match="appears again with different content"):
            record_games(app.uow, submissions(wire_report("g2"), wire_report("g2", winner=1)))

    def test_a_missing_stat_counts_as_zero(self, app: App) -> None:
        record_games(app.uow, submissions(wire_report("g1", stats={"thrall": {}})))
        assert profile(app.uow, "thrall").career["total_damage_done"] == 0

    def test_a_crash_inside_the_transaction_leaves_no_game_and_no_award(self, app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        from osmo.application import projections

        def explode(*args: object) -> list[object]:
            raise OSError("disk vanished")

        monkeypatch.setattr(projections.UnlocksProjection, "handle", explode)
        before = event_count(app)
        with pytest.raises(OSError, match="disk vanished"):
            record_games(app.uow, submissions(wire_report("g1", stats={"thrall": BRUISER})))
        assert event_count(app) == before
        monkeypatch.undo()
        result = record_games(app.uow, submissions(wire_report("g1", stats={"thrall": BRUISER})))
        assert result.recorded == 1 and [u.award for u in result.unlocked].count("bruiser") == 1


class TestCareerAwards:
    def test_veteran_needs_more_than_a_thousand_games(self, app: App) -> None:
        players = SEED_IDS[:6]
        reports = [wire_report(f"g{i}", players=players, winner=i % 2) for i in range(1000)]
        record_games(app.uow, submissions(*reports))
        status = check_award(app.uow, "veteran", "thrall")
        assert not status.unlocked and status.progress is not None
        assert (status.progress.current, status.progress.target) == (1000, 1001)
        result = record_games(app.uow, submissions(wire_report("g1000", players=players)))
        assert {u.player_id for u in result.unlocked if u.award == "veteran"} == set(players)
        assert check_award(app.uow, "veteran", "thrall").game_id == "g1000"

    def test_big_winner_at_exactly_200_wins(self, app: App) -> None:
        reports = [wire_report(f"g{i}", winner=0) for i in range(199)]
        record_games(app.uow, submissions(*reports))
        assert not check_award(app.uow, "big_winner", "thrall").unlocked
        record_games(app.uow, submissions(wire_report("g199", winner=0)))
        assert check_award(app.uow, "big_winner", "thrall").game_id == "g199"
        assert not check_award(app.uow, "big_winner", "malfurion").unlocked


class TestCatalog:
    def test_a_user_catalog_adds_a_stat_and_an_award_that_uses_it(self, app: App, tmp_path: Path) -> None:
        user = tmp_path / "catalog.toml"
        user.write_text(
            '[stats.revives]\ndescription = "Allies revived"\n\n'
            '[awards.lifesaver]\nname = "Lifesaver"\ndescription = "Revive 3, assist 2"\n'
            'rule = "game.revives >= 3 and game.assists >= 2"\ntier = "bronze"\n')
        before = app.uow.catalog().version
        catalog = apply_catalog(app.uow, load_catalog(str(user)))
        assert catalog.version == before + 1 == app.uow.catalog().version
        hero = {"revives": 3, "assists": 2, "time_played": 60}
        result = record_games(app.uow, submissions(wire_report("g1", stats={"uther": hero})))
        assert [(u.player_id, u.award) for u in result.unlocked] == [("uther", "lifesaver")]
        assert apply_catalog(app.uow, load_catalog(str(user))).version == catalog.version

    def test_removing_a_stat_that_games_carry_is_refused(self, app: App, tmp_path: Path) -> None:
        user = tmp_path / "catalog.toml"
        user.write_text('[stats.revives]\ndescription = "Allies revived"\n')
        apply_catalog(app.uow, load_catalog(str(user)))
        record_games(app.uow, submissions(wire_report("g1", stats={"uther": {"revives": 1}})))
        with pytest.raises(InvalidCatalog, match="'revives' is carried by recorded games"):
            apply_catalog(app.uow, load_catalog())

    def test_a_retired_award_is_no_longer_granted(self, app: App, tmp_path: Path) -> None:
        user = tmp_path / "catalog.toml"
        user.write_text('[awards.bruiser]\nname = "Bruiser"\ndescription = "old"\n'
                        'rule = "game.damage_done > 500"\nretired = true\n')
        apply_catalog(app.uow, load_catalog(str(user)))
        result = record_games(app.uow, submissions(wire_report("g1", stats={"thrall": BRUISER})))
        assert "bruiser" not in {u.award for u in result.unlocked}
        assert "bruiser" not in {a.id for a in profile(app.uow, "thrall").awards}


class TestQueries:
    def test_rarity_is_the_percent_of_players_with_a_game_who_hold_it(self, app: App) -> None:
        assert {a.id: a.rarity for a in award_catalog(app.uow)}["bruiser"] == 0.0
        record_games(app.uow, submissions(wire_report("g1", stats={"thrall": BRUISER})))
        listing = {a.id: a for a in award_catalog(app.uow)}
        assert listing["bruiser"].holders == 1 and listing["bruiser"].rarity == pytest.approx(100 / 6, abs=0.01)

    def test_hidden_awards_show_as_question_marks_until_unlocked(self, app: App) -> None:
        awards = profile(app.uow, "thrall").awards
        assert "untouchable" not in {a.id for a in awards}
        (hidden,) = [a for a in awards if a.hidden]
        assert (hidden.id, hidden.name, hidden.description, hidden.unlocked) == ("???", "???", "???", False)
        listed = [a for a in award_catalog(app.uow) if a.hidden]
        assert [(a.id, a.name) for a in listed] == [("???", "???")]
        ace = {"kills": 15, "deaths": 0, "time_played": 60}
        record_games(app.uow, submissions(wire_report("g1", winner=0, stats={"thrall": ace})))
        shown = {a.id: a for a in profile(app.uow, "thrall").awards}["untouchable"]
        assert shown.unlocked and shown.name == "Untouchable"
        assert "untouchable" in {a.id for a in award_catalog(app.uow)}



class TestTwoWriters:
    def test_a_writer_with_an_older_catalog_uses_the_stored_one_and_keeps_newer_career_stats(
            self, backend_url: str, tmp_path: Path) -> None:
        from osmo.bootstrap import bootstrap

        first, second = bootstrap(backend_url), bootstrap(backend_url)
        try:
            from osmo.application.players import register_seed_players

            register_seed_players(first.uow)
            record_games(first.uow, submissions(wire_report("g1")))
            user = tmp_path / "catalog.toml"
            user.write_text('[stats.blocks]\ndescription = "Attacks blocked"\n')
            new = apply_catalog(second.uow, load_catalog(str(user)))
            record_games(second.uow, submissions(wire_report("g2", stats={"thrall": {"blocks": 7}})))
            result = record_games(first.uow, submissions(wire_report("g3", stats={"thrall": {}})))
            assert result.recorded == 1
            career = profile(second.uow, "thrall").career
            assert career["games_played"] == 3
            assert (career["total_blocks"], career["best_blocks"]) == (7, 7)
            with second.database.reader() as tx:
                (g3,) = tx.events.read_stream("game-g3")
            assert g3.metadata["catalog_version"] == new.version
        finally:
            first.close()
            second.close()
