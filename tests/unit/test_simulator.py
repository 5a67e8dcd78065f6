"""The game simulator: the reports it writes obey osmo's rules, the games lie in the past, a seed replays a
run, the match model makes every award of the catalog reachable (the per-game ones rarely), and the demo's
roster and games give awards of every rarity."""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.adapters.catalog_files import load_catalog
from osmo.application.play import report_from_wire
from osmo.application.players import SEED_PLAYERS
from osmo.domain.catalog import Catalog
from osmo.domain.games import check_report as osmo_check_report
from osmo.simulation import GameReport, PlayerProfile, Simulator, make_profile, sample_players, simulate_game

HEROES = ("thrall", "rexxar", "guldan", "malfurion", "garrosh", "uther", "anduin", "valeera", "morgl", "medivh")
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DEMO_PLAYERS, DEMO_GAMES, DEMO_SEED = 1000, 20_000, 42
"""What ``make demo`` plays: ``osmo init --players 1000`` and ``osmo play -n 20000 --seed 42``."""
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
    reports = list(Simulator(seed, roster).games(600, END))

    for report in reports:
        check_report(report, roster)
    assert instant(reports[-1]["finished_at"]) == END
    for before, after in pairwise(reports):
        pause = instant(after["started_at"]) - instant(before["finished_at"])
        assert timedelta(minutes=1) <= pause <= timedelta(minutes=10)


def test_games_end_at_the_given_moment_and_none_finishes_after_it() -> None:
    now = datetime(2026, 11, 30, 17, 42, 7, 512_000, tzinfo=UTC)

    reports = list(Simulator(42, HEROES).games(5000, now))

    finishes = [instant(report["finished_at"]) for report in reports]
    assert finishes[-1] == now.replace(microsecond=0)
    assert max(finishes) <= now
    assert finishes == sorted(finishes)
    assert instant(reports[0]["started_at"]) <= now - timedelta(minutes=16 * 5000)


def test_the_end_only_shifts_the_games_in_time() -> None:
    shift = timedelta(days=3, seconds=17)
    early, late = (list(Simulator(3, HEROES).games(200, end)) for end in (END, END + shift))

    def untimed(reports: list[GameReport]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("started_at", "finished_at")} for r in without_ids(reports)]

    assert untimed(early) == untimed(late)
    for before, after in zip(early, late, strict=True):
        for key in ("started_at", "finished_at"):
            assert instant(after[key]) - instant(before[key]) == shift


@settings(database=None, deadline=None, max_examples=40)
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    size=st.integers(min_value=6, max_value=14),
    end=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1)),
)
def test_any_seed_roster_and_end_give_valid_reports(seed: int, size: int, end: datetime) -> None:
    roster = [f"p{i}" for i in range(size)]
    reports = list(Simulator(seed, roster).games(5, end))

    for report in reports:
        check_report(report, roster)
    assert instant(reports[-1]["finished_at"]) == end.replace(microsecond=0, tzinfo=UTC)


def test_most_players_play_the_whole_game_some_join_late_or_leave_early() -> None:
    shares = []
    for report in Simulator(9, HEROES).games(300, END):
        duration = (instant(report["finished_at"]) - instant(report["started_at"])).total_seconds()
        shares += [entry["stats"]["time_played"] / duration for team in report["teams"] for entry in team]

    whole = sum(share == 1 for share in shares) / len(shares)
    assert 0.8 <= whole < 1
    assert min(shares) >= 0.3


def test_the_same_seed_replays_everything_but_the_game_ids() -> None:
    first = list(Simulator(7, HEROES).games(300, END))
    second = list(Simulator(7, HEROES).games(300, END))

    assert without_ids(first) == without_ids(second)
    assert {r["game_id"] for r in first}.isdisjoint(r["game_id"] for r in second)


def test_another_seed_plays_other_games() -> None:
    first = without_ids(Simulator(7, HEROES).games(50, END))
    second = without_ids(Simulator(8, HEROES).games(50, END))

    assert first != second
    assert [r["teams"] for r in first] != [r["teams"] for r in second]


