"""Properties of the rule language over random well-typed rules and random stat vectors.

An independent reference interpreter (eager, no short-circuit: any zero divisor makes the rule
false) is the oracle; ``render``/``parse``, the compiled Python and the SQLite translation must all
agree with it. Numbers stay small (integers 0..50, decimals with at most two places, at most 8
leaves per side) so every integer is exact and every float operation is the same IEEE double on
both sides.
"""

from __future__ import annotations

import math
import operator
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing

from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.domain import rules
from osmo.domain.rules import Arith, BoolOp, Compare, Neg, Node, Not, Num, Ref
from tests.unit.support import PROPERTY

TREE_PROPERTY = settings(PROPERTY, max_examples=100)

GAME = ("kills", "deaths", "hits")
CAREER = ("wins", "games_played")
NAMES: Mapping[rules.Scope, frozenset[str]] = {"game": frozenset(GAME), "career": frozenset(CAREER)}
GAME_INDEX = {name: i for i, name in enumerate(GAME)}
CAREER_INDEX = {name: i for i, name in enumerate(CAREER)}
COLUMNS = [f"g_{n}" for n in GAME] + [f"c_{n}" for n in CAREER]

Vector = tuple[tuple[int, ...], tuple[int, ...]]

_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


# -- the oracle -----------------------------------------------------------------------------------

def _value(node: Node, game: Mapping[str, int], career: Mapping[str, int]) -> float | bool:
    """Evaluate every sub-expression (no short-circuit); a zero divisor raises ZeroDivisionError."""
    match node:
        case Num(value):
            return value
        case Ref("game", name):
            return game[name]
        case Ref(_, name):
            return career[name]
        case Neg(operand):
            return -_value(operand, game, career)
        case Arith(op, left, right):
            return _ARITH[op](_value(left, game, career), _value(right, game, career))
        case Compare(op, left, right):
            return _COMPARE[op](_value(left, game, career), _value(right, game, career))
        case BoolOp(op, operands):
            values = [bool(_value(o, game, career)) for o in operands]
            return all(values) if op == "and" else any(values)
        case Not(operand):
            return not _value(operand, game, career)
    raise AssertionError(node)


def reference(node: Node, game_values: Sequence[int], career_values: Sequence[int]) -> bool:
    game, career = dict(zip(GAME, game_values, strict=True)), dict(zip(CAREER, career_values, strict=True))
    try:
        return bool(_value(node, game, career))
    except ZeroDivisionError:
        return False


def _some_divisor_is_zero(node: Node, game_values: Sequence[int], career_values: Sequence[int]) -> bool:
    game, career = dict(zip(GAME, game_values, strict=True)), dict(zip(CAREER, career_values, strict=True))
    try:
        return any(_value(divisor, game, career) == 0 for divisor in rules.denominators(node))
    except ZeroDivisionError:  # a divisor itself divides by zero
        return True


# -- strategies ---------------------------------------------------------------------------------

integers = st.integers(0, 50).map(Num)
decimals = st.integers(0, 5099).map(lambda n: Num(float(f"{n // 100}.{n % 100:02d}")))
names = st.sampled_from([Ref("game", n) for n in GAME] + [Ref("career", n) for n in CAREER])
leaves = st.one_of(names, integers, decimals)


def numbers(depth: int) -> st.SearchStrategy[Node]:
    """Numeric expressions of at most ``depth`` levels (so at most 2**depth leaves)."""
    if depth == 0:
        return leaves
    inner = numbers(depth - 1)
    return st.one_of(
        leaves,
        st.builds(Neg, inner),
        st.builds(Arith, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        # divisions by a name are where the zero-divisor semantics live: make them frequent
        st.builds(Arith, st.just("/"), inner, names),
    )


def conditions(depth: int) -> st.SearchStrategy[Node]:
    compare = st.builds(Compare, st.sampled_from(list(rules.COMPARISONS)), numbers(3), numbers(3))
    if depth == 0:
        return compare
    inner = conditions(depth - 1)
    return st.one_of(
        compare,
        st.builds(Not, inner),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple)),
    )


