"""Domain events: frozen, past tense, and the stream each one belongs to.

Streams: ``player-<id>`` (PlayerRegistered, PlayerRenamed), ``game-<id>`` (GameRecorded, GameVoided),
``award-<award>-<player>`` (AwardUnlocked, AwardGranted, AwardRevoked: one short stream per player and
award, so granting never contends on a player's stream), and ``catalog`` (CatalogChanged).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1
NAMESPACE = uuid.UUID("6f1d7a3e-2b8c-5e0f-9a41-0c5d3b7e9f21")

PLAYER_REGISTERED = "PlayerRegistered"
PLAYER_RENAMED = "PlayerRenamed"
GAME_RECORDED = "GameRecorded"
GAME_VOIDED = "GameVoided"
AWARD_UNLOCKED = "AwardUnlocked"
AWARD_GRANTED = "AwardGranted"
AWARD_REVOKED = "AwardRevoked"
CATALOG_CHANGED = "CatalogChanged"

CATALOG_STREAM = "catalog"
NO_STREAM = -1


def player_stream(player_id: str) -> str:
    return f"player-{player_id}"


def game_stream(game_id: str) -> str:
    return f"game-{game_id}"


def award_stream(award_id: str, player_id: str) -> str:
    return f"award-{award_id}-{player_id}"


def derived_id(stream: str, version: int) -> uuid.UUID:
    """A deterministic event id (a UUID version 5 of stream and version): appending the same stream
    version twice is a no-op at the store."""
    digest = hashlib.sha1(NAMESPACE.bytes + f"{stream}@{version}".encode(), usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``expected_version`` is the stream's current version (NO_STREAM when it
    must not exist yet), or None to append at the end whatever it is."""

    stream: str
    type: str
    data: dict[str, Any]
    event_id: uuid.UUID
    expected_version: int | None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: ``position`` is the global order, ``version`` the order within its stream."""

    position: int
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    event_id: uuid.UUID
    recorded_at: str


def player_registered(player_id: str, name: str) -> NewEvent:
    stream = player_stream(player_id)
    return NewEvent(stream, PLAYER_REGISTERED, {"player_id": player_id, "name": name},
                    derived_id(stream, 0), NO_STREAM)


def player_renamed(player_id: str, name: str, version: int) -> NewEvent:
    stream = player_stream(player_id)
    return NewEvent(stream, PLAYER_RENAMED, {"player_id": player_id, "name": name},
                    derived_id(stream, version + 1), version)


def game_recorded(data: dict[str, Any], catalog_version: int) -> NewEvent:
    stream = game_stream(data["game_id"])
    return NewEvent(stream, GAME_RECORDED, data, derived_id(stream, 0), NO_STREAM,
                    {"catalog_version": catalog_version})


def award_unlocked(player_id: str, award_id: str, game_id: str, game_position: int, unlocked_at: str,
                   catalog_version: int, *, source: str = "live", reason: str | None = None,
                   stream_version: int = NO_STREAM) -> NewEvent:
    """``source``: live (after a game), backfill, or correction (moved to another game by a void)."""
    stream = award_stream(award_id, player_id)
    data: dict[str, Any] = {
        "player_id": player_id, "award_id": award_id, "game_id": game_id, "game_position": game_position,
        "unlocked_at": unlocked_at, "catalog_version": catalog_version, "source": source,
    }
    if reason is not None:
        data["reason"] = reason
    return NewEvent(stream, AWARD_UNLOCKED, data, derived_id(stream, stream_version + 1), stream_version)


def award_granted(player_id: str, award_id: str, reason: str, unlocked_at: str, stream_version: int) -> NewEvent:
    """An operator grants an award by hand (no game earned it)."""
    stream = award_stream(award_id, player_id)
    data = {"player_id": player_id, "award_id": award_id, "reason": reason, "unlocked_at": unlocked_at}
    return NewEvent(stream, AWARD_GRANTED, data, derived_id(stream, stream_version + 1), stream_version)


def award_revoked(player_id: str, award_id: str, reason: str, stream_version: int, *, source: str) -> NewEvent:
    """``source``: operator (by hand) or correction (a voided game took the award away)."""
    stream = award_stream(award_id, player_id)
    data = {"player_id": player_id, "award_id": award_id, "reason": reason, "source": source}
    return NewEvent(stream, AWARD_REVOKED, data, derived_id(stream, stream_version + 1), stream_version)


def game_voided(game_id: str, game_position: int, reason: str) -> NewEvent:
    """A recorded game is removed from every career it touched; history keeps it."""
    stream = game_stream(game_id)
    data = {"game_id": game_id, "game_position": game_position, "reason": reason}
    return NewEvent(stream, GAME_VOIDED, data, derived_id(stream, 1), 0)


def catalog_changed(version: int, catalog: dict[str, Any]) -> NewEvent:
    return NewEvent(CATALOG_STREAM, CATALOG_CHANGED, {"version": version, "catalog": catalog},
                    derived_id(CATALOG_STREAM, version - 1), version - 2 if version > 1 else NO_STREAM)
