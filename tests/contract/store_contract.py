"""The store contract: written once, run against every backend by subclassing with a ``database`` fixture."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.application.ports import Database, GameLineRow, UnlockRow
from osmo.domain import events as ev
from osmo.domain.errors import ConcurrencyError
from osmo.domain.events import NO_STREAM, NewEvent


def event(stream: str, expected: int | None = NO_STREAM, data: dict[str, Any] | None = None,
          event_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent(stream, "Something", data or {"n": 1}, event_id or uuid.uuid4(), expected)


def stream_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


class EventStoreContract:
    """Subclasses provide a ``database`` fixture yielding an empty, migrated Database."""

    def test_appends_get_increasing_positions_and_stream_versions(self, database: Database) -> None:
        stream = stream_name()
        with database.transaction() as tx:
            first = tx.events.append([event(stream), event(stream, 0)])
            second = tx.events.append([event(stream, None)])
        positions = [e.position for e in first + second]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert [e.version for e in first + second] == [0, 1, 2]

    def test_positions_are_contiguous_across_transactions(self, database: Database) -> None:
        with database.transaction() as tx:
            a = tx.events.append([event(stream_name())])
        with database.transaction() as tx:
            b = tx.events.append([event(stream_name()), event(stream_name())])
        assert [e.position for e in b] == [a[0].position + 1, a[0].position + 2]

    def test_appending_to_an_existing_stream_as_new_is_a_concurrency_error(self, database: Database) -> None:
        stream = stream_name()
        with database.transaction() as tx:
            tx.events.append([event(stream)])
        with pytest.raises(ConcurrencyError), database.transaction() as tx:
            tx.events.append([event(stream, NO_STREAM)])

    def test_a_stale_expected_version_is_a_concurrency_error(self, database: Database) -> None:
        stream = stream_name()
        with database.transaction() as tx:
            tx.events.append([event(stream), event(stream, 0)])
        with pytest.raises(ConcurrencyError), database.transaction() as tx:
            tx.events.append([event(stream, 0)])
        with pytest.raises(ConcurrencyError), database.transaction() as tx:
            tx.events.append([event(stream, 5)])

    def test_a_retried_append_with_the_same_event_ids_is_a_no_op(self, database: Database) -> None:
        stream = stream_name()
        same = event(stream)
        with database.transaction() as tx:
            first = tx.events.append([same])
        with database.transaction() as tx:
            again = tx.events.append([same])
        assert len(first) == 1 and again == []
        with database.reader() as tx:
            assert len(tx.events.read_stream(stream)) == 1

    def test_a_failed_transaction_stores_nothing(self, database: Database) -> None:
        stream = stream_name()
        with pytest.raises(RuntimeError), database.transaction() as tx:
            tx.events.append([event(stream)])
            raise RuntimeError("boom")
        with database.reader() as tx:
            assert tx.events.read_stream(stream) == []

    def test_events_read_back_as_written(self, database: Database) -> None:
        stream = stream_name()
        data = {"name": "Gul'Dan ✨", "nested": {"list": [1, 2.5, None, True]}}
        with database.transaction() as tx:
            (written,) = tx.events.append([event(stream, data=data)])
        with database.reader() as tx:
            (read,) = tx.events.read_stream(stream)
            everything = list(tx.events.read_all(after=written.position - 1))
        assert read.data == data and read.event_id == written.event_id and read.type == "Something"
        assert read.metadata["schema"] == 1 and read.recorded_at == written.recorded_at
        assert [e.position for e in everything] == [written.position]

    def test_read_all_follows_global_order_from_a_position(self, database: Database) -> None:
        with database.transaction() as tx:
            written = tx.events.append([event(stream_name()) for _ in range(5)])
        with database.reader() as tx:
            after_second = list(tx.events.read_all(after=written[1].position))
            limited = list(tx.events.read_all(after=written[1].position, limit=2))
            last = tx.events.last_position()
        assert [e.position for e in after_second] == [e.position for e in written[2:]]
        assert [e.position for e in limited] == [e.position for e in written[2:4]]
        assert last == written[-1].position

    def test_first_events_finds_only_existing_streams(self, database: Database) -> None:
        present, absent = stream_name(), stream_name()
        with database.transaction() as tx:
            tx.events.append([event(present), event(present, 0)])
        with database.reader() as tx:
            found = tx.events.first_events([present, absent])
        assert list(found) == [present] and found[present].version == 0

    def test_first_data_is_the_stored_json_text_of_events_and_of_games_appended_as_they_are(self, database: Database
                                                                                           ) -> None:
        present, absent = stream_name(), stream_name()
        game_ids = [f"fd-{uuid.uuid4().hex}" for _ in range(20)]
        payloads = [f'{{"game_id": "{g}", "teams": [ ]}}' for g in game_ids]  # kept as given, spaces and all
        with database.transaction() as tx:
            tx.events.append([event(present), event(present, 0)])
            tx.events.append_games(game_ids, payloads, [ev.derived_id_bytes(ev.game_stream(g), 0) for g in game_ids], 1)
        with database.reader() as tx:
            found = tx.events.first_data([present, absent, *map(ev.game_stream, game_ids)])
            first = tx.events.first_events([present])[present]
        assert found == {present: '{"n":1}', **{ev.game_stream(g): p for g, p in zip(game_ids, payloads, strict=True)}}
        assert first.data == {"n": 1}

    def test_stream_version_and_events_by_type(self, database: Database) -> None:
        stream = stream_name()
        with database.transaction() as tx:
            tx.events.append([event(stream), event(stream, 0)])
            tx.events.append([NewEvent(stream_name(), "Rare", {"n": 2}, uuid.uuid4(), NO_STREAM)])
        with database.reader() as tx:
            assert tx.events.stream_version(stream) == 1
            assert tx.events.stream_version(stream_name()) == -1
            assert [e.data for e in tx.events.of_type("Rare")] == [{"n": 2}]

    def test_follow_reads_committed_events_in_order_then_waits_for_new_ones(self, database: Database) -> None:
        with database.transaction() as tx:
            first = tx.events.append([event(stream_name()) for _ in range(3)])
        start = first[0].position - 1
        seen = [e.position for e in database.follow(after=start, until=first[-1].position)]
        assert seen == [e.position for e in first]

        def later() -> None:
            time.sleep(0.2)
            with database.transaction() as tx:
                tx.events.append([event(stream_name())])

        thread = threading.Thread(target=later)
        thread.start()
        try:
            tail = list(database.follow(after=first[-1].position, until=first[-1].position + 1, wait=0.1))
        finally:
            thread.join()
        assert [e.position for e in tail] == [first[-1].position + 1]
        assert list(database.follow(after=first[-1].position + 1, idle=0.2, wait=0.05)) == []
        stops = iter([False, True])
        assert list(database.follow(after=first[-1].position + 1, wait=0.05, stop=lambda: next(stops))) == []


class ServiceRolesContract:
    """The service's roles (API keys, webhooks and deliveries, leaderboards), on every backend."""

    def test_api_keys_are_stored_found_by_digest_and_revoked(self, database: Database) -> None:
        from osmo.application.ports import ApiKeyRow
        from osmo.application.service_roles import roles

        with database.transaction() as raw:
            tx = roles(raw)
            tx.keys.add_key(ApiKeyRow("b", "osmo_b", "d-b", "report", "2026-01-01T00:00:00Z"))
            tx.keys.add_key(ApiKeyRow("a", "osmo_a", "d-a", "admin", "2026-01-01T00:00:00Z"))
        with database.transaction() as raw:
            roles(raw).keys.revoke_key("b", "2026-01-02T00:00:00Z")
        with database.reader() as raw:
            keys = roles(raw).keys
            assert [k.name for k in keys.api_keys()] == ["a", "b"]
            assert keys.key_by_digest("d-a") == ApiKeyRow("a", "osmo_a", "d-a", "admin", "2026-01-01T00:00:00Z")
            assert keys.key_by_name("b").revoked_at == "2026-01-02T00:00:00Z"  # type: ignore[union-attr]
            assert keys.key_by_digest("nope") is None

    def test_webhook_leases_cursors_and_delivery_logs(self, database: Database) -> None:
        from osmo.application.ports import DeliveryRow
        from osmo.application.service_roles import roles

        with database.transaction() as raw:
            hooks = roles(raw).webhooks
            first = hooks.add_webhook("http://a/", "secret", ["GameRecorded"], "t", 5)
            second = hooks.add_webhook("http://b/", "secret", [], "t", 0)
            assert hooks.claim_webhook(first, "p1", now=100.0, lease_until=130.0)
            assert not hooks.claim_webhook(first, "p2", now=110.0, lease_until=140.0)
            assert hooks.claim_webhook(first, "p2", now=131.0, lease_until=160.0)  # expired
            assert not hooks.advance_webhook(first, "p1", 9, 0, 0.0)
            assert hooks.advance_webhook(first, "p2", 9, 1, 200.0)
            for attempt in range(1, 5):
                hooks.add_delivery(DeliveryRow(first, 9, "GameRecorded", attempt, 500, "HTTP 500", "t"), keep=3)
        with database.reader() as raw:
            hooks = roles(raw).webhooks
            rows = {w.webhook_id: w for w in hooks.webhooks()}
            assert (rows[first].cursor, rows[first].attempts, rows[first].lease_owner) == (9, 1, "p2")
            assert rows[first].events == ("GameRecorded",) and rows[second].events == ()
            assert [d.attempt for d in hooks.deliveries(first, 10)] == [4, 3, 2]
        with database.transaction() as raw:
            assert roles(raw).webhooks.remove_webhook(first)
            assert not roles(raw).webhooks.remove_webhook(first)
        with database.reader() as raw:
            assert [w.webhook_id for w in roles(raw).webhooks.webhooks()] == [second]
            assert roles(raw).webhooks.deliveries(first, 10) == []

    def test_career_boards_rank_ties_together_and_recent_unlocks_come_newest_first(self, database: Database) -> None:
        from osmo.application.service_roles import roles

        catalog = load_catalog()
        wins = catalog.career_names.index("wins")
        played = catalog.career_names.index("games_played")
        with database.transaction() as raw:
            tx = roles(raw)
            tx.careers.use_catalog(catalog)
            for i, (player, won) in enumerate([("p1", 3), ("p2", 5), ("p3", 3), ("p4", 0)]):
                tx.players.add_player(player, player.upper(), i + 1, "t")
                career = [0] * len(catalog.career_names)
                career[wins], career[played] = won, (won + 1 if player != "p4" else 0)
                tx.careers.put_career(player, tuple(career), i + 1)
            for award, at in (("a", "2026-01-01T00:00:00Z"), ("b", "2026-01-02T00:00:00Z")):
                tx.unlocks.add_unlock(UnlockRow("p1", award, "g", 1, at, at, 1))
        with database.reader() as raw:
            tx = roles(raw)
            tx.careers.use_catalog(catalog)
            rows, total = tx.boards.career_board("wins", 10, 0)
            assert total == 3  # p4 has no game
            assert [(r.player_id, r.value, r.rank, r.row) for r in rows] == [
                ("p2", 5, 1, 0), ("p1", 3, 2, 1), ("p3", 3, 2, 2)]
            assert tx.boards.career_row("wins", "p3") == 2 and tx.boards.career_row("wins", "p4") is None
            assert [u.award_id for u in tx.boards.recent_unlocks(None, 10)] == ["b", "a"]
            assert [u.award_id for u in tx.boards.recent_unlocks("a", 10)] == ["a"]
            assert len(tx.boards.lines_since("2026-01-01T00:00:00Z")) == 0