trees = conditions(2)
stat_value = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 50))
vectors = st.tuples(st.tuples(*[stat_value] * len(GAME)), st.tuples(*[stat_value] * len(CAREER)))
vector_lists = st.lists(vectors, min_size=1, max_size=6)


# -- helpers ------------------------------------------------------------------------------------

def compiled(node: Node) -> Callable[[tuple[int, ...], tuple[int, ...]], bool]:
    return rules.compile_python(node, GAME_INDEX, CAREER_INDEX)


def column(ref: Ref) -> str:
    return f"{ref.scope[0]}_{ref.name}"


def sqlite_results(node: Node, rows: Sequence[Vector]) -> tuple[list[object], set[int], set[int]]:
    """The rule as a SELECT expression per row, and the ids a WHERE and a WHERE NOT select."""
    sql = rules.to_sql(node, column, dialect="sqlite")
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {', '.join(f'{c} INTEGER' for c in COLUMNS)})")
        db.executemany(f"INSERT INTO t VALUES (?, {', '.join('?' * len(COLUMNS))})",
                       [(i, *game, *career) for i, (game, career) in enumerate(rows)])
        selected = [value for (value,) in db.execute(f"SELECT {sql} FROM t ORDER BY id")]
        where = {i for (i,) in db.execute(f"SELECT id FROM t WHERE {sql}")}
        where_not = {i for (i,) in db.execute(f"SELECT id FROM t WHERE NOT {sql}")}
    return selected, where, where_not


# -- properties ---------------------------------------------------------------------------------

class TestRenderAndParse:
    @TREE_PROPERTY
    @given(tree=trees, rows=vector_lists)
    def test_a_rendered_tree_parses_back_to_itself_and_evaluates_like_it(self, tree: Node,
                                                                         rows: list[Vector]) -> None:
        reparsed = rules.parse(rules.render(tree), NAMES)
        assert reparsed == tree
        function = compiled(reparsed)
        for game, career in rows:
            assert function(game, career) is reference(tree, game, career)


class TestCompiledPython:
    @TREE_PROPERTY
    @given(tree=trees, rows=vector_lists)
    def test_the_compiled_function_agrees_with_the_reference(self, tree: Node, rows: list[Vector]) -> None:
        function = compiled(tree)
        for game, career in rows:
            result = function(game, career)
            assert result is reference(tree, game, career)
            if _some_divisor_is_zero(tree, game, career):
                assert result is False


class TestSqlite:
    @TREE_PROPERTY
    @given(tree=trees, rows=vector_lists)
    def test_sql_agrees_with_python_and_is_never_null(self, tree: Node, rows: list[Vector]) -> None:
        function = compiled(tree)
        expected = [function(game, career) for game, career in rows]
        assert expected == [reference(tree, game, career) for game, career in rows]
        selected, where, where_not = sqlite_results(tree, rows)
        assert all(type(value) is int and value in (0, 1) for value in selected), selected
        assert [bool(value) for value in selected] == expected
        assert where == {i for i, value in enumerate(expected) if value}
        assert where_not == {i for i, value in enumerate(expected) if not value}


class TestProgressProperties:
    @PROPERTY
    @given(op=st.sampled_from([">=", ">"]), bound=st.one_of(st.integers(0, 10_000), decimals.map(lambda n: n.value)),
           name=st.sampled_from(CAREER))
    def test_the_target_splits_the_integers_exactly_where_the_rule_does(self, op: str, bound: float,
                                                                         name: str) -> None:
        node = rules.parse(f"career.{name} {op} {bound!r}", NAMES)
        progress = rules.progress_of(node)
        assert progress is not None
        function = compiled(node)
        index = CAREER_INDEX[name]
        for value in range(max(0, math.floor(bound) - 2), math.ceil(bound) + 3):
            career = tuple(value if i == index else 0 for i in range(len(CAREER)))
            assert function((0,) * len(GAME), career) is (value >= progress.target)
