"""One write path: every write resolves the catalog in effect inside its own transaction, voids cost what
the voided game's players' later games cost and never move an award earlier, corrections are checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.application import voiding
from osmo.application.backfill import rebuild
from osmo.application.corrections import grant, void_game
from osmo.application.game_chunk import GameChunk
from osmo.application.players import register_player
from osmo.application.queries import check_award, profile
from osmo.application.recording import ListSpool, NoReports, record_games
from osmo.application.unit_of_work import UnitOfWork
from osmo.bootstrap import App, bootstrap, live_subscribers
from osmo.domain.errors import DuplicateConflict, InvalidInput, PlayerExists
from tests.builders import SEED_IDS, apply_catalog, submissions, wire_report
from tests.fakes import FakeDatabase

REGULAR = ('[awards.regular]\nname = "Regular"\ndescription = "Play 3 games"\n'
           'rule = "career.games_played >= 3"\n')


def catalog_file(tmp_path: Path, text: str, name: str = "catalog.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def career_rows(app: App) -> list[tuple[Any, ...]]:
    """The careers table as stored, including the position of each career's last game."""
    if app.settings.db.startswith("postgresql"):
        import psycopg

        with psycopg.connect(app.settings.db) as conn:
            return sorted(conn.execute("SELECT player_id, position, games_played FROM careers").fetchall())
    import sqlite3

    with sqlite3.connect(app.settings.db) as conn:
        return sorted(conn.execute("SELECT player_id, position, games_played FROM careers").fetchall())


class TestVoidNeverMovesAnAwardEarlier:
    def test_an_award_added_later_and_unlocked_live_stays_when_an_unrelated_earlier_game_is_voided(
            self, app: App, tmp_path: Path) -> None:
        record_games(app.uow, submissions(wire_report("g0")))
        apply_catalog(app.uow, load_catalog(catalog_file(
            tmp_path, '[awards.regular2]\nname = "Two"\ndescription = "Play"\nrule = "career.games_played >= 1"\n')))
        record_games(app.uow, submissions(wire_report("g1", players=SEED_IDS[4:10]), wire_report("g2")))
        assert check_award(app.uow, "regular2", "thrall").game_id == "g2"  # added after g0: earned live at g2
        moved = [e for e in void_game(app.uow, "g1", "thrall did not play it") if e.type == "AwardUnlocked"]
        assert {e.data["game_id"] for e in moved} == {"g2"}  # garrosh and uther: from g1 to their next game
        for player in ("garrosh", "uther"):  # they played g0 too: the award must not move back there
            status = check_award(app.uow, "regular2", player)
            assert (status.game_id, status.source) == ("g2", "correction")
        status = check_award(app.uow, "regular2", "thrall")
        assert (status.game_id, status.source) == ("g2", "live")

    def test_a_moved_award_goes_to_a_later_game_never_an_earlier_one(self, app: App, tmp_path: Path) -> None:
        record_games(app.uow, submissions(*[wire_report(f"g{i}") for i in range(3)]))
        apply_catalog(app.uow, load_catalog(catalog_file(tmp_path, REGULAR)))
        record_games(app.uow, submissions(wire_report("g3"), wire_report("g4")))
        assert check_award(app.uow, "regular", "thrall").game_id == "g3"
        void_game(app.uow, "g3", "the game that earned it")
        status = check_award(app.uow, "regular", "thrall")
        assert (status.game_id, status.source) == ("g4", "correction")  # not g2, which holds too


class CountingLines:
    """Wraps a transaction's game lines and counts the games a use case reads."""

    def __init__(self, inner: Any, seen: list[int]) -> None:
        self._inner, self._seen = inner, seen

    def lines_at(self, positions: Any) -> Any:
        wanted = list(positions)
        self._seen.extend(wanted)
        return self._inner.lines_at(wanted)

    def line_blocks(self, *args: Any, **kwargs: Any) -> Any:
        for block in self._inner.line_blocks(*args, **kwargs):
            self._seen.extend(block.games)
            yield block

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingDatabase(FakeDatabase):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def transaction(self) -> Any:
        return self._counting(super().transaction())

    def _counting(self, manager: Any) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def wrapped() -> Any:
            with manager as tx:
                tx.lines = CountingLines(tx.lines, self.seen)
                yield tx

        return wrapped()


