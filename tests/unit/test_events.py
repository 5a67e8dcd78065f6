"""Typed events: their stored form, derived ids, schema versions and upcasting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from osmo.domain import events as ev


class TestStoredForm:
    def test_every_event_type_round_trips_through_its_stored_form(self) -> None:
        samples: list[ev.Event] = [
            ev.PlayerRegistered("thrall", "Thrall"), ev.PlayerRenamed("thrall", "Go'el"),
            ev.GameRecorded("g1", "2026-01-01T10:00:00Z", "2026-01-01T10:20:00Z", 1, ["kills"],
                            [[{"player_id": "a", "values": [1]}], [{"player_id": "b", "values": [0]}]], {"map": "x"}),
            ev.GameVoided("g1", 7, "cheating"),
            ev.AwardUnlocked("a", "bruiser", "g1", 7, "2026-01-01T10:20:00Z", 3, "backfill"),
            ev.AwardUnlocked("a", "bruiser", "g2", 9, "2026-01-01T11:20:00Z", 3, "correction", "moved"),
            ev.AwardGranted("a", "veteran", "prize", "2026-01-02T00:00:00Z"),
            ev.AwardRevoked("a", "veteran", "exploit", "operator"),
            ev.CatalogChanged(2, {"stats": {}, "awards": {}}),
        ]
        for event in samples:
            new = ev.new_event(event, ev.NO_STREAM)
            recorded = ev.RecordedEvent(1, new.stream, 0, new.type, new.data, new.metadata or {}, new.event_id, "t")
            assert recorded.payload == event
            assert new.type == type(event).__name__ and new.metadata == {"schema": event.SCHEMA}

    def test_an_unlock_without_a_reason_stores_no_reason_key(self) -> None:
        data = ev.AwardUnlocked("a", "bruiser", "g1", 7, "t", 3).to_data()
        assert "reason" not in data and data["source"] == "live"


class TestIds:
    def test_ids_derive_from_the_stream_and_the_version_the_event_takes(self) -> None:
        first = ev.award_unlocked("a", "bruiser", "g1", 7, "t", 1)
        again = ev.award_unlocked("a", "bruiser", "g1", 7, "t", 1)
        moved = ev.award_unlocked("a", "bruiser", "g2", 9, "t", 1, stream_version=1)
        assert first.event_id == again.event_id == ev.derived_id("award-bruiser-a", 0)
        assert moved.event_id == ev.derived_id("award-bruiser-a", 2) and moved.expected_version == 1
        assert ev.game_voided("g1", 7, "x").event_id == ev.derived_id("game-g1", 1)
        assert ev.catalog_changed(3, {}).event_id == ev.derived_id("catalog", 2)
        assert ev.catalog_changed(1, {}).expected_version == ev.NO_STREAM


@dataclass(frozen=True, slots=True)
class Renamed(ev.Event):
    """A shape at version 3: ``name`` was ``nick`` (v1), then gained ``display`` (v2)."""

    SCHEMA: ClassVar[int] = 3
    player_id: str
    name: str
    display: bool


class TestUpcasting:
    def test_an_old_shape_is_upgraded_step_by_step_when_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(ev.EVENT_TYPES, "Renamed", Renamed)
        steps: dict[tuple[str, int], Any] = {
            ("Renamed", 1): lambda d: {"player_id": d["player_id"], "name": d["nick"]},
            ("Renamed", 2): lambda d: {**d, "display": True},
        }
        assert ev.decode("Renamed", {"player_id": "a", "nick": "Al"}, 1, steps) == Renamed("a", "Al", True)
        assert ev.decode("Renamed", {"player_id": "a", "name": "Al", "display": False}, 3, steps) == Renamed(
            "a", "Al", False)

    def test_the_schema_is_read_from_the_metadata(self) -> None:
        recorded = ev.RecordedEvent(1, "player-a", 0, "PlayerRegistered", {"player_id": "a", "name": "A"},
                                    {"schema": 1}, uuid.uuid4(), "t")
        assert recorded.payload == ev.PlayerRegistered("a", "A")
