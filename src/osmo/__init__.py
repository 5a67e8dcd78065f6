"""osmo: an open achievement service for multiplayer games, built on an event store."""

__version__ = "0.1.0"
