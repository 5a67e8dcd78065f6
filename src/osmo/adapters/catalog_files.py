"""Reading catalog TOML files: the built-in ones shipped in the package and an optional user file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from osmo.domain.catalog import Catalog, build_catalog
from osmo.domain.errors import InvalidCatalog

BUILTIN_FILES = ("stats.toml", "awards.toml")


def builtin_layers() -> list[tuple[str, Mapping[str, Any]]]:
    package = resources.files("osmo.catalog")
    return [(f"osmo/catalog/{name}", tomllib.loads(package.joinpath(name).read_text("utf-8")))
            for name in BUILTIN_FILES]


def user_layer(path: str) -> tuple[str, Mapping[str, Any]]:
    """The parsed TOML of a user catalog file; anything that is not readable UTF-8 TOML is an InvalidCatalog
    naming the file (never a traceback: binary files, other encodings, absurd nesting or numbers)."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as error:
        raise InvalidCatalog(f"{path}: cannot read catalog file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise InvalidCatalog(
            f"{path}: not a UTF-8 text file (byte {error.start} is {error.object[error.start:error.start + 1]!r});"
            " a catalog is a TOML file in UTF-8") from None
    try:
        return path, tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise InvalidCatalog(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    except ValueError as error:  # TOMLDecodeError, or e.g. an integer beyond Python's digit limit
        raise InvalidCatalog(f"{path}: not valid TOML: {error}") from None


def load_catalog(user_file: str | None = None, version: int = 0) -> Catalog:
    """The built-in catalog, overridden key by key by ``user_file`` when given."""
    layers = builtin_layers()
    if user_file:
        layers.append(user_layer(user_file))
    return build_catalog(layers, version)
