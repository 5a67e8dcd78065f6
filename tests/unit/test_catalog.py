"""Building a catalog from layers: overrides by id, additions, errors that name file and entry."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from osmo.adapters.catalog_files import builtin_layers, load_catalog
from osmo.domain import career as careers
from osmo.domain import rules
from osmo.domain.catalog import Catalog, CompiledAward, StatDef, build_catalog, catalog_from_data
from osmo.domain.errors import InvalidCatalog, InvalidInput
from tests.unit.support import career_of, catalog_with, game_of, shipped_catalog

LIFESAVER_TOML = """
[stats.revives]
description = "Teammates brought back"

[awards.lifesaver]
name = "Lifesaver"
description = "Revive 3 teammates and assist 2 kills in one game"
rule = "game.revives >= 3 and game.assists >= 2"
tier = "bronze"
"""

VALID_AWARD = {"name": "X", "description": "An award", "rule": "game.kills >= 1"}


def award(**fields: Any) -> dict[str, Any]:
    return {**VALID_AWARD, **fields}


def refused(layer: Mapping[str, Any], *fragments: str, source: str = "user.toml") -> str:
    """Build the built-in catalog plus ``layer`` and return the InvalidCatalog message."""
    with pytest.raises(InvalidCatalog) as raised:
        catalog_with(layer, source)
    message = str(raised.value)
    for fragment in (source, *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def holds(catalog: Catalog, award: CompiledAward, game: tuple[int, ...], career: tuple[int, ...]) -> bool:
    """The award's rule alone, compiled from its checked tree."""
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}
    return rules.compile_python(award.node, game_index, career_index)(game, career)


@pytest.fixture(scope="module")
def lifesaver_catalog() -> Catalog:
    return build_catalog([*builtin_layers(), ("my-awards.toml", tomllib.loads(LIFESAVER_TOML))])


class TestShippedCatalog:
    def test_it_loads_with_the_spec_awards(self) -> None:
        ids = {a.id for a in shipped_catalog().compiled}
        assert {"sharpshooter", "bruiser", "veteran", "big_winner"} <= ids

    def test_it_has_the_design_stats(self) -> None:
        assert set(shipped_catalog().stat_ids) >= {
            "attempted_attacks", "hits", "damage_done", "kills", "first_hit_kills", "assists", "spells_cast",
            "spell_damage", "time_played"}

    def test_the_game_vector_is_the_stats_then_won(self) -> None:
        catalog = shipped_catalog()
        assert catalog.game_names == (*catalog.stat_ids, "won")

    def test_the_career_vector_is_the_base_then_totals_then_bests(self) -> None:
        catalog = shipped_catalog()
        n = len(catalog.stat_ids)
        assert catalog.career_names[:5] == (
            "games_played", "wins", "losses", "current_win_streak", "best_win_streak")
        assert catalog.career_names[5:5 + n] == tuple(f"total_{s}" for s in catalog.stat_ids)
        assert catalog.career_names[5 + n:] == tuple(f"best_{s}" for s in catalog.stat_ids)

    def test_career_names_are_unique(self) -> None:
        names = shipped_catalog().career_names
        assert len(set(names)) == len(names)

    def test_its_bounds_are_the_spec_invariants(self) -> None:
        catalog = shipped_catalog()
        bounds = {name: None if bound is None else catalog.stat_ids[bound] for _, name, bound in catalog.bounds}
        assert bounds == {"hits": "attempted_attacks", "first_hit_kills": "kills", "time_played": None,
                          "headshots": "hits"}

    def test_within_bounds_checks_every_invariant(self) -> None:
        catalog = shipped_catalog()

        def stats(**values: int) -> tuple[int, ...]:
            return game_of(catalog, False, **values)[:-1]

        ok = stats(attempted_attacks=4, hits=4, kills=2, first_hit_kills=2, headshots=4, time_played=60)
        assert catalog.within_bounds(ok, 60.0) is True
        assert catalog.within_bounds(stats(attempted_attacks=4, hits=5, headshots=0), 60.0) is False
        assert catalog.within_bounds(stats(kills=1, first_hit_kills=2), 60.0) is False
        assert catalog.within_bounds(stats(attempted_attacks=9, hits=3, headshots=4), 60.0) is False
        assert catalog.within_bounds(stats(time_played=61), 60.0) is False
        assert catalog.within_bounds(stats(time_played=60), 60.5) is True


