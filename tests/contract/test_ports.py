"""A cheap guard (no server needed) against ports growing while an adapter does not."""

from __future__ import annotations

import importlib

import pytest

from osmo.application import ports

ROLES = ("PlayerViews", "CareerViews", "GameLineViews", "UnlockViews", "Checkpoints", "Projections", "ApiKeys",
         "Webhooks", "Leaderboards")
ADAPTERS = {
    "sqlite": ("osmo.adapters.sqlite", "SqliteEventStore", "SqliteReadModels", "SqliteDatabase"),
    "postgres": ("osmo.adapters.postgres", "PostgresEventStore", "PostgresReadModels", "PostgresDatabase"),
    "fake": ("tests.fakes", "FakeEventStore", "FakeReadModels", "FakeDatabase"),
}


def _members(port: type) -> set[str]:
    return {name for name in vars(port) if not name.startswith("_")}


@pytest.mark.parametrize("backend", list(ADAPTERS))
def test_every_port_member_is_implemented(backend: str) -> None:
    module_name, events, views, database = ADAPTERS[backend]
    module = importlib.import_module(module_name)
    missing = {
        "EventStore": _members(ports.EventStore) - set(dir(getattr(module, events))),
        "Database": _members(ports.Database) - set(dir(getattr(module, database))),
        **{role: _members(getattr(ports, role)) - set(dir(getattr(module, views))) for role in ROLES},
    }
    assert {role: sorted(names) for role, names in missing.items() if names} == {}
