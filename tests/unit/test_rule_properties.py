"""Properties of the rule language over random well-typed rules and random stat vectors.

Three independent evaluators must agree: a reference interpreter written here (eager, no short-circuit:
any zero divisor makes the rule false), the compiled Python that live recording uses, and the numpy
evaluation of backfill and explain (``rule_arrays``). The first properties keep numbers small; the
``TestBulkEvaluation`` ones use the whole int64 range (values up to +-2**63, around 2**53 where floats stop
being exact, and at 2**62) and literals at the limits (10**15, 15 significant digits, 10**-15).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from osmo.application import rule_arrays
from osmo.domain import rules
from osmo.domain.catalog import Catalog
from osmo.domain.rules import Arith, BoolOp, Compare, Neg, Node, Not, Num, Ref
from tests.unit.support import PROPERTY, career_of, catalog_with, game_of, shipped_catalog

TREE_PROPERTY = settings(PROPERTY, max_examples=100)

GAME = ("kills", "deaths", "hits")
CAREER = ("wins", "games_played")
NAMES: Mapping[rules.Scope, frozenset[str]] = {"game": frozenset(GAME), "career": frozenset(CAREER)}
GAME_INDEX = {name: i for i, name in enumerate(GAME)}
CAREER_INDEX = {name: i for i, name in enumerate(CAREER)}

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


def bulk(node: Node, rows: Sequence[Vector]) -> list[bool]:
    """The rule over the rows as numpy columns, the way backfill and explain evaluate it."""
    game = np.array([g for g, _ in rows], dtype=np.int64).reshape(len(rows), len(GAME))
    career = np.array([c for _, c in rows], dtype=np.int64).reshape(len(rows), len(CAREER))

    def column(ref: Ref) -> npt.NDArray[np.int64]:
        return game[:, GAME_INDEX[ref.name]] if ref.scope == "game" else career[:, CAREER_INDEX[ref.name]]

    result = rule_arrays.evaluate(node, column, len(rows))
    assert result.dtype == np.bool_ and result.shape == (len(rows),)
    return [bool(value) for value in result]


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


class TestBulkAgreesWithPython:
    @TREE_PROPERTY
    @given(tree=trees, rows=vector_lists)
    def test_small_values(self, tree: Node, rows: list[Vector]) -> None:
        function = compiled(tree)
        assert bulk(tree, rows) == [function(game, career) for game, career in rows]


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


# -- wide values: rule_arrays against the compiled Python ---------------------------------------------

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _decimal_text(significand: int, places: int) -> str:
    if places == 0:
        return f"{significand}.0"
    return f"{significand // 10**places}.{significand % 10**places:0{places}d}"


wide_integers = st.one_of(
    st.integers(0, 50), st.integers(0, rules.MAX_NUMBER),
    st.sampled_from([rules.MAX_NUMBER, rules.MAX_NUMBER - 1, 123_456_789_012_345, 2**49, 0, 1, 2, 3]),
).map(Num)
wide_decimals = st.one_of(
    st.builds(_decimal_text, st.integers(0, 10**rules.MAX_DIGITS - 1), st.integers(0, rules.MAX_DIGITS)),
    st.sampled_from(["1000000000000000.0", "999999999999999.0", "0.000000000000001", "0.5", "0.75", "2.0",
                     "0.1", "123456789.012345", "9007199254.740993"]),
).map(lambda text: Num(float(text)))
wide_leaves = st.one_of(names, names, wide_integers, wide_decimals,
                        st.sampled_from([Num(1), Num(2), Num(1.0), Num(0.5)]))


def wide_numbers(depth: int) -> st.SearchStrategy[Node]:
    if depth == 0:
        return wide_leaves
    inner = wide_numbers(depth - 1)
    return st.one_of(
        wide_leaves,
        st.builds(Neg, inner),
        st.builds(Arith, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        st.builds(Arith, st.sampled_from(["*", "*", "+", "-"]), names, names),  # products of stats overflow int64
        st.builds(Arith, st.just("/"), inner, names),
        st.builds(Arith, st.just("/"), names, names),
        st.builds(Neg, names),  # -(-2**63) is 2**63, beyond int64
    )


_TWISTS: list[Callable[[Node], Node]] = [
    lambda e: Arith("*", e, Num(1.0)), lambda e: Arith("+", e, Num(0.5)), lambda e: Arith("/", e, Num(1)),
    lambda e: Arith("-", e, Num(1.0)), lambda e: Arith("/", Arith("*", e, Num(3)), Num(3)),
    lambda e: Arith("*", Arith("/", e, Num(2)), Num(2.0)), lambda e: Arith("+", e, Num(1)),
]


def _tight(op: str, expression: Node, twist: Callable[[Node], Node], flip: bool) -> Node:
    """A comparison of an expression with a float or integer twist of itself: it is decided by the last bits."""
    other = twist(expression)
    return Compare(op, other, expression) if flip else Compare(op, expression, other)


def wide_conditions(depth: int) -> st.SearchStrategy[Node]:
    operators = st.sampled_from(list(rules.COMPARISONS))
    compare = st.one_of(
        st.builds(Compare, operators, wide_numbers(3), wide_numbers(3)),
        st.builds(_tight, operators, wide_numbers(2), st.sampled_from(_TWISTS), st.booleans()),
        st.builds(Compare, operators, st.builds(Arith, st.just("/"), names, names), wide_numbers(1)),
    )
    if depth == 0:
        return compare
    inner = wide_conditions(depth - 1)
    return st.one_of(
        compare,
        st.builds(Not, inner),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple)),
    )


def _around(center: int, width: int = 4) -> st.SearchStrategy[int]:
    return st.integers(max(INT64_MIN, center - width), min(INT64_MAX, center + width))


_EDGES = [0, 0, 1, -1, 2, 3, INT64_MIN, INT64_MAX, INT64_MIN + 1, 2**62, -(2**62), 2**53, -(2**53), 2**53 + 1,
          2**32, 4_000_000_000, 3_037_000_499, 3_037_000_500, 2**31 - 1, 94_906_265, 94_906_266]
small_values = st.one_of(st.just(0), st.integers(-3, 3), st.integers(0, 2**31 - 1))
wide_values = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-(2**62), 2**62),
    _around(2**53), _around(-(2**53)), _around(2**62), _around(INT64_MAX), _around(INT64_MIN),
    st.integers(-(2**53), 2**53),
    # odd and beyond 2**54: never exactly a float64, so every conversion rounds
    st.integers(2**54, INT64_MAX).map(lambda v: v | 1), st.integers(INT64_MIN, -(2**54)).map(lambda v: v | 1),
    small_values,
)
# one profile per example, so that some calls stay within the fast ranges and some do not
value_profiles = st.sampled_from([
    small_values, wide_values, st.one_of(_around(2**53), st.just(0), st.just(1)),
    st.sampled_from([INT64_MIN, INT64_MAX, INT64_MIN + 1, 0, 0, 1, -1, 3, 2**53 + 1, -(2**53) - 1, 2**62 + 513]),
])


@st.composite
def wide_rows(draw: st.DrawFn) -> list[Vector]:
    values = draw(value_profiles)
    return draw(st.lists(st.tuples(st.tuples(*[values] * len(GAME)), st.tuples(*[values] * len(CAREER))),
                         min_size=1, max_size=8))


def accepted(tree: Node) -> bool:
    """Whether the catalog would accept the tree (depth, types, and integers within the float range)."""
    try:
        rules.check(tree, NAMES)
    except rules.RuleSyntaxError:
        return False
    return True


WIDE_PROPERTY = settings(PROPERTY, max_examples=400)


class TestBulkEvaluation:
    @WIDE_PROPERTY
    @given(tree=wide_conditions(1), rows=wide_rows())
    def test_bulk_evaluation_equals_the_compiled_python_on_every_line(self, tree: Node,
                                                                       rows: list[Vector]) -> None:
        assume(accepted(tree))
        function = compiled(tree)
        assert bulk(tree, rows) == [function(game, career) for game, career in rows]

    @WIDE_PROPERTY
    @given(tree=wide_conditions(0), rows=wide_rows())
    def test_the_reference_interpreter_agrees_too(self, tree: Node, rows: list[Vector]) -> None:
        assume(accepted(tree))
        expected = [reference(tree, game, career) for game, career in rows]
        assert [compiled(tree)(game, career) for game, career in rows] == expected
        assert bulk(tree, rows) == expected

    @WIDE_PROPERTY
    @given(tree=wide_conditions(1), rows=wide_rows())
    def test_every_line_is_evaluated_on_its_own(self, tree: Node, rows: list[Vector]) -> None:
        """The ranges come from the whole call, but no line's result depends on the other lines."""
        assume(accepted(tree))
        together = bulk(tree, rows)
        assert together == [bulk(tree, [row])[0] for row in rows]

    @WIDE_PROPERTY
    @given(tree=wide_conditions(1), rows=wide_rows())
    def test_a_zero_divisor_makes_the_line_false(self, tree: Node, rows: list[Vector]) -> None:
        assume(accepted(tree))
        for (game, career), result in zip(rows, bulk(tree, rows), strict=True):
            if _some_divisor_is_zero(tree, game, career):
                assert result is False


