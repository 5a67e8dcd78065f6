"""The rule language: parsing, type checking, semantics in Python (live) and over numpy arrays (bulk), progress."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest

from osmo.application import rule_arrays
from osmo.domain import rules
from osmo.domain.rules import Arith, BoolOp, Compare, Neg, Not, Num, Ref, RuleSyntaxError

GAME = ("attempted_attacks", "hits", "kills", "deaths", "won")
CAREER = ("games_played", "wins", "losses", "total_kills")
NAMES: Mapping[rules.Scope, frozenset[str]] = {"game": frozenset(GAME), "career": frozenset(CAREER)}
GAME_INDEX = {name: i for i, name in enumerate(GAME)}
CAREER_INDEX = {name: i for i, name in enumerate(CAREER)}

KILLS, DEATHS, HITS = Ref("game", "kills"), Ref("game", "deaths"), Ref("game", "hits")
WINS = Ref("career", "wins")


def parse(text: str) -> rules.Node:
    return rules.parse(text, NAMES)


def holds(text: str, career: Mapping[str, int] | None = None, /, **game: int) -> bool:
    """Evaluate a rule with the compiled Python function; names not given are 0."""
    function = rules.compile_python(parse(text), GAME_INDEX, CAREER_INDEX)
    career = career or {}
    result = function(tuple(game.get(n, 0) for n in GAME), tuple(career.get(n, 0) for n in CAREER))
    assert type(result) is bool
    return result


def holds_in_bulk(text: str, career: Mapping[str, int] | None = None, /, **game: int) -> bool:
    """Evaluate a rule the way backfill does (``rule_arrays`` over int64 columns), on one line."""
    career = career or {}

    def column(ref: Ref) -> npt.NDArray[np.int64]:
        value = game.get(ref.name, 0) if ref.scope == "game" else career.get(ref.name, 0)
        return np.array([value], dtype=np.int64)

    [result] = rule_arrays.evaluate(parse(text), column, 1).tolist()
    assert type(result) is bool
    return result


class TestParsingPrecedence:
    def test_multiplication_binds_tighter_than_addition(self) -> None:
        assert parse("game.kills + game.deaths * 2 > 3") == Compare(
            ">", Arith("+", KILLS, Arith("*", DEATHS, Num(2))), Num(3))

    def test_division_binds_tighter_than_subtraction(self) -> None:
        assert parse("game.kills - game.hits / game.deaths > 0") == Compare(
            ">", Arith("-", KILLS, Arith("/", HITS, DEATHS)), Num(0))

    def test_arithmetic_is_left_associative(self) -> None:
        assert parse("game.kills - game.deaths - 1 > 0") == Compare(
            ">", Arith("-", Arith("-", KILLS, DEATHS), Num(1)), Num(0))
        assert parse("game.kills / game.deaths / 2 > 0") == Compare(
            ">", Arith("/", Arith("/", KILLS, DEATHS), Num(2)), Num(0))

    def test_parentheses_override_precedence(self) -> None:
        assert parse("(game.kills + game.deaths) * 2 > 3") == Compare(
            ">", Arith("*", Arith("+", KILLS, DEATHS), Num(2)), Num(3))

    def test_and_binds_tighter_than_or(self) -> None:
        a, b, c = (parse(f"game.{n} > 0") for n in ("kills", "deaths", "hits"))
        assert parse("game.kills > 0 or game.deaths > 0 and game.hits > 0") == BoolOp("or", (a, BoolOp("and", (b, c))))

    def test_parentheses_group_an_or_under_an_and(self) -> None:
        a, b, c = (parse(f"game.{n} > 0") for n in ("kills", "deaths", "hits"))
        assert parse("(game.kills > 0 or game.deaths > 0) and game.hits > 0") == BoolOp(
            "and", (BoolOp("or", (a, b)), c))

    def test_not_binds_tighter_than_and(self) -> None:
        a, b = parse("game.kills > 0"), parse("game.deaths > 0")
        assert parse("not game.kills > 0 and game.deaths > 0") == BoolOp("and", (Not(a), b))

    def test_not_applies_to_a_whole_comparison(self) -> None:
        assert parse("not game.kills + 1 > 2") == Not(Compare(">", Arith("+", KILLS, Num(1)), Num(2)))

    def test_not_can_be_repeated(self) -> None:
        assert parse("not not game.kills > 0") == Not(Not(parse("game.kills > 0")))

    def test_a_run_of_the_same_operator_becomes_one_node(self) -> None:
        a, b, c = (parse(f"game.{n} > 0") for n in ("kills", "deaths", "hits"))
        assert parse("game.kills > 0 and game.deaths > 0 and game.hits > 0") == BoolOp("and", (a, b, c))
        assert parse("game.kills > 0 or game.deaths > 0 or game.hits > 0") == BoolOp("or", (a, b, c))

    def test_unary_minus_binds_tighter_than_multiplication(self) -> None:
        assert parse("-game.kills * 2 < 0") == Compare("<", Arith("*", Neg(KILLS), Num(2)), Num(0))

    def test_unary_minus_can_be_repeated_and_parenthesised(self) -> None:
        assert parse("- -game.kills >= 0") == Compare(">=", Neg(Neg(KILLS)), Num(0))
        assert parse("-(game.kills - game.deaths) < 1") == Compare("<", Neg(Arith("-", KILLS, DEATHS)), Num(1))

    def test_subtracting_a_negative_number(self) -> None:
        assert parse("game.kills - -1 > 0") == Compare(">", Arith("-", KILLS, Neg(Num(1))), Num(0))

    @pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
    def test_every_comparison_operator_parses(self, op: str) -> None:
        assert parse(f"game.kills {op} career.wins") == Compare(op, KILLS, WINS)


class TestParsingAtoms:
    def test_an_integer_literal_stays_an_integer(self) -> None:
        node = parse("game.kills >= 2")
        assert isinstance(node, Compare)
        assert node.right == Num(2)
        assert isinstance(node.right, Num)
        assert type(node.right.value) is int

    def test_a_decimal_literal_is_a_float(self) -> None:
        node = parse("game.hits >= 0.75 * game.attempted_attacks")
        assert node == Compare(">=", HITS, Arith("*", Num(0.75), Ref("game", "attempted_attacks")))

    def test_a_decimal_with_a_zero_fraction_is_still_a_float(self) -> None:
        node = parse("game.kills >= 2.0")
        assert isinstance(node, Compare) and isinstance(node.right, Num)
        assert type(node.right.value) is float

    def test_game_and_career_names_are_told_apart(self) -> None:
        assert parse("game.won == 1 and career.wins >= 3") == BoolOp(
            "and", (Compare("==", Ref("game", "won"), Num(1)), Compare(">=", WINS, Num(3))))

    def test_whitespace_and_newlines_are_free(self) -> None:
        assert parse("game.kills>=5") == parse("  game . kills\n   >=\t5  ") == Compare(">=", KILLS, Num(5))

    def test_a_rule_can_be_fully_parenthesised(self) -> None:
        assert parse("((game.kills) >= (5))") == Compare(">=", KILLS, Num(5))

    def test_a_numeric_expression_parses_when_asked_for_one(self) -> None:
        assert rules.parse("career.wins / career.games_played", NAMES, boolean=False) == Arith(
            "/", WINS, Ref("career", "games_played"))


class TestParsingErrors:
    def test_an_unknown_game_name_is_named(self) -> None:
        with pytest.raises(RuleSyntaxError, match=r"game\.revives"):
            parse("game.revives >= 3")

    def test_an_unknown_career_name_is_named(self) -> None:
        with pytest.raises(RuleSyntaxError, match=r"career\.total_revives"):
            parse("career.total_revives >= 3")

    def test_a_game_name_is_unknown_in_the_career_scope(self) -> None:
        with pytest.raises(RuleSyntaxError, match=r"career\.kills"):
            parse("career.kills >= 3")

    def test_an_unknown_name_deep_in_the_rule_is_named(self) -> None:
        with pytest.raises(RuleSyntaxError, match=r"game\.nope"):
            parse("game.kills > 1 and not (career.wins * (2 + game.nope) > 3)")

    @pytest.mark.parametrize("text", ["game.", "game. >= 3", "game.(kills) > 1", "game.5 > 1", "career. + 1 > 0"])
    def test_a_scope_without_a_name_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError):
            parse(text)

    @pytest.mark.parametrize("text", ["game kills > 1", "game:kills > 1"])
    def test_a_scope_without_a_dot_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError):
            parse(text)

    @pytest.mark.parametrize("text", ["kills > 1", "player.kills > 1", "true", "game.kills > 1 and True"])
    def test_a_bare_or_foreign_name_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError):
            parse(text)

    @pytest.mark.parametrize(("text", "character"), [
        ("game.kills >= 5 $", "$"), ("game.kills % 2 == 0", "%"), ("game.kills > 1 && game.deaths < 1", "&"),
        ("game.kills = 5", "="), ("!game.kills", "!"), ("game.kills >= 'x'", "'"), ("game.kills ^ 2 > 1", "^"),
    ])
    def test_a_bad_character_is_named(self, text: str, character: str) -> None:
        with pytest.raises(RuleSyntaxError, match="unexpected character") as raised:
            parse(text)
        assert repr(character) in str(raised.value)

    @pytest.mark.parametrize("text", ["1 < game.kills < 5", "game.kills == game.deaths == 0",
                                      "0 <= game.kills <= game.hits"])
    def test_chained_comparisons_are_refused(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError, match="chained"):
            parse(text)

    def test_a_parenthesised_comparison_cannot_be_compared_again(self) -> None:
        with pytest.raises(RuleSyntaxError, match="expected a number"):
            parse("(game.kills > 1) == 1")

    @pytest.mark.parametrize("text", ["game.kills", "5", "game.kills + 1", "game.kills and game.deaths > 0",
                                      "not game.kills", "game.kills > 1 or 0"])
    def test_a_number_where_a_condition_is_expected_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError, match="expected a condition"):
            parse(text)

    @pytest.mark.parametrize("text", ["(game.kills > 1) + 1 > 0", "-(game.kills > 1) < 0",
                                      "game.kills * (game.deaths < 1) > 0"])
    def test_a_condition_where_a_number_is_expected_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError, match="expected a number"):
            parse(text)

    def test_a_condition_is_refused_where_a_numeric_expression_is_asked_for(self) -> None:
        with pytest.raises(RuleSyntaxError, match="expected a number"):
            rules.parse("career.wins > 1", NAMES, boolean=False)

    @pytest.mark.parametrize("text", ["", "   ", "\n\t"])
    def test_an_empty_rule_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError, match="non-empty"):
            parse(text)

    def test_a_rule_that_is_not_text_is_an_error(self) -> None:
        with pytest.raises(RuleSyntaxError):
            rules.parse(None, NAMES)  # type: ignore[arg-type]

    @pytest.mark.parametrize("text", ["(game.kills > 1", "game.kills > 1)", "((game.kills > 1)", "()"])
    def test_unbalanced_parentheses_are_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError):
            parse(text)

    @pytest.mark.parametrize("text", ["game.kills >", "game.kills > 1 and", "not", "game.kills + > 1",
                                      "game.kills > 1 game.deaths > 1", "1.", ".5 < game.kills", "game.kills >= 1.2.3"])
    def test_an_incomplete_or_run_on_expression_is_an_error(self, text: str) -> None:
        with pytest.raises(RuleSyntaxError):
            parse(text)

    def test_the_error_is_a_value_error(self) -> None:
        assert issubclass(RuleSyntaxError, ValueError)


class TestDivision:
    """``/`` is real division, live and in bulk."""

    def test_one_half_is_not_rounded_down_to_zero(self) -> None:
        assert holds("game.hits / game.attempted_attacks >= 0.5", hits=1, attempted_attacks=2) is True
        assert holds_in_bulk("game.hits / game.attempted_attacks >= 0.5", hits=1, attempted_attacks=2) is True

    def test_one_third_is_under_one_half(self) -> None:
        assert holds("game.hits / game.attempted_attacks >= 0.5", hits=1, attempted_attacks=3) is False
        assert holds_in_bulk("game.hits / game.attempted_attacks >= 0.5", hits=1, attempted_attacks=3) is False

    def test_seven_halves_are_three_and_a_half(self) -> None:
        assert holds("game.kills / 2 == 3.5", kills=7) is True
        assert holds_in_bulk("game.kills / 2 == 3.5", kills=7) is True

    def test_integer_arithmetic_stays_exact(self) -> None:
        assert holds("game.kills * 3 - game.deaths == 2", kills=4, deaths=10) is True
        assert holds_in_bulk("game.kills * 3 - game.deaths == 2", kills=4, deaths=10) is True


class TestDivisionByZero:
    """A zero divisor anywhere makes the whole rule false for that player and game."""

    def test_a_zero_divisor_makes_the_comparison_false(self) -> None:
        assert holds("game.hits / game.deaths > 1", hits=5, deaths=0) is False

    def test_a_zero_divisor_is_not_an_error(self) -> None:
        assert holds("game.hits / game.deaths >= 0", hits=0, deaths=0) is False

    def test_not_does_not_turn_it_true(self) -> None:
        assert holds("not (game.hits / game.deaths > 1)", hits=5, deaths=0) is False
        assert holds("game.hits / game.deaths <= 1", hits=5, deaths=0) is False

    def test_the_whole_rule_is_false_even_when_the_other_side_of_an_or_holds(self) -> None:
        assert holds("game.kills > 5 or game.hits / game.deaths > 1", kills=10, deaths=0) is False

    def test_the_same_or_holds_once_the_divisor_is_not_zero(self) -> None:
        assert holds("game.kills > 5 or game.hits / game.deaths > 1", kills=10, deaths=1) is True

    def test_the_division_need_not_be_reached_to_spoil_the_rule(self) -> None:
        assert holds("game.kills > 5 and game.hits > 0 or career.wins / game.deaths > 0",
                     {"wins": 3}, kills=10, hits=1, deaths=0) is False

    def test_a_divisor_that_computes_to_zero_counts(self) -> None:
        assert holds("game.kills / (game.deaths - 1) > 0", kills=3, deaths=1) is False
        assert holds("game.kills / (game.deaths - 1) > 0", kills=3, deaths=2) is True

    def test_a_float_divisor_that_is_zero_counts(self) -> None:
        assert holds("game.kills / (0.5 * game.deaths) >= 0", kills=3, deaths=0) is False

    def test_a_zero_inside_a_nested_divisor_is_caught_before_the_outer_division(self) -> None:
        rule = "game.kills / (game.hits / game.deaths) > 0"
        assert holds(rule, kills=1, hits=1, deaths=0) is False
        assert holds(rule, kills=1, hits=0, deaths=1) is False
        assert holds(rule, kills=1, hits=2, deaths=1) is True

    def test_a_zero_numerator_is_fine(self) -> None:
        assert holds("game.kills / game.deaths == 0", kills=0, deaths=4) is True

    @pytest.mark.parametrize(("rule", "game"), [
        ("game.hits / game.deaths > 1", {"hits": 5, "deaths": 0}),
        ("not (game.hits / game.deaths > 1)", {"hits": 5, "deaths": 0}),
        ("game.kills > 5 or game.hits / game.deaths > 1", {"kills": 10, "deaths": 0}),
        ("game.kills / (game.hits / game.deaths) > 0", {"kills": 1, "hits": 1, "deaths": 0}),
        ("game.kills / (game.hits / game.deaths) > 0", {"kills": 1, "hits": 0, "deaths": 1}),
        ("game.kills / (game.deaths - 1) > 0", {"kills": 3, "deaths": 1}),
    ])
    def test_bulk_evaluation_gives_false_too(self, rule: str, game: dict[str, int]) -> None:
        assert holds_in_bulk(rule, **game) is False

    def test_the_numeric_value_of_a_zero_division_is_none(self) -> None:
        node = rules.parse("career.wins / career.losses", NAMES, boolean=False)
        value = rules.compile_value(node, CAREER_INDEX)
        assert value((0, 4, 0, 0)) is None
        assert value((0, 4, 2, 0)) == 2.0


class TestBulkAgreesWithLive:
    @pytest.mark.parametrize(("rule", "game", "expected"), [
        ("game.attempted_attacks >= 1 and game.hits >= 0.75 * game.attempted_attacks",
         {"attempted_attacks": 4, "hits": 3}, 1),
        ("game.attempted_attacks >= 1 and game.hits >= 0.75 * game.attempted_attacks",
         {"attempted_attacks": 100, "hits": 74}, 0),
        ("not (game.kills > 1) and -game.deaths * 2 + 1.5 < 3", {"kills": 1, "deaths": 0}, 1),
        ("game.won == 1 and game.deaths == 0 and game.kills >= 5", {"won": 1, "kills": 5}, 1),
        ("game.kills != 0 or game.deaths != 0", {}, 0),
    ])
    def test_bulk_agrees_with_python(self, rule: str, game: dict[str, int], expected: int) -> None:
        assert holds(rule, **game) is bool(expected)
        assert holds_in_bulk(rule, **game) is bool(expected)


class TestRender:
    @pytest.mark.parametrize("text", [
        "game.kills + game.deaths * 2 > 3",
        "(game.kills > 0 or game.deaths > 0) and not game.hits > 0",
        "-game.kills * 2 + 1.5 < 3 or game.kills - -1 > 0",
        "- -game.kills >= 0.25",
        "game.kills / (game.hits / game.deaths) > 0",
    ])
    def test_a_rendered_rule_parses_back_to_the_same_tree(self, text: str) -> None:
        node = parse(text)
        assert parse(rules.render(node)) == node

    def test_a_small_decimal_renders_in_the_rule_syntax(self) -> None:
        node = parse("game.kills >= 0.00001")
        assert parse(rules.render(node)) == node


class TestProgress:
    @pytest.mark.parametrize(("text", "target"), [
        ("career.wins >= 200", 200), ("career.games_played > 1000", 1001), ("career.wins >= 0", 0),
        ("career.wins > 0", 1), ("career.wins >= 2.5", 3), ("career.wins > 2.5", 3),
        ("career.wins > 2.0", 3), ("career.wins >= 2.0", 2), ("career.wins >= 0.01", 1),
    ])
    def test_the_target_is_the_smallest_integer_that_satisfies_the_rule(self, text: str, target: int) -> None:
        progress = rules.progress_of(parse(text))
        assert progress is not None
        assert progress.target == target
        assert type(progress.target) is int

    def test_the_current_value_is_the_left_hand_side(self) -> None:
        progress = rules.progress_of(parse("career.wins >= 200"))
        assert progress is not None
        assert progress.expression == WINS

    def test_a_career_expression_is_allowed_on_the_left(self) -> None:
        progress = rules.progress_of(parse("career.wins + career.losses >= 10"))
        assert progress is not None
        assert progress.expression == Arith("+", WINS, Ref("career", "losses"))
        assert progress.target == 10

    @pytest.mark.parametrize("text", [
        "game.kills >= 5",
        "game.kills + career.wins >= 5",
        "career.wins >= 1 and career.losses >= 1",
        "career.wins >= 1 or career.losses >= 1",
        "not career.wins >= 1",
        "career.wins <= 10",
        "career.wins == 10",
        "career.wins < 10",
        "career.wins >= career.losses",
        "career.wins >= -5",
        "career.wins >= 2 * 5",
        "200 <= career.wins",
        "5 >= 3",
    ])
    def test_other_rules_have_no_progress(self, text: str) -> None:
        assert rules.progress_of(parse(text)) is None

    @pytest.mark.parametrize(("text", "career"), [
        ("career.wins / career.games_played >= 0.5", (2, 1, 1, 0)),
        ("career.wins / 2 > 2", (5, 5, 0, 0)),
    ])
    def test_a_rule_that_holds_has_reached_its_progress_target(self, text: str, career: tuple[int, ...]) -> None:
        node = parse(text)
        assert rules.compile_python(node, GAME_INDEX, CAREER_INDEX)((0,) * len(GAME), career) is True
        progress = rules.progress_of(node)
        assert progress is not None
        current = rules.compile_value(progress.expression, CAREER_INDEX)(career)
        assert current is not None
        assert current >= progress.target


class TestReferences:
    def test_references_lists_every_name_once(self) -> None:
        node = parse("game.kills > career.wins and game.kills / game.deaths > 1 or career.wins > 3")
        assert rules.references(node) == {("game", "kills"), ("game", "deaths"), ("career", "wins")}

    def test_denominators_list_inner_divisors_first(self) -> None:
        node = parse("game.kills / (game.hits / game.deaths) > 0")
        assert rules.denominators(node) == [DEATHS, Arith("/", HITS, DEATHS)]
