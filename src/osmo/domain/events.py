"""Domain events: frozen, past-tense dataclasses, the stream each one belongs to, and their stored form.

Streams: ``player-<id>`` (PlayerRegistered, PlayerRenamed), ``game-<id>`` (GameRecorded, GameVoided),
``award-<award>-<player>`` (AwardUnlocked, AwardGranted, AwardRevoked: one short stream per player and
award, so granting never contends on a player's stream), and ``catalog`` (CatalogChanged).

Stored form: the event store keeps ``type`` (the class name), ``data`` (``to_data()``, plain JSON) and
``metadata`` with ``schema``, the version of the event's shape it was written with. Reading an event
(``RecordedEvent.payload``) upgrades an older shape with the upcasters registered for its type, then
builds the dataclass: old events stay readable when a shape changes, and nothing rewrites history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

NAMESPACE = uuid.UUID("6f1d7a3e-2b8c-5e0f-9a41-0c5d3b7e9f21")
_NAMESPACE_BYTES = NAMESPACE.bytes

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
    return uuid.UUID(bytes=derived_id_bytes(stream, version))


def derived_id_bytes(stream: str, version: int) -> bytes:
    """``derived_id(stream, version).bytes``, without building the UUID."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{stream}@{version}".encode(), usedforsecurity=False)
                       .digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return bytes(digest)


# -- the events -------------------------------------------------------------------------------------

class Event:
    """Base of the domain events. ``SCHEMA`` is the version of the stored shape (``to_data``)."""

    SCHEMA: ClassVar[int] = 1

    @property
    def stream(self) -> str:
        raise NotImplementedError

    def to_data(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Event:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class PlayerRegistered(Event):
    player_id: str
    name: str

    @property
    def stream(self) -> str:
        return player_stream(self.player_id)


@dataclass(frozen=True, slots=True)
class PlayerRenamed(Event):
    player_id: str
    name: str

    @property
    def stream(self) -> str:
        return player_stream(self.player_id)


@dataclass(frozen=True, slots=True)
class GameRecorded(Event):
    """A finished game in normal form. Compact but self-describing: the stat ids are listed once
    (``stats``) and each line of ``teams`` carries ``{"player_id", "values"}`` in that order, so a stored
    game reads the same after the catalog gains stats (they count as 0)."""

    game_id: str
    started_at: str
    finished_at: str
    winner: int
    stats: Sequence[str]
    teams: Sequence[Sequence[Mapping[str, Any]]]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> str:
        return game_stream(self.game_id)

    def to_data(self) -> dict[str, Any]:
        return {"game_id": self.game_id, "started_at": self.started_at, "finished_at": self.finished_at,
                "winner": self.winner, "stats": self.stats, "teams": self.teams, "metadata": self.metadata}

    @property
    def player_ids(self) -> list[str]:
        return [line["player_id"] for team in self.teams for line in team]

    @staticmethod
    def player_ids_of(data: Mapping[str, Any]) -> list[str]:
        """The players of a stored GameRecorded payload, without building the event."""
        return [line["player_id"] for team in data["teams"] for line in team]


@dataclass(frozen=True, slots=True)
class GameVoided(Event):
    """A recorded game is removed from every career it touched; history keeps it."""

    game_id: str
    game_position: int
    reason: str

    @property
    def stream(self) -> str:
        return game_stream(self.game_id)


@dataclass(frozen=True, slots=True)
class AwardUnlocked(Event):
    """``source``: live (after a game), backfill, or correction (moved to another game by a void)."""

    player_id: str
    award_id: str
    game_id: str
    game_position: int
    unlocked_at: str
    catalog_version: int
    source: str = "live"
    reason: str | None = None

    @property
    def stream(self) -> str:
        return award_stream(self.award_id, self.player_id)

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        if self.reason is None:
            del data["reason"]
        return data


@dataclass(frozen=True, slots=True)
class AwardGranted(Event):
    """An operator grants an award by hand (no game earned it)."""

    player_id: str
    award_id: str
    reason: str
    unlocked_at: str

    @property
    def stream(self) -> str:
        return award_stream(self.award_id, self.player_id)


@dataclass(frozen=True, slots=True)
class AwardRevoked(Event):
    """``source``: operator (by hand) or correction (a voided game took the award away)."""

    player_id: str
    award_id: str
    reason: str
    source: str = "operator"

    @property
    def stream(self) -> str:
        return award_stream(self.award_id, self.player_id)


@dataclass(frozen=True, slots=True)
class CatalogChanged(Event):
    version: int
    catalog: Mapping[str, Any]

    @property
    def stream(self) -> str:
        return CATALOG_STREAM


EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in (
    PlayerRegistered, PlayerRenamed, GameRecorded, GameVoided, AwardUnlocked, AwardGranted, AwardRevoked,
    CatalogChanged)}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(type, schema) -> upgrade``: turns the stored shape of version ``schema`` into version ``schema + 1``.