class TestUserLayer:
    def test_a_new_stat_and_award_are_added(self, lifesaver_catalog: Catalog) -> None:
        assert "revives" in lifesaver_catalog.stat_ids
        assert lifesaver_catalog.award("lifesaver") is not None

    def test_built_in_entries_are_kept(self, lifesaver_catalog: Catalog) -> None:
        assert set(shipped_catalog().stat_ids) < set(lifesaver_catalog.stat_ids)
        assert {a.id for a in shipped_catalog().compiled} < {a.id for a in lifesaver_catalog.compiled}

    def test_a_new_stat_comes_after_the_built_in_ones(self, lifesaver_catalog: Catalog) -> None:
        assert lifesaver_catalog.stat_ids == (*shipped_catalog().stat_ids, "revives")

    def test_a_new_stat_gets_career_totals_and_bests(self, lifesaver_catalog: Catalog) -> None:
        assert {"total_revives", "best_revives"} <= set(lifesaver_catalog.career_names)

    @pytest.mark.parametrize(("revives", "assists", "expected"), [
        (3, 2, True), (10, 10, True), (2, 2, False), (3, 1, False), (0, 0, False)])
    def test_the_new_award_follows_its_rule(self, lifesaver_catalog: Catalog, revives: int, assists: int,
                                            expected: bool) -> None:
        game = game_of(lifesaver_catalog, revives=revives, assists=assists)
        career = career_of(lifesaver_catalog)
        lifesaver = lifesaver_catalog.award("lifesaver")
        assert lifesaver is not None
        assert holds(lifesaver_catalog, lifesaver, game, career) is expected
        assert ("lifesaver" in lifesaver_catalog.evaluate(game, career, set())) is expected

    def test_built_in_rules_still_read_the_right_values(self, lifesaver_catalog: Catalog) -> None:
        game = game_of(lifesaver_catalog, damage_done=501, revives=3, assists=2)
        career = career_of(lifesaver_catalog, games_played=1001)
        assert sorted(lifesaver_catalog.evaluate(game, career, set())) == ["bruiser", "lifesaver", "veteran"]

    def test_an_award_is_replaced_whole_by_id(self) -> None:
        catalog = catalog_with({"awards": {"bruiser": {
            "name": "Heavy Bruiser", "description": "Deal more than 1000 damage", "rule": "game.damage_done > 1000",
        }}})
        bruiser = catalog.award("bruiser")
        assert bruiser is not None
        assert bruiser.definition.name == "Heavy Bruiser"
        assert bruiser.definition.tier is None  # not merged with the built-in table
        assert holds(catalog, bruiser, game_of(catalog, damage_done=1000), career_of(catalog)) is False
        assert holds(catalog, bruiser, game_of(catalog, damage_done=1001), career_of(catalog)) is True
        assert [a.id for a in catalog.compiled].count("bruiser") == 1

    def test_a_stat_is_replaced_whole_by_id(self) -> None:
        catalog = catalog_with({"stats": {"hits": {"description": "Landed"}}})
        assert "hits" not in {name for _, name, _ in catalog.bounds}
        assert catalog.stat_ids == shipped_catalog().stat_ids

    def test_a_later_layer_wins_over_an_earlier_one(self) -> None:
        catalog = build_catalog([
            *builtin_layers(),
            ("a.toml", {"awards": {"x": award(rule="game.kills >= 1")}}),
            ("b.toml", {"awards": {"x": award(rule="game.kills >= 9")}}),
        ])
        x = catalog.award("x")
        assert x is not None
        assert x.definition.rule == "game.kills >= 9"

    def test_a_declared_progress_gives_the_target(self) -> None:
        catalog = catalog_with({"awards": {"medic": award(
            rule="career.total_assists >= 50 and career.wins >= 1", progress="career.total_assists >= 50")}})
        medic = catalog.award("medic")
        assert medic is not None and medic.progress is not None and medic.progress_value is not None
        assert medic.progress.target == 50
        assert medic.progress_value(career_of(catalog, total_assists=20)) == 20

    def test_a_user_file_is_read_from_disk(self, tmp_path: Path) -> None:
        path = tmp_path / "mine.toml"
        path.write_text(LIFESAVER_TOML, encoding="utf-8")
        catalog = load_catalog(user_file=str(path))
        assert catalog.award("lifesaver") is not None

    def test_a_user_file_that_is_not_toml_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.toml"
        path.write_text("[awards.x\nname = ", encoding="utf-8")
        with pytest.raises(InvalidCatalog, match=r"broken\.toml"):
            load_catalog(user_file=str(path))

    def test_a_missing_user_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidCatalog, match=r"nowhere\.toml"):
            load_catalog(user_file=str(tmp_path / "nowhere.toml"))


