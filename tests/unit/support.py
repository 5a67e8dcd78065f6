"""Helpers shared by the unit tests: the shipped catalog and vectors built by name."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from hypothesis import HealthCheck, settings

from osmo.adapters.catalog_files import builtin_layers, load_catalog
from osmo.domain.catalog import Catalog, build_catalog

# No example database (nothing written outside the test tree), no deadline (CI machines vary).
PROPERTY = settings(database=None, deadline=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow])
QUICK_PROPERTY = settings(PROPERTY, max_examples=60)


@cache
def shipped_catalog() -> Catalog:
    """The built-in catalog (stats.toml + awards.toml), loaded once."""
    return load_catalog(user_file=None)


def catalog_with(user_layer: Mapping[str, Any], source: str = "user.toml") -> Catalog:
    """The built-in catalog overridden by one user layer."""
    return build_catalog([*builtin_layers(), (source, user_layer)])


def game_of(catalog: Catalog, won: bool = False, **stats: int) -> tuple[int, ...]:
    """A ``game.*`` vector by name: stats not given are 0, ``won`` comes last."""
    unknown = set(stats) - set(catalog.stat_ids)
    assert not unknown, f"not stats of this catalog: {unknown}"
    return (*(stats.get(name, 0) for name in catalog.stat_ids), 1 if won else 0)


def career_of(catalog: Catalog, **values: int) -> tuple[int, ...]:
    """A ``career.*`` vector by name: values not given are 0."""
    unknown = set(values) - set(catalog.career_names)
    assert not unknown, f"not career names of this catalog: {unknown}"
    return tuple(values.get(name, 0) for name in catalog.career_names)
