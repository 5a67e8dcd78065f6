"""Careers: every player's historical statistics, folded game by game in recorded order (``Catalog.fold``)."""

from __future__ import annotations

from osmo.domain.catalog import Catalog

Career = tuple[int, ...]


def empty_career(catalog: Catalog) -> Career:
    return (0,) * len(catalog.career_names)


def game_vector(values: tuple[int, ...], won: bool) -> tuple[int, ...]:
    """The ``game.*`` values of a line: its stats in catalog order, then ``won`` (0 or 1)."""
    return (*values, 1 if won else 0)


def as_dict(career: Career, catalog: Catalog) -> dict[str, int]:
    return dict(zip(catalog.career_names, career, strict=True))


def from_mapping(values: dict[str, int], catalog: Catalog) -> Career:
    """A career read back by name; names the catalog gained since are 0."""
    return tuple(values.get(name, 0) for name in catalog.career_names)
