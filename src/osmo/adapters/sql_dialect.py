"""SQL written once for both backends: how the drivers' SQL differs, and how shared queries are run.

Shared queries are written with ``?`` placeholders (sqlite3's style, so no literal ``?`` may appear in
them) and run through ``SqlQueries._execute``, which rewrites them for the backend's ``Dialect``.
"Column is one of these values" is ``Dialect.in_list``: SQLite binds each value (``IN (?, ?, ...)``, in
chunks of at most ``chunk`` values), PostgreSQL binds one array (``= ANY(?)``, one query).

No database driver is imported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

Row = tuple[Any, ...]
T = TypeVar("T")


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlConnection(Protocol):
    """What shared queries need of a connection (``sqlite3.Connection`` and ``psycopg.Connection`` have it)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...


@dataclass(frozen=True)
class Dialect:
    """How one driver's SQL differs from the SQL written here."""

    placeholder: str  # "?" (sqlite3) or "%s" (psycopg)
    arrays: bool  # a list binds as one array parameter (PostgreSQL), else value by value
    chunk: int = 500  # without arrays: at most this many values in one list
    bytewise: str = ""  # what makes text compare byte by byte in ORDER BY (SQLite's default already does)
    array: str = "?"  # the placeholder of an array parameter (psycopg: "%b", sent in binary, element by element)

    def sql(self, text: str) -> str:
        """``text``, written with ``?`` placeholders, in this dialect."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """The condition "``column`` is one of ``values``" and its parameters (see ``chunks``)."""
        if self.arrays:
            return f"{column} = ANY({self.array})", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def chunks(self, values: Sequence[T]) -> Iterator[Sequence[T]]:
        """``values`` in parts small enough for one ``in_list`` each (none when there are no values)."""
        if self.arrays:
            if values:
                yield values
            return
        for start in range(0, len(values), self.chunk):
            yield values[start:start + self.chunk]


SQLITE = Dialect("?", arrays=False)
POSTGRES = Dialect("%s", arrays=True, bytewise=' COLLATE "C"', array="%b")


class SqlQueries:
    """Runs SQL written once (``?`` placeholders) on a backend's ``conn``, in the backend's ``dialect``."""

    dialect: ClassVar[Dialect]
    conn: SqlConnection

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(self.dialect.sql(sql), params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query (PostgreSQL overrides this to read rows in binary)."""
        return self._execute(sql, params).fetchall()

    def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self._execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _in_rows(self, sql: str, column: str, values: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of ``sql`` (whose ``{in_list}`` stands for "``column`` is one of ``values``"), in as many
        queries as the dialect needs; ``params`` are bound after the list."""
        for part in self.dialect.chunks(values):
            condition, bound = self.dialect.in_list(column, part)
            yield from self._rows(sql.format(in_list=condition), [*bound, *params])
