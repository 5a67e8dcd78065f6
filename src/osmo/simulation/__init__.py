"""Seeded simulation of finished games, for demos, load tests and tuning the award catalog."""

from osmo.simulation.players import sample_players
from osmo.simulation.simulator import (
    GameMetadata,
    GameReport,
    PlayerEntry,
    PlayerProfile,
    PlayerStats,
    Simulator,
    make_profile,
    simulate_game,
)

__all__ = [
    "GameMetadata",
    "GameReport",
    "PlayerEntry",
    "PlayerProfile",
    "PlayerStats",
    "Simulator",
    "make_profile",
    "sample_players",
    "simulate_game",
]
