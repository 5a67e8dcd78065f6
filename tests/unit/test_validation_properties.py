"""Properties of report checking: every valid report passes and normalises; one broken rule is caught.

Valid reports are built from strategies that respect every invariant of DESIGN; each mutation then
breaks exactly one rule and must be rejected with InvalidReport.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.domain.errors import InvalidReport
from osmo.domain.games import (
    MAX_CLOCK_SKEW,
    MAX_ID_LENGTH,
    MAX_METADATA_DEPTH,
    MAX_STAT,
    METADATA_INTS,
    GameReport,
    PlayerLine,
    check_report,
    describe_difference,
    game_from_data,
)
from tests.unit.support import PROPERTY, shipped_catalog

CATALOG = shipped_catalog()
VALID = settings(PROPERTY, max_examples=60)
BROKEN = settings(PROPERTY, max_examples=25)

BOUNDING = {"attempted_attacks", "hits", "kills"}  # another stat's at_most: only omitted when 0
UNBOUNDED = [s for s in CATALOG.stat_ids if s not in {name for _, name, _ in CATALOG.bounds}]
NOT_BOUNDING = [s for s in CATALOG.stat_ids if s not in BOUNDING]

Draw = Callable[[st.SearchStrategy[Any]], Any]

zones = st.one_of(
    st.just(UTC),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)
CONTROL = ("Cc", "Cf", "Cs", "Co", "Cn")  # Unicode category C: never in an id
ids = st.text(st.characters(exclude_categories=CONTROL), min_size=1, max_size=24).filter(lambda s: s.strip() != "")
control_chars = st.characters(categories=CONTROL)
int64 = st.integers(METADATA_INTS[0], METADATA_INTS[-1])
json_scalars = st.one_of(st.none(), st.booleans(), int64, st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=12)
metadatas = st.dictionaries(st.text(max_size=5), json_values, max_size=3)


RAW_ORDER = ("attempted_attacks", "hits", "headshots", "kills", "first_hit_kills", "time_played",
             "damage_done", "assists", "spells_cast", "spell_damage", "deaths")
raw_lines = st.tuples(st.lists(st.integers(0, 1_000_000), min_size=len(RAW_ORDER), max_size=len(RAW_ORDER)),
                      st.integers(0, 2 ** len(RAW_ORDER) - 1))


def stat_line(raw: tuple[list[int], int], duration: float) -> dict[str, int]:
    """A stat line within every bound, derived from raw draws (one draw per line keeps generation fast).

    Values stay under 10**6 so that +1 never leaves the integer range; ``mask`` picks the stats
    left out of the report (a stat another one is bounded by is left out only when it is 0).
    """
    numbers, mask = raw
    attempted, hits, headshots, kills, first_hit_kills, time_played, *rest = numbers
    hits %= attempted + 1
    values = {
        "attempted_attacks": attempted, "hits": hits, "headshots": headshots % (hits + 1),
        "kills": kills, "first_hit_kills": first_hit_kills % (kills + 1),
        "time_played": time_played % (math.floor(duration) + 1),
        **dict(zip(RAW_ORDER[6:], rest, strict=True)),
    }
    omitted = {s for i, s in enumerate(RAW_ORDER) if mask >> i & 1 and (s not in BOUNDING or values[s] == 0)}
    return {s: v for s, v in values.items() if s not in omitted}


@st.composite
def valid_reports(draw: Draw, distinct_lines: int | None = None) -> GameReport:
    """A report that respects every rule. With ``distinct_lines``, only that many stat lines are drawn
    and shared out among the players (cheaper, for tests that then break one rule)."""
    size = draw(st.integers(3, 5))
    players = draw(st.lists(ids, min_size=2 * size, max_size=2 * size, unique=True))
    start = draw(st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1))).replace(tzinfo=UTC)
    length = draw(st.timedeltas(timedelta(microseconds=1), timedelta(hours=4)))
    duration = length.total_seconds()
    lines = [stat_line(draw(raw_lines), duration) for _ in range(distinct_lines or 2 * size)]
    teams = [
        [PlayerLine(player, dict(lines[i % len(lines)])) for i, player in enumerate(players) if i // size == t]
        for t in (0, 1)
    ]
    return GameReport(
        draw(ids), start.astimezone(draw(zones)), (start + length).astimezone(draw(zones)),
        draw(st.sampled_from([0, 1])), teams, draw(st.dictionaries(st.text(max_size=5), int64, max_size=2)),
    )


few_lines = valid_reports(distinct_lines=2)


def replace_line(report: GameReport, team: int, slot: int, line: PlayerLine) -> GameReport:
    teams = [list(members) for members in report.teams]
    teams[team][slot] = line
    return dataclasses.replace(report, teams=teams)


def pick_player(draw: Draw, report: GameReport) -> tuple[int, int, PlayerLine]:
    team = draw(st.integers(0, 1))
    slot = draw(st.integers(0, len(report.teams[team]) - 1))
    return team, slot, report.teams[team][slot]


def duration_of(report: GameReport) -> float:
    return (report.finished_at - report.started_at).total_seconds()


def assert_rejected(report: GameReport, *fragments: str) -> None:
    """``check_report`` raises InvalidReport, and its message holds every fragment."""
    with pytest.raises(InvalidReport) as raised:
        check_report(report, CATALOG)
    for fragment in fragments:
        assert fragment in str(raised.value), f"{fragment!r} not in {str(raised.value)!r}"


class TestValidReports:
    @VALID
    @given(report=valid_reports())
    def test_a_valid_report_passes_and_is_normalised(self, report: GameReport) -> None:
        game = check_report(report, CATALOG)
        assert game.game_id == report.game_id
        assert game.winner == report.winner
        assert game.started_at.utcoffset() == timedelta(0)
        assert game.finished_at.utcoffset() == timedelta(0)
        assert game.started_at == report.started_at
        assert game.finished_at == report.finished_at
        reported = [(player, team, stats) for team, members in enumerate(report.teams) for player, stats in members]
        assert [(line.player_id, line.team) for line in game.lines] == [(p, t) for p, t, _ in reported]
        assert [line.values for line in game.lines] == [
            tuple(stats.get(s, 0) for s in CATALOG.stat_ids) for _, _, stats in reported]


class TestOneBrokenRule:
    @BROKEN
    @given(report=few_lines, data=st.data())
    def test_finishing_no_later_than_the_start_is_rejected(self, report: GameReport, data: st.DataObject) -> None:
        back = data.draw(st.timedeltas(timedelta(0), timedelta(days=2)))
        finished = (report.started_at - back).astimezone(data.draw(zones))
        # (a non-positive duration also bounds time_played: the time order is checked, and reported, first)
        assert_rejected(dataclasses.replace(report, finished_at=finished), repr(report.game_id), "finished_at")

    @BROKEN
    @given(report=few_lines, field=st.sampled_from(["started_at", "finished_at"]))
    def test_a_naive_time_is_rejected(self, report: GameReport, field: str) -> None:
        naive = getattr(report, field).replace(tzinfo=None)
        assert_rejected(dataclasses.replace(report, **{field: naive}), repr(report.game_id), field)

    @BROKEN
    @given(report=few_lines, winner=st.one_of(
        st.integers().filter(lambda w: w not in (0, 1)), st.booleans(), st.floats(), st.text(max_size=2), st.none()))
    def test_a_winner_other_than_0_or_1_is_rejected(self, report: GameReport, winner: object) -> None:
        assert_rejected(dataclasses.replace(report, winner=winner),  # type: ignore[arg-type]
                        repr(report.game_id), "winner")

    @BROKEN
    @given(report=few_lines, data=st.data())
    def test_uneven_teams_are_rejected(self, report: GameReport, data: st.DataObject) -> None:
        teams = [list(members) for members in report.teams]
        size = len(teams[0])
        team = data.draw(st.integers(0, 1))
        if size < 5:
            taken = {p.player_id for members in teams for p in members}
            newcomer = data.draw(ids.filter(lambda s: s not in taken))
            teams[team].append(PlayerLine(newcomer, {}))
        else:
            teams[team].pop()
        assert_rejected(dataclasses.replace(report, teams=teams), repr(report.game_id), "uneven")

    @BROKEN
    @given(report=few_lines, data=st.data())
    def test_teams_outside_3_to_5_are_rejected(self, report: GameReport, data: st.DataObject) -> None:
        size = data.draw(st.sampled_from([0, 1, 2, 6, 7]))
        players = [f"p{i}" for i in range(2 * size)]
        teams = [[PlayerLine(p, {}) for p in players[t * size:(t + 1) * size]] for t in (0, 1)]
        assert_rejected(dataclasses.replace(report, teams=teams), repr(report.game_id), "3 to 5")

    @BROKEN
    @given(report=few_lines, extra=st.booleans())
    def test_a_number_of_teams_other_than_two_is_rejected(self, report: GameReport, extra: bool) -> None:
        if extra:
            size = len(report.teams[0])
            teams = [*report.teams, [PlayerLine(f"\x00extra{i}", {}) for i in range(size)]]
        else:
            teams = [report.teams[0]]
        assert_rejected(dataclasses.replace(report, teams=teams), repr(report.game_id), "two teams")

    @BROKEN
    @given(report=few_lines, data=st.data())
    def test_a_player_twice_is_rejected(self, report: GameReport, data: st.DataObject) -> None:
        everyone = [line for members in report.teams for line in members]
        first, second = data.draw(st.lists(st.integers(0, len(everyone) - 1), min_size=2, max_size=2, unique=True))
        source, target = sorted((first, second))
        team, slot = divmod(target, len(report.teams[0]))
        twice = replace_line(report, team, slot, PlayerLine(everyone[source].player_id, everyone[target].stats))
        assert_rejected(twice, repr(report.game_id), repr(everyone[source].player_id), "twice")

    @BROKEN
    @given(report=few_lines, data=st.data(), bad_id=st.one_of(
        st.just(""), st.text(min_size=MAX_ID_LENGTH + 1, max_size=MAX_ID_LENGTH + 3), st.integers(), st.none()))
    def test_a_bad_player_id_is_rejected(self, report: GameReport, data: st.DataObject, bad_id: object) -> None:
        team, slot, line = pick_player(data.draw, report)
        broken = replace_line(report, team, slot, PlayerLine(bad_id, line.stats))  # type: ignore[arg-type]
        assert_rejected(broken, repr(report.game_id), f"team {team} player {slot}", "player_id")

    @BROKEN
    @given(report=few_lines, bad_id=st.one_of(
        st.sampled_from(["", " ", "\t\n", "\u3000"]),
        st.text(min_size=MAX_ID_LENGTH + 1, max_size=MAX_ID_LENGTH + 3), st.integers(), st.none()))
    def test_a_bad_game_id_is_rejected(self, report: GameReport, bad_id: object) -> None:
        assert_rejected(dataclasses.replace(report, game_id=bad_id),  # type: ignore[arg-type]
                        "game_id")

    @BROKEN
    @given(report=few_lines, data=st.data(), value=st.one_of(
        st.booleans(), st.floats(allow_nan=False), st.text(max_size=3), st.none()))
    def test_a_stat_that_is_not_an_integer_is_rejected(self, report: GameReport, data: st.DataObject,
                                                       value: object) -> None:
        team, slot, line = pick_player(data.draw, report)
        stat = data.draw(st.sampled_from(CATALOG.stat_ids))
        broken = replace_line(report, team, slot, PlayerLine(line.player_id, {**line.stats, stat: value}))  # type: ignore[dict-item]
        assert_rejected(broken, repr(report.game_id), repr(line.player_id), f"stats.{stat}")

    @BROKEN
    @given(report=few_lines, data=st.data(), value=st.integers(max_value=-1))
    def test_a_negative_stat_is_rejected(self, report: GameReport, data: st.DataObject, value: int) -> None:
        team, slot, line = pick_player(data.draw, report)
        stat = data.draw(st.sampled_from(NOT_BOUNDING))  # lowering a bound would break a second rule
        broken = replace_line(report, team, slot, PlayerLine(line.player_id, {**line.stats, stat: value}))
        assert_rejected(broken, repr(report.game_id), repr(line.player_id), f"stats.{stat}")

    @BROKEN
    @given(report=few_lines, data=st.data(), value=st.integers(min_value=MAX_STAT + 1))
    def test_a_stat_above_the_maximum_is_rejected(self, report: GameReport, data: st.DataObject, value: int) -> None:
        team, slot, line = pick_player(data.draw, report)
        stat = data.draw(st.sampled_from(UNBOUNDED))  # raising a bounded stat would break a second rule
        broken = replace_line(report, team, slot, PlayerLine(line.player_id, {**line.stats, stat: value}))
        assert_rejected(broken, repr(report.game_id), repr(line.player_id), f"stats.{stat}")

    @BROKEN
    @given(report=few_lines, data=st.data(), name=st.text(min_size=1, max_size=12))
    def test_an_unknown_stat_is_rejected(self, report: GameReport, data: st.DataObject, name: str) -> None:
        if name in CATALOG.stat_set:
            name = f"{name}_unknown"
        team, slot, line = pick_player(data.draw, report)
        value = data.draw(st.integers(0, 100))
        broken = replace_line(report, team, slot, PlayerLine(line.player_id, {**line.stats, name: value}))
        assert_rejected(broken, repr(report.game_id), repr(line.player_id), repr(name))

    @BROKEN
    @given(report=few_lines, data=st.data(), excess=st.integers(1, 1000))
    def test_a_stat_above_its_bound_is_rejected(self, report: GameReport, data: st.DataObject, excess: int) -> None:
        team, slot, line = pick_player(data.draw, report)
        stat, bound = data.draw(st.sampled_from([
            ("hits", "attempted_attacks"), ("first_hit_kills", "kills"), ("headshots", "hits"),
            ("time_played", None)]))
        limit = math.floor(duration_of(report)) if bound is None else line.stats.get(bound, 0)
        stats = {**line.stats, stat: limit + excess}
        if stat == "hits":  # keep headshots <= hits: only one rule may break
            stats["headshots"] = min(stats.get("headshots", 0), limit + excess)
        broken = replace_line(report, team, slot, PlayerLine(line.player_id, stats))
        assert_rejected(broken, repr(report.game_id), repr(line.player_id), f"stats.{stat}")


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


class TestStoredAsReported:
    """What is accepted is stored as it was reported: recording it again finds the same content."""

    @VALID
    @given(report=few_lines, metadata=metadatas.filter(lambda m: depth_of(m) <= MAX_METADATA_DEPTH))
    def test_accepted_metadata_reads_back_the_same(self, report: GameReport, metadata: dict[str, Any]) -> None:
        import orjson

        game = check_report(dataclasses.replace(report, metadata=metadata), CATALOG)
        stored = orjson.loads(orjson.dumps(game.to_data(CATALOG.stat_ids)))
        again = game_from_data(stored, CATALOG.stat_ids)
        assert again == game
        assert describe_difference(again, game) == "no field differs"

    @BROKEN
    @given(report=few_lines, metadata=metadatas, data=st.data(), bad=st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.integers(min_value=METADATA_INTS[-1] + 1), st.integers(max_value=METADATA_INTS[0] - 1)))
    def test_a_value_that_would_not_read_back_is_rejected(self, report: GameReport, metadata: dict[str, Any],
                                                         data: st.DataObject, bad: object) -> None:
        # put ``bad`` somewhere in the metadata: a new key of the top object or of a nested object or list
        holders: list[dict[str, Any] | list[Any]] = []

        def collect(value: object, depth: int) -> None:
            if isinstance(value, dict | list) and depth < MAX_METADATA_DEPTH:
                holders.append(value)
                for item in value.values() if isinstance(value, dict) else value:
                    collect(item, depth + 1)

        collect(metadata, 1)
        holder = data.draw(st.sampled_from(holders))
        if isinstance(holder, dict):
            holder["\x00bad"] = bad
        else:
            holder.append(bad)
        assert_rejected(dataclasses.replace(report, metadata=metadata), repr(report.game_id), "metadata")


class TestIdCharacters:
    @BROKEN
    @given(report=few_lines, data=st.data(), char=control_chars)
    def test_a_game_id_with_a_control_character_is_rejected(self, report: GameReport, data: st.DataObject,
                                                            char: str) -> None:
        at = data.draw(st.integers(0, len(report.game_id)))
        bad = (report.game_id[:at] + char + report.game_id[at:])[:MAX_ID_LENGTH]
        assert_rejected(dataclasses.replace(report, game_id=bad), "game_id", "control character", f"U+{ord(char):04X}")

    @BROKEN
    @given(report=few_lines, data=st.data(), char=control_chars)
    def test_a_player_id_with_a_control_character_is_rejected(self, report: GameReport, data: st.DataObject,
                                                              char: str) -> None:
        team, slot, line = pick_player(data.draw, report)
        at = data.draw(st.integers(0, len(line.player_id)))
        bad = line.player_id[:at] + char + line.player_id[at:]
        broken = replace_line(report, team, slot, PlayerLine(bad, line.stats))
        assert_rejected(broken, repr(report.game_id), f"team {team} player {slot}", "player_id", "control character")


class TestTheClock:
    @BROKEN
    @given(report=few_lines, ahead=st.timedeltas(timedelta(microseconds=1), timedelta(days=400)))
    def test_a_report_finished_beyond_the_clock_skew_is_rejected(self, report: GameReport, ahead: timedelta) -> None:
        now = report.finished_at.astimezone(UTC) - MAX_CLOCK_SKEW - ahead
        with pytest.raises(InvalidReport) as raised:
            check_report(report, CATALOG, now=now)
        assert repr(report.game_id) in str(raised.value)
        assert "finished_at" in str(raised.value)
        assert "future" in str(raised.value)

    @BROKEN
    @given(report=few_lines, behind=st.timedeltas(timedelta(0), MAX_CLOCK_SKEW))
    def test_a_report_finished_within_the_clock_skew_is_accepted(self, report: GameReport, behind: timedelta) -> None:
        check_report(report, CATALOG, now=report.finished_at - behind)


class TestDifferences:
    @BROKEN
    @given(report=few_lines, data=st.data())
    def test_the_changed_field_is_named(self, report: GameReport, data: st.DataObject) -> None:
        game = check_report(report, CATALOG)
        change = data.draw(st.sampled_from(["started_at", "finished_at", "winner", "stat", "player", "metadata"]))
        if change == "started_at":
            changed = dataclasses.replace(report, started_at=report.started_at - timedelta(seconds=1))
            named = "started_at differs"
        elif change == "finished_at":
            changed = dataclasses.replace(report, finished_at=report.finished_at + timedelta(seconds=1))
            named = "finished_at differs"
        elif change == "winner":
            changed = dataclasses.replace(report, winner=1 - report.winner)
            named = "winner differs"
        elif change == "stat":
            team, slot, line = pick_player(data.draw, report)
            stat = data.draw(st.sampled_from(UNBOUNDED))
            stats = {**line.stats, stat: line.stats.get(stat, 0) + 1}
            changed = replace_line(report, team, slot, PlayerLine(line.player_id, stats))
            named = f"team {team} player {line.player_id!r}: stats.{stat} differs"
        elif change == "player":
            team, slot, line = pick_player(data.draw, report)
            changed = replace_line(report, team, slot, PlayerLine("\u2603newcomer", line.stats))
            named = f"team {team} players differ"
        else:
            changed = dataclasses.replace(report, metadata={**report.metadata, "\u2603": 1})
            named = "metadata differs at key '\u2603'"
        message = describe_difference(game, check_report(changed, CATALOG))
        assert message.startswith(named), message
