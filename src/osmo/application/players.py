"""Use cases: register and list players."""

from __future__ import annotations

from osmo.application.lookups import known_player
from osmo.application.ports import Database, PlayerRow
from osmo.application.projections import dispatch, live_subscribers
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput, PlayerExists

MAX_NAME = 64
MAX_ID = 128

SEED_PLAYERS = (
    ("thrall", "Thrall"), ("rexxar", "Rexxar"), ("guldan", "Gul'Dan"), ("malfurion", "Malfurion"),
    ("garrosh", "Garrosh"), ("uther", "Uther"), ("anduin", "Anduin"), ("valeera", "Valeera"),
    ("morgl", "Morgl"), ("medivh", "Medivh"),
)


def _check(player_id: str, name: str) -> tuple[str, str]:
    if not player_id or len(player_id) > MAX_ID or any(c.isspace() or not c.isprintable() for c in player_id):
        raise InvalidInput(f"player id {player_id!r} must be 1 to {MAX_ID} printable characters without spaces")
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(f"player name {name!r} must be 1 to {MAX_NAME} printable characters")
    return player_id, name


def register_player(database: Database, catalog: Catalog, player_id: str, name: str) -> PlayerRow:
    """Register a player; the id and the name must both be unused."""
    player_id, name = _check(player_id, name)
    with database.transaction() as tx:
        tx.views.use_catalog(catalog)
        if tx.views.registered([player_id]):
            raise PlayerExists(f"player id {player_id!r} is already registered")
        taken = tx.views.player_named(name)
        if taken is not None:
            raise PlayerExists(f"name {name!r} is already taken by player {taken.player_id!r}")
        recorded = tx.events.append([ev.player_registered(player_id, name)])
        dispatch(tx, recorded, catalog, live_subscribers())
        return PlayerRow(player_id, name, recorded[0].recorded_at)


def register_seed_players(database: Database, catalog: Catalog) -> list[PlayerRow]:
    """Register the ten seed players that are not registered yet (idempotent)."""
    added = []
    with database.reader() as tx:
        present = tx.views.registered(p for p, _ in SEED_PLAYERS)
    for player_id, name in SEED_PLAYERS:
        if player_id not in present:
            added.append(register_player(database, catalog, player_id, name))
    return added


def list_players(database: Database) -> list[PlayerRow]:
    with database.reader() as tx:
        return tx.views.players()


def find_player(database: Database, key: str) -> PlayerRow:
    """A player by id, or by name when no player has that id."""
    with database.reader() as tx:
        return known_player(tx, key)