class TestVoidCost:
    def test_a_void_reads_only_the_voided_game_and_its_players_later_games(self) -> None:
        from osmo.application.players import register_seed_players
        from osmo.application.projections import projectors

        database = CountingDatabase()
        uow = UnitOfWork(database, builtin=load_catalog, subscribers=live_subscribers, projectors=projectors)
        register_seed_players(uow)
        early, late = SEED_IDS[:6], SEED_IDS[4:]
        record_games(uow, submissions(wire_report("first", players=early)))
        record_games(uow, submissions(*[wire_report(f"other-{i}", players=("morgl", "medivh", "anduin", "valeera",
                                                                            "garrosh", "uther")) for i in range(40)]))
        record_games(uow, submissions(*[wire_report(f"mine-{i}", players=early[:3] + late[3:]) for i in range(5)]))
        database.seen.clear()
        progress: list[int] = []
        void_game(uow, "first", "smurf", progress=progress.append)
        read = set(database.seen)
        with uow.read() as reader:
            positions = reader.tx.lines.games_of(["thrall"])["thrall"]
            uther_games = reader.tx.lines.games_of(["uther"])["uther"]
        # thrall's later games (5), garrosh/uther's (45): everything read is a game of the voided game's players
        assert read <= {*positions, *uther_games} | {min(read)}
        assert sum(progress) == len(read - {min(read)})
        assert profile(uow, "thrall").career["games_played"] == 5

    def test_a_rebuild_does_not_replay_voided_games(self, app: App) -> None:
        record_games(app.uow, submissions(*[wire_report(f"g{i}") for i in range(6)]))
        void_game(app.uow, "g0", "first")
        void_game(app.uow, "g3", "second")
        before = profile(app.uow, "thrall").career
        calls: list[int] = []
        token = voiding.progress.set(calls.append)
        try:
            rebuild(app.uow)
        finally:
            voiding.progress.reset(token)
        assert calls == []  # no game was refolded: voided games were skipped, not replayed then removed
        assert profile(app.uow, "thrall").career == before and before["games_played"] == 4

    def test_a_void_of_a_players_last_game_leaves_the_same_career_rows_as_a_rebuild(self, app: App) -> None:
        record_games(app.uow, submissions(wire_report("g0"), wire_report("g1")))
        void_game(app.uow, "g1", "last game")
        with app.database.reader() as tx:
            live = tx.lines.last_games(["thrall"], before=10**9)
        rows = career_rows(app)
        rebuild(app.uow)
        assert career_rows(app) == rows and live == {"thrall": min(live.values())}


class TestEveryWriteUsesTheCatalogInEffect:
    def test_a_void_by_a_process_on_an_older_catalog_folds_with_the_stored_one(self, backend_url: str,
                                                                               tmp_path: Path) -> None:
        first = bootstrap(backend_url)
        second = bootstrap(backend_url, catalog_file(tmp_path, '[stats.revives]\ndescription = "Allies revived"\n'))
        try:
            from osmo.application.players import register_seed_players

            register_seed_players(first.uow)
            assert first.uow.catalog().version == 1
            revives = {"revives": 5, "time_played": 60}
            record_games(second.uow, submissions(wire_report("g1", stats={"thrall": revives}),
                                                 wire_report("g2", stats={"thrall": revives}),
                                                 wire_report("g3", stats={"thrall": revives})))
            void_game(first.uow, "g2", "desync")  # first never loaded catalog v2
            career = profile(second.uow, "thrall").career
            assert (career["games_played"], career["total_revives"], career["best_revives"]) == (2, 10, 5)
            rebuild(first.uow)
            assert profile(second.uow, "thrall").career == career
        finally:
            first.close()
            second.close()

    def test_a_read_with_a_catalog_file_previews_it_and_stores_nothing(self, app: App, tmp_path: Path) -> None:
        preview = bootstrap(app.settings.db, catalog_file(tmp_path, REGULAR))
        try:
            assert "regular" in {a.id for a in profile(preview.uow, "thrall").awards}
            assert "regular" not in {a.id for a in profile(app.uow, "thrall").awards}
            assert app.uow.catalog().version == 1
        finally:
            preview.close()

    def test_a_write_with_a_catalog_file_stores_it_first(self, app: App, tmp_path: Path) -> None:
        writer = bootstrap(app.settings.db, catalog_file(tmp_path, REGULAR))
        try:
            record_games(writer.uow, submissions(*[wire_report(f"g{i}") for i in range(3)]))
        finally:
            writer.close()
        assert app.uow.catalog().version == 2
        assert check_award(app.uow, "regular", "thrall").game_id == "g2"


