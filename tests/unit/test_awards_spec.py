"""The awards of the shipped catalog at their boundaries (the SPEC awards first).

Every case is checked three times: through the award's own rule compiled alone (``rules.compile_python``),
through the catalog's single compiled ``evaluate`` that live recording uses, and through the numpy evaluation
backfill and explain use (``rule_arrays``), so the three can never drift apart.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from osmo.application import rule_arrays
from osmo.domain import rules
from osmo.domain.catalog import Catalog, CompiledAward
from osmo.domain.rules import Ref
from tests.unit.support import career_of, catalog_with, game_of, shipped_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return shipped_catalog()


def holds(catalog: Catalog, award: CompiledAward, game: tuple[int, ...], career: tuple[int, ...]) -> bool:
    """The award's rule alone, compiled from its checked tree; the same line in bulk must agree."""
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}
    result = rules.compile_python(award.node, game_index, career_index)(game, career)

    def column(ref: Ref) -> npt.NDArray[np.int64]:
        value = game[game_index[ref.name]] if ref.scope == "game" else career[career_index[ref.name]]
        return np.array([value], dtype=np.int64)

    assert rule_arrays.evaluate(award.node, column, 1).tolist() == [result]
    return result


def assert_award(catalog: Catalog, award_id: str, game: tuple[int, ...], career: tuple[int, ...],
                 expected: bool) -> None:
    award = catalog.award(award_id)
    assert award is not None, f"{award_id} is not in the shipped catalog"
    assert holds(catalog, award, game, career) is expected
    assert (award_id in catalog.evaluate(game, career, set())) is expected


class TestSharpshooter:
    """SPEC: in one game, attempted_attacks >= 1 and hits >= 75% of attempted_attacks."""

    @pytest.mark.parametrize(("hits", "attempted"), [(3, 4), (75, 100), (750_000, 1_000_000)])
    def test_exactly_75_percent_is_enough(self, catalog: Catalog, hits: int, attempted: int) -> None:
        game = game_of(catalog, hits=hits, attempted_attacks=attempted)
        assert_award(catalog, "sharpshooter", game, career_of(catalog), True)

    @pytest.mark.parametrize(("hits", "attempted"), [(74, 100), (2, 3), (1, 2), (749_999, 1_000_000)])
    def test_just_under_75_percent_is_not_enough(self, catalog: Catalog, hits: int, attempted: int) -> None:
        game = game_of(catalog, hits=hits, attempted_attacks=attempted)
        assert_award(catalog, "sharpshooter", game, career_of(catalog), False)

    def test_one_hit_out_of_one_attack_holds(self, catalog: Catalog) -> None:
        assert_award(catalog, "sharpshooter", game_of(catalog, hits=1, attempted_attacks=1), career_of(catalog), True)

    def test_every_attack_landing_holds(self, catalog: Catalog) -> None:
        game = game_of(catalog, hits=40, attempted_attacks=40)
        assert_award(catalog, "sharpshooter", game, career_of(catalog), True)

    def test_zero_attempts_never_holds(self, catalog: Catalog) -> None:
        assert_award(catalog, "sharpshooter", game_of(catalog), career_of(catalog), False)

    def test_zero_attempts_does_not_hold_even_with_a_winning_game(self, catalog: Catalog) -> None:
        game = game_of(catalog, won=True, kills=12, damage_done=900)
        assert_award(catalog, "sharpshooter", game, career_of(catalog, games_played=1, wins=1), False)

    def test_career_accuracy_does_not_count(self, catalog: Catalog) -> None:
        game = game_of(catalog, hits=1, attempted_attacks=10)
        career = career_of(catalog, total_hits=1000, total_attempted_attacks=1000)
        assert_award(catalog, "sharpshooter", game, career, False)