class TestCatalogErrors:
    def test_an_invalid_catalog_is_invalid_input(self) -> None:
        assert issubclass(InvalidCatalog, InvalidInput)

    def test_an_unknown_award_field_is_named(self) -> None:
        refused({"awards": {"lifesaver": award(colour="red")}}, "award 'lifesaver'", "colour")

    def test_an_unknown_stat_field_is_named(self) -> None:
        refused({"stats": {"revives": {"maximum": 3}}}, "stat 'revives'", "maximum")

    def test_an_unknown_top_level_table_is_named(self) -> None:
        refused({"badges": {}}, "badges")

    @pytest.mark.parametrize("bad_id", ["Lifesaver", "life-saver", "1up", "_x", "life saver", "x" * 41, ""])
    def test_a_bad_award_id_is_named(self, bad_id: str) -> None:
        refused({"awards": {bad_id: award()}}, f"award {bad_id!r}")

    @pytest.mark.parametrize("bad_id", ["Revives", "re.vives", "9lives"])
    def test_a_bad_stat_id_is_named(self, bad_id: str) -> None:
        refused({"stats": {bad_id: {}}}, f"stat {bad_id!r}")

    def test_an_id_of_40_characters_is_fine(self) -> None:
        catalog = catalog_with({"awards": {"x" * 40: award()}})
        assert catalog.award("x" * 40) is not None

    @pytest.mark.parametrize("tier", ["platinum", "Gold", 1])
    def test_an_unknown_tier_is_named(self, tier: object) -> None:
        refused({"awards": {"lifesaver": award(tier=tier)}}, "award 'lifesaver'", "tier")

    def test_a_family_without_a_level_is_refused(self) -> None:
        refused({"awards": {"medic_1": award(family="medic")}}, "award 'medic_1'", "family and level")

    def test_a_level_without_a_family_is_refused(self) -> None:
        refused({"awards": {"medic_1": award(level=1)}}, "award 'medic_1'", "family and level")

    @pytest.mark.parametrize("level", [0, -1, True, 1.0, "1"])
    def test_a_level_must_be_a_positive_integer(self, level: object) -> None:
        refused({"awards": {"medic_1": award(family="medic", level=level)}}, "award 'medic_1'", "level")

    def test_a_family_must_be_an_id(self) -> None:
        refused({"awards": {"medic_1": award(family="Medic Corps", level=1)}}, "award 'medic_1'", "family")

    @pytest.mark.parametrize("field", ["name", "description", "rule"])
    def test_a_missing_required_field_is_named(self, field: str) -> None:
        table = award()
        del table[field]
        refused({"awards": {"lifesaver": table}}, "award 'lifesaver'", field)

    @pytest.mark.parametrize("field", ["name", "description", "rule"])
    def test_a_blank_required_field_is_refused(self, field: str) -> None:
        refused({"awards": {"lifesaver": award(**{field: "  "})}}, "award 'lifesaver'", field)

    @pytest.mark.parametrize("field", ["hidden", "retired"])
    def test_a_flag_must_be_a_boolean(self, field: str) -> None:
        refused({"awards": {"lifesaver": award(**{field: "yes"})}}, "award 'lifesaver'", field)

    def test_an_award_that_is_not_a_table_is_refused(self) -> None:
        refused({"awards": {"lifesaver": "game.kills > 1"}}, "award 'lifesaver'", "table")

    def test_at_most_naming_an_unknown_stat_is_named(self) -> None:
        refused({"stats": {"revives": {"at_most": "lives"}}}, "stat 'revives'", "'lives'")

    def test_a_stat_cannot_be_bounded_by_itself(self) -> None:
        refused({"stats": {"revives": {"at_most": "revives"}}}, "stat 'revives'", "itself")

    def test_at_most_duration_is_accepted(self) -> None:
        catalog = catalog_with({"stats": {"time_dead": {"at_most": "duration"}}})
        assert ("time_dead" in {name for _, name, bound in catalog.bounds if bound is None})

    @pytest.mark.parametrize("reserved", ["won", "duration"])
    def test_reserved_stat_names_are_refused(self, reserved: str) -> None:
        refused({"stats": {reserved: {}}}, f"stat {reserved!r}", "reserved")

    def test_a_rule_naming_an_unknown_stat_names_the_file_and_the_award(self) -> None:
        refused({"awards": {"lifesaver": award(rule="game.revives >= 3 and game.assists >= 2")}},
                "lifesaver", "game.revives")

    def test_a_rule_that_does_not_parse_names_the_file_and_the_award(self) -> None:
        refused({"awards": {"lifesaver": award(rule="game.assists >=")}}, "lifesaver")

    def test_a_rule_that_is_not_a_condition_names_the_file_and_the_award(self) -> None:
        refused({"awards": {"lifesaver": award(rule="game.assists + 1")}}, "lifesaver", "condition")

    def test_a_bad_progress_expression_names_the_award(self) -> None:
        refused({"awards": {"medic": award(progress="game.assists >= 3")}}, "medic", "progress")

    def test_an_overridden_award_with_a_bad_rule_names_the_user_file(self) -> None:
        message = refused({"awards": {"bruiser": award(rule="game.damage >= 1")}}, "bruiser", "game.damage")
        assert "osmo/catalog" not in message

    def test_the_error_names_the_layer_the_entry_came_from(self) -> None:
        with pytest.raises(InvalidCatalog, match=r"second\.toml") as raised:
            build_catalog([
                *builtin_layers(),
                ("first.toml", {"awards": {"a": award()}}),
                ("second.toml", {"awards": {"b": award(rule="game.nope > 1")}}),
            ])
        assert "first.toml" not in str(raised.value)
        assert "'b'" in str(raised.value)


