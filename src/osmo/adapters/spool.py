"""A Spool that keeps the first checked games in memory and the rest in a temporary file: checked games
wait there between the check of the whole input and the writes, so recording a large input keeps memory
flat (at most ``memory_games`` games held, then a pickled chunk at a time), while a small one pays no file
round trip. The file is removed when closed (or when the process ends)."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO

from osmo.application.game_chunk import GameChunk

MEMORY_GAMES = 20_000
"""Games held in memory before the spool spills to its file (about 40 MB of checked games)."""


class FileSpool:
    def __init__(self, directory: str | None = None, memory_games: int = MEMORY_GAMES) -> None:
        self._directory = directory
        self._room = memory_games
        self._held: list[GameChunk] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def add(self, chunk: GameChunk) -> None:
        if self._file is None and len(chunk) <= self._room:
            self._held.append(chunk)
            self._room -= len(chunk)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="osmo-record-", dir=self._directory)  # noqa: SIM115
        pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += 1

    def chunks(self) -> Iterator[GameChunk]:
        yield from self._held
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        for _ in range(self._spilled):
            chunk: GameChunk = pickle.load(self._file)
            yield chunk
        self._file.seek(0, 2)

    def close(self) -> None:
        self._held.clear()
        if self._file is not None:
            self._file.close()
