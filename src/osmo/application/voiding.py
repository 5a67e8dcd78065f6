"""What a voided game changes, below the use cases: the careers of its players are folded again without
it (the careers projector calls ``remove_game``) and the awards they earned at or after it are checked
again (the award policy calls ``recheck_after_void``).

Both read only the voided game's players' games from the voided game on, through the index of each
player's games (``GameLineViews.games_of``): a void costs what those later games cost, never a scan of the
whole history. A rebuild does not replay voids at all: it skips voided games (see
``osmo.application.backfill.rebuild``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar

import numpy as np

from osmo.application import history
from osmo.application.catalogs import rule_as_of
from osmo.application.ports import GameLineRow, Transaction, UnlockRow
from osmo.domain import events as ev
from osmo.domain import rules
from osmo.domain.career import Career
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidCatalog
from osmo.domain.events import NewEvent, RecordedEvent

CHUNK = 2_000  # games read at a time

progress: ContextVar[Callable[[int], None] | None] = ContextVar("osmo_void_progress", default=None)
"""Set by the void use case: called with the number of later games rewritten, as they are."""


def _chunks(positions: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(positions), CHUNK):
        yield positions[start:start + CHUNK]


def remove_game(tx: Transaction, catalog: Catalog, position: int) -> None:
    """Drop a game's lines and fold again, without it, the careers of its players and the career
    snapshots of their later games (each later game's row is rewritten once, in the current layout)."""
    block = tx.lines.lines_at([position])
    if not len(block):
        return  # already removed
    names = tx.players.player_keys()
    keys = set(block.keys.tolist())
    players = [names[k] for k in keys]
    tx.lines.remove_game(position)
    previous = tx.lines.last_games(players, before=position)
    careers = _careers_before(tx, catalog, players, names, previous)
    last = {player_id: previous.get(player_id, 0) for player_id in players}  # each career's last game
    affected = sorted({p for positions in tx.lines.games_of(players, after=position).values() for p in positions})
    report = progress.get()
    fold = catalog.fold
    for part in _chunks(affected):
        chunk = tx.lines.lines_at(part)
        games, snapshots = chunk.game.tolist(), chunk.career.tolist()
        rows: dict[int, list[GameLineRow]] = {}
        for i, (key, team, at) in enumerate(zip(chunk.keys.tolist(), chunk.teams.tolist(),
                                                chunk.positions.tolist(), strict=True)):
            game, career = tuple(games[i]), tuple(snapshots[i])
            player_id = names[key]
            if key in keys:
                career = careers[player_id] = fold(careers[player_id], game[:-1], bool(game[-1]))
                last[player_id] = at
            game_id, finished_at = chunk.games[at]
            rows.setdefault(at, []).append(GameLineRow(at, player_id, game_id, team, finished_at, game, career))
        for game_rows in rows.values():
            tx.lines.replace_game_lines(game_rows)
        if report is not None:
            report(len(rows))
    for player_id in players:
        tx.careers.put_career(player_id, careers[player_id], last[player_id])


def _careers_before(tx: Transaction, catalog: Catalog, players: list[str], names: dict[int, str],
                    previous: dict[str, int]) -> dict[str, Career]:
    """Each player's career snapshot at their game at ``previous[player]`` (empty if none)."""
    careers: dict[str, Career] = dict.fromkeys(players, (0,) * len(catalog.career_names))
    if previous:
        block = tx.lines.lines_at(previous.values())
        snapshots = block.career.tolist()
        for i, (key, at) in enumerate(zip(block.keys.tolist(), block.positions.tolist(), strict=True)):
            player_id = names[key]
            if previous.get(player_id) == at:
                careers[player_id] = tuple(snapshots[i])
    return careers


def recheck_after_void(tx: Transaction, catalog: Catalog, event: RecordedEvent) -> list[NewEvent]:
    """The awards the voided game's players earned at or after it: kept where the rule (as it was in the
    catalog version that granted it) still holds at the same game, moved to the first later game where
    it holds, or revoked when it holds at no remaining game from there on. Never moved earlier.

    Only awards already held are reconsidered: an award that removing the game would make a player earn
    (a rule such as ``career.losses < 6``) is granted by ``backfill``, not by the void."""
    voided: ev.GameVoided = event.payload  # type: ignore[assignment]
    position = voided.game_position
    (recorded,) = tx.events.first_events([ev.game_stream(voided.game_id)]).values()
    game: ev.GameRecorded = recorded.payload  # type: ignore[assignment]
    keys = {player_id: key for key, player_id in tx.players.player_keys().items()}
    why = f"game {voided.game_id!r} voided: {voided.reason}"
    rule_of = _rules_by_version(tx, catalog)
    decided: list[NewEvent] = []
    for player_id in game.player_ids:
        touched = [u for u in tx.unlocks.unlocks_of(player_id)
                   if u.game_position is not None and u.game_position >= position
                   and catalog.award(u.award_id) is not None]
        if not touched:
            continue
        found = _first_holding(tx, catalog, keys[player_id], player_id, touched, rule_of)
        for unlock in touched:
            now = found.get(unlock.award_id)
            if now is not None and now[0] == unlock.game_position:
                continue
            decided.append(ev.award_revoked(player_id, unlock.award_id, why, unlock.version, source="correction"))
            if now is not None:
                decided.append(ev.award_unlocked(
                    player_id, unlock.award_id, now[1], now[0], now[2],
                    unlock.catalog_version if unlock.catalog_version is not None else catalog.version,
                    source="correction", reason=why, stream_version=unlock.version + 1))
    return decided


def _first_holding(tx: Transaction, catalog: Catalog, key: int, player_id: str, unlocks: list[UnlockRow],
                   rule_of: Callable[[str, int | None], rules.Node]) -> dict[str, tuple[int, str, str]]:
    """For each unlock, the first game of the player at or after the unlock's game where its rule holds:
    ``(position, game_id, finished_at)``."""
    pending = {u.award_id: u for u in unlocks}
    start = min(u.game_position for u in unlocks if u.game_position is not None)
    found: dict[str, tuple[int, str, str]] = {}
    for part in _chunks(tx.lines.games_of([player_id], after=start - 1)[player_id]):
        block = tx.lines.lines_at(part)
        mine = block.keys == key
        for award_id, unlock in list(pending.items()):
            mask = history.evaluate(rule_of(award_id, unlock.catalog_version), block, catalog)
            hits = np.flatnonzero(mask & mine & (block.positions >= (unlock.game_position or 0)))
            if hits.size:
                at = int(block.positions[hits[0]])
                game_id, finished_at = block.games[at]
                found[award_id] = (at, game_id, finished_at)
                del pending[award_id]
        if not pending:
            break
    return found


def _rules_by_version(tx: Transaction, catalog: Catalog) -> Callable[[str, int | None], rules.Node]:
    """The rule of an award as it was in a catalog version (the current one when unknown)."""

    def rule_of(award_id: str, version: int | None) -> rules.Node:
        current = catalog.award(award_id)
        assert current is not None
        text = rule_as_of(tx, award_id, version)
        if text is None or text == current.definition.rule:
            return current.node
        try:
            return rules.parse(text, catalog.names())
        except (rules.RuleSyntaxError, InvalidCatalog):
            return current.node

    return rule_of
