"""Rules that would load but could not run are refused when they are parsed (and so when a catalog loads):
numbers beyond the limits, deep nesting, long rules, integers that would overflow a float."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from osmo.application import rule_arrays
from osmo.domain import rules
from osmo.domain.errors import InvalidCatalog
from osmo.domain.rules import RuleSyntaxError
from tests.unit.support import career_of, catalog_with, game_of

GAME = ("kills", "deaths", "won")
CAREER = ("wins", "games_played")
NAMES: Mapping[rules.Scope, frozenset[str]] = {"game": frozenset(GAME), "career": frozenset(CAREER)}
GAME_INDEX = {name: i for i, name in enumerate(GAME)}
CAREER_INDEX = {name: i for i, name in enumerate(CAREER)}

HUGE_DECIMAL = "1" + "0" * 400 + ".0"  # a float('inf') before
LONG_INTEGER = "1" * 4301  # beyond Python's int max str digits


def parse(text: str) -> rules.Node:
    return rules.parse(text, NAMES)


def live(node: rules.Node, game: tuple[int, ...], career: tuple[int, ...]) -> bool:
    return rules.compile_python(node, GAME_INDEX, CAREER_INDEX)(game, career)


def bulk(node: rules.Node, game: tuple[int, ...], career: tuple[int, ...]) -> bool:
    def column(ref: rules.Ref) -> npt.NDArray[np.int64]:
        vector, index = (game, GAME_INDEX) if ref.scope == "game" else (career, CAREER_INDEX)
        return np.array([vector[index[ref.name]]], dtype=np.int64)

    return bool(rule_arrays.evaluate(node, column, 1)[0])


@pytest.fixture
def no_length_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the length limit, to show the other limits hold on their own (and never recurse deeply)."""
    monkeypatch.setattr(rules, "MAX_RULE_LENGTH", 10**7)


class TestNumbers:
    @pytest.mark.parametrize("number", [
        HUGE_DECIMAL, "1000000000000001", "1000000000000000.5", "2000000000000000", "99999999999999999999",
        "0.0000000000000001", "0.1234567890123456", "1.0000000000000001", "123456789.0123456789",
    ])
    def test_a_number_beyond_the_limits_is_refused(self, number: str) -> None:
        with pytest.raises(RuleSyntaxError, match="number"):
            parse(f"game.kills > {number}")

    @pytest.mark.parametrize(("number", "value"), [
        ("1000000000000000", 10**15), ("1000000000000000.0", 1e15), ("999999999999999", 10**15 - 1),
        ("0.000000000000001", 1e-15), ("0.123456789012345", 0.123456789012345), ("0", 0), ("0.0", 0.0),
        ("00000000000000000000000000000007", 7), ("123456789.012345", 123456789.012345),
    ])
    def test_a_number_within_the_limits_is_kept_exactly(self, number: str, value: float) -> None:
        node = parse(f"game.kills > {number}")
        assert isinstance(node, rules.Compare) and isinstance(node.right, rules.Num)
        assert node.right.value == value and type(node.right.value) is type(value)

    def test_the_huge_decimal_no_longer_loads_and_then_breaks_every_recording(self) -> None:
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"infinite": {
                "name": "Inf", "description": "d", "rule": f"game.kills > {HUGE_DECIMAL}"}}}, "inf.toml")
        assert "inf.toml" in str(raised.value) and "'infinite'" in str(raised.value)
        assert "out of range" in str(raised.value)

    def test_a_number_with_too_many_digits_is_a_rule_error_not_a_value_error(self, no_length_limit: None) -> None:
        with pytest.raises(RuleSyntaxError, match="significant digits") as raised:
            parse(f"game.kills > {LONG_INTEGER}")
        assert len(str(raised.value)) < 200  # the number is shortened in the message

    def test_a_very_long_integer_is_refused_at_catalog_load(self) -> None:
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"long": {
                "name": "L", "description": "d", "rule": f"game.kills > {LONG_INTEGER}"}}})
        assert "user.toml" in str(raised.value) and "'long'" in str(raised.value)
        assert len(str(raised.value)) < 500  # the rule is shortened in the message


