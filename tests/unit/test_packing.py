"""The SQL backends' packed game lines: packed records decode back, in any stat layout."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from osmo.adapters import packing
from osmo.domain.catalog import CAREER_BASE, Catalog, StatDef
from tests.unit.support import QUICK_PROPERTY

int64 = st.integers(-(2**63), 2**63 - 1)


def catalog_of(stat_ids: list[str]) -> Catalog:
    return Catalog(tuple(StatDef(s) for s in stat_ids), ())


def records(stat_count: int) -> st.SearchStrategy[list[packing.Record]]:
    return st.lists(st.tuples(
        int64, st.integers(0, 1),
        st.tuples(*[int64] * (stat_count + 1)),
        st.tuples(*[int64] * (len(CAREER_BASE) + 2 * stat_count)),
    ), max_size=8)


class TestPacking:
    @QUICK_PROPERTY
    @given(data=st.data(), stat_count=st.integers(0, 12))
    def test_decode_reverses_pack(self, data: st.DataObject, stat_count: int) -> None:
        rows = data.draw(records(stat_count))
        stat_ids = [f"s{i}" for i in range(stat_count)]
        blob, itemsize = packing.pack(rows)
        assert len(blob) == itemsize * packing.width(stat_count) * len(rows)
        narrow = all(-(2**31) <= v < 2**31 for key, team, game, career in rows for v in (key, team, *game, *career))
        assert itemsize == (4 if narrow else 8)
        block = packing.decode([(7, "g7", "f", 1, blob, itemsize)], {1: tuple(stat_ids)}, catalog_of(stat_ids))
        assert block.keys.tolist() == [r[0] for r in rows]
        assert block.teams.tolist() == [r[1] for r in rows]
        if rows:
            assert block.game.tolist() == [list(r[2]) for r in rows]
            assert block.career.tolist() == [list(r[3]) for r in rows]
        assert block.positions.tolist() == [7] * len(rows)
        assert packing.keys_of(blob, itemsize, stat_count) == [r[0] for r in rows]

    def test_lines_of_an_older_layout_read_new_stats_as_zero_and_mix_with_wide_rows(self) -> None:
        old, new = ["kills"], ["kills", "revives"]
        narrow = packing.pack([(1, 0, (3, 1), (1, 1, 0, 1, 1, 3, 3))])
        wide = packing.pack([(2, 1, (2**40, 5, 0), (1, 0, 1, 0, 0, 2**40, 5, 2**40, 5))])
        block = packing.decode([(10, "g10", "f", 1, *narrow), (11, "g11", "f", 2, *wide)],
                               {1: tuple(old), 2: tuple(new)}, catalog_of(new))
        assert (narrow[1], wide[1]) == (4, 8)
        assert block.positions.tolist() == [10, 11]
        assert block.game.tolist() == [[3, 0, 1], [2**40, 5, 0]]
        assert block.career.tolist() == [[1, 1, 0, 1, 1, 3, 0, 3, 0], [1, 0, 1, 0, 0, 2**40, 5, 2**40, 5]]
        assert block.games == {10: ("g10", "f"), 11: ("g11", "f")}

    def test_the_width_counts_key_team_game_and_career(self) -> None:
        assert packing.width(3) == 2 + 4 + len(CAREER_BASE) + 6

    def test_nothing_packs_to_nothing(self) -> None:
        assert packing.pack([]) == (b"", 4)
        assert len(packing.decode([], {}, catalog_of(["kills"]))) == 0