class TestBruiser:
    """SPEC: in one game, damage_done > 500."""

    def test_exactly_500_damage_is_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "bruiser", game_of(catalog, damage_done=500), career_of(catalog), False)

    def test_501_damage_is_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "bruiser", game_of(catalog, damage_done=501), career_of(catalog), True)

    def test_no_damage_is_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "bruiser", game_of(catalog), career_of(catalog), False)

    def test_spell_damage_does_not_count(self, catalog: Catalog) -> None:
        assert_award(catalog, "bruiser", game_of(catalog, spell_damage=10_000), career_of(catalog), False)

    def test_career_damage_does_not_count(self, catalog: Catalog) -> None:
        career = career_of(catalog, total_damage_done=100_000, best_damage_done=501)
        assert_award(catalog, "bruiser", game_of(catalog, damage_done=100), career, False)


class TestVeteran:
    """SPEC: career games_played > 1000."""

    def test_1000_games_are_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "veteran", game_of(catalog), career_of(catalog, games_played=1000), False)

    def test_1001_games_are_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "veteran", game_of(catalog), career_of(catalog, games_played=1001), True)

    def test_it_does_not_depend_on_winning(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=1001, losses=1001)
        assert_award(catalog, "veteran", game_of(catalog, won=False), career, True)


class TestBigWinner:
    """SPEC: career wins >= 200."""

    def test_199_wins_are_not_enough(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=500, wins=199)
        assert_award(catalog, "big_winner", game_of(catalog, won=True), career, False)

    def test_200_wins_are_enough(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=500, wins=200)
        assert_award(catalog, "big_winner", game_of(catalog, won=True), career, True)

    def test_losses_do_not_count(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=1000, wins=10, losses=990)
        assert_award(catalog, "big_winner", game_of(catalog), career, False)


class TestDeadeye:
    """8 headshots in one game, and at least half of the game's hits."""

    def test_8_headshots_out_of_16_hits_hold(self, catalog: Catalog) -> None:
        game = game_of(catalog, attempted_attacks=20, hits=16, headshots=8)
        assert_award(catalog, "deadeye", game, career_of(catalog), True)

    def test_8_headshots_out_of_17_hits_are_under_half(self, catalog: Catalog) -> None:
        game = game_of(catalog, attempted_attacks=20, hits=17, headshots=8)
        assert_award(catalog, "deadeye", game, career_of(catalog), False)

    def test_7_headshots_are_too_few_even_when_every_hit_is_one(self, catalog: Catalog) -> None:
        game = game_of(catalog, attempted_attacks=7, hits=7, headshots=7)
        assert_award(catalog, "deadeye", game, career_of(catalog), False)

    def test_every_hit_a_headshot_holds(self, catalog: Catalog) -> None:
        game = game_of(catalog, attempted_attacks=8, hits=8, headshots=8)
        assert_award(catalog, "deadeye", game, career_of(catalog), True)


class TestTeamPlayer:
    def test_9_assists_are_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "team_player", game_of(catalog, assists=9), career_of(catalog), False)

    def test_10_assists_are_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "team_player", game_of(catalog, assists=10), career_of(catalog), True)


class TestUnstoppable:
    """A best win streak of 10 (the streak need not be current)."""

    def test_a_best_streak_of_9_is_not_enough(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=9, wins=9, current_win_streak=9, best_win_streak=9)
        assert_award(catalog, "unstoppable", game_of(catalog, won=True), career, False)

    def test_a_best_streak_of_10_is_enough(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=10, wins=10, current_win_streak=10, best_win_streak=10)
        assert_award(catalog, "unstoppable", game_of(catalog, won=True), career, True)

    def test_a_broken_streak_of_10_still_counts(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=11, wins=10, losses=1, current_win_streak=0, best_win_streak=10)
        assert_award(catalog, "unstoppable", game_of(catalog), career, True)

    def test_ten_wins_that_were_not_in_a_row_are_not_enough(self, catalog: Catalog) -> None:
        career = career_of(catalog, games_played=20, wins=10, losses=10, current_win_streak=1, best_win_streak=3)
        assert_award(catalog, "unstoppable", game_of(catalog, won=True), career, False)


