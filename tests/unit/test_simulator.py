"""The game simulator: the reports it writes obey osmo's rules, a seed replays a run, and the match model
makes every award of the catalog reachable (the per-game ones rarely)."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.simulation import GameReport, PlayerProfile, Simulator, make_profile, simulate_game

HEROES = ("thrall", "rexxar", "guldan", "malfurion", "garrosh", "uther", "anduin", "valeera", "morgl", "medivh")
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
STAT_KEYS = {
    "attempted_attacks", "hits", "damage_done", "kills", "first_hit_kills", "assists", "spells_cast",
    "spell_damage", "time_played", "headshots", "deaths",
}
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def instant(text: str) -> datetime:
    assert INSTANT.fullmatch(text), text
    return datetime.fromisoformat(text)


def check_report(report: GameReport, roster: Iterable[str]) -> None:
    """Every rule osmo enforces on a report, and the consistency the match model promises."""
    assert set(report) == {"game_id", "started_at", "finished_at", "winner", "teams", "metadata"}
    assert isinstance(report["game_id"], str) and report["game_id"]
    started, finished = instant(report["started_at"]), instant(report["finished_at"])
    duration = (finished - started).total_seconds()
    assert 15 * 60 <= duration <= 30 * 60
    assert report["winner"] in (0, 1) and type(report["winner"]) is int
    assert set(report["metadata"]) == {"mode", "map"}

    teams = report["teams"]
    assert len(teams) == 2 and len(teams[0]) == len(teams[1]) and 3 <= len(teams[0]) <= 5
    players = [entry["player_id"] for team in teams for entry in team]
    assert len(set(players)) == len(players) and set(players) <= set(roster)
    for team in teams:
        for entry in team:
            stats = entry["stats"]
            assert set(entry) == {"player_id", "stats"} and set(stats) == STAT_KEYS
            assert all(type(value) is int and value >= 0 for value in stats.values()), stats
            assert stats["hits"] <= stats["attempted_attacks"]
            assert stats["first_hit_kills"] <= stats["kills"]
            assert stats["first_hit_kills"] <= stats["hits"]
            assert stats["headshots"] <= stats["hits"]
            assert stats["kills"] <= stats["hits"] + stats["spells_cast"]
            assert 0 < stats["time_played"] <= duration

    kills = [sum(entry["stats"]["kills"] for entry in team) for team in teams]
    for index, team in enumerate(teams):
        assert sum(entry["stats"]["deaths"] for entry in team) == kills[1 - index]
        for entry in team:
            assert entry["stats"]["assists"] <= kills[index] - entry["stats"]["kills"]
    assert kills[report["winner"]] >= kills[1 - report["winner"]]
    json.dumps(report)


def without_ids(reports: Iterable[GameReport]) -> list[dict[str, Any]]:
    return [{key: value for key, value in report.items() if key != "game_id"} for report in reports]


@pytest.mark.parametrize(("seed", "roster"), [
    (1, HEROES),
    (2, HEROES),
    (3, HEROES[:6]),
    (4, tuple(f"player-{i}" for i in range(40))),
])
def test_every_report_obeys_the_rules(seed: int, roster: Sequence[str]) -> None:
    reports = list(Simulator(seed, roster).games(600, START))

    for report in reports:
        check_report(report, roster)
    assert instant(reports[0]["started_at"]) == START
    for before, after in pairwise(reports):
        pause = instant(after["started_at"]) - instant(before["finished_at"])
        assert timedelta(minutes=1) <= pause <= timedelta(minutes=10)


@settings(database=None, deadline=None, max_examples=40)
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    size=st.integers(min_value=6, max_value=14),
    start=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1)),
)
def test_any_seed_roster_and_start_give_valid_reports(seed: int, size: int, start: datetime) -> None:
    roster = [f"p{i}" for i in range(size)]
    reports = list(Simulator(seed, roster).games(5, start))

    for report in reports:
        check_report(report, roster)
    assert instant(reports[0]["started_at"]) == start.replace(microsecond=0, tzinfo=UTC)


def test_most_players_play_the_whole_game_some_join_late_or_leave_early() -> None:
    shares = []
    for report in Simulator(9, HEROES).games(300, START):
        duration = (instant(report["finished_at"]) - instant(report["started_at"])).total_seconds()
        shares += [entry["stats"]["time_played"] / duration for team in report["teams"] for entry in team]

    whole = sum(share == 1 for share in shares) / len(shares)
    assert 0.8 <= whole < 1
    assert min(shares) >= 0.3


def test_the_same_seed_replays_everything_but_the_game_ids() -> None:
    first = list(Simulator(7, HEROES).games(300, START))
    second = list(Simulator(7, HEROES).games(300, START))

    assert without_ids(first) == without_ids(second)
    assert {r["game_id"] for r in first}.isdisjoint(r["game_id"] for r in second)


def test_another_seed_plays_other_games() -> None:
    first = without_ids(Simulator(7, HEROES).games(50, START))
    second = without_ids(Simulator(8, HEROES).games(50, START))

    assert first != second
    assert [r["teams"] for r in first] != [r["teams"] for r in second]


def test_game_ids_are_unique_within_and_across_runs() -> None:
    simulator = Simulator(5, HEROES)
    runs = [list(simulator.games(500, START)), list(Simulator(5, HEROES).games(500, START))]

    ids = [report["game_id"] for run in runs for report in run]
    assert len(set(ids)) == len(ids) == 1000


def test_successive_calls_continue_the_stream() -> None:
    simulator = Simulator(11, HEROES)
    first, second = list(simulator.games(20, START)), list(simulator.games(20, START))

    assert without_ids(first) != without_ids(second)


def test_without_a_seed_runs_differ_but_the_seed_is_reported() -> None:
    simulator = Simulator(None, HEROES)
    replay = Simulator(simulator.seed, HEROES)

    assert without_ids(simulator.games(20, START)) == without_ids(replay.games(20, START))
    assert without_ids(Simulator(None, HEROES).games(20, START)) != without_ids(replay.games(20, START))


@pytest.mark.parametrize("roster", [HEROES[:5], (), ("a", "b", "c", "d", "e", "a")])
def test_fewer_than_six_players_is_an_error(roster: Sequence[str]) -> None:
    with pytest.raises(ValueError, match="at least 6 distinct players"):
        Simulator(1, roster)
    with pytest.raises(ValueError, match="at least 6 distinct players"):
        simulate_game(random.Random(1), roster, "g-1", START)


def test_a_negative_number_of_games_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        Simulator(1, HEROES).games(-1, START)


def test_simulate_game_writes_one_report_from_the_given_generator() -> None:
    naive = datetime(2026, 11, 28, 10, 0, 30, 999_999)
    report = simulate_game(random.Random(3), HEROES, "g-1", naive)
    again = simulate_game(random.Random(3), HEROES, "g-1", naive.replace(tzinfo=UTC))

    check_report(report, HEROES)
    assert report == again
    assert report["game_id"] == "g-1" and report["started_at"] == "2026-11-28T10:00:30Z"


def test_simulate_game_converts_other_time_zones_to_utc() -> None:
    paris = datetime(2026, 11, 28, 11, 0, tzinfo=timezone(timedelta(hours=1)))

    report = simulate_game(random.Random(3), HEROES, "g-1", paris)

    assert report["started_at"] == "2026-11-28T10:00:00Z"


def test_simulate_game_uses_the_profiles_it_is_given() -> None:
    idle = {pid: PlayerProfile(pid, 0.0, 0.5, 0.2, 8.0, 0.0, 15.0, 0.8, 0.2, 0.3, 1.0) for pid in HEROES}

    report = simulate_game(random.Random(3), HEROES, "g-1", START, profiles=idle)

    check_report(report, HEROES)
    lines = [entry["stats"] for team in report["teams"] for entry in team]
    assert all(line["attempted_attacks"] + line["spells_cast"] + line["kills"] + line["deaths"] == 0 for line in lines)


def test_profiles_are_persistent_per_player_and_seed() -> None:
    assert make_profile("thrall", 1) == make_profile("thrall", 1) == Simulator(1, HEROES).profiles["thrall"]
    assert make_profile("thrall", 1) != make_profile("thrall", 2)
    assert make_profile("thrall", 1) != make_profile("rexxar", 1)


@pytest.mark.parametrize("field", ["attack_rate", "accuracy", "finisher", "exposure"])
def test_a_profile_out_of_range_is_an_error(field: str) -> None:
    values = {"attack_rate": 2.0, "accuracy": 0.5, "headshot_rate": 0.2, "damage_per_hit": 8.0, "spell_rate": 0.5,
              "spell_power": 15.0, "lethality": 0.8, "finisher": 0.2, "support": 0.3, "exposure": 1.0}
    values[field] = -0.1 if field == "attack_rate" else 1.5 if field != "exposure" else 0.0

    with pytest.raises(ValueError, match="out of range"):
        PlayerProfile("thrall", **values)


PER_GAME_AWARDS = ("sharpshooter", "bruiser", "deadeye", "untouchable", "team_player")
CAREER_AWARDS = ("unstoppable", "slayer_1", "slayer_2", "slayer_3", "spellweaver", "veteran", "big_winner")


def per_game_awards(stats: Any, won: bool) -> Iterator[str]:
    """The catalog's per-game rules."""
    if stats["attempted_attacks"] >= 1 and stats["hits"] >= 0.75 * stats["attempted_attacks"]:
        yield "sharpshooter"
    if stats["damage_done"] > 500:
        yield "bruiser"
    if stats["headshots"] >= 8 and stats["headshots"] >= 0.5 * stats["hits"]:
        yield "deadeye"
    if won and stats["deaths"] == 0 and stats["kills"] >= 5:
        yield "untouchable"
    if stats["assists"] >= 10:
        yield "team_player"


