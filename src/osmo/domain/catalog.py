"""The catalog: which statistics a game line carries and which awards exist. Catalogs are data.

A catalog is read from TOML tables (``[stats.<id>]`` and ``[awards.<id>]``); a user catalog overrides
the built-in one key by key. This module turns such tables into checked, compiled definitions.

Limits, checked when a catalog is built (every error names the file, and the entry where there is one):
at most ``MAX_STATS`` (200) stats, so the careers table (5 + 2 columns a stat, plus the key columns) stays far
below the column limits of PostgreSQL (1,600) and SQLite (2,000); at most ``MAX_AWARDS`` (500) awards; a
``level`` between 1 and ``MAX_LEVEL`` (1,000); and the limits of the rule language (``osmo.domain.rules``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from osmo.domain import rules
from osmo.domain.errors import InvalidCatalog

ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
TIERS = ("bronze", "silver", "gold")
RESERVED_STATS = frozenset({"won", "duration", "win_streak"})
STAT_FIELDS = frozenset({"description", "at_most"})
AWARD_FIELDS = frozenset(
    {"name", "description", "rule", "tier", "hidden", "family", "level", "progress", "retired"}
)
CAREER_BASE = ("games_played", "wins", "losses", "current_win_streak", "best_win_streak")
MAX_STATS = 200
MAX_AWARDS = 500
MAX_LEVEL = 1_000

Vector = tuple[int, ...] | list[int]


@dataclass(frozen=True, slots=True)
class StatDef:
    """A per-game statistic. ``at_most`` names another stat (or ``duration``, in seconds) it cannot exceed."""

    id: str
    description: str = ""
    at_most: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"description": self.description}
        if self.at_most is not None:
            data["at_most"] = self.at_most
        return data


@dataclass(frozen=True, slots=True)
class AwardDef:
    """An award: its rule is granted at most once per player, at the first game where it holds."""

    id: str
    name: str
    description: str
    rule: str
    tier: str | None = None
    hidden: bool = False
    family: str | None = None
    level: int | None = None
    progress: str | None = None
    retired: bool = False

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "description": self.description, "rule": self.rule}
        for key in ("tier", "family", "level", "progress"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.hidden:
            data["hidden"] = True
        if self.retired:
            data["retired"] = True
        return data


@dataclass(frozen=True, slots=True)
class CompiledAward:
    definition: AwardDef
    node: rules.Node
    progress: rules.ProgressSpec | None
    progress_value: Callable[[Vector], float | None] | None

    @property
    def id(self) -> str:
        return self.definition.id


@dataclass(frozen=True)
class Catalog:
    """A checked catalog with its rules compiled against the stat layout it defines.

    Game values are a vector ``(stat_1, ..., stat_n, won)``; career values a vector
    ``(games_played, wins, losses, current_win_streak, best_win_streak, total_1..n, best_1..n)``.
    """

    stats: tuple[StatDef, ...]
    awards: tuple[AwardDef, ...]
    version: int = 0
    game_names: tuple[str, ...] = field(init=False)
    career_names: tuple[str, ...] = field(init=False)
    compiled: tuple[CompiledAward, ...] = field(init=False, compare=False, repr=False)
    fold: Callable[[Vector, Vector, bool], tuple[int, ...]] = field(init=False, repr=False, compare=False)
    stat_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    bounds: tuple[tuple[int, str, int | None], ...] = field(init=False, repr=False, compare=False)
    evaluate: Callable[[Vector, Vector, Collection[str]], list[str]] = field(
        init=False, repr=False, compare=False)
    stat_set: frozenset[str] = field(init=False, repr=False, compare=False)
    within_bounds: Callable[[Vector, float], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stat_ids = tuple(s.id for s in self.stats)
        object.__setattr__(self, "stat_ids", stat_ids)
        object.__setattr__(self, "bounds", tuple(
            (i, s.id, None if s.at_most == "duration" else stat_ids.index(s.at_most))
            for i, s in enumerate(self.stats) if s.at_most is not None and s.at_most in (*stat_ids, "duration")))
        object.__setattr__(self, "game_names", (*stat_ids, "won"))
        object.__setattr__(
            self,
            "career_names",
            (*CAREER_BASE, *(f"total_{s}" for s in stat_ids), *(f"best_{s}" for s in stat_ids)),
        )
        object.__setattr__(self, "compiled", tuple(self._compile(a) for a in self.awards))
        object.__setattr__(self, "stat_set", frozenset(stat_ids))
        object.__setattr__(self, "within_bounds", _compile_bounds(self.bounds))
        object.__setattr__(self, "fold", _compile_fold(len(stat_ids)))
        object.__setattr__(self, "evaluate", self._compile_evaluate())

    def names(self) -> dict[rules.Scope, frozenset[str]]:
        return {"game": frozenset(self.game_names), "career": frozenset(self.career_names)}

    def award(self, award_id: str) -> CompiledAward | None:
        for award in self.compiled:
            if award.id == award_id:
                return award
        return None

    def active(self) -> tuple[CompiledAward, ...]:
        return tuple(a for a in self.compiled if not a.definition.retired)

    def _compile_evaluate(self) -> Callable[[Vector, Vector, Collection[str]], list[str]]:
        """``evaluate(game, career, owned)``: the active awards not in ``owned`` whose rule holds,
        compiled from the checked rules into one function (one call per player line)."""
        game_index = {name: i for i, name in enumerate(self.game_names)}
        career_index = {name: i for i, name in enumerate(self.career_names)}

        def ref(r: rules.Ref) -> str:
            return f"g[{game_index[r.name]}]" if r.scope == "game" else f"c[{career_index[r.name]}]"

        body = ["def evaluate(g, c, owned):", "    out = []"]
        for award in self.active():
            body.append(f"    if {award.id!r} not in owned and {rules.to_python_source(award.node, ref)}:")
            body.append(f"        out.append({award.id!r})")
        body.append("    return out")
        namespace: dict[str, Any] = {"__builtins__": {"False": False}}
        exec(compile("\n".join(body) + "\n", "<awards>", "exec"), namespace)
        evaluate: Callable[[Vector, Vector, Collection[str]], list[str]] = namespace["evaluate"]
        return evaluate

    def _compile(self, award: AwardDef) -> CompiledAward:
        names = self.names()
        career_index = {name: i for i, name in enumerate(self.career_names)}
        try:
            node = rules.parse(award.rule, names)
        except rules.RuleSyntaxError as error:
            raise InvalidCatalog(f"award {award.id!r}: rule {_quote(award.rule)}: {error}") from None
        progress = rules.progress_of(node)
        if award.progress is not None:
            try:
                declared = rules.parse(award.progress, names)
            except rules.RuleSyntaxError as error:
                raise InvalidCatalog(f"award {award.id!r}: progress {_quote(award.progress)}: {error}") from None
            progress = rules.progress_of(declared)
            if progress is None:
                raise InvalidCatalog(
                    f"award {award.id!r}: progress {award.progress!r} must read '<career expression> >= N'"
                    " or '> N' with a number N"
                )
        value = rules.compile_value(progress.expression, career_index) if progress else None
        return CompiledAward(award, node, progress, value)

    def to_data(self) -> dict[str, Any]:
        """The catalog as plain data, in a canonical form (what is stored in CatalogChanged)."""
        return {
            "stats": {s.id: s.to_data() for s in self.stats},
            "awards": {a.id: a.to_data() for a in self.awards},
        }


def _quote(text: str, limit: int = 120) -> str:
    """``text`` quoted for an error message, shortened when long (a rule can be up to 1,000 characters)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _compile_bounds(bounds: tuple[tuple[int, str, int | None], ...]) -> Callable[[Vector, float], bool]:
    """``within_bounds(values, duration)``: whether every ``at_most`` invariant holds, in one call."""
    checks = [f"v[{i}] <= {'duration' if bound is None else f'v[{bound}]'}" for i, _, bound in bounds]
    source = f"lambda v, duration: {' and '.join(checks) or 'True'}"
    within: Callable[[Vector, float], bool] = eval(compile(source, "<bounds>", "eval"), {"__builtins__": {}})
    return within


