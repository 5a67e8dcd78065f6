"""Seeded simulation of finished games, for demos, load tests and award tuning."""

from osmo.simulation.simulator import (
    GameReport,
    PlayerProfile,
    PlayerStats,
    Simulator,
    make_profile,
    simulate_game,
)

__all__ = ["GameReport", "PlayerProfile", "PlayerStats", "Simulator", "make_profile", "simulate_game"]