class Careers:
    """The catalog's awards, folded by hand over a stream of reports: how often each per-game award is
    earned, and the index of the game where each award is first earned by someone."""

    def __init__(self) -> None:
        self.player_games = 0
        self.per_game: Counter[str] = Counter()
        self.first_earned: dict[str, int] = {}
        self.games: Counter[str] = Counter()
        self.wins: Counter[str] = Counter()
        self.kills: Counter[str] = Counter()
        self.spell_damage: Counter[str] = Counter()
        self.streak: Counter[str] = Counter()

    def fold(self, index: int, report: GameReport) -> None:
        for team, members in enumerate(report["teams"]):
            won = report["winner"] == team
            for entry in members:
                player, stats = entry["player_id"], entry["stats"]
                self.player_games += 1
                for award in per_game_awards(stats, won):
                    self.per_game[award] += 1
                    self.first_earned.setdefault(award, index)
                self.fold_career(index, player, stats, won)

    def fold_career(self, index: int, player: str, stats: Any, won: bool) -> None:
        self.games[player] += 1
        self.wins[player] += won
        self.kills[player] += stats["kills"]
        self.spell_damage[player] += stats["spell_damage"]
        self.streak[player] = self.streak[player] + 1 if won else 0
        reached = {
            "unstoppable": self.streak[player] >= 10,
            "slayer_1": self.kills[player] >= 100,
            "slayer_2": self.kills[player] >= 1000,
            "slayer_3": self.kills[player] >= 5000,
            "spellweaver": self.spell_damage[player] >= 100_000,
            "veteran": self.games[player] > 1000,
            "big_winner": self.wins[player] >= 200,
        }
        for award, now in reached.items():
            if now:
                self.first_earned.setdefault(award, index)

    def rate(self, award: str) -> float:
        return self.per_game[award] / self.player_games


def test_every_award_is_earned_over_ten_thousand_games() -> None:
    careers = Careers()
    for index, report in enumerate(Simulator(1, HEROES).games(10_000, START)):
        careers.fold(index, report)

    assert set(careers.first_earned) == {*PER_GAME_AWARDS, *CAREER_AWARDS}
    for award in ("sharpshooter", "bruiser"):
        assert 0.001 <= careers.rate(award) <= 0.05, (award, careers.rate(award))
    for award in ("deadeye", "untouchable", "team_player"):
        assert careers.rate(award) <= 0.05, (award, careers.rate(award))
