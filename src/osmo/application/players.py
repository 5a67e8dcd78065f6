"""Use cases: register and list players."""

from __future__ import annotations

from osmo.application.lookups import known_player
from osmo.application.ports import PlayerRow
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.errors import PlayerExists
from osmo.domain.players import check_player, identity_key

SEED_PLAYERS = (
    ("thrall", "Thrall"), ("rexxar", "Rexxar"), ("guldan", "Gul'Dan"), ("malfurion", "Malfurion"),
    ("garrosh", "Garrosh"), ("uther", "Uther"), ("anduin", "Anduin"), ("valeera", "Valeera"),
    ("morgl", "Morgl"), ("medivh", "Medivh"),
)


def register_player(uow: UnitOfWork, player_id: str, name: str) -> PlayerRow:
    """Register a player. The id and the name must both be unused, and neither may equal another
    player's id or name once compared case-insensitively (``identity_key``): a PLAYER argument is an id,
    or a name when no player has that id, so the two must never be confused."""
    player_id, name = check_player(player_id, name)
    with uow.write() as writer:
        taken = writer.tx.players.clashing_player(player_id, name)
        if taken is not None:
            if identity_key(taken.player_id) == identity_key(player_id):
                what = f"player id {player_id!r} is already registered" if taken.player_id == player_id else (
                    f"player id {player_id!r} is too close to the id of player {taken.player_id!r}")
            elif identity_key(taken.name) == identity_key(name):
                what = f"name {name!r} is already taken by player {taken.player_id!r}"
            elif identity_key(taken.name) == identity_key(player_id):
                what = f"player id {player_id!r} is the name of player {taken.player_id!r}"
            else:
                what = f"name {name!r} is the id of another player"
            raise PlayerExists(what)
        appended = writer.append([ev.player_registered(player_id, name)])
        return PlayerRow(player_id, name, appended[0].recorded_at)


def register_players(uow: UnitOfWork, players: list[tuple[str, str]]) -> list[PlayerRow]:
    """Register the players among these that are not registered yet (idempotent)."""
    with uow.read() as reader:
        present = reader.tx.players.registered(p for p, _ in players)
    return [register_player(uow, player_id, name) for player_id, name in players if player_id not in present]


def register_seed_players(uow: UnitOfWork) -> list[PlayerRow]:
    """Register the ten seed players that are not registered yet (idempotent)."""
    return register_players(uow, list(SEED_PLAYERS))


def list_players(uow: UnitOfWork) -> list[PlayerRow]:
    with uow.read() as reader:
        return reader.tx.players.players()


def find_player(uow: UnitOfWork, key: str) -> PlayerRow:
    """A player by id, or by name when no player has that id."""
    with uow.read() as reader:
        return known_player(reader.tx, key)