def test_game_ids_are_unique_within_and_across_runs() -> None:
    simulator = Simulator(5, HEROES)
    runs = [list(simulator.games(500, END)), list(Simulator(5, HEROES).games(500, END))]

    ids = [report["game_id"] for run in runs for report in run]
    assert len(set(ids)) == len(ids) == 1000


def test_successive_calls_continue_the_stream() -> None:
    simulator = Simulator(11, HEROES)
    first, second = list(simulator.games(20, END)), list(simulator.games(20, END))

    assert without_ids(first) != without_ids(second)


def test_without_a_seed_runs_differ_but_the_seed_is_reported() -> None:
    simulator = Simulator(None, HEROES)
    replay = Simulator(simulator.seed, HEROES)

    assert without_ids(simulator.games(20, END)) == without_ids(replay.games(20, END))
    assert without_ids(Simulator(None, HEROES).games(20, END)) != without_ids(replay.games(20, END))


@pytest.mark.parametrize("roster", [HEROES[:5], (), ("a", "b", "c", "d", "e", "a")])
def test_fewer_than_six_players_is_an_error(roster: Sequence[str]) -> None:
    with pytest.raises(ValueError, match="at least 6 distinct players"):
        Simulator(1, roster)
    with pytest.raises(ValueError, match="at least 6 distinct players"):
        simulate_game(random.Random(1), roster, "g-1", START)


def test_a_negative_number_of_games_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        Simulator(1, HEROES).games(-1, END)


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


@pytest.mark.parametrize("field", ["attack_rate", "accuracy", "finisher", "exposure", "activity"])
def test_a_profile_out_of_range_is_an_error(field: str) -> None:
    values = {"attack_rate": 2.0, "accuracy": 0.5, "headshot_rate": 0.2, "damage_per_hit": 8.0, "spell_rate": 0.5,
              "spell_power": 15.0, "lethality": 0.8, "finisher": 0.2, "support": 0.3, "exposure": 1.0, "activity": 1.0}
    values[field] = -0.1 if field == "attack_rate" else 0.0 if field in ("exposure", "activity") else 1.5

    with pytest.raises(ValueError, match="out of range"):
        PlayerProfile("thrall", **values)


PER_GAME_AWARDS = ("sharpshooter", "bruiser", "deadeye", "untouchable", "team_player")
CAREER_AWARDS = ("unstoppable", "slayer_1", "slayer_2", "slayer_3", "spellweaver", "veteran", "big_winner")
GOLD_CAREER_AWARDS = ("veteran", "big_winner", "unstoppable", "slayer_3")


class Awards:
    """The built-in catalog's awards over a stream of reports, as osmo evaluates them live (each report checked
    by osmo, careers folded in order, an award granted once per player); also counts the lines where each
    award's rule holds, and notes the index of the game where each award is first earned by someone."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.careers: dict[str, tuple[int, ...]] = {}
        self.held: defaultdict[str, set[str]] = defaultdict(set)
        self.lines = 0
        self.holds: Counter[str] = Counter()
        self.first_earned: dict[str, int] = {}

    def fold(self, index: int, report: GameReport) -> None:
        game = osmo_check_report(report_from_wire(dict(report)), self.catalog)
        fold, evaluate, empty = self.catalog.fold, self.catalog.evaluate, (0,) * len(self.catalog.career_names)
        for player, team, values in game.lines:
            won = team == game.winner
            career = self.careers[player] = fold(self.careers.get(player, empty), values, won)
            holding = evaluate((*values, int(won)), career, ())
            self.lines += 1
            self.holds.update(holding)
            self.held[player].update(holding)
            for award in holding:
                self.first_earned.setdefault(award, index)

    def rate(self, award: str) -> float:
        """The share of lines where the award's rule holds."""
        return self.holds[award] / self.lines

    def rarity(self) -> dict[str, float]:
        """Percent of the players with a game who hold each award, as ``osmo awards`` shows it."""
        holders = Counter(award for player in self.careers for award in self.held[player])
        return {a.id: 100 * holders[a.id] / len(self.careers) for a in self.catalog.awards}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_award_is_earned_over_ten_thousand_games_but_untouchable(catalog: Catalog) -> None:
    awards = Awards(catalog)
    for index, report in enumerate(Simulator(1, HEROES).games(10_000, END)):
        awards.fold(index, report)

    assert set(awards.first_earned) == {*PER_GAME_AWARDS, *CAREER_AWARDS} - {"untouchable"}
    for award in ("sharpshooter", "bruiser"):
        assert 0.001 <= awards.rate(award) <= 0.05, (award, awards.rate(award))
    for award in ("deadeye", "untouchable", "team_player"):
        assert awards.rate(award) <= 0.05, (award, awards.rate(award))


