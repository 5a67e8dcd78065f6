"""A Spool on a temporary file: checked games wait there between the check of the whole input and the
writes, a pickled chunk at a time, so recording a large input keeps memory flat. The file is removed when
closed (or when the process ends)."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator

from osmo.application.recording import Spooled


class FileSpool:
    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(prefix="osmo-record-", dir=directory)  # noqa: SIM115 (closed by close)
        self._chunks = 0

    def add(self, chunk: list[Spooled]) -> None:
        pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._chunks += 1

    def chunks(self) -> Iterator[list[Spooled]]:
        self._file.flush()
        self._file.seek(0)
        for _ in range(self._chunks):
            chunk: list[Spooled] = pickle.load(self._file)
            yield chunk
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()
