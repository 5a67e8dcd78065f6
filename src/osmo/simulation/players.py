"""Sample players for demos and load tests: the ten seed players, then generated ones."""

from __future__ import annotations

import random
from functools import lru_cache

SEED_PLAYERS = (
    ("thrall", "Thrall"), ("rexxar", "Rexxar"), ("guldan", "Gul'Dan"), ("malfurion", "Malfurion"),
    ("garrosh", "Garrosh"), ("uther", "Uther"), ("anduin", "Anduin"), ("valeera", "Valeera"),
    ("morgl", "Morgl"), ("medivh", "Medivh"),
)
"""The seed players of ``osmo init``: a copy of ``osmo.application.players.SEED_PLAYERS`` (a test checks that
they agree), so that the simulation does not depend on the application that uses it."""

_FIRST = (
    "Ash", "Blood", "Bright", "Cinder", "Dark", "Dawn", "Dusk", "Ember", "Frost", "Gloom", "Grim", "Iron",
    "Moon", "Night", "Oak", "Rune", "Shadow", "Silver", "Storm", "Stone", "Sun", "Thorn", "Thunder", "Wild",
    "Wind", "Wolf", "Raven", "Bone", "Fire", "Star", "Mist", "Flame", "Gold", "Hollow", "Swift", "Steel",
    "Dread", "Void", "Sky", "Blaze", "Ghost", "Hawk",
)
_SECOND = (
    "bane", "blade", "born", "brew", "claw", "fang", "fist", "forge", "heart", "hide", "hoof", "horn", "mane",
    "maw", "mantle", "shield", "song", "spire", "strider", "tusk", "walker", "ward", "weaver", "whisper", "wing",
    "hammer", "arrow", "caller", "bringer", "seer", "binder", "rider", "breaker", "shade", "crest", "gaze",
    "grip", "howl", "scale", "runner",
)


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    """Every generated base name, in a fixed pseudo-random order."""
    taken = {name.casefold() for _, name in SEED_PLAYERS} | {pid for pid, _ in SEED_PLAYERS}
    names = []
    for first in _FIRST:
        for second in _SECOND:
            name = first + second
            if name.casefold() not in taken and second.casefold() != first.casefold():
                taken.add(name.casefold())
                names.append(name)
    random.Random("osmo-sample-players").shuffle(names)
    return tuple(names)


def sample_players(count: int) -> list[tuple[str, str]]:
    """``count`` players as (player_id, name) pairs, always the same: the ten seed players first, then
    generated ones (``("stormcaller", "Stormcaller")``; once every name is used, the names again with a
    number: ``("stormcaller2", "Stormcaller2")``). Ids are lowercase; ids and names are unique, names
    case-insensitively; ``sample_players(n)`` starts with ``sample_players(m)`` for ``m < n``.
    """
    if count < 0:
        raise ValueError(f"the number of players cannot be negative, got {count}")
    players = list(SEED_PLAYERS[:count])
    names = _names()
    for index in range(count - len(players)):
        round_, slot = divmod(index, len(names))
        name = names[slot] + (str(round_ + 1) if round_ else "")
        players.append((name.lower(), name))
    return players