def _compile_fold(n: int) -> Callable[[Vector, Vector, bool], tuple[int, ...]]:
    """``fold(career, values, won)``: the career after one more game, as straight-line code for n stats.

    Career layout: games_played, wins, losses, current_win_streak, best_win_streak, total_<stat>...,
    best_<stat>... (tests/unit/test_career_properties.py checks it against a plain reference fold).
    """
    base = len(CAREER_BASE)
    rest = "".join(
        [f", c[{base + i}] + v[{i}]" for i in range(n)]
        + [f", c[{base + n + i}] if c[{base + n + i}] > v[{i}] else v[{i}]" for i in range(n)])
    source = (
        "def fold(c, v, won):\n"
        "    if won:\n"
        "        s = c[3] + 1\n"
        f"        return (c[0] + 1, c[1] + 1, c[2], s, s if s > c[4] else c[4]{rest})\n"
        f"    return (c[0] + 1, c[1], c[2] + 1, 0, c[4]{rest})\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<fold>", "exec"), namespace)
    fold: Callable[[Vector, Vector, bool], tuple[int, ...]] = namespace["fold"]
    return fold


def _expect(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise InvalidCatalog(f"{where}: {message}")


def _stat(stat_id: str, table: Any, where: str) -> StatDef:
    _expect(isinstance(table, Mapping), where, "must be a table")
    unknown = set(table) - STAT_FIELDS
    _expect(not unknown, where, f"unknown field(s) {', '.join(sorted(unknown))}")
    description = table.get("description", "")
    at_most = table.get("at_most")
    _expect(isinstance(description, str), where, "description must be a string")
    _expect(at_most is None or isinstance(at_most, str), where, "at_most must be a stat id or 'duration'")
    return StatDef(stat_id, description, at_most)


def _award(award_id: str, table: Any, where: str) -> AwardDef:
    _expect(isinstance(table, Mapping), where, "must be a table")
    unknown = set(table) - AWARD_FIELDS
    _expect(not unknown, where, f"unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("name", "description", "rule"):
        _expect(isinstance(table.get(key), str) and table[key].strip() != "", where, f"{key} is required (a string)")
    tier = table.get("tier")
    _expect(tier is None or tier in TIERS, where, f"tier must be one of {', '.join(TIERS)}")
    for key in ("hidden", "retired"):
        _expect(isinstance(table.get(key, False), bool), where, f"{key} must be true or false")
    family, level = table.get("family"), table.get("level")
    _expect(family is None or (isinstance(family, str) and bool(ID_PATTERN.fullmatch(family))), where,
            "family must be an id (lowercase letters, digits, _)")
    _expect(level is None or (type(level) is int and 1 <= level <= MAX_LEVEL), where,
            f"level must be an integer from 1 to {MAX_LEVEL}")
    _expect((family is None) == (level is None), where, "family and level go together")
    progress = table.get("progress")
    _expect(progress is None or isinstance(progress, str), where, "progress must be a string")
    return AwardDef(
        award_id, table["name"], table["description"], table["rule"], tier,
        table.get("hidden", False), family, level, progress, table.get("retired", False),
    )


def build_catalog(layers: list[tuple[str, Mapping[str, Any]]], version: int = 0) -> Catalog:
    """Merge catalog layers (``(source name, parsed TOML)``, later ones override by id) and check them.

    Every error names the source file and the entry it is about.
    """
    stat_tables: dict[str, tuple[str, Any]] = {}
    award_tables: dict[str, tuple[str, Any]] = {}
    for source, data in layers:
        _expect(isinstance(data, Mapping), source, "a catalog is a table with [stats] and [awards]")
        unknown = set(data) - {"stats", "awards"}
        _expect(not unknown, source, f"unknown top-level table(s) {', '.join(sorted(unknown))}")
        for kind, target, limit in (("stats", stat_tables, MAX_STATS), ("awards", award_tables, MAX_AWARDS)):
            tables = data.get(kind, {})
            _expect(isinstance(tables, Mapping), source, f"[{kind}] must be a table of tables")
            for entry_id, table in tables.items():
                where = f"{source}: {kind[:-1]} {entry_id!r}"
                _expect(isinstance(entry_id, str) and bool(ID_PATTERN.fullmatch(entry_id)), where,
                        "ids are lowercase letters, digits and _ (at most 40, starting with a letter)")
                _expect(entry_id in target or len(target) < limit, where,
                        f"a catalog has at most {limit} {kind} (the built-in ones included)")
                target[entry_id] = (source, table)
    stats = []
    for stat_id, (source, table) in stat_tables.items():
        where = f"{source}: stat {stat_id!r}"
        _expect(stat_id not in RESERVED_STATS, where, f"{stat_id!r} is reserved")
        stats.append(_stat(stat_id, table, where))
    ids = {s.id for s in stats}
    for stat in stats:
        where = f"{stat_tables[stat.id][0]}: stat {stat.id!r}"
        _expect(stat.at_most is None or stat.at_most in ids | {"duration"}, where,
                f"at_most names unknown stat {stat.at_most!r}")
        _expect(stat.at_most != stat.id, where, "a stat cannot be bounded by itself")
    awards = [_award(a, t, f"{s}: award {a!r}") for a, (s, t) in award_tables.items()]
    try:
        return Catalog(tuple(stats), tuple(awards), version)
    except InvalidCatalog as error:
        award_id = str(error).split("'")[1] if "'" in str(error) else ""
        source = award_tables.get(award_id, ("catalog", None))[0]
        raise InvalidCatalog(f"{source}: {error}") from None


def catalog_from_data(data: Mapping[str, Any], version: int) -> Catalog:
    """A catalog stored as data (the payload of CatalogChanged)."""
    return build_catalog([(f"stored catalog v{version}", data)], version)
