"""Players: the rules of ids and names. Names live only in player events, never in game events."""

from __future__ import annotations

import unicodedata

from osmo.domain.errors import InvalidInput

MAX_NAME = 64
MAX_ID = 128


def identity_key(text: str) -> str:
    """What two ids or names are compared by: Unicode NFKC, then case-folded. ``Thrall``, ``THRALL`` and
    its full-width form are one identity, so no player's id may equal another player's name in this sense."""
    return unicodedata.normalize("NFKC", text).casefold()


def _printable(text: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" for c in text)


def check_player(player_id: str, name: str) -> tuple[str, str]:
    """The id and the name (stripped) of a new player, or InvalidInput naming what is wrong."""
    if not player_id or len(player_id) > MAX_ID or any(c.isspace() for c in player_id) or not _printable(player_id):
        raise InvalidInput(f"player id {player_id!r} must be 1 to {MAX_ID} printable characters without spaces")
    name = name.strip()
    if not name:
        raise InvalidInput("a player needs a name: the name is mandatory")
    if len(name) > MAX_NAME or not _printable(name):
        raise InvalidInput(f"player name {name!r} must be 1 to {MAX_NAME} printable characters")
    return player_id, name
