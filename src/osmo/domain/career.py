"""Careers: every player's historical statistics, folded game by game in recorded order."""

from __future__ import annotations

from osmo.domain.catalog import CAREER_BASE, Catalog

Career = tuple[int, ...]


def empty_career(catalog: Catalog) -> Career:
    return (0,) * len(catalog.career_names)


def game_vector(values: tuple[int, ...], won: bool) -> tuple[int, ...]:
    """The ``game.*`` values of a line: its stats in catalog order, then ``won`` (0 or 1)."""
    return (*values, 1 if won else 0)


def fold(career: Career, values: tuple[int, ...], won: bool) -> Career:
    """The career after one more game with these stat values.

    Layout (see Catalog): games_played, wins, losses, current_win_streak, best_win_streak,
    total_<stat>..., best_<stat>...
    """
    n = len(values)
    base = len(CAREER_BASE)
    totals = career[base:base + n]
    bests = career[base + n:]
    games, wins, losses, streak, best_streak = career[:base]
    if won:
        wins += 1
        streak += 1
        best_streak = max(best_streak, streak)
    else:
        losses += 1
        streak = 0
    return (
        games + 1, wins, losses, streak, best_streak,
        *[t + v for t, v in zip(totals, values, strict=True)],
        *[b if b > v else v for b, v in zip(bests, values, strict=True)],
    )


def as_dict(career: Career, catalog: Catalog) -> dict[str, int]:
    return dict(zip(catalog.career_names, career, strict=True))


def from_mapping(values: dict[str, int], catalog: Catalog) -> Career:
    """A career read back by name; names the catalog gained since are 0."""
    return tuple(values.get(name, 0) for name in catalog.career_names)