class TestCorrectionsAndInputs:
    def test_a_retired_award_is_granted_only_when_forced(self, app: App, tmp_path: Path) -> None:
        apply_catalog(app.uow, load_catalog(catalog_file(
            tmp_path, '[awards.bruiser]\nname = "Bruiser"\ndescription = "old"\nrule = "game.damage_done > 500"\n'
                      'retired = true\n')))
        with pytest.raises(InvalidInput, match="retired"):
            grant(app.uow, "bruiser", "thrall", "prize")
        grant(app.uow, "bruiser", "thrall", "prize", force=True)
        assert check_award(app.uow, "bruiser", "thrall").source == "operator"

    def test_empty_input_is_no_reports(self, app: App) -> None:
        with pytest.raises(NoReports, match="no reports"):
            record_games(app.uow, [])

    def test_an_id_may_not_equal_another_players_name_nor_a_name_another_players_id(self, app: App) -> None:
        with pytest.raises(PlayerExists, match="'thrall'"):
            register_player(app.uow, "Thrall", "Shadow")
        with pytest.raises(PlayerExists, match="name of player 'guldan'"):
            register_player(app.uow, "gul'dan", "Shadow")
        with pytest.raises(PlayerExists, match="taken"):
            register_player(app.uow, "shadow", "THRALL")
        with pytest.raises(PlayerExists):
            register_player(app.uow, "shadow", "Rexxar")
        with pytest.raises(PlayerExists):
            register_player(app.uow, "\uff32\uff25\uff38\uff38\uff21\uff32", "Shadow")  # full-width REXXAR
        register_player(app.uow, "shadow", "Shadow")
        assert profile(app.uow, "Thrall").player_id == "thrall"
        assert profile(app.uow, "SHADOW").player_id == "shadow"


class TestBackfillEqualsLiveOnLargeValues:
    def test_a_product_beyond_64_bits_is_evaluated_exactly_by_backfill(self, app: App, tmp_path: Path) -> None:
        square = ('[awards.square]\nname = "Square"\ndescription = "Big squares"\n'
                  'rule = "career.total_damage_done * career.total_damage_done / 1000000 > 9300000000000"\n')
        huge = {"damage_done": 2**31 - 1, "time_played": 60}
        record_games(app.uow, submissions(*[wire_report(f"g{i}", stats={"thrall": huge}) for i in range(2)]))
        apply_catalog(app.uow, load_catalog(catalog_file(tmp_path, square)))
        live = bootstrap(str(tmp_path / "live.db"))
        try:
            from osmo.application.backfill import backfill
            from osmo.application.players import register_seed_players

            register_seed_players(live.uow)
            apply_catalog(live.uow, load_catalog(catalog_file(tmp_path, square)))
            record_games(live.uow, submissions(*[wire_report(f"g{i}", stats={"thrall": huge}) for i in range(2)]))
            assert check_award(live.uow, "square", "thrall").game_id == "g1"  # beyond int64
            assert [(g.player_id, g.game_id) for g in backfill(app.uow, ["square"]).grants] == [("thrall", "g1")]
        finally:
            live.close()


ONLY_A = '[awards.only_a]\nname = "A"\ndescription = "a"\nrule = "game.kills >= 9"\n'
ONLY_B = '[awards.only_b]\nname = "B"\ndescription = "b"\nrule = "game.kills >= 9"\n'


class TestACatalogFileIsAppliedOnce:
    def test_a_later_catalog_apply_by_another_process_wins_over_the_file_a_writer_started_with(
            self, app: App, tmp_path: Path) -> None:
        worker = bootstrap(app.settings.db, catalog_file(tmp_path, ONLY_A, "a.toml"))
        try:
            record_games(worker.uow, submissions(wire_report("g1")))  # stores a.toml as v2
            apply_catalog(app.uow, load_catalog(catalog_file(tmp_path, ONLY_B, "b.toml")))  # v3
            record_games(worker.uow, submissions(wire_report("g2", stats={"thrall": {"kills": 9}})))
        finally:
            worker.close()
        assert app.uow.catalog().version == 3 and app.uow.catalog().award("only_b") is not None
        assert check_award(app.uow, "only_b", "thrall").game_id == "g2"

    def test_a_catalog_stored_by_a_write_that_rolled_back_is_not_remembered(self, app: App, tmp_path: Path) -> None:
        worker = bootstrap(app.settings.db, catalog_file(tmp_path, ONLY_A, "a.toml"))
        try:
            with pytest.raises(InvalidInput):
                void_game(worker.uow, "no-such-game", "typo")  # stored a.toml as v2, then rolled back
            apply_catalog(app.uow, load_catalog(catalog_file(tmp_path, ONLY_B, "b.toml")))  # the real v2
            record_games(worker.uow, submissions(wire_report("g1", stats={"thrall": {"kills": 9}})))
        finally:
            worker.close()
        # the worker's file was never stored: its first successful write stores it, as v3, over the real v2
        stored = app.uow.catalog()
        assert stored.version == 3 and stored.award("only_a") is not None
        with app.database.reader() as tx:
            unlock = tx.unlocks.unlock("thrall", "only_a")
        assert unlock is not None and unlock.catalog_version == 3