def test_untouchable_is_within_reach_of_an_ace(catalog: Catalog) -> None:
    ace = PlayerProfile("thrall", 3.5, 0.7, 0.3, 10.0, 1.0, 24.0, 1.0, 0.3, 0.3, 0.05)
    rng = random.Random(5)
    awards = Awards(catalog)
    for index in range(100):
        awards.fold(index, simulate_game(rng, HEROES[:6], f"g-{index}", START, profiles={"thrall": ace}))

    assert "untouchable" in awards.held["thrall"]
    assert all("untouchable" not in awards.held[player] for player in HEROES[1:6])


def test_the_demo_gives_awards_of_every_rarity(catalog: Catalog) -> None:
    """``make demo``: a few rare awards, some common, some in between; the hidden one still hidden; the gold
    career awards held by few."""
    roster = [player_id for player_id, _ in sample_players(DEMO_PLAYERS)]
    awards = Awards(catalog)
    for index, report in enumerate(Simulator(DEMO_SEED, roster).games(DEMO_GAMES, END)):
        awards.fold(index, report)
    rarity = awards.rarity()

    assert len(awards.careers) >= 0.95 * DEMO_PLAYERS
    assert rarity["untouchable"] == 0
    held = {award: percent for award, percent in rarity.items() if award != "untouchable"}
    assert min(held.values()) > 1
    assert sum(percent <= 5 for percent in held.values()) >= 3, rarity
    assert sum(5 < percent < 40 for percent in held.values()) >= 4, rarity
    assert sum(percent >= 50 for percent in held.values()) >= 2, rarity
    assert all(rarity[award] < 10 for award in GOLD_CAREER_AWARDS), rarity
    assert rarity["slayer_1"] > rarity["slayer_2"] > rarity["slayer_3"]


def test_players_are_drawn_in_proportion_to_their_activity() -> None:
    roster = [f"p{i}" for i in range(40)]
    profiles = {pid: replace(make_profile(pid, 1), activity=50.0 if pid == "p0" else 1.0) for pid in roster}
    rng = random.Random(2)
    played: Counter[str] = Counter()
    for index in range(1000):
        report = simulate_game(rng, roster, f"g-{index}", START, profiles=profiles)
        played.update(entry["player_id"] for team in report["teams"] for entry in team)

    assert played["p0"] >= 900
    assert max(played[pid] for pid in roster[1:]) <= 350


def test_a_few_players_play_far_more_than_most() -> None:
    roster = [player_id for player_id, _ in sample_players(300)]
    simulator = Simulator(42, roster)
    played = Counter(entry["player_id"] for report in simulator.games(6000, END)
                     for team in report["teams"] for entry in team)

    counts = sorted((played[pid] for pid in roster), reverse=True)
    assert counts[len(counts) // 20] >= 4 * counts[len(counts) // 2] > 0
    by_activity = sorted(roster, key=lambda pid: simulator.profiles[pid].activity, reverse=True)
    busiest, idlest = by_activity[:30], by_activity[150:]
    assert sum(played[pid] for pid in busiest) / 30 >= 10 * sum(played[pid] for pid in idlest) / 150


def test_sample_players_start_with_the_seed_players_and_are_unique() -> None:
    players = sample_players(5000)

    assert tuple(players[:10]) == SEED_PLAYERS
    assert sample_players(25) == players[:25] and sample_players(3) == list(SEED_PLAYERS[:3])
    assert sample_players(0) == []
    ids, names = [pid for pid, _ in players], [name for _, name in players]
    assert len(set(ids)) == len(set(map(str.casefold, names))) == 5000
    for player_id, name in players[10:]:
        assert re.fullmatch(r"[A-Z][a-z]{5,}[0-9]*", name), name
        assert player_id == name.lower()


def test_a_negative_number_of_sample_players_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        sample_players(-1)