class ReadModelsContract(ServiceRolesContract):
    """Subclasses provide a ``database`` fixture yielding an empty, migrated Database."""

    def test_players_are_found_by_id_or_by_name(self, database: Database) -> None:
        catalog = load_catalog()
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.players.add_player("p1", "Thrall", 1, "2026-11-28T10:00:00Z")
            tx.players.add_player("Thrall", "Other", 2, "2026-11-28T10:00:00Z")
        with database.reader() as tx:
            assert tx.players.find_player("p1").name == "Thrall"  # type: ignore[union-attr]
            assert tx.players.find_player("Thrall").player_id == "Thrall"  # type: ignore[union-attr]
            assert tx.players.find_player("Other").player_id == "Thrall"  # type: ignore[union-attr]
            assert tx.players.find_player("nobody") is None
            assert tx.players.registered(["p1", "x"]) == {"p1"}
            assert [p.player_id for p in tx.players.players()] == ["p1", "Thrall"]

    def test_players_are_found_and_clash_case_insensitively(self, database: Database) -> None:
        with database.transaction() as tx:
            tx.players.add_player("jaina", "Jaina Proudmoore", 1, "t")
        with database.reader() as tx:
            assert tx.players.find_player("JAINA").player_id == "jaina"  # type: ignore[union-attr]
            assert tx.players.find_player("jaina proudmoore").player_id == "jaina"  # type: ignore[union-attr]
            assert tx.players.clashing_player("Jaina", "Someone").player_id == "jaina"  # type: ignore[union-attr]
            assert tx.players.clashing_player("x", "JAINA PROUDMOORE") is not None
            assert tx.players.clashing_player("Jaina Proudmoore", "x") is not None
            assert tx.players.clashing_player("x", "jaina") is not None
            assert tx.players.clashing_player("thrall", "Thrall") is None

    def test_careers_start_empty_and_persist_at_commit(self, database: Database) -> None:
        catalog = load_catalog()
        career = tuple(range(1, len(catalog.career_names) + 1))
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.players.add_player("p1", "One", 1, "t")
            assert tx.careers.careers(["p1"])["p1"] == (0,) * len(catalog.career_names)
            tx.careers.put_career("p1", career, 7)
        with database.reader() as tx:
            tx.careers.use_catalog(catalog)
            assert tx.careers.careers(["p1"])["p1"] == career
            assert tx.careers.players_with_games() == 1

    def test_game_lines_are_readable_within_their_transaction(self, database: Database) -> None:
        catalog = load_catalog()
        n = len(catalog.stat_ids)
        row = GameLineRow(9, "p1", "g1", 0, "2026-11-28T10:00:00Z", (1,) * (n + 1), (2,) * len(catalog.career_names))
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.players.add_player("p1", "One", 1, "t")
            tx.careers.careers(["p1"])
            tx.lines.add_game_lines([row])
            assert tx.lines.game_lines(9) == [row]

    def test_unlocks_are_held_once_per_player_and_award(self, database: Database) -> None:
        unlock = UnlockRow("p1", "bruiser", "g1", 3, "2026-11-28T10:25:00Z", "2026-11-28T10:26:00Z", 1)
        with database.transaction() as tx:
            tx.unlocks.add_unlock(unlock)
            tx.unlocks.add_unlock(unlock)
        with database.reader() as tx:
            assert tx.unlocks.held(["p1", "p2"]) == {"p1": {"bruiser"}, "p2": set()}
            assert tx.unlocks.unlocks_of("p1") == [unlock]
            assert tx.unlocks.unlock("p1", "bruiser") == unlock
            assert tx.unlocks.holders() == {"bruiser": 1}

    def test_a_revoked_unlock_is_kept_but_no_longer_held(self, database: Database) -> None:
        unlock = UnlockRow("p1", "bruiser", "g1", 3, "2026-11-28T10:25:00Z", "2026-11-28T10:26:00Z", 1)
        with database.transaction() as tx:
            tx.unlocks.add_unlock(unlock)
            tx.unlocks.revoke_unlock("p1", "bruiser", 1, "cheating", "operator")
        with database.reader() as tx:
            assert tx.unlocks.held(["p1"]) == {"p1": set()}
            assert tx.unlocks.unlocks_of("p1") == []
            assert tx.unlocks.holders() == {}
            assert tx.unlocks.award_holders("bruiser") == {"p1"}
            revoked = tx.unlocks.unlock("p1", "bruiser")
        assert revoked is not None
        assert (revoked.active, revoked.version, revoked.reason) == (False, 1, "cheating")

    def test_unlock_versions_are_read_at_once_for_held_and_revoked_unlocks(self, database: Database) -> None:
        with database.transaction() as tx:
            tx.unlocks.add_unlock(UnlockRow("p1", "bruiser", "g1", 3, "2026-11-28T10:25:00Z", "t", 1, version=0))
            tx.unlocks.add_unlock(UnlockRow("p2", "bruiser", "g1", 3, "2026-11-28T10:25:00Z", "t", 1, version=0))
            tx.unlocks.revoke_unlock("p2", "bruiser", 1, "cheating", "operator")
            tx.unlocks.add_unlock(UnlockRow("p2", "veteran", "g1", 3, "2026-11-28T10:25:00Z", "t", 1, version=0))
        with database.reader() as tx:
            wanted = [("p1", "bruiser"), ("p2", "bruiser"), ("p1", "veteran"), ("p3", "bruiser")]
            assert tx.unlocks.unlock_versions(wanted) == {("p1", "bruiser"): 0, ("p2", "bruiser"): 1}
            assert tx.unlocks.unlock_versions([]) == {}

    def test_game_lines_come_back_in_order_and_can_be_replaced_or_removed(self, database: Database) -> None:
        catalog = load_catalog()
        n, c = len(catalog.stat_ids), len(catalog.career_names)
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.players.add_player("p1", "One", 1, "t")
            tx.players.add_player("p2", "Two", 2, "t")
            for position in (10, 11, 12):
                tx.lines.add_game_lines([
                    GameLineRow(position, "p1", f"g{position}", 0, "f", (1,) * (n + 1), (position,) * c),
                    GameLineRow(position, "p2", f"g{position}", 1, "f", (0,) * (n + 1), (0,) * c)])
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.lines.remove_game(11)
            tx.lines.replace_game_lines([GameLineRow(12, "p1", "g12", 0, "f", (2,) * (n + 1), (7,) * c),
                                         GameLineRow(12, "p2", "g12", 1, "f", (0,) * (n + 1), (3,) * c)])
        with database.reader() as tx:
            tx.careers.use_catalog(catalog)
            blocks = list(tx.lines.line_blocks())
            assert tx.players.player_keys() == {1: "p1", 2: "p2"}
            assert tx.lines.game_count() == 2
            assert tx.lines.games_of(["p1", "p2"]) == {"p1": [10, 12], "p2": [10, 12]}
            assert tx.lines.games_of(["p1"], after=10) == {"p1": [12]}
            assert tx.lines.last_games(["p1", "p2"], before=12) == {"p1": 10, "p2": 10}
            assert tx.lines.last_games(["p1"], before=10) == {}
            at = tx.lines.lines_at([12, 11, 99])
        (block,) = blocks
        assert block.positions.tolist() == [10, 10, 12, 12]
        assert block.keys.tolist() == [1, 2, 1, 2]
        assert block.teams.tolist() == [0, 1, 0, 1]
        assert block.career_column(0).tolist() == [10, 0, 7, 3]
        assert block.game_column(0).tolist() == [1, 0, 2, 0]
        assert block.games == {10: ("g10", "f"), 12: ("g12", "f")}
        assert at.positions.tolist() == [12, 12] and at.games == {12: ("g12", "f")}

    def test_checkpoints_commit_and_roll_back_with_the_transaction(self, database: Database) -> None:
        with database.transaction() as tx:
            tx.checkpoints.set_checkpoint("careers", 5)
        with pytest.raises(RuntimeError), database.transaction() as tx:
            tx.checkpoints.set_checkpoint("careers", 9)
            raise RuntimeError("boom")
        with database.reader() as tx:
            assert tx.checkpoints.checkpoint("careers") == 5
            assert tx.checkpoints.checkpoint("never") == 0

    def test_a_checkpoint_set_in_the_transaction_wins_over_the_stored_ones_read_later(self, database: Database
                                                                                       ) -> None:
        with database.transaction() as tx:
            tx.checkpoints.set_checkpoint("careers", 5)
            tx.checkpoints.set_checkpoint("awards", 5)
        with database.transaction() as tx:
            tx.checkpoints.set_checkpoint("careers", 7)
            assert tx.checkpoints.checkpoint("awards") == 5  # reads the stored checkpoints
            assert tx.checkpoints.checkpoint("careers") == 7
        with database.reader() as tx:
            assert (tx.checkpoints.checkpoint("careers"), tx.checkpoints.checkpoint("awards")) == (7, 5)

    def test_lines_too_large_for_int32_are_stored_wide_and_scan_like_the_rest(self, database: Database) -> None:
        catalog = load_catalog()
        n, c = len(catalog.stat_ids), len(catalog.career_names)
        huge = 2**40
        with database.transaction() as tx:
            tx.careers.use_catalog(catalog)
            tx.players.add_player("p1", "One", 1, "t")
            tx.lines.add_game_lines([GameLineRow(10, "p1", "g10", 0, "f", (1,) * (n + 1), (3,) * c)])
            tx.lines.add_game_lines([GameLineRow(11, "p1", "g11", 0, "f", (2,) * (n + 1), (huge,) * c)])
        with database.reader() as tx:
            tx.careers.use_catalog(catalog)
            (block,) = tx.lines.line_blocks()
        assert block.positions.tolist() == [10, 11]
        assert block.career_column(0).tolist() == [3, huge]
        assert block.game_column(0).tolist() == [1, 2]

    def test_catalog_changes_round_trip_through_the_store(self, database: Database) -> None:
        catalog = load_catalog()
        with database.transaction() as tx:
            tx.events.append([ev.catalog_changed(1, catalog.to_data())])
        with database.reader() as tx:
            (stored,) = tx.events.read_stream(ev.CATALOG_STREAM)
        assert stored.data == {"version": 1, "catalog": catalog.to_data()}