class TestUntouchable:
    """Win a game with 15 kills and no death; a hidden award."""

    def test_a_won_game_with_15_kills_and_no_death_holds(self, catalog: Catalog) -> None:
        assert_award(catalog, "untouchable", game_of(catalog, won=True, kills=15), career_of(catalog), True)

    def test_14_kills_are_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "untouchable", game_of(catalog, won=True, kills=14), career_of(catalog), False)

    def test_a_single_death_spoils_it(self, catalog: Catalog) -> None:
        game = game_of(catalog, won=True, kills=30, deaths=1)
        assert_award(catalog, "untouchable", game, career_of(catalog), False)

    def test_a_lost_game_does_not_count(self, catalog: Catalog) -> None:
        assert_award(catalog, "untouchable", game_of(catalog, won=False, kills=15), career_of(catalog), False)

    def test_it_is_hidden(self, catalog: Catalog) -> None:
        award = catalog.award("untouchable")
        assert award is not None
        assert award.definition.hidden is True


class TestSlayer:
    """Three levels of one family over career kills: 100, 1000, 5000."""

    @pytest.mark.parametrize(("award_id", "threshold"), [("slayer_1", 100), ("slayer_2", 1000), ("slayer_3", 5000)])
    def test_one_kill_short_of_the_threshold_is_not_enough(self, catalog: Catalog, award_id: str,
                                                            threshold: int) -> None:
        career = career_of(catalog, games_played=50, total_kills=threshold - 1)
        assert_award(catalog, award_id, game_of(catalog, kills=3), career, False)

    @pytest.mark.parametrize(("award_id", "threshold"), [("slayer_1", 100), ("slayer_2", 1000), ("slayer_3", 5000)])
    def test_the_threshold_is_enough(self, catalog: Catalog, award_id: str, threshold: int) -> None:
        career = career_of(catalog, games_played=50, total_kills=threshold)
        assert_award(catalog, award_id, game_of(catalog, kills=3), career, True)

    def test_the_levels_form_one_family_in_order(self, catalog: Catalog) -> None:
        levels = {a.id: (a.definition.family, a.definition.level)
                  for a in catalog.compiled if a.id.startswith("slayer")}
        assert levels == {"slayer_1": ("slayer", 1), "slayer_2": ("slayer", 2), "slayer_3": ("slayer", 3)}

    def test_kills_of_the_current_game_alone_do_not_count(self, catalog: Catalog) -> None:
        assert_award(catalog, "slayer_1", game_of(catalog, kills=150), career_of(catalog, best_kills=150), False)


class TestSpellweaver:
    def test_99_999_spell_damage_is_not_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "spellweaver", game_of(catalog), career_of(catalog, total_spell_damage=99_999), False)

    def test_100_000_spell_damage_is_enough(self, catalog: Catalog) -> None:
        assert_award(catalog, "spellweaver", game_of(catalog), career_of(catalog, total_spell_damage=100_000), True)

    def test_weapon_damage_does_not_count(self, catalog: Catalog) -> None:
        career = career_of(catalog, total_damage_done=1_000_000)
        assert_award(catalog, "spellweaver", game_of(catalog), career, False)


