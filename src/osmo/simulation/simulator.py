"""A fast, seeded simulator of finished team games, producing osmo's game-report wire format.

The match model
---------------
Every game is a *timed team deathmatch with respawns*: two teams of the same size (3 to 5 players,
drawn from the roster) fight for 15 to 30 minutes; a player has 100 HP per life and respawns
after dying; the team with more kills wins. Ties are broken by the teams' total damage (weapon plus
spell) and, if that ties too, by a coin flip, so there are no draws.

Each player has a persistent :class:`PlayerProfile`, derived deterministically from the player id and
the simulator's seed: how often they play, how often they attack, how accurate they are, how often a
hit is a headshot, how hard they hit, how much they rely on spells, how well they turn damage into
kills, how often they finish a weakened enemy with a single hit, how much they help teammates and how
exposed they are. Players are drawn for a game in proportion to how often they play (log-normal: most
play a little, a few a lot), which is what spreads careers, and so award rarity, across a large roster.

Games follow one another, 1 to 10 minutes apart, and :meth:`Simulator.games` ends them at a given
moment (``osmo play`` passes now): the history lies in the past, as a game server would report it.

Nothing is simulated attack by attack: a game is drawn at the aggregate level, a few draws per player.
Counts are Poisson draws, and splitting a Poisson count at random (attacks into hits and misses, hits
into headshots and body hits, kills into first-hit kills and the others) gives independent Poisson
counts, which is what makes the aggregate draws exact:

* ``time_played``: most players play the whole game; a few join late or leave early;
* a per-game *form* scales the player's activity, and their accuracy varies a little between games;
* ``headshots``, body hits and misses are drawn from the player's attack rate, accuracy and headshot
  rate; ``hits`` is headshots plus body hits, ``attempted_attacks`` is hits plus misses;
* ``damage_done`` counts weapon damage only, a headshot counting double; ``spells_cast`` is drawn from
  the spell rate and ``spell_damage`` follows from the spell power;
* ``kills`` has for mean the lives (of 100 HP) that the player's total damage is worth, times their
  lethality: damage spread over victims who escape, or whom a teammate finishes, is lost.
  ``first_hit_kills`` are the kills where the player's first hit on a weakened victim was the last;
* ``deaths``: the other team's kills are spread over the team in proportion to each player's risk
  (exposure times time in action, plus a share per kill: players on a streak get hunted), so that a
  team's deaths add up to exactly the other team's kills;
* ``assists``: each kill made by a teammate is assisted (the player damaged the victim too) with a
  probability that grows with the player's support profile and time played.

The draws read precomputed tables, indexed by ``Random.getrandbits(12)``: quantiles of the standard
normal law, and of the Poisson law for means below 40 by steps of 0.1 (a normal approximation takes
over above). A game of ten players takes a few tens of microseconds.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from math import exp, floor, inf, sqrt
from operator import itemgetter
from statistics import NormalDist
from typing import NamedTuple, TypedDict

MIN_PLAYERS = 6
MIN_TEAM_SIZE = 3
MAX_TEAM_SIZE = 5
MIN_DURATION_S = 15 * 60
MAX_DURATION_S = 30 * 60
MIN_BREAK_S = 60
MAX_BREAK_S = 10 * 60
HIT_POINTS = 100
MODE = "team_deathmatch"
MAPS = ("Ashenvale", "Stranglethorn", "Durotar", "Elwynn", "Tanaris", "Winterspring", "Feralas")

_PARTIAL_GAME_RATE = 0.1
_ACTIVITY_FORM_SD = 0.2
_ACCURACY_FORM_SD = 0.06
_RISK_PER_KILL_MINUTES = 5.0
_DRAW_ATTEMPTS = 8
_CLIP = 2.5
_ACTIVITY_SD = 1.6
_EXPOSURE_PER_SKILL = 0.15

_UNIFORM_BITS = 12
_QUANTILES = 1 << _UNIFORM_BITS
_STEPS = 10
_POISSON_TABLE_MAX = 40
_TENTHS_PER_SECOND = _STEPS / 60
_FORM_TENTHS_PER_SECOND = _ACTIVITY_FORM_SD * _TENTHS_PER_SECOND
_HIT_POINTS_PER_TENTH = HIT_POINTS / _STEPS
_RISK_PER_KILL = _RISK_PER_KILL_MINUTES * _STEPS


def _normal_quantiles() -> tuple[float, ...]:
    normal = NormalDist()
    return tuple(normal.inv_cdf((i + 0.5) / _QUANTILES) for i in range(_QUANTILES))


def _poisson_quantiles(mean: float) -> bytes:
    """The quantiles of the Poisson law of ``mean`` at probabilities (i + 0.5) / 4096, as 4096 bytes."""
    table = bytearray()
    term = cumulative = exp(-mean)
    k = 0
    while len(table) < _QUANTILES:
        covered = min(floor(cumulative * _QUANTILES + 0.5), _QUANTILES) if k < 255 else _QUANTILES
        table += bytes((k,)) * max(covered - len(table), 0)
        k += 1
        term *= mean / k
        cumulative += term
    return bytes(table)


_Z = _normal_quantiles()
"""Standard normal quantiles: ``_Z[bits(12)]`` is a normal draw."""
_POISSON = tuple(_poisson_quantiles(i / _STEPS) for i in range(_POISSON_TABLE_MAX * _STEPS))
"""Poisson quantiles by mean, in steps of 0.1: ``_POISSON[round(10 * mean)][bits(12)]`` is a Poisson draw."""
_TABLE_SIZE = len(_POISSON)
_CLOCK = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
_SECONDS = tuple(f"{s:02d}Z" for s in range(60))
_by_deaths = itemgetter("deaths")


class PlayerStats(TypedDict):
    """One player's statistics for one game; all values are non-negative ints."""

    attempted_attacks: int
    hits: int
    damage_done: int
    kills: int
    first_hit_kills: int
    assists: int
    spells_cast: int
    spell_damage: int
    time_played: int
    headshots: int
    deaths: int