class TestNesting:
    def test_ten_thousand_parentheses_are_refused(self) -> None:
        with pytest.raises(RuleSyntaxError):
            parse("(" * 10_000 + "game.kills > 0" + ")" * 10_000)

    def test_ten_thousand_parentheses_are_refused_without_recursing(self, no_length_limit: None) -> None:
        with pytest.raises(RuleSyntaxError, match="nested more than 32"):
            parse("(" * 10_000 + "game.kills > 0" + ")" * 10_000)

    @pytest.mark.parametrize("prefix", ["-", "not "])
    def test_ten_thousand_prefix_operators_are_refused_without_recursing(self, no_length_limit: None,
                                                                          prefix: str) -> None:
        with pytest.raises(RuleSyntaxError, match="32 levels"):
            parse(prefix * 10_000 + "game.kills > 0")

    def test_a_long_chain_is_refused_without_recursing(self, no_length_limit: None) -> None:
        with pytest.raises(RuleSyntaxError, match="32 levels"):
            parse(" + ".join(["game.kills"] * 10_000) + " > 0")

    def test_the_limit_of_parentheses_is_32(self) -> None:
        assert parse("(" * 32 + "game.kills" + ")" * 32 + " > 0") == parse("game.kills > 0")
        with pytest.raises(RuleSyntaxError, match="nested more than 32"):
            parse("(" * 33 + "game.kills" + ")" * 33 + " > 0")

    def test_the_limit_of_the_tree_depth_is_32(self) -> None:
        deepest = "-" * 30 + "game.kills > 0"  # 30 minus signs + a reference + the comparison
        node = parse(deepest)
        assert rules.depth(node) == 32
        with pytest.raises(RuleSyntaxError, match="32 levels"):
            parse("-" + deepest)

    def test_a_run_of_and_is_one_level(self) -> None:
        node = parse(" and ".join(["game.kills > 0"] * 50))
        assert rules.depth(node) == 3

    def test_a_rule_at_the_depth_limit_runs_live_and_in_bulk(self) -> None:
        text = " + ".join(["game.kills"] * 30) + " > game.deaths / 2.5"
        node = parse(text)
        assert rules.depth(node) <= rules.MAX_DEPTH
        for game in [(1, 5, 0), (2**62, 3, 0), (-(2**63), 2**63 - 1, 0), (0, 0, 0)]:
            assert live(node, game, (0, 0)) is bulk(node, game, (0, 0))

    def test_a_deeply_nested_rule_is_refused_at_catalog_load_naming_file_and_award(self) -> None:
        rule = "(" * 10_000 + "game.kills > 0" + ")" * 10_000
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"deep": {"name": "Deep", "description": "d", "rule": rule}}}, "deep.toml")
        assert "deep.toml" in str(raised.value) and "'deep'" in str(raised.value)

    def test_a_deeply_nested_progress_is_refused_naming_file_and_award(self) -> None:
        progress = "(" * 40 + "career.wins" + ")" * 40 + " >= 5"
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"deep": {"name": "Deep", "description": "d", "rule": "career.wins >= 5",
                                              "progress": progress}}}, "deep.toml")
        message = str(raised.value)
        assert "deep.toml" in message and "'deep'" in message and "progress" in message


class TestLength:
    def test_a_rule_of_1000_characters_is_fine(self) -> None:
        text = "game.kills > 0" + " " * (rules.MAX_RULE_LENGTH - 14)
        assert len(text) == rules.MAX_RULE_LENGTH
        assert parse(text) == parse("game.kills > 0")

    def test_a_rule_of_1001_characters_is_refused(self) -> None:
        with pytest.raises(RuleSyntaxError, match="at most 1000 characters"):
            parse("game.kills > 0" + " " * (rules.MAX_RULE_LENGTH - 13))

    @pytest.mark.parametrize("field", ["rule", "progress"])
    def test_a_long_rule_or_progress_is_refused_at_catalog_load(self, field: str) -> None:
        table: dict[str, Any] = {"name": "Long", "description": "d", "rule": "career.wins >= 5"}
        table[field] = " or ".join(["career.wins >= 5"] * 100)
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"long": table}}, "long.toml")
        message = str(raised.value)
        assert "long.toml" in message and "'long'" in message and field in message and "1000" in message


class TestFloatRange:
    """An integer converted to a float must fit one: Python raises OverflowError beyond about 1.8e308."""

    def test_a_product_of_sixteen_stats_may_meet_a_decimal(self) -> None:
        node = parse(" * ".join(["game.kills"] * 16) + " * 0.5 > 1")
        big = (-(2**63), 0, 0)
        assert live(node, big, (0, 0)) is bulk(node, big, (0, 0)) is True

    def test_a_product_of_seventeen_stats_may_not(self) -> None:
        with pytest.raises(RuleSyntaxError, match="range of a decimal number"):
            parse(" * ".join(["game.kills"] * 17) + " * 0.5 > 1")

    def test_nor_be_divided(self) -> None:
        with pytest.raises(RuleSyntaxError, match="range of a decimal number"):
            parse(" * ".join(["game.kills"] * 17) + " / game.deaths > 1")

    def test_a_product_of_seventeen_stats_stays_exact_among_integers(self) -> None:
        node = parse(" * ".join(["game.kills"] * 17) + " > game.deaths")
        game = (-(2**63), 2**63 - 1, 0)
        assert live(node, game, (0, 0)) is bulk(node, game, (0, 0)) is False

    def test_constants_count_too(self) -> None:
        with pytest.raises(RuleSyntaxError, match="range of a decimal number"):
            parse(" * ".join(["1000000000000000"] * 21) + " * 0.5 > game.kills")

    def test_such_a_rule_is_refused_at_catalog_load(self) -> None:
        rule = " * ".join(["career.total_damage_done"] * 17) + " / career.games_played > 1"
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"overflow": {"name": "O", "description": "d", "rule": rule}}}, "o.toml")
        assert "o.toml" in str(raised.value) and "'overflow'" in str(raised.value)

    def test_the_catalog_evaluates_a_sixteen_factor_rule_over_int64_extremes(self) -> None:
        rule = " * ".join(["career.total_damage_done"] * 16) + " / career.games_played > 1"
        catalog = catalog_with({"awards": {"wide": {"name": "W", "description": "d", "rule": rule}}})
        career = career_of(catalog, total_damage_done=2**63 - 1, games_played=3)
        assert catalog.evaluate(game_of(catalog), career, set()) == ["wide"]