def _same(a: int | float | None, b: int | float | None) -> bool:
    """The same Python number: same type, same value (nan is nan), same sign of zero."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


def python_number(node: Node, game_values: Sequence[int], career_values: Sequence[int]) -> int | float | None:
    game, career = dict(zip(GAME, game_values, strict=True)), dict(zip(CAREER, career_values, strict=True))
    try:
        value = _value(node, game, career)
    except ZeroDivisionError:
        return None
    assert not isinstance(value, bool)
    return value


def bulk_numbers(node: Node, rows: Sequence[Vector]) -> list[int | float | None]:
    game = np.array([g for g, _ in rows], dtype=np.int64).reshape(len(rows), len(GAME))
    career = np.array([c for _, c in rows], dtype=np.int64).reshape(len(rows), len(CAREER))

    def column(ref: Ref) -> npt.NDArray[np.int64]:
        return game[:, GAME_INDEX[ref.name]] if ref.scope == "game" else career[:, CAREER_INDEX[ref.name]]

    return rule_arrays.values(node, column, len(rows))


class TestBulkNumbers:
    """Every numeric expression, line by line, is the very Python number live evaluation computes: the
    booleans above only show a difference when a comparison is tight, the numbers show every last bit."""

    @WIDE_PROPERTY
    @given(expression=wide_numbers(3), rows=wide_rows())
    def test_every_value_is_pythons(self, expression: Node, rows: list[Vector]) -> None:
        try:
            rules.check(expression, NAMES, boolean=False)
        except rules.RuleSyntaxError:
            assume(False)
        found = bulk_numbers(expression, rows)
        expected = [python_number(expression, game, career) for game, career in rows]
        assert all(_same(a, b) for a, b in zip(found, expected, strict=True)), (found, expected)

    @pytest.mark.parametrize(("text", "row"), [
        ("game.kills / game.deaths", ((2**62 + 513, 3, 0), (0, 0))),  # int64 -> float64 first would round twice
        ("game.kills / game.deaths", ((INT64_MAX, INT64_MIN + 1, 0), (0, 0))),
        ("game.kills * 0.5", ((2**53 + 1, 0, 0), (0, 0))),
        ("game.kills * game.deaths", ((INT64_MAX, INT64_MAX, 0), (0, 0))),
        ("-game.kills", ((INT64_MIN, 0, 0), (0, 0))),
        ("game.kills / game.deaths", ((7, 0, 0), (0, 0))),
    ])
    def test_the_cases_where_numpy_alone_differs(self, text: str, row: Vector) -> None:
        node = rules.parse(text, NAMES, boolean=False)
        [found] = bulk_numbers(node, [row])
        assert _same(found, python_number(node, *row))


class TestBulkEvaluationCases:
    """The cases where int64/float64 arithmetic and Python's disagree."""

    @pytest.mark.parametrize(("text", "rows"), [
        # int64 wraps: 4e9 squared is 1.6e19 > 2**63
        ("career.wins * career.wins > 0", [((0, 0, 0), (4_000_000_000, 0))]),
        ("career.wins * career.wins * career.wins * career.wins > career.games_played",
         [((0, 0, 0), (-(2**62), INT64_MAX))]),
        ("-game.kills > 0", [((INT64_MIN, 0, 0), (0, 0))]),
        ("game.kills - game.deaths > 0", [((INT64_MAX, INT64_MIN, 0), (0, 0))]),
        # int64 -> float64 rounds beyond 2**53; Python's int/float comparison is exact
        ("game.kills * 1.0 < game.kills", [((2**53 + 1, 0, 0), (0, 0)), ((INT64_MAX, 0, 0), (0, 0))]),
        ("game.kills / 1 == game.kills", [((2**53 + 1, 0, 0), (0, 0)), ((2**53, 0, 0), (0, 0))]),
        ("game.kills / 2 > game.deaths", [((2**53 + 1, 2**52, 0), (0, 0)), ((2**53 + 3, 2**52 + 1, 0), (0, 0))]),
        ("game.kills + 0.5 > game.deaths", [((2**53, 2**53 + 1, 0), (0, 0)), ((2**60 + 1, 2**60 + 2, 0), (0, 0))]),
        # int / int beyond 2**53: Python's quotient is correctly rounded from the exact one
        ("game.kills / game.deaths > 1", [((2**62 + 1, 2**62, 0), (0, 0)), ((2**60 + 3, 2**60 + 1, 0), (0, 0))]),
        ("game.kills / game.deaths == career.wins / career.games_played",
         [((2**62 + 1, 2**62 + 3, 0), (2**62 + 1, 2**62 + 3)), ((2**62 + 1, 2**62 + 3, 0), (2**62 + 3, 2**62 + 5))]),
        ("game.kills * game.kills / game.deaths > career.wins",
         [((2**62, 3, 0), (2**63 - 1, 0)), ((-(2**63), 1, 0), (0, 0))]),
        # literals at the limits
        ("game.kills * 1000000000000000 > 1000000000000000 * 1000000000000000",
         [((10**15 + 1, 0, 0), (0, 0)), ((10**15, 0, 0), (0, 0))]),
        ("game.kills * 0.000000000000001 >= 1000000000000000.0", [((10**30 // 10**15, 0, 0), (0, 0))]),
        # a zero divisor anywhere: false, even beside huge values
        ("game.kills * game.kills > 0 or game.hits / game.deaths > 0", [((2**40, 1, 0), (0, 0))]),
        ("game.kills / (game.deaths / career.wins) > 0", [((1, 1, 0), (0, 0)), ((INT64_MAX, 2**62, 0), (3, 0))]),
        ("1 / 0 > 0 or game.kills >= 0", [((1, 0, 0), (0, 0))]),
    ])
    def test_it_agrees_with_the_compiled_python(self, text: str, rows: list[Vector]) -> None:
        node = rules.parse(text, NAMES)
        function = compiled(node)
        expected = [function(game, career) for game, career in rows]
        assert bulk(node, rows) == expected

    def test_the_wrapping_case_is_true_as_live_says(self) -> None:
        node = rules.parse("career.wins * career.wins > 0", NAMES)
        assert bulk(node, [((0, 0, 0), (4_000_000_000, 0))]) == [True]

    def test_no_lines_give_an_empty_mask(self) -> None:
        node = rules.parse("game.kills > 0", NAMES)
        result = rule_arrays.evaluate(node, lambda ref: np.zeros(0, dtype=np.int64), 0)
        assert result.shape == (0,) and result.dtype == np.bool_

    def test_small_values_never_leave_numpy_arithmetic(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def no_python_numbers(value: object) -> object:
            raise AssertionError("the exact path was taken where int64/float64 is provably exact")

        monkeypatch.setattr(rule_arrays, "_objects", no_python_numbers)
        node = rules.parse("game.hits / game.deaths >= 0.75 and career.wins * career.games_played - game.kills"
                           " > 3 * game.kills or not (-game.kills / 2.5 + 1 < career.wins)", NAMES)
        rows = [((k, d, h), (w, g)) for k in (0, 1, 2**31 - 1) for d in (0, 5) for h in (0, 2**31 - 1)
                for w in (0, 7, 2**31 - 1) for g in (0, 2**20)]
        expected = [compiled(node)(game, career) for game, career in rows]
        assert bulk(node, rows) == expected

    def test_large_values_take_the_exact_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[object] = []
        exact = rule_arrays._objects

        def counted(value: rule_arrays._Value) -> object:
            calls.append(value)
            return exact(value)

        monkeypatch.setattr(rule_arrays, "_objects", counted)
        node = rules.parse("career.wins * career.wins > 0", NAMES)
        assert bulk(node, [((0, 0, 0), (4_000_000_000, 0)), ((0, 0, 0), (1, 0))]) == [True, True]
        assert calls


def _line_columns(catalog: Catalog, lines: Sequence[tuple[tuple[int, ...], tuple[int, ...]]]
                  ) -> Callable[[Ref], npt.NDArray[np.int64]]:
    game = np.array([g for g, _ in lines], dtype=np.int64)
    career = np.array([c for _, c in lines], dtype=np.int64)
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}

    def column(ref: Ref) -> npt.NDArray[np.int64]:
        return game[:, game_index[ref.name]] if ref.scope == "game" else career[:, career_index[ref.name]]

    return column


class TestCatalogEvaluate:
    """``Catalog.evaluate`` (the live function) against ``rule_arrays.evaluate`` for whole catalogs."""

    @PROPERTY
    @given(data=st.data())
    def test_every_shipped_award_agrees_on_wide_values(self, data: st.DataObject) -> None:
        catalog = shipped_catalog()
        values = data.draw(value_profiles)
        lines = data.draw(st.lists(st.tuples(st.tuples(*[values] * len(catalog.game_names)),
                                             st.tuples(*[values] * len(catalog.career_names))),
                                   min_size=1, max_size=6))
        column = _line_columns(catalog, lines)
        for award in catalog.active():
            expected = [award.id in catalog.evaluate(game, career, set()) for game, career in lines]
            assert rule_arrays.evaluate(award.node, column, len(lines)).tolist() == expected, award.id

    def test_a_user_award_over_large_careers_agrees(self) -> None:
        catalog = catalog_with({"awards": {"big": {
            "name": "Big", "description": "Squares",
            "rule": "career.total_damage_done * career.total_damage_done > 0"}}})
        award = catalog.award("big")
        assert award is not None
        career = career_of(catalog, total_damage_done=4_000_000_000)
        game = game_of(catalog)
        assert catalog.evaluate(game, career, set()) == ["big"]
        column = _line_columns(catalog, [(game, career)])
        assert rule_arrays.evaluate(award.node, column, 1).tolist() == [True]
