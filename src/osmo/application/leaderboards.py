"""Use case: leaderboards. All time, players rank by a career stat (``total_kills``, ``wins``,
``best_win_streak``...). With ``since``, by what they did in the games finished since then: ``total_<stat>``
(or the game stat ``<stat>``) sums it, ``best_<stat>`` takes the most in one game, ``games_played``,
``wins`` and ``losses`` count games. Ties share a rank (1, 2, 2, 4); the order within a tie is by player id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from osmo.application.lookups import known_player
from osmo.application.ports import LineBlock, RankRow, ServiceTransaction
from osmo.application.service_roles import roles
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput, UnknownStat
from osmo.domain.games import format_instant

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Board:
    stat: str
    since: str | None
    total: int  # players on the board
    rows: list[RankRow]


def parse_since(text: str) -> str:
    """``since`` as an ISO 8601 UTC instant (``...Z``); a time zone is required."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"since: {text!r} is not an ISO 8601 time (e.g. 2026-11-28T00:00:00Z)") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"since: {text!r} must have a time zone (e.g. a trailing Z)")
    try:
        return format_instant(moment)
    except OverflowError:
        raise InvalidInput(f"since: {text!r} is out of range") from None


def leaderboard(uow: UnitOfWork, stat: str, *, limit: int = 10, offset: int = 0, since: str | None = None,
                player: str | None = None, around: int = 5) -> Board:
    """A page of the board, or (``player``) that player's row with ``around`` neighbours on each side."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must not be negative, not {offset}")
    instant = parse_since(since) if since is not None else None
    with uow.read() as reader:
        tx, catalog = roles(reader.tx), reader.catalog
        player_id = known_player(tx, player).player_id if player is not None else None
        if instant is None:
            return _career_board(tx, catalog, stat, limit, offset, player_id, around)
        board = _period_board(tx, catalog, stat, instant)
    if player_id is not None:
        at = next((r.row for r in board if r.player_id == player_id), None)
        rows = [] if at is None else board[max(0, at - around):at + around + 1]
    else:
        rows = board[offset:offset + limit]
    return Board(stat, instant, len(board), rows)


def _career_board(tx: ServiceTransaction, catalog: Catalog, stat: str, limit: int, offset: int,
                  player_id: str | None, around: int) -> Board:
    if stat not in catalog.career_names:
        raise UnknownStat(f"no leaderboard is named {stat!r}: use a career stat ({', '.join(catalog.career_names)})")
    if player_id is not None:
        at = tx.boards.career_row(stat, player_id)
        if at is None:
            return Board(stat, None, tx.boards.career_board(stat, 1, 0)[1], [])
        offset, limit = max(0, at - around), at - max(0, at - around) + around + 1
    rows, total = tx.boards.career_board(stat, limit, offset)
    return Board(stat, None, total, rows)


def _period_values(block: LineBlock, catalog: Catalog, stat: str) -> tuple[np.ndarray, str]:
    """Per line, the value that ``stat`` adds up (or maxes) over a period, and how: "sum" or "max"."""
    game_names = catalog.game_names
    if stat == "games_played":
        return np.ones(len(block), dtype=np.int64), "sum"
    if stat == "wins":
        return block.game_column(game_names.index("won")), "sum"
    if stat == "losses":
        return 1 - block.game_column(game_names.index("won")), "sum"
    name, how = stat, "sum"
    if stat.startswith("total_"):
        name = stat.removeprefix("total_")
    elif stat.startswith("best_") and stat.removeprefix("best_") in catalog.stat_ids:
        name, how = stat.removeprefix("best_"), "max"
    if name not in catalog.stat_ids:
        raise UnknownStat(f"no leaderboard over a period is named {stat!r}: use games_played, wins, losses, "
                          "total_<stat>, best_<stat> or a game stat")
    return block.game_column(game_names.index(name)), how


def _period_board(tx: ServiceTransaction, catalog: Catalog, stat: str, since: str) -> list[RankRow]:
    block = tx.boards.lines_since(since)
    values, how = _period_values(block, catalog, stat)
    if not len(block):
        return []
    keys = block.keys
    present = np.unique(keys)
    index = np.searchsorted(present, keys)
    if how == "sum":
        totals = np.zeros(len(present), dtype=np.int64)
        np.add.at(totals, index, values)
    else:
        totals = np.full(len(present), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(totals, index, values)
    ids = tx.players.player_keys()
    names = {p.player_id: p.name for p in tx.players.players()}
    scored = sorted(((int(v), ids[int(k)]) for k, v in zip(present.tolist(), totals.tolist(), strict=True)),
                    key=lambda vp: (-vp[0], vp[1].encode()))
    board: list[RankRow] = []
    for row, (value, player_id) in enumerate(scored):
        rank = board[-1].rank if board and board[-1].value == value else row + 1
        board.append(RankRow(player_id, names[player_id], value, rank, row))
    return board