class TestProgressTargets:
    """Career-threshold awards report progress towards the smallest integer that satisfies them."""

    @pytest.mark.parametrize(("award_id", "target"), [
        ("veteran", 1001), ("big_winner", 200), ("slayer_1", 100), ("slayer_2", 1000), ("slayer_3", 5000),
        ("unstoppable", 10), ("spellweaver", 100_000),
    ])
    def test_the_target_is_the_smallest_satisfying_integer(self, catalog: Catalog, award_id: str,
                                                           target: int) -> None:
        award = catalog.award(award_id)
        assert award is not None
        assert award.progress is not None
        assert award.progress.target == target

    @pytest.mark.parametrize("award_id", ["sharpshooter", "bruiser", "deadeye", "team_player", "untouchable"])
    def test_awards_about_one_game_have_no_progress(self, catalog: Catalog, award_id: str) -> None:
        award = catalog.award(award_id)
        assert award is not None
        assert award.progress is None
        assert award.progress_value is None

    def test_the_current_value_is_read_from_the_career(self, catalog: Catalog) -> None:
        veteran, slayer = catalog.award("veteran"), catalog.award("slayer_3")
        assert veteran is not None and veteran.progress_value is not None
        assert slayer is not None and slayer.progress_value is not None
        career = career_of(catalog, games_played=640, total_kills=1234)
        assert veteran.progress_value(career) == 640
        assert slayer.progress_value(career) == 1234

    @pytest.mark.parametrize("award_id", ["veteran", "big_winner", "slayer_3", "unstoppable", "spellweaver"])
    def test_reaching_the_target_is_exactly_when_the_rule_holds(self, catalog: Catalog, award_id: str) -> None:
        award = catalog.award(award_id)
        assert award is not None and award.progress is not None
        assert isinstance(award.progress.expression, Ref)
        name = award.progress.expression.name
        target = award.progress.target
        assert isinstance(target, int)
        assert holds(catalog, award, game_of(catalog), career_of(catalog, **{name: target})) is True
        assert holds(catalog, award, game_of(catalog), career_of(catalog, **{name: target - 1})) is False


class TestEvaluate:
    def test_it_lists_every_active_award_that_holds(self, catalog: Catalog) -> None:
        game = game_of(catalog, won=True, attempted_attacks=4, hits=3, damage_done=501, kills=15, assists=10)
        career = career_of(catalog, games_played=1001, wins=200, current_win_streak=10, best_win_streak=10,
                           total_kills=5000, total_spell_damage=100_000)
        assert sorted(catalog.evaluate(game, career, set())) == sorted(
            ["sharpshooter", "bruiser", "veteran", "big_winner", "team_player", "unstoppable", "untouchable",
             "slayer_1", "slayer_2", "slayer_3", "spellweaver"])

    def test_it_lists_nothing_for_an_empty_line(self, catalog: Catalog) -> None:
        assert catalog.evaluate(game_of(catalog), career_of(catalog, games_played=1, losses=1), set()) == []

    def test_it_skips_awards_the_player_already_owns(self, catalog: Catalog) -> None:
        game = game_of(catalog, damage_done=501, assists=10)
        career = career_of(catalog, games_played=1001)
        assert sorted(catalog.evaluate(game, career, {"bruiser", "veteran"})) == ["team_player"]

    def test_it_ignores_owned_ids_it_does_not_know(self, catalog: Catalog) -> None:
        game = game_of(catalog, damage_done=501)
        assert catalog.evaluate(game, career_of(catalog), {"no_such_award"}) == ["bruiser"]

    def test_it_follows_the_catalog_order(self, catalog: Catalog) -> None:
        game = game_of(catalog, damage_done=501, assists=10, attempted_attacks=1, hits=1)
        order = [a.id for a in catalog.compiled]
        found = catalog.evaluate(game, career_of(catalog), set())
        assert found == sorted(found, key=order.index)

    def test_it_never_grants_a_retired_award(self) -> None:
        retired = catalog_with({"awards": {"bruiser": {
            "name": "Bruiser", "description": "Deal more than 500 damage in one game",
            "rule": "game.damage_done > 500", "retired": True,
        }}})
        game = game_of(retired, damage_done=501, assists=10)
        assert retired.evaluate(game, career_of(retired), set()) == ["team_player"]
        assert "bruiser" not in {a.id for a in retired.active()}

    def test_a_retired_award_stays_in_the_catalog_with_its_rule(self) -> None:
        retired = catalog_with({"awards": {"bruiser": {
            "name": "Bruiser", "description": "Deal more than 500 damage in one game",
            "rule": "game.damage_done > 500", "retired": True,
        }}})
        award = retired.award("bruiser")
        assert award is not None
        assert award.definition.retired is True
        assert holds(retired, award, game_of(retired, damage_done=501), career_of(retired)) is True
