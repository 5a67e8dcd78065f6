"""Checking game reports against the rules of DESIGN, and the stored form of a checked game."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput, InvalidReport
from osmo.domain.games import (
    MAX_CLOCK_SKEW,
    MAX_ID_LENGTH,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_STAT,
    METADATA_INTS,
    Game,
    GameReport,
    PlayerLine,
    check_report,
    describe_difference,
    game_from_data,
)
from tests.unit.support import catalog_with, shipped_catalog

GAME_ID = "g-42"
STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=20)
DURATION = 20 * 60

GOOD_STATS = {
    "attempted_attacks": 40, "hits": 30, "damage_done": 800, "kills": 6, "first_hit_kills": 2, "assists": 3,
    "spells_cast": 5, "spell_damage": 120, "time_played": DURATION, "headshots": 10, "deaths": 1,
}


def team(prefix: str, size: int = 3) -> list[PlayerLine]:
    return [PlayerLine(f"{prefix}{i}", dict(GOOD_STATS)) for i in range(size)]


def report(**changes: Any) -> GameReport:
    """A valid 3 vs 3 report, with ``changes`` applied."""
    base = GameReport(GAME_ID, STARTED, FINISHED, 0, [team("red-"), team("blue-")], {"map": "dunes"})
    return dataclasses.replace(base, **changes)


def with_stats(**stats: Any) -> GameReport:
    """A valid report whose player 'blue-1' (team 1, slot 1) has ``stats`` merged into a good line."""
    blue = team("blue-")
    blue[1] = PlayerLine("blue-1", {**GOOD_STATS, **stats})
    return report(teams=[team("red-"), blue])


def with_line(**stats: Any) -> GameReport:
    """A valid report whose player 'blue-1' has exactly ``stats``."""
    blue = team("blue-")
    blue[1] = PlayerLine("blue-1", stats)
    return report(teams=[team("red-"), blue])


def rejected(bad: GameReport, *fragments: str, catalog: Catalog | None = None) -> str:
    with pytest.raises(InvalidReport) as raised:
        check_report(bad, catalog or shipped_catalog())
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def rejected_line(bad: GameReport, field: str, catalog: Catalog | None = None) -> str:
    """A player-level error names the game, the player and the field."""
    return rejected(bad, repr(GAME_ID), repr("blue-1"), field, catalog=catalog)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return shipped_catalog()


class TestAValidReport:
    def test_it_is_accepted(self, catalog: Catalog) -> None:
        game = check_report(report(), catalog)
        assert isinstance(game, Game)
        assert game.game_id == GAME_ID
        assert game.winner == 0
        assert game.metadata == {"map": "dunes"}

    def test_its_lines_keep_team_and_order(self, catalog: Catalog) -> None:
        game = check_report(report(), catalog)
        assert game.player_ids == ("red-0", "red-1", "red-2", "blue-0", "blue-1", "blue-2")
        assert [line.team for line in game.lines] == [0, 0, 0, 1, 1, 1]

    def test_its_values_follow_the_catalog_order(self, catalog: Catalog) -> None:
        game = check_report(report(), catalog)
        assert game.lines[0].values == tuple(GOOD_STATS[s] for s in catalog.stat_ids)

    @pytest.mark.parametrize("size", [3, 4, 5])
    def test_teams_of_3_to_5_are_accepted(self, catalog: Catalog, size: int) -> None:
        game = check_report(report(teams=[team("a", size), team("b", size)]), catalog)
        assert len(game.lines) == 2 * size

    @pytest.mark.parametrize("winner", [0, 1])
    def test_either_team_can_win(self, catalog: Catalog, winner: int) -> None:
        assert check_report(report(winner=winner), catalog).winner == winner

    def test_a_missing_stat_counts_as_zero(self, catalog: Catalog) -> None:
        stats = {k: v for k, v in GOOD_STATS.items() if k not in ("spells_cast", "deaths")}
        game = check_report(with_line(**stats), catalog)
        line = dict(zip(catalog.stat_ids, game.lines[4].values, strict=True))
        assert line["spells_cast"] == 0
        assert line["deaths"] == 0
        assert line["kills"] == GOOD_STATS["kills"]

    def test_an_empty_stat_line_is_all_zeros(self, catalog: Catalog) -> None:
        game = check_report(with_line(), catalog)
        assert game.lines[4].values == (0,) * len(catalog.stat_ids)

    def test_the_largest_stat_value_is_accepted(self, catalog: Catalog) -> None:
        game = check_report(with_stats(damage_done=MAX_STAT), catalog)
        assert game.lines[4].values[catalog.stat_ids.index("damage_done")] == MAX_STAT

    def test_a_bound_may_be_met_exactly(self, catalog: Catalog) -> None:
        check_report(with_stats(attempted_attacks=30, hits=30, headshots=30, kills=6, first_hit_kills=6,
                                time_played=DURATION), catalog)

    def test_the_metadata_defaults_to_empty(self, catalog: Catalog) -> None:
        bare = GameReport(GAME_ID, STARTED, FINISHED, 1, [team("a"), team("b")])
        assert check_report(bare, catalog).metadata == {}


class TestTimes:
    def test_time_zones_are_normalised_to_utc(self, catalog: Catalog) -> None:
        plus_two = timezone(timedelta(hours=2))
        minus_five = timezone(timedelta(hours=-5, minutes=-30))
        game = check_report(report(started_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two),
                                   finished_at=datetime(2024, 5, 1, 6, 50, tzinfo=minus_five)), catalog)
        assert game.started_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        assert game.finished_at == datetime(2024, 5, 1, 12, 20, tzinfo=UTC)
        assert game.started_at.utcoffset() == timedelta(0)
        assert game.finished_at.utcoffset() == timedelta(0)

    def test_finished_before_started_is_rejected(self) -> None:
        rejected(report(finished_at=STARTED - timedelta(seconds=1)), repr(GAME_ID), "finished_at")

    def test_finished_when_started_is_rejected(self) -> None:
        rejected(report(finished_at=STARTED), repr(GAME_ID), "finished_at")

    def test_order_is_compared_as_instants_not_wall_clocks(self) -> None:
        # 13:10 at UTC+2 is 11:10 UTC, before the 12:00 UTC start
        late_looking = datetime(2024, 5, 1, 13, 10, tzinfo=timezone(timedelta(hours=2)))
        rejected(report(finished_at=late_looking), repr(GAME_ID), "finished_at")

    def test_a_naive_start_is_rejected(self) -> None:
        rejected(report(started_at=STARTED.replace(tzinfo=None)), repr(GAME_ID), "started_at", "time zone")

    def test_a_naive_finish_is_rejected(self) -> None:
        rejected(report(finished_at=FINISHED.replace(tzinfo=None)), repr(GAME_ID), "finished_at", "time zone")

    def test_a_time_that_is_not_a_datetime_is_rejected(self) -> None:
        rejected(report(started_at="2024-05-01T12:00:00Z"), repr(GAME_ID), "started_at")


class TestWinner:
    @pytest.mark.parametrize("winner", [2, -1, True, False, "0", 1.0, None])
    def test_only_the_integers_0_and_1_are_accepted(self, winner: object) -> None:
        rejected(report(winner=winner), repr(GAME_ID), "winner")


class TestTeams:
    @pytest.mark.parametrize("size", [0, 1, 2, 6])
    def test_a_team_outside_3_to_5_is_rejected(self, size: int) -> None:
        rejected(report(teams=[team("a", size), team("b", size)]), repr(GAME_ID), "3 to 5")

    @pytest.mark.parametrize(("red", "blue"), [(3, 4), (5, 4), (3, 5)])
    def test_uneven_teams_are_rejected(self, red: int, blue: int) -> None:
        rejected(report(teams=[team("a", red), team("b", blue)]), repr(GAME_ID), "uneven")

    @pytest.mark.parametrize("count", [0, 1, 3])
    def test_there_must_be_exactly_two_teams(self, count: int) -> None:
        rejected(report(teams=[team(f"t{i}-") for i in range(count)]), repr(GAME_ID), "two teams")


class TestPlayers:
    def test_a_player_twice_in_one_team_is_rejected(self) -> None:
        red = team("red-")
        red[2] = PlayerLine("red-0", dict(GOOD_STATS))
        rejected(report(teams=[red, team("blue-")]), repr(GAME_ID), repr("red-0"), "twice")

    def test_a_player_in_both_teams_is_rejected(self) -> None:
        blue = team("blue-")
        blue[0] = PlayerLine("red-1", dict(GOOD_STATS))
        rejected(report(teams=[team("red-"), blue]), repr(GAME_ID), repr("red-1"), "twice")

    @pytest.mark.parametrize("player_id", ["", "x" * (MAX_ID_LENGTH + 1), 7, None])
    def test_a_bad_player_id_is_rejected(self, player_id: object) -> None:
        blue = team("blue-")
        blue[1] = PlayerLine(player_id, dict(GOOD_STATS))  # type: ignore[arg-type]
        rejected(report(teams=[team("red-"), blue]), repr(GAME_ID), "team 1 player 1", "player_id")

    def test_a_player_id_of_the_maximum_length_is_accepted(self, catalog: Catalog) -> None:
        blue = team("blue-")
        blue[1] = PlayerLine("x" * MAX_ID_LENGTH, dict(GOOD_STATS))
        assert "x" * MAX_ID_LENGTH in check_report(report(teams=[team("red-"), blue]), catalog).player_ids

    def test_a_blank_player_id_is_rejected_like_a_blank_game_id(self, catalog: Catalog) -> None:
        blue = team("blue-")
        blue[1] = PlayerLine("   ", dict(GOOD_STATS))
        with pytest.raises(InvalidReport, match="player_id"):
            check_report(report(teams=[team("red-"), blue]), catalog)


class TestGameId:
    @pytest.mark.parametrize("game_id", ["", "   ", "g" * (MAX_ID_LENGTH + 1), 42, None])
    def test_a_bad_game_id_is_rejected(self, game_id: object) -> None:
        rejected(report(game_id=game_id), "game_id")

    def test_a_game_id_of_the_maximum_length_is_accepted(self, catalog: Catalog) -> None:
        assert check_report(report(game_id="g" * MAX_ID_LENGTH), catalog).game_id == "g" * MAX_ID_LENGTH


class TestStatValues:
    @pytest.mark.parametrize("value", [True, False, 3.0, 3.5, "3", None, [3]])
    def test_a_value_that_is_not_an_integer_is_rejected(self, value: object) -> None:
        message = rejected_line(with_stats(assists=value), "stats.assists")
        assert "integer" in message

    @pytest.mark.parametrize("value", [-1, -(2**40)])
    def test_a_negative_value_is_rejected(self, value: int) -> None:
        rejected_line(with_stats(assists=value), "stats.assists")

    def test_a_value_above_the_maximum_is_rejected(self) -> None:
        rejected_line(with_stats(damage_done=MAX_STAT + 1), "stats.damage_done")

    def test_an_unknown_stat_is_rejected_by_name(self) -> None:
        message = rejected_line(with_stats(revives=2), "'revives'")
        assert "unknown stat" in message

    def test_an_unknown_stat_is_rejected_even_when_zero(self) -> None:
        rejected_line(with_stats(revives=0), "'revives'")

    def test_a_stat_the_user_catalog_adds_is_accepted(self) -> None:
        catalog = catalog_with({"stats": {"revives": {}}})
        game = check_report(with_stats(revives=2), catalog)
        assert game.lines[4].values[catalog.stat_ids.index("revives")] == 2


class TestInvariants:
    def test_hits_above_attempted_attacks_are_rejected(self) -> None:
        message = rejected_line(with_stats(attempted_attacks=30, hits=31), "stats.hits")
        assert "attempted_attacks" in message

    def test_first_hit_kills_above_kills_are_rejected(self) -> None:
        message = rejected_line(with_stats(kills=2, first_hit_kills=3), "stats.first_hit_kills")
        assert "kills" in message.replace("first_hit_kills", "")

    def test_headshots_above_hits_are_rejected(self) -> None:
        rejected_line(with_stats(hits=10, headshots=11), "stats.headshots")

    def test_time_played_above_the_duration_is_rejected(self) -> None:
        message = rejected_line(with_stats(time_played=DURATION + 1), "stats.time_played")
        assert "duration" in message

    def test_time_played_is_bounded_by_a_fractional_duration(self, catalog: Catalog) -> None:
        def short_game(time_played: int) -> GameReport:
            quiet = [[PlayerLine(f"{side}{i}", {}) for i in range(3)] for side in ("red-", "blue-")]
            quiet[1][1] = PlayerLine("blue-1", {"time_played": time_played})
            return report(finished_at=STARTED + timedelta(seconds=90, milliseconds=500), teams=quiet)

        check_report(short_game(90), catalog)
        rejected_line(short_game(91), "stats.time_played")

    def test_a_missing_bound_counts_as_zero(self) -> None:
        rejected_line(with_line(hits=1), "stats.hits")

    def test_a_missing_bounded_stat_counts_as_zero(self, catalog: Catalog) -> None:
        check_report(with_line(attempted_attacks=0, kills=0), catalog)

    def test_a_user_stat_with_at_most_is_checked(self) -> None:
        catalog = catalog_with({"stats": {"revives": {"at_most": "assists"}}})
        check_report(with_stats(assists=3, revives=3), catalog)
        rejected_line(with_stats(assists=3, revives=4), "stats.revives", catalog)

    def test_the_error_is_an_invalid_input(self) -> None:
        assert issubclass(InvalidReport, InvalidInput)


class TestStoredForm:
    """``Game.to_data`` is the GameRecorded payload; ``game_from_data`` reads it back (shape-agnostic tests)."""

    def test_a_game_round_trips_through_its_data(self, catalog: Catalog) -> None:
        game = check_report(report(), catalog)
        assert game_from_data(game.to_data(catalog.stat_ids), catalog.stat_ids) == game

    def test_a_game_round_trips_through_json(self, catalog: Catalog) -> None:
        game = check_report(with_line(kills=2, deaths=1), catalog)
        stored = json.loads(json.dumps(game.to_data(catalog.stat_ids)))
        assert game_from_data(stored, catalog.stat_ids) == game

    def test_missing_stats_are_stored_as_zero(self, catalog: Catalog) -> None:
        game = check_report(with_line(kills=2), catalog)
        again = game_from_data(game.to_data(catalog.stat_ids), catalog.stat_ids)
        assert dict(zip(catalog.stat_ids, again.lines[4].values, strict=True)) == {
            s: 2 if s == "kills" else 0 for s in catalog.stat_ids}

    def test_the_data_writes_utc_instants_with_a_z(self, catalog: Catalog) -> None:
        plus_two = timezone(timedelta(hours=2))
        game = check_report(report(started_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two)), catalog)
        data = game.to_data(catalog.stat_ids)
        assert data["started_at"] == "2024-05-01T12:00:00Z"
        assert data["finished_at"] == "2024-05-01T12:20:00Z"

    def test_the_read_back_times_are_utc(self, catalog: Catalog) -> None:
        plus_two = timezone(timedelta(hours=2))
        game = check_report(report(started_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two)), catalog)
        again = game_from_data(game.to_data(catalog.stat_ids), catalog.stat_ids)
        assert again.started_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        assert again.started_at.utcoffset() == timedelta(0)

    def test_the_game_fields_are_kept(self, catalog: Catalog) -> None:
        game = check_report(report(winner=1), catalog)
        again = game_from_data(game.to_data(catalog.stat_ids), catalog.stat_ids)
        assert (again.game_id, again.winner, dict(again.metadata)) == (GAME_ID, 1, {"map": "dunes"})
        assert again.player_ids == ("red-0", "red-1", "red-2", "blue-0", "blue-1", "blue-2")
        assert [line.team for line in again.lines] == [0, 0, 0, 1, 1, 1]

    def test_stats_the_catalog_gained_since_read_back_as_zero(self) -> None:
        old = shipped_catalog()
        new = catalog_with({"stats": {"revives": {}}})
        stored = check_report(report(), old).to_data(old.stat_ids)
        game = game_from_data(stored, new.stat_ids)
        assert new.stat_ids[-1] == "revives"
        assert [line.values for line in game.lines] == [(*(GOOD_STATS[s] for s in old.stat_ids), 0)] * 6

    def test_values_are_read_back_by_stat_not_by_position(self, catalog: Catalog) -> None:
        stored = check_report(report(), catalog).to_data(catalog.stat_ids)
        reordered = tuple(reversed(catalog.stat_ids))
        game = game_from_data(stored, reordered)
        assert game.lines[0].values == tuple(GOOD_STATS[s] for s in reordered)



def nested(levels: int) -> dict[str, Any]:
    """A metadata object ``levels`` levels deep (the object itself is level 1)."""
    value: Any = 1
    for _ in range(levels - 1):
        value = {"x": value}
    return {"x": value} if levels > 0 else value


class TestTimesOutOfRange:
    @pytest.mark.parametrize(("field", "moment"), [
        ("started_at", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
        ("finished_at", datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))),
    ])
    def test_a_time_outside_years_1_to_9999_in_utc_is_rejected(self, field: str, moment: datetime) -> None:
        message = rejected(report(**{field: moment}), repr(GAME_ID), field, "out of range")
        assert "9999" in message


class TestTheClock:
    NOW = FINISHED + timedelta(hours=1)

    def test_the_skew_is_five_minutes(self) -> None:
        assert timedelta(minutes=5) == MAX_CLOCK_SKEW

    def test_a_report_within_the_skew_is_accepted(self, catalog: Catalog) -> None:
        check_report(report(), catalog, now=FINISHED - MAX_CLOCK_SKEW)

    def test_a_report_beyond_the_skew_is_rejected(self, catalog: Catalog) -> None:
        with pytest.raises(InvalidReport) as raised:
            check_report(report(), catalog, now=FINISHED - MAX_CLOCK_SKEW - timedelta(microseconds=1))
        message = str(raised.value)
        assert repr(GAME_ID) in message
        assert "finished_at (2024-05-01T12:20:00Z) is in the future" in message
        assert "5 minutes" in message

    def test_the_clock_is_compared_as_an_instant(self, catalog: Catalog) -> None:
        now = (FINISHED - MAX_CLOCK_SKEW).astimezone(timezone(timedelta(hours=-7)))
        check_report(report(), catalog, now=now)

    def test_without_a_clock_a_far_future_report_is_accepted(self, catalog: Catalog) -> None:
        far = datetime(9000, 1, 1, tzinfo=UTC)
        check_report(report(started_at=far, finished_at=far + timedelta(minutes=20)), catalog)


class TestIdCharacters:
    @pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\u200b", "\ufeff", "\ud800", "\ue000", "\u0378"])
    def test_a_game_id_with_a_control_character_is_rejected(self, char: str) -> None:
        message = rejected(report(game_id=f"g{char}1"), "game_id", "control characters", f"U+{ord(char):04X}")
        assert "position 2" in message

    @pytest.mark.parametrize("char", ["\x00", "\n", "\u2060", "\u200d", "\U000e0001"])
    def test_a_player_id_with_a_control_character_is_rejected(self, char: str) -> None:
        blue = team("blue-")
        blue[1] = PlayerLine(f"blue{char}1", dict(GOOD_STATS))
        rejected(report(teams=[team("red-"), blue]), repr(GAME_ID), "team 1 player 1", "player_id",
                 "control characters")

    @pytest.mark.parametrize("text", ["a b", "a\u00a0b", "\u3000a", "thrall\u2014warchief", "\u00e9l\u00e8ve",
                                      "\U0001f600"])
    def test_printable_and_space_characters_are_accepted(self, catalog: Catalog, text: str) -> None:
        blue = team("blue-")
        blue[1] = PlayerLine(text, dict(GOOD_STATS))
        game = check_report(report(game_id=text, teams=[team("red-"), blue]), catalog)
        assert game.game_id == text
        assert text in game.player_ids


class TestMetadata:
    @pytest.mark.parametrize(("value", "shown"), [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")])
    def test_a_number_that_is_not_finite_is_rejected(self, value: float, shown: str) -> None:
        message = rejected(report(metadata={"map": "dunes", "score": [1.5, {"mean": value}]}),
                           repr(GAME_ID), "metadata.score[1].mean")
        assert message.endswith(f"must be a finite number, got {shown}")

    @pytest.mark.parametrize("value", [METADATA_INTS[-1] + 1, METADATA_INTS[0] - 1, 2**70, -(10**5000)],
                             ids=["2**63", "-2**63-1", "2**70", "-10**5000"])
    def test_an_integer_beyond_64_bits_is_rejected(self, value: int) -> None:
        rejected(report(metadata={"seed": value}), repr(GAME_ID), "metadata.seed", "out of range")

    def test_the_64_bit_integers_are_accepted(self, catalog: Catalog) -> None:
        extremes = {"low": METADATA_INTS[0], "high": METADATA_INTS[-1], "big": 1e308, "tiny": -5e-324}
        assert check_report(report(metadata=extremes), catalog).metadata == extremes

    def test_the_deepest_metadata_is_accepted(self, catalog: Catalog) -> None:
        check_report(report(metadata=nested(MAX_METADATA_DEPTH)), catalog)

    @pytest.mark.parametrize("levels", [MAX_METADATA_DEPTH + 1, 200, 5000])
    def test_deeper_metadata_is_rejected(self, levels: int) -> None:
        rejected(report(metadata=nested(levels)), repr(GAME_ID), "metadata.x", "nested too deeply")

    def test_a_list_counts_as_a_level(self) -> None:
        rejected(report(metadata={"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}), repr(GAME_ID), "metadata.a[0]", "deeply")

    def test_metadata_of_the_largest_size_is_accepted(self, catalog: Catalog) -> None:
        largest = {"note": "n" * (MAX_METADATA_BYTES - len('{"note":""}'))}
        assert len(orjson.dumps(largest)) == MAX_METADATA_BYTES
        check_report(report(metadata=largest), catalog)

    @pytest.mark.parametrize("text", ["n", "\u00e9", "\x01"])  # bytes as stored: 1, 2 (UTF-8) and 6 (\u0001)
    def test_larger_metadata_is_rejected(self, text: str) -> None:
        size = len(orjson.dumps({"note": ""}))
        chunk = len(orjson.dumps(text)) - 2
        bigger = {"note": text * ((MAX_METADATA_BYTES - size) // chunk + 1)}
        assert len(orjson.dumps(bigger)) > MAX_METADATA_BYTES
        rejected(report(metadata=bigger), repr(GAME_ID), "metadata", "bytes", str(MAX_METADATA_BYTES))

    def test_50_megabytes_of_metadata_are_rejected(self) -> None:
        rejected(report(metadata={f"k{i}": "v" * 1000 for i in range(50_000)}), repr(GAME_ID), "16 KiB")

    @pytest.mark.parametrize(("metadata", "fragments"), [
        ({1: "one"}, ["metadata", "key that is not a string"]),
        ({"when": datetime(2024, 1, 1, tzinfo=UTC)}, ["metadata.when", "got datetime"]),
        ({"pair": (1, 2)}, ["metadata.pair", "got tuple"]),
        ({"odd key": {"x": "\ud800"}}, ["metadata['odd key'].x", "lone surrogate"]),
        ({"\udc00": 1}, ["metadata", "lone surrogate"]),
    ])
    def test_a_value_json_cannot_store_as_is_is_rejected(self, metadata: dict[Any, Any], fragments: list[str]) -> None:
        rejected(report(metadata=metadata), repr(GAME_ID), *fragments)

    @pytest.mark.parametrize("metadata", [[], None, "ranked", ()])
    def test_metadata_must_be_an_object(self, metadata: object) -> None:
        rejected(report(metadata=metadata), repr(GAME_ID), "metadata must be an object")

    def test_accepted_metadata_reads_back_the_same(self, catalog: Catalog) -> None:
        metadata = {"map": "dunes", "é": [None, True, 0.1, -0.0, METADATA_INTS[-1], {"deep": nested(10)}], "": {}}
        game = check_report(report(metadata=metadata), catalog)
        stored = orjson.loads(orjson.dumps(game.to_data(catalog.stat_ids)))
        assert game_from_data(stored, catalog.stat_ids) == game


class TestDescribeDifference:
    def differs(self, catalog: Catalog, **changes: Any) -> str:
        stored = check_report(report(), catalog)
        again = game_from_data(orjson.loads(orjson.dumps(stored.to_data(catalog.stat_ids))), catalog.stat_ids)
        return describe_difference(again, check_report(report(**changes), catalog))

    def test_the_finish_time(self, catalog: Catalog) -> None:
        assert self.differs(catalog, finished_at=FINISHED + timedelta(minutes=1)) == (
            "finished_at differs (recorded 2024-05-01T12:20:00Z, reported 2024-05-01T12:21:00Z)")

    def test_the_start_time(self, catalog: Catalog) -> None:
        assert self.differs(catalog, started_at=STARTED - timedelta(seconds=1)).startswith(
            "started_at differs (recorded 2024-05-01T12:00:00Z, reported 2024-05-01T11:59:59Z)")

    def test_the_same_instant_in_another_zone_is_no_difference(self, catalog: Catalog) -> None:
        zone = timezone(timedelta(hours=3))
        assert self.differs(catalog, started_at=STARTED.astimezone(zone)) == "no field differs"

    def test_the_winner(self, catalog: Catalog) -> None:
        assert self.differs(catalog, winner=1) == "winner differs (recorded 0, reported 1)"

    def test_a_stat(self, catalog: Catalog) -> None:
        assert self.differs(catalog, teams=with_stats(kills=7).teams) == (
            "team 1 player 'blue-1': stats.kills differs (recorded 6, reported 7)")

    def test_a_stat_left_out_is_a_zero(self, catalog: Catalog) -> None:
        assert self.differs(catalog, teams=with_stats(deaths=0).teams) == (
            "team 1 player 'blue-1': stats.deaths differs (recorded 1, reported 0)")

    def test_the_players(self, catalog: Catalog) -> None:
        blue = team("blue-")
        blue[2] = PlayerLine("thrall", dict(GOOD_STATS))
        assert self.differs(catalog, teams=[team("red-"), blue]) == (
            "team 1 players differ (recorded 'blue-0', 'blue-1', 'blue-2'; reported 'blue-0', 'blue-1', 'thrall')")

    def test_the_order_of_players(self, catalog: Catalog) -> None:
        red = team("red-")
        assert self.differs(catalog, teams=[red[::-1], team("blue-")]).startswith("team 0 players differ")

    def test_the_metadata(self, catalog: Catalog) -> None:
        assert self.differs(catalog, metadata={"map": "Durotar"}) == (
            'metadata differs at key \'map\' (recorded "dunes", reported "Durotar")')
        assert self.differs(catalog, metadata={}) == (
            'metadata differs at key \'map\' (recorded "dunes", reported nothing)')

    def test_nothing(self, catalog: Catalog) -> None:
        assert self.differs(catalog) == "no field differs"