When an event's shape changes, bump its ``SCHEMA`` and register the step from the old one here."""


def decode(event_type: str, data: Mapping[str, Any], schema: int,
           upcasters: Mapping[tuple[str, int], Upcaster] | None = None) -> Event:
    """The event stored as ``data`` with shape version ``schema``, upgraded to the current shape."""
    cls = EVENT_TYPES[event_type]
    steps = UPCASTERS if upcasters is None else upcasters
    current = dict(data)
    while schema < cls.SCHEMA:
        current = steps[(event_type, schema)](current)
        schema += 1
    return cls.from_data(current)


# -- what the store takes and gives back ------------------------------------------------------------

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

    @property
    def payload(self) -> Event:
        """The domain event, its shape upgraded to the current one."""
        return decode(self.type, self.data, self.metadata.get("schema", 1))


def new_event(event: Event, expected_version: int | None, event_id: uuid.UUID | None = None,
              metadata: Mapping[str, Any] | None = None) -> NewEvent:
    """``event`` to append at ``expected_version`` of its stream; its id derives from the stream and the
    version it will take unless given."""
    stream = event.stream
    version = 0 if expected_version is None or expected_version == NO_STREAM else expected_version + 1
    return NewEvent(stream, type(event).__name__, event.to_data(),
                    event_id or derived_id(stream, version), expected_version,
                    {"schema": event.SCHEMA, **(metadata or {})})


# -- constructors used by the use cases -------------------------------------------------------------

def player_registered(player_id: str, name: str) -> NewEvent:
    return new_event(PlayerRegistered(player_id, name), NO_STREAM)


def player_renamed(player_id: str, name: str, version: int) -> NewEvent:
    return new_event(PlayerRenamed(player_id, name), version)


def game_recorded(data: dict[str, Any], catalog_version: int) -> NewEvent:
    """A game's stored form (``Game.to_data``: exactly GameRecorded's fields, in its order) as the event
    to append; the same NewEvent as ``new_event(GameRecorded(**data), NO_STREAM, ...)``, built directly."""
    stream = game_stream(data["game_id"])
    return NewEvent(stream, GAME_RECORDED, data, derived_id(stream, 0), NO_STREAM,
                    {"schema": GameRecorded.SCHEMA, "catalog_version": catalog_version})


def award_unlocked(player_id: str, award_id: str, game_id: str, game_position: int, unlocked_at: str,
                   catalog_version: int, *, source: str = "live", reason: str | None = None,
                   stream_version: int = NO_STREAM) -> NewEvent:
    return new_event(AwardUnlocked(player_id, award_id, game_id, game_position, unlocked_at, catalog_version,
                                   source, reason), stream_version)


def award_granted(player_id: str, award_id: str, reason: str, unlocked_at: str, stream_version: int) -> NewEvent:
    return new_event(AwardGranted(player_id, award_id, reason, unlocked_at), stream_version)


def award_revoked(player_id: str, award_id: str, reason: str, stream_version: int, *, source: str) -> NewEvent:
    return new_event(AwardRevoked(player_id, award_id, reason, source), stream_version)


def game_voided(game_id: str, game_position: int, reason: str) -> NewEvent:
    return new_event(GameVoided(game_id, game_position, reason), 0)


def catalog_changed(version: int, catalog: dict[str, Any]) -> NewEvent:
    return new_event(CatalogChanged(version, catalog), version - 2 if version > 1 else NO_STREAM)