class PlayerEntry(TypedDict):
    """A player in a team of a game report."""

    player_id: str
    stats: PlayerStats


class GameMetadata(TypedDict):
    """Free-form description of the game: its mode and map."""

    mode: str
    map: str


class GameReport(TypedDict):
    """A finished game in osmo's wire format (a plain, JSON-able dict)."""

    game_id: str
    started_at: str
    finished_at: str
    winner: int
    teams: list[list[PlayerEntry]]
    metadata: GameMetadata


@dataclass(frozen=True, slots=True)
class PlayerProfile:
    """A player's persistent style of play, the same in every game of a simulation.

    Rates are per minute played and must not be negative; probabilities are in ``[0, 1]``.
    """

    player_id: str
    attack_rate: float
    """Attempted weapon attacks per minute, in a game of average form."""
    accuracy: float
    """Probability that an attempted attack hits, in a game of average form."""
    headshot_rate: float
    """Probability that a hit is a headshot."""
    damage_per_hit: float
    """Weapon damage of a body hit; a headshot deals twice as much."""
    spell_rate: float
    """Spells cast per minute, in a game of average form."""
    spell_power: float
    """Damage of a spell."""
    lethality: float
    """Share of the damage dealt, counted in lives of 100 HP, that turns into the player's own kills."""
    finisher: float
    """Probability that a kill is made with the player's first hit on the victim."""
    support: float
    """Probability of assisting a teammate's kill, when playing the whole game."""
    exposure: float
    """Relative risk of dying per minute in action, compared with teammates; must be positive."""
    activity: float = 1.0
    """How often the player plays, relative to the others: their weight when players are drawn for a
    game; must be positive."""

    def __post_init__(self) -> None:
        rates = (self.attack_rate, self.damage_per_hit, self.spell_rate, self.spell_power)
        chances = (self.accuracy, self.headshot_rate, self.lethality, self.finisher, self.support)
        if not (
            all(0.0 <= rate < inf for rate in rates)
            and all(0.0 <= chance <= 1.0 for chance in chances)
            and 0.0 < self.exposure < inf
            and 0.0 < self.activity < inf
        ):
            raise ValueError(f"profile of {self.player_id!r} is out of range: {self!r}")


