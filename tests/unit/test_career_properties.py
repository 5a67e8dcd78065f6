"""Properties of the career fold (compiled vs reference vs a naive recount)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.domain import career as careers
from osmo.domain.catalog import CAREER_BASE, Catalog, StatDef
from osmo.domain.games import MAX_STAT
from tests.unit.support import PROPERTY, QUICK_PROPERTY, shipped_catalog

FOLD_PROPERTY = settings(PROPERTY, max_examples=100)
LIGHT_PROPERTY = settings(PROPERTY, max_examples=30)

CATALOG = shipped_catalog()
N = len(CATALOG.stat_ids)

Played = tuple[tuple[int, ...], bool]

stat_value = st.one_of(st.just(0), st.integers(0, 100), st.integers(0, MAX_STAT))


def reference_fold(career: careers.Career, values: tuple[int, ...], won: bool) -> careers.Career:
    """The career after one more game, written plainly: the independent reference for ``Catalog.fold``.

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


def played_games(n: int = N) -> st.SearchStrategy[list[Played]]:
    return st.lists(st.tuples(st.tuples(*[stat_value] * n), st.booleans()), max_size=25)


def replay(games: Sequence[Played], catalog: Catalog = CATALOG) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The career after ``games``, by the compiled fold and by the reference fold."""
    compiled = reference = careers.empty_career(catalog)
    for values, won in games:
        compiled = catalog.fold(compiled, values, won)
        reference = reference_fold(reference, values, won)
    return compiled, reference


def longest_run(flags: Sequence[bool]) -> int:
    best = 0
    for start in range(len(flags)):
        end = start
        while end < len(flags) and flags[end]:
            end += 1
        best = max(best, end - start)
    return best


def trailing_run(flags: Sequence[bool]) -> int:
    count = 0
    for flag in reversed(flags):
        if not flag:
            break
        count += 1
    return count


class TestCompiledFold:
    @FOLD_PROPERTY
    @given(games=played_games())
    def test_it_equals_the_reference_fold_after_every_game(self, games: list[Played]) -> None:
        compiled = reference = careers.empty_career(CATALOG)
        for values, won in games:
            compiled = CATALOG.fold(compiled, values, won)
            reference = reference_fold(reference, values, won)
            assert compiled == reference
            assert type(compiled) is tuple

    @QUICK_PROPERTY
    @given(start=st.tuples(*[st.integers(0, 10**9)] * len(CATALOG.career_names)),
           values=st.tuples(*[stat_value] * N), won=st.booleans())
    def test_it_equals_the_reference_fold_from_any_career(self, start: tuple[int, ...], values: tuple[int, ...],
                                                           won: bool) -> None:
        assert CATALOG.fold(start, values, won) == reference_fold(start, values, won)

    @LIGHT_PROPERTY
    @given(n=st.integers(1, 4), data=st.data())
    def test_it_equals_the_reference_fold_for_any_number_of_stats(self, n: int, data: st.DataObject) -> None:
        catalog = Catalog(tuple(StatDef(f"s{i}") for i in range(n)), ())
        compiled, reference = replay(data.draw(played_games(n)), catalog)
        assert compiled == reference
        assert len(compiled) == len(catalog.career_names)


class TestCareerTotals:
    @FOLD_PROPERTY
    @given(games=played_games())
    def test_the_career_matches_a_naive_recount(self, games: list[Played]) -> None:
        career, _ = replay(games)
        named = careers.as_dict(career, CATALOG)
        wins = [won for _, won in games]
        assert named["games_played"] == len(games)
        assert named["wins"] == sum(wins)
        assert named["losses"] == len(games) - sum(wins)
        assert named["games_played"] == named["wins"] + named["losses"]
        assert named["best_win_streak"] == longest_run(wins)
        assert named["current_win_streak"] == trailing_run(wins)
        assert 0 <= named["current_win_streak"] <= named["best_win_streak"] <= named["wins"]
        for i, stat in enumerate(CATALOG.stat_ids):
            column = [values[i] for values, _ in games]
            assert named[f"total_{stat}"] == sum(column)
            assert named[f"best_{stat}"] == max(column, default=0)

    def test_an_empty_career_is_all_zeros(self) -> None:
        assert careers.empty_career(CATALOG) == (0,) * len(CATALOG.career_names)

    def test_a_loss_resets_the_current_streak_but_keeps_the_best(self) -> None:
        career, _ = replay([((0,) * N, True), ((0,) * N, True), ((0,) * N, False)])
        named = careers.as_dict(career, CATALOG)
        assert (named["current_win_streak"], named["best_win_streak"]) == (0, 2)

    def test_the_game_vector_ends_with_won(self) -> None:
        assert careers.game_vector((3, 4), True) == (3, 4, 1)
        assert careers.game_vector((3, 4), False) == (3, 4, 0)

    @LIGHT_PROPERTY
    @given(games=played_games())
    def test_a_career_read_back_by_name_is_the_same(self, games: list[Played]) -> None:
        career, _ = replay(games)
        assert careers.from_mapping(careers.as_dict(career, CATALOG), CATALOG) == career

    def test_names_a_stored_career_lacks_read_back_as_zero(self) -> None:
        career = careers.from_mapping({"games_played": 3, "wins": 2}, CATALOG)
        assert careers.as_dict(career, CATALOG) == {
            name: {"games_played": 3, "wins": 2}.get(name, 0) for name in CATALOG.career_names}

