"""Resolving what a user names: an award id, a player id or name. Unknown ones are bad input."""

from __future__ import annotations

from osmo.application.ports import PlayerRow, Transaction
from osmo.domain.catalog import Catalog, CompiledAward
from osmo.domain.errors import UnknownAward, UnknownPlayer


def known_award(catalog: Catalog, award_id: str) -> CompiledAward:
    award = catalog.award(award_id)
    if award is None:
        raise UnknownAward(f"no award has the id {award_id!r} (see 'osmo awards')")
    return award


def known_player(tx: Transaction, key: str) -> PlayerRow:
    """A player by id, or by name when no player has that id."""
    player = tx.players.find_player(key)
    if player is None:
        raise UnknownPlayer(f"no player has the id or name {key!r}")
    return player