def make_profile(player_id: str, seed: int | None = None) -> PlayerProfile:
    """Derive the profile of ``player_id``; the same id and seed always give the same profile.

    Three traits shape a profile. *Skill* (a normal draw) makes a player more accurate, better at
    headshots, more lethal and less exposed. *Aggression* makes them attack more often and be more
    exposed. *Activity* (log-normal) sets how often they play: most players play a little, a few a lot.
    The other traits are independent.
    """
    rng = random.Random(f"osmo-simulation:{seed}:{player_id}")
    skill = _clipped_normal(rng)
    aggression = rng.random()
    return PlayerProfile(
        player_id=player_id,
        attack_rate=1.3 + 1.3 * aggression,
        accuracy=_chance(0.44 + 0.05 * skill + rng.uniform(-0.03, 0.03)),
        headshot_rate=_chance(0.14 + 0.035 * skill + rng.uniform(-0.04, 0.04)),
        damage_per_hit=rng.uniform(8.0, 10.5),
        spell_rate=rng.uniform(0.1, 1.0),
        spell_power=rng.uniform(12.0, 24.0),
        lethality=_chance(0.85 + 0.06 * skill + rng.uniform(-0.08, 0.08)),
        finisher=rng.uniform(0.1, 0.35),
        support=rng.uniform(0.15, 0.45),
        exposure=(0.85 + 0.3 * aggression) * exp(-_EXPOSURE_PER_SKILL * skill),
        activity=exp(_ACTIVITY_SD * _clipped_normal(rng)),
    )


def _clipped_normal(rng: random.Random) -> float:
    """A standard normal draw, clipped to [-2.5, 2.5]."""
    return min(max(rng.gauss(), -_CLIP), _CLIP)


