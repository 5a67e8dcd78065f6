"""Catalog files and catalogs that used to crash with a traceback, or fail later in the database: each is now
an InvalidCatalog naming the file (and the entry where there is one), raised when the catalog loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.domain.catalog import MAX_AWARDS, MAX_LEVEL, MAX_STATS, build_catalog, catalog_from_data
from osmo.domain.errors import InvalidCatalog
from tests.unit.support import catalog_with, shipped_catalog


def award(**fields: Any) -> dict[str, Any]:
    return {"name": "X", "description": "An award", "rule": "game.kills >= 1", **fields}


def refused_file(tmp_path: Path, content: bytes, *fragments: str, name: str = "mine.toml") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidCatalog) as raised:
        load_catalog(user_file=str(path))
    message = str(raised.value)
    for fragment in (name, *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert len(message) < 1000
    return message


class TestFiles:
    def test_a_binary_file_is_refused(self, tmp_path: Path) -> None:
        refused_file(tmp_path, bytes(range(256)) * 4, "UTF-8")

    def test_a_binary_file_that_happens_to_be_utf8_is_refused(self, tmp_path: Path) -> None:
        refused_file(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00\x00", "not valid TOML")

    def test_a_latin1_file_is_refused(self, tmp_path: Path) -> None:
        content = '[awards.x]\nname = "Café"\ndescription = "d"\nrule = "game.kills >= 1"\n'.encode("latin-1")
        refused_file(tmp_path, content, "UTF-8")

    def test_a_utf16_file_is_refused(self, tmp_path: Path) -> None:
        refused_file(tmp_path, '[stats.revives]\ndescription = "x"\n'.encode("utf-16"), "UTF-8")

    @pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ("{a = ", "}")])
    def test_toml_nested_ten_thousand_deep_is_refused(self, tmp_path: Path, opening: str, closing: str) -> None:
        content = "x = " + opening * 10_000 + ("1" if opening != "[" else "") + closing * 10_000 + "\n"
        refused_file(tmp_path, content.encode(), "nested too deeply")

    def test_an_integer_beyond_pythons_digit_limit_is_refused(self, tmp_path: Path) -> None:
        content = f'[awards.x]\nname = "X"\ndescription = "d"\nrule = "game.kills >= 1"\nlevel = {"9" * 5000}\n'
        refused_file(tmp_path, content.encode(), "not valid TOML")

    def test_a_level_beyond_64_bits_in_a_file_names_file_and_award(self, tmp_path: Path) -> None:
        content = (f'[awards.medic_1]\nname = "M"\ndescription = "d"\nrule = "game.kills >= 1"\nfamily = "medic"\n'
                   f"level = {2**64}\n")
        refused_file(tmp_path, content.encode(), "award 'medic_1'", "level")

    def test_a_valid_file_still_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "ok.toml"
        path.write_text('[awards.x]\nname = "Café ☕"\ndescription = "d"\nrule = "game.kills >= 1"\n', "utf-8")
        catalog = load_catalog(user_file=str(path))
        x = catalog.award("x")
        assert x is not None and x.definition.name == "Café ☕"


class TestLevel:
    @pytest.mark.parametrize("level", [2**63, 2**64, 10**30, MAX_LEVEL + 1])
    def test_a_level_beyond_the_limit_is_refused(self, level: int) -> None:
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {"medic_1": award(family="medic", level=level)}})
        message = str(raised.value)
        assert "user.toml" in message and "award 'medic_1'" in message and f"1 to {MAX_LEVEL}" in message

    @pytest.mark.parametrize("level", [1, 2, MAX_LEVEL])
    def test_a_level_within_the_limit_is_fine(self, level: int) -> None:
        catalog = catalog_with({"awards": {"medic_1": award(family="medic", level=level)}})
        medic = catalog.award("medic_1")
        assert medic is not None and medic.definition.level == level


class TestCounts:
    def test_the_limits_keep_the_careers_table_within_the_databases(self) -> None:
        careers_columns = 5 + 2 * MAX_STATS
        assert careers_columns + 10 < 1600  # PostgreSQL's column limit (SQLite's is 2000)

    def test_a_thousand_stats_are_refused_at_load(self) -> None:
        stats: dict[str, Any] = {f"s{i}": {} for i in range(1000)}
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"stats": stats}, "many.toml")
        message = str(raised.value)
        assert "many.toml" in message and f"at most {MAX_STATS} stats" in message

    def test_exactly_the_limit_of_stats_is_fine(self) -> None:
        room = MAX_STATS - len(shipped_catalog().stat_ids)
        catalog = catalog_with({"stats": {f"s{i}": {} for i in range(room)}})
        assert len(catalog.stat_ids) == MAX_STATS
        with pytest.raises(InvalidCatalog, match=f"stat 's{room}'"):
            catalog_with({"stats": {f"s{i}": {} for i in range(room + 1)}})

    def test_overriding_a_stat_does_not_count_it_twice(self) -> None:
        shipped = shipped_catalog().stat_ids
        room = MAX_STATS - len(shipped)
        stats: dict[str, Any] = {s: {"description": "again"} for s in shipped}
        stats.update({f"s{i}": {} for i in range(room)})
        assert len(catalog_with({"stats": stats}).stat_ids) == MAX_STATS

    def test_too_many_awards_are_refused(self) -> None:
        room = MAX_AWARDS - len(shipped_catalog().awards)
        catalog = catalog_with({"awards": {f"a{i}": award() for i in range(room)}})
        assert len(catalog.awards) == MAX_AWARDS
        with pytest.raises(InvalidCatalog) as raised:
            catalog_with({"awards": {f"a{i}": award() for i in range(room + 1)}}, "awards.toml")
        message = str(raised.value)
        assert "awards.toml" in message and f"award 'a{room}'" in message and f"at most {MAX_AWARDS}" in message

    def test_a_stored_catalog_beyond_the_limits_names_itself(self) -> None:
        with pytest.raises(InvalidCatalog, match="stored catalog v7"):
            catalog_from_data({"stats": {f"s{i}": {} for i in range(MAX_STATS + 1)}}, 7)

    def test_the_limit_counts_across_layers(self) -> None:
        half = MAX_STATS // 2 + 1
        with pytest.raises(InvalidCatalog, match=r"second\.toml"):
            build_catalog([("first.toml", {"stats": {f"a{i}": {} for i in range(half)}}),
                           ("second.toml", {"stats": {f"b{i}": {} for i in range(half)}})])
