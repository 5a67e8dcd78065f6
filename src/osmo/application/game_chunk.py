"""Checked games in columns: what the check of a batch hands to its writes.

A ``GameChunk`` holds consecutive checked games of one input, in input order: per game its input line and
place, id, ``finished_at`` and winner as stored, and its stored form already serialised (``payloads``: the
JSON text of ``Game.to_data``, exactly what the event store keeps as GameRecorded's data); per player line
(game by game, team 0 then team 1, as reported) the player, the team and the stat values in the order of
``stat_ids``. The writes append the payloads as they are and fold careers and evaluate awards over the
columns (``batch_fold``, ``batch_awards``), so no game is rebuilt as objects between the check and the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import orjson

from osmo.domain.events import derived_id_bytes, game_stream
from osmo.domain.games import Game, game_from_data

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class GameChunk:
    stat_ids: tuple[str, ...]
    lines: list[int]
    indexes: list[int]
    game_ids: list[str]
    finished_at: list[str]
    winners: list[int]
    payloads: list[str]
    starts: Ints
    """``starts[i]:starts[i + 1]`` are the player lines of game ``i``."""
    player_ids: list[str]
    teams: Ints
    values: Ints
    """One row per player line, one column per stat of ``stat_ids``."""
    event_ids: list[bytes]
    """Each game's GameRecorded event id (``events.derived_id_bytes`` of its stream, version 0)."""

    def __len__(self) -> int:
        return len(self.game_ids)

    @classmethod
    def empty(cls, stat_ids: Sequence[str]) -> GameChunk:
        return cls(tuple(stat_ids), [], [], [], [], [], [], np.zeros(1, dtype=np.int64), [],
                   np.zeros(0, dtype=np.int64), np.zeros((0, len(stat_ids)), dtype=np.int64), [])

    @classmethod
    def of_games(cls, games: Sequence[tuple[int, int, Game]], stat_ids: Sequence[str]) -> GameChunk:
        """``(line, index, game)`` checked one by one (each game's values in the order of ``stat_ids``)."""
        if not games:
            return cls.empty(stat_ids)
        stat_ids = tuple(stat_ids)
        stored = [game.to_data(stat_ids) for _, _, game in games]
        lines = [line for _, _, game in games for line in game.lines]
        starts = np.zeros(len(games) + 1, dtype=np.int64)
        np.cumsum([len(game.lines) for _, _, game in games], out=starts[1:])
        return cls(
            stat_ids, [line for line, _, _ in games], [index for _, index, _ in games],
            [game.game_id for _, _, game in games], [data["finished_at"] for data in stored],
            [game.winner for _, _, game in games], [orjson.dumps(data).decode() for data in stored], starts,
            [line.player_id for line in lines], np.array([line.team for line in lines], dtype=np.int64),
            np.array([line.values for line in lines], dtype=np.int64).reshape(len(lines), len(stat_ids)),
            game_event_ids([game.game_id for _, _, game in games]))

    def data(self, game: int) -> dict[str, object]:
        """Game ``game``'s stored form, as the event store gives it back."""
        data: dict[str, object] = orjson.loads(self.payloads[game])
        return data

    def game(self, game: int) -> Game:
        """Game ``game`` in normal form (to compare it with another record of the same game id)."""
        return game_from_data(self.data(game), self.stat_ids)

    def take(self, games: Sequence[int]) -> GameChunk:
        """These games (by place in the chunk, in increasing order) as a chunk."""
        if len(games) == len(self):
            return self
        starts = self.starts
        picked = np.asarray(games, dtype=np.int64)
        sizes = starts[picked + 1] - starts[picked]
        new_starts = np.zeros(len(picked) + 1, dtype=np.int64)
        np.cumsum(sizes, out=new_starts[1:])
        rows = (np.repeat(starts[picked] - new_starts[:-1], sizes) + np.arange(int(new_starts[-1]), dtype=np.int64)
                if len(picked) else np.zeros(0, dtype=np.int64))
        listed = rows.tolist()
        return GameChunk(self.stat_ids, [self.lines[g] for g in games], [self.indexes[g] for g in games],
                         [self.game_ids[g] for g in games], [self.finished_at[g] for g in games],
                         [self.winners[g] for g in games], [self.payloads[g] for g in games], new_starts,
                         [self.player_ids[r] for r in listed], self.teams[rows], self.values[rows],
                         [self.event_ids[g] for g in games])

    def slice(self, begin: int, end: int) -> GameChunk:
        """Games ``begin`` to ``end`` (excluded)."""
        if begin == 0 and end >= len(self):
            return self
        first, last = int(self.starts[begin]), int(self.starts[end])
        return GameChunk(self.stat_ids, self.lines[begin:end], self.indexes[begin:end], self.game_ids[begin:end],
                         self.finished_at[begin:end], self.winners[begin:end], self.payloads[begin:end],
                         self.starts[begin:end + 1] - first, self.player_ids[first:last], self.teams[first:last],
                         self.values[first:last], self.event_ids[begin:end])

    @staticmethod
    def concat(chunks: Sequence[GameChunk]) -> GameChunk:
        """The games of ``chunks`` in order (all checked with the same stats)."""
        if len(chunks) == 1:
            return chunks[0]
        offsets = np.cumsum([0] + [int(c.starts[-1]) for c in chunks[:-1]])
        return GameChunk(
            chunks[0].stat_ids, [x for c in chunks for x in c.lines], [x for c in chunks for x in c.indexes],
            [x for c in chunks for x in c.game_ids], [x for c in chunks for x in c.finished_at],
            [x for c in chunks for x in c.winners], [x for c in chunks for x in c.payloads],
            np.concatenate([np.zeros(1, dtype=np.int64)]
                           + [c.starts[1:] + offset for c, offset in zip(chunks, offsets, strict=True)]),
            [x for c in chunks for x in c.player_ids], np.concatenate([c.teams for c in chunks]),
            np.concatenate([c.values for c in chunks]), [x for c in chunks for x in c.event_ids])

    def numbered(self, first: int) -> GameChunk:
        """The chunk with its games' places in the input counted from ``first``."""
        return replace(self, indexes=list(range(first, first + len(self))))


def game_event_ids(game_ids: Sequence[str]) -> list[bytes]:
    """The GameRecorded event id of each game (the first event of its stream)."""
    return [derived_id_bytes(game_stream(game_id), 0) for game_id in game_ids]