def _chance(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def simulate_game(
    rng: random.Random,
    player_ids: Sequence[str],
    game_id: str,
    started_at: datetime,
    *,
    profiles: Mapping[str, PlayerProfile] | None = None,
    profile_seed: int | None = None,
) -> GameReport:
    """Simulate one game among players drawn from ``player_ids``, starting at ``started_at``.

    ``profiles`` gives the players' profiles; a player missing from it gets
    ``make_profile(player_id, profile_seed)``. A naive ``started_at`` is taken as UTC; it is truncated
    to whole seconds. Raises ``ValueError`` if ``player_ids`` holds fewer than 6 distinct players.
    """
    roster = _roster(player_ids)
    known = profiles or {}
    table = {pid: known.get(pid) or make_profile(pid, profile_seed) for pid in roster}
    duration = _uniform_int(rng, MIN_DURATION_S, MAX_DURATION_S)
    return _simulate(rng, _Lineup(roster, table), table, game_id, _epoch_seconds(started_at), duration)


class Simulator:
    """A stream of simulated games among a fixed roster; the seed fixes teams, stats and the gaps
    between games (the moment the games end at only shifts them in time).

    Game ids are fresh on every call to :meth:`games`, even with the same seed, so that two runs never
    collide in osmo; everything else in the reports repeats exactly for the same seed.
    Raises ``ValueError`` if ``player_ids`` holds fewer than 6 distinct players.
    """

    def __init__(self, seed: int | None, player_ids: Sequence[str]) -> None:
        roster = _roster(player_ids)
        self._seed = random.SystemRandom().getrandbits(64) if seed is None else seed
        self._rng = random.Random(self._seed)
        self._profiles = {pid: make_profile(pid, self._seed) for pid in roster}
        self._lineup = _Lineup(roster, self._profiles)

    @property
    def seed(self) -> int:
        """The seed in use (drawn at random when ``None`` was given)."""
        return self._seed

    @property
    def profiles(self) -> Mapping[str, PlayerProfile]:
        """The profile of every player of the roster."""
        return dict(self._profiles)

    def games(self, n: int, end: datetime) -> Iterator[GameReport]:
        """``n`` games, lazily, in chronological order, each 1 to 10 minutes after the last: the last one
        finishes at ``end`` (truncated to whole seconds), so that no game finishes after it.

        A naive ``end`` is taken as UTC. Successive calls continue the seeded stream; the seed fixes
        teams, stats and the gaps between games, and ``end`` only shifts them all in time.
        """
        if n < 0:
            raise ValueError(f"the number of games cannot be negative, got {n}")
        schedule = _Schedule(self._rng.getrandbits(64), n, _epoch_seconds(end))
        return self._stream(schedule, f"sim-{uuid.uuid4().hex[:12]}")

    def _stream(self, schedule: _Schedule, run: str) -> Iterator[GameReport]:
        rng, lineup, profiles = self._rng, self._lineup, self._profiles
        for i, (started, duration) in enumerate(schedule):
            yield _simulate(rng, lineup, profiles, f"{run}-{i}", started, duration)


class _Schedule:
    """When the games of a call to :meth:`Simulator.games` start and how long they last, in seconds.

    Durations and breaks are drawn from a generator of their own, twice: once to measure the span of
    the ``n`` games, so that the first can start early enough for the last to finish at ``end``, and
    once more, identically, while the games are played.
    """

    def __init__(self, seed: int, n: int, end: int) -> None:
        self._seed, self._n = seed, n
        span = 0
        for started, duration in self._draws(0):
            span = started + duration
        self._first = end - span

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return self._draws(self._first)

    def _draws(self, started: int) -> Iterator[tuple[int, int]]:
        rng = random.Random(self._seed)
        for _ in range(self._n):
            duration = _uniform_int(rng, MIN_DURATION_S, MAX_DURATION_S)
            yield started, duration
            started += duration + _uniform_int(rng, MIN_BREAK_S, MAX_BREAK_S)


class _Team(NamedTuple):
    """One team during a game, before its deaths and assists are settled."""

    ids: Sequence[str]
    members: list[PlayerProfile]
    stats: list[PlayerStats]
    risks: list[float]
    kills: int


def _roster(player_ids: Sequence[str]) -> tuple[str, ...]:
    roster = tuple(dict.fromkeys(player_ids))
    if len(roster) < MIN_PLAYERS:
        raise ValueError(f"a simulated game needs at least {MIN_PLAYERS} distinct players, got {len(roster)}")
    return roster


def _epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return floor(moment.replace(microsecond=0).timestamp())


def _iso(epoch: int) -> str:
    day, second = divmod(epoch, 86400)
    return _day_prefix(day) + _CLOCK[second // 60] + _SECONDS[second % 60]


@lru_cache(maxsize=64)
def _day_prefix(day: int) -> str:
    return f"{date(1970, 1, 1) + timedelta(days=day)}T"


def _uniform_int(rng: random.Random, low: int, high: int) -> int:
    """Like ``rng.randint(low, high)``, several times faster."""
    return low + floor(rng.random() * (high - low + 1))


class _Lineup:
    """The roster, each player weighted by their activity when players are drawn for a game."""

    __slots__ = ("cumulative", "ids", "total")

    def __init__(self, roster: Sequence[str], profiles: Mapping[str, PlayerProfile]) -> None:
        self.ids = tuple(roster)
        self.cumulative = list(accumulate(profiles[pid].activity for pid in self.ids))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random, count: int) -> list[str]:
        """``count`` distinct players in random order, drawn in proportion to their activity.

        A player already drawn is drawn again; should that happen too often (a roster barely larger
        than the game, where a few players are far more active than the others), the players left are
        drawn uniformly.
        """
        rnd, ids, cumulative, total, last = rng.random, self.ids, self.cumulative, self.total, len(self.ids) - 1
        drawn: list[str] = []
        for _ in range(_DRAW_ATTEMPTS * count):
            index = bisect_right(cumulative, rnd() * total)
            pid = ids[index if index < last else last]
            if pid not in drawn:
                drawn.append(pid)
                if len(drawn) == count:
                    break
        else:
            rest = [pid for pid in ids if pid not in drawn]
            for i in range(count - len(drawn)):
                j = i + floor(rnd() * (len(rest) - i))
                rest[i], rest[j] = rest[j], rest[i]
                drawn.append(rest[i])
        for i in range(count - 1, 0, -1):
            j = floor(rnd() * (i + 1))
            drawn[i], drawn[j] = drawn[j], drawn[i]
        return drawn


def _simulate(
    rng: random.Random,
    lineup: _Lineup,
    profiles: Mapping[str, PlayerProfile],
    game_id: str,
    started: int,
    duration: int,
) -> GameReport:
    """Draw one game of ``duration`` seconds starting at ``started`` (seconds since the epoch)."""
    size = _uniform_int(rng, MIN_TEAM_SIZE, min(MAX_TEAM_SIZE, len(lineup.ids) // 2))
    drawn = lineup.draw(rng, 2 * size)
    home = _play(rng, drawn[:size], profiles, duration)
    away = _play(rng, drawn[size:], profiles, duration)
    _settle(rng, home, away.kills, duration)
    _settle(rng, away, home.kills, duration)
    return {
        "game_id": game_id,
        "started_at": _iso(started),
        "finished_at": _iso(started + duration),
        "winner": _winner(rng, home, away),
        "teams": [_entries(home), _entries(away)],
        "metadata": {"mode": MODE, "map": MAPS[floor(rng.random() * len(MAPS))]},
    }


def _play(rng: random.Random, ids: Sequence[str], profiles: Mapping[str, PlayerProfile], duration: int) -> _Team:
    members = [profiles[pid] for pid in ids]
    stats: list[PlayerStats] = []
    risks: list[float] = []
    kills = 0
    for member in members:
        line, risk = _player_stats(rng, member, duration)
        stats.append(line)
        risks.append(risk)
        kills += line["kills"]
    return _Team(ids, members, stats, risks, kills)


def _player_stats(rng: random.Random, profile: PlayerProfile, duration: int) -> tuple[PlayerStats, float]:
    """Draw what a player did in a game, and their risk of dying; :func:`_settle` adds deaths and assists.

    ``action`` is the player's time in action: their time played, scaled by their form, in tenths of a
    minute. Means are counted in tenths, the step of the Poisson table, and ``bits(12)`` is a uniform
    index into a quantile table.
    """
    bits = rng.getrandbits
    played = duration if rng.random() >= _PARTIAL_GAME_RATE else _partial_time(rng, duration)
    action = played * (_TENTHS_PER_SECOND + _FORM_TENTHS_PER_SECOND * _Z[bits(12)])
    attacks = profile.attack_rate * action
    accuracy = profile.accuracy + _ACCURACY_FORM_SD * _Z[bits(12)]
    if not 0.0 <= accuracy <= 1.0:
        accuracy = min(max(accuracy, 0.0), 1.0)
    landed = attacks * accuracy
    aimed = landed * profile.headshot_rate
    i = floor(aimed + 0.5)
    headshots = _POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(aimed, bits(12))
    body = landed - aimed
    i = floor(body + 0.5)
    hits = headshots + (_POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(body, bits(12)))
    missed = attacks - landed
    i = floor(missed + 0.5)
    attempts = hits + (_POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(missed, bits(12)))
    cast = profile.spell_rate * action
    i = floor(cast + 0.5)
    spells = _POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(cast, bits(12))

    damage = floor((hits + headshots) * profile.damage_per_hit)
    spell_damage = floor(spells * profile.spell_power)
    lives = (damage + spell_damage) * profile.lethality / _HIT_POINTS_PER_TENTH
    finishes = lives * profile.finisher
    i = floor(finishes + 0.5)
    first_hit_kills = _POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(finishes, bits(12))
    lives -= finishes
    i = floor(lives + 0.5)
    kills = first_hit_kills + (_POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(lives, bits(12)))
    if kills > hits + spells or first_hit_kills > hits:
        first_hit_kills = min(first_hit_kills, hits)
        kills = min(kills, hits + spells)
    stats: PlayerStats = {
        "attempted_attacks": attempts,
        "hits": hits,
        "damage_done": damage,
        "kills": kills,
        "first_hit_kills": first_hit_kills,
        "assists": 0,
        "spells_cast": spells,
        "spell_damage": spell_damage,
        "time_played": played,
        "headshots": headshots,
        "deaths": 0,
    }
    return stats, profile.exposure * (action + _RISK_PER_KILL * kills)


def _large(tenths: float, index: int) -> int:
    """A Poisson draw beyond the table, for a mean of ``tenths / 10``: a rounded normal approximation."""
    mean = tenths / _STEPS
    return floor(mean + sqrt(mean) * _Z[index] + 0.5)


def _partial_time(rng: random.Random, duration: int) -> int:
    """The time played by someone who joined late or left early: 30% to 95% of the game."""
    return floor(duration * (0.3 + 0.65 * rng.random()))


def _settle(rng: random.Random, team: _Team, enemy_kills: int, duration: int) -> None:
    """Fill in a team's deaths and assists, once both teams' kills are known.

    Each player's deaths are a Poisson draw with their share of the enemy's kills as mean, in proportion
    to their risk; deaths are then added one per player in turn (the team's order is random), or taken
    back from the players who died most, until the team's deaths are exactly the enemy's kills.
    Each kill made by a teammate is assisted (at most once per player) with a probability that grows
    with the player's support profile and time played.
    """
    bits = rng.getrandbits
    death_scale = enemy_kills * _STEPS / sum(team.risks)
    assist_scale = _STEPS / duration
    deaths = 0
    for member, stats, risk in zip(team.members, team.stats, team.risks, strict=True):
        mean = risk * death_scale
        i = floor(mean + 0.5)
        died = _POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(mean, bits(12))
        stats["deaths"] = died
        deaths += died
        assistable = team.kills - stats["kills"]
        mean = assistable * member.support * stats["time_played"] * assist_scale
        i = floor(mean + 0.5)
        assists = _POISSON[i][bits(12)] if i < _TABLE_SIZE else _large(mean, bits(12))
        stats["assists"] = assists if assists < assistable else assistable
    while deaths < enemy_kills:
        for stats in team.stats[: enemy_kills - deaths]:
            stats["deaths"] += 1
            deaths += 1
    while deaths > enemy_kills:
        max(team.stats, key=_by_deaths)["deaths"] -= 1
        deaths -= 1


def _winner(rng: random.Random, home: _Team, away: _Team) -> int:
    """The team with more kills; then the one that dealt more damage; then a coin flip."""
    if home.kills != away.kills:
        return 0 if home.kills > away.kills else 1
    home_damage, away_damage = (
        sum(stats["damage_done"] + stats["spell_damage"] for stats in team.stats) for team in (home, away)
    )
    if home_damage != away_damage:
        return 0 if home_damage > away_damage else 1
    return floor(rng.random() * 2)


def _entries(team: _Team) -> list[PlayerEntry]:
    return [{"player_id": pid, "stats": stats} for pid, stats in zip(team.ids, team.stats, strict=True)]