class TestAStoredCatalogThatNoLongerLoads:
    def test_it_is_named_with_its_remedy_and_catalog_apply_replaces_it(self, app: App, tmp_path: Path) -> None:
        from osmo.application import catalogs
        from osmo.domain import events as ev
        from osmo.domain.errors import InvalidCatalog

        data = load_catalog().to_data()
        data["awards"]["huge"] = {"name": "Huge", "description": "old", "rule": "career.total_kills >= 1" + "0" * 16}
        with app.database.transaction() as tx:
            tx.events.append([ev.catalog_changed(2, data)])
        fresh = bootstrap(app.settings.db)
        try:
            with pytest.raises(InvalidCatalog, match=r"no longer loads.*osmo catalog apply"):
                profile(fresh.uow, "thrall")
            fixed, added = catalogs.apply(fresh.uow, load_catalog())
            assert added and fixed.version == 3
            assert profile(fresh.uow, "thrall").player_id == "thrall"
        finally:
            fresh.close()


class TestChunksCheckedWithOtherStats:
    def test_are_written_apart_and_compared_with_the_stats_in_effect(self, app: App, tmp_path: Path) -> None:
        """Reports a reader checked before a catalog change (a run of them in columns), recorded after it with
        reports checked after it: all are recorded, the repeat of a game is a duplicate, nothing fails."""
        import orjson

        from osmo.adapters.report_fast import FastReportParser
        from osmo.application.game_chunk import GameChunk

        reports = [orjson.dumps(wire_report(f"g{i}")) for i in range(1, 21)]
        before = FastReportParser(app.uow.catalog(), datetime.now(UTC))
        (chunk,) = before.parse_chunk(list(enumerate(reports, 1)))
        assert isinstance(chunk, GameChunk) and len(chunk) == 20
        changed = apply_catalog(app.uow, load_catalog(
            catalog_file(tmp_path, '[stats.revives]\ndescription = "Allies revived"\n')))
        after = FastReportParser(changed, datetime.now(UTC))
        later = after.parse_chunk([(21, orjson.dumps(wire_report("g21", stats={"thrall": {"revives": 3}}))),
                                   (22, reports[4])])
        result = record_games(app.uow, [chunk, *later])
        assert (result.recorded, result.duplicates, result.rejected) == (21, 1, [])
        assert profile(app.uow, "thrall").career["total_revives"] == 3


class TestGamesRecordedByAnotherWriterMeanwhile:
    """Between the check of a batch and its writes, another writer records some of its games: identical ones are
    duplicates, one with other content is a conflict, and nothing is recorded twice (the run of games written
    in columns is refused by the store and written again after a look-up)."""

    class Meddling(ListSpool):
        def __init__(self, other: App, reports: list[dict[str, Any]]) -> None:
            super().__init__()
            self.other, self.reports = other, reports

        def chunks(self) -> Iterator[GameChunk]:
            record_games(self.other.uow, submissions(*self.reports))
            yield from super().chunks()

    def reports(self) -> list[dict[str, Any]]:
        return [wire_report(f"g{i}", stats={"thrall": {"kills": i % 5}}) for i in range(40)]

    def test_identical_games_are_duplicates(self, app: App, backend_url: str) -> None:
        reports = self.reports()
        other = bootstrap(backend_url)
        try:
            result = record_games(app.uow, submissions(*reports), chunk_size=20,
                                  spool=self.Meddling(other, [reports[3], reports[25]]))
        finally:
            other.close()
        assert (result.recorded, result.duplicates, result.rejected) == (38, 2, [])
        assert profile(app.uow, "thrall").career["total_kills"] == sum(i % 5 for i in range(40))
        with app.uow.read() as reader:
            assert reader.tx.lines.game_count() == 40

    def test_a_game_with_other_content_is_a_conflict(self, app: App, backend_url: str) -> None:
        reports = self.reports()
        other = bootstrap(backend_url)
        try:
            with pytest.raises(DuplicateConflict, match="'g25' was recorded concurrently with different content"):
                record_games(app.uow, submissions(*reports), chunk_size=20,
                             spool=self.Meddling(other, [dict(reports[25], winner=1)]))
        finally:
            other.close()
        with app.uow.read() as reader:
            assert reader.tx.lines.game_count() == 21  # the first 20, and the other writer's g25
