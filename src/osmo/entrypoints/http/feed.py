"""Committed events as the live feeds send them (SSE and webhooks): which are public, who they concern,
and their JSON."""

from __future__ import annotations

from typing import Any

import orjson

from osmo.domain.events import RecordedEvent

PUBLIC_TYPES = ("PlayerRegistered", "PlayerRenamed", "GameRecorded", "GameVoided", "AwardUnlocked", "AwardGranted",
                "AwardRevoked")  # CatalogChanged stays private: it names hidden awards and their rules


def players_of(event: RecordedEvent) -> set[str]:
    data = event.data
    if event.type == "GameRecorded":
        return {line["player_id"] for team in data.get("teams", ()) for line in team}
    player = data.get("player_id")
    return {player} if isinstance(player, str) else set()


def event_json(event: RecordedEvent) -> dict[str, Any]:
    return {"position": event.position, "id": str(event.event_id), "type": event.type, "stream": event.stream,
            "recorded_at": event.recorded_at, "data": event.data}


def event_bytes(event: RecordedEvent) -> bytes:
    return orjson.dumps(event_json(event))


def sse_message(event: RecordedEvent) -> bytes:
    """One Server-Sent Event: ``id`` is the global position (send it back as Last-Event-ID to resume)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.position, event.type.encode(), event_bytes(event))