class TestToData:
    def test_the_shipped_catalog_round_trips(self) -> None:
        catalog = shipped_catalog()
        again = catalog_from_data(catalog.to_data(), 3)
        assert again.to_data() == catalog.to_data()
        assert again.stats == catalog.stats
        assert again.awards == catalog.awards
        assert again.game_names == catalog.game_names
        assert again.career_names == catalog.career_names
        assert again.version == 3

    def test_every_optional_field_round_trips(self) -> None:
        catalog = catalog_with({
            "stats": {"revives": {"description": "Teammates revived", "at_most": "assists"}},
            "awards": {"medic_2": award(rule="career.total_revives >= 10 and career.wins >= 1", tier="gold",
                                        hidden=True, family="medic", level=2, retired=True,
                                        progress="career.total_revives >= 10")},
        })
        again = catalog_from_data(catalog.to_data(), 1)
        assert again.stats == catalog.stats
        assert again.awards == catalog.awards
        assert again.to_data()["awards"]["medic_2"] == {
            "name": "X", "description": "An award", "rule": "career.total_revives >= 10 and career.wins >= 1",
            "tier": "gold", "hidden": True, "family": "medic", "level": 2, "retired": True,
            "progress": "career.total_revives >= 10"}

    def test_defaults_are_left_out_of_the_data(self) -> None:
        data = shipped_catalog().to_data()
        assert data["awards"]["bruiser"] == {
            "name": "Bruiser", "description": "Deal more than 500 damage in one game",
            "rule": "game.damage_done > 500", "tier": "silver"}
        assert data["stats"]["hits"] == {"description": "Attacks that landed", "at_most": "attempted_attacks"}

    def test_the_round_tripped_catalog_evaluates_the_same(self, lifesaver_catalog: Catalog) -> None:
        again = catalog_from_data(lifesaver_catalog.to_data(), 2)
        game = game_of(lifesaver_catalog, attempted_attacks=4, hits=3, revives=3, assists=2, damage_done=501)
        career = career_of(lifesaver_catalog, games_played=1001, wins=200, total_kills=100)
        assert again.evaluate(game, career, set()) == lifesaver_catalog.evaluate(game, career, set())
        assert again.fold(career, game[:-1], True) == lifesaver_catalog.fold(career, game[:-1], True)

    def test_the_stored_data_names_itself_in_errors(self) -> None:
        with pytest.raises(InvalidCatalog, match="stored catalog v4"):
            catalog_from_data({"awards": {"x": award(rule="game.nope > 1")}}, 4)


class TestDegenerateCatalogs:
    def test_a_catalog_with_one_stat_folds(self) -> None:
        catalog = Catalog((StatDef("kills"),), ())
        start = careers.empty_career(catalog)
        assert catalog.fold(start, (3,), True) == (1, 1, 0, 1, 1, 3, 3)

    def test_a_catalog_without_awards_evaluates_to_nothing(self) -> None:
        catalog = Catalog((StatDef("kills"),), ())
        assert catalog.evaluate((5, 1), (1, 1, 0, 1, 1, 5, 5), set()) == []

    def test_a_catalog_without_stats_is_either_usable_or_refused(self) -> None:
        try:
            catalog = build_catalog([("empty.toml", {})])
        except InvalidCatalog:
            return
        assert catalog.fold((0, 0, 0, 0, 0), (), True) == (1, 1, 0, 1, 1)

    def test_career_names_stay_unique_whatever_the_stats(self) -> None:
        try:
            catalog = catalog_with({"stats": {"win_streak": {}}})
        except InvalidCatalog:
            return
        assert len(set(catalog.career_names)) == len(catalog.career_names)

    def test_a_user_stat_cannot_change_what_unstoppable_reads(self) -> None:
        try:
            catalog = catalog_with({"stats": {"win_streak": {}}})
        except InvalidCatalog:
            return
        career = list(careers.empty_career(catalog))
        career[:5] = [10, 10, 0, 10, 10]  # games_played, wins, losses, current and best win streak
        unstoppable = catalog.award("unstoppable")
        assert unstoppable is not None
        assert holds(catalog, unstoppable, game_of(catalog, won=True), tuple(career)) is True
