"""The packed form of a game's lines: one fixed-width record of integers per player.

Records are int32 when every value fits (nearly always: it halves what a scan of history reads), else
int64; the item size is stored beside the blob.

Record layout for a catalog of n stats: ``player_key, team, game[n + 1], career[5 + 2n]`` where
``game`` is the game vector (stats, then won) and ``career`` the snapshot after the game.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from osmo.domain.catalog import CAREER_BASE

Record = tuple[int, int, tuple[int, ...], tuple[int, ...]]


def width(stat_count: int) -> int:
    return 2 + (stat_count + 1) + (len(CAREER_BASE) + 2 * stat_count)


def pack(records: Sequence[Record]) -> tuple[bytes, int]:
    """The records as bytes, and the item size used (4 when every value fits in int32, else 8)."""
    flat: list[int] = []
    for key, team, game, career in records:
        flat += (key, team, *game, *career)
    try:
        return array("i", flat).tobytes(), 4
    except OverflowError:
        return array("q", flat).tobytes(), 8


def unpack(blob: bytes, stat_count: int, itemsize: int = 8) -> list[Record]:
    values = array("i" if itemsize == 4 else "q", blob)
    size = width(stat_count)
    game_end = 2 + stat_count + 1
    return [
        (values[i], values[i + 1], tuple(values[i + 2:i + game_end]), tuple(values[i + game_end:i + size]))
        for i in range(0, len(values), size)
    ]
