"""Decoding request bodies: JSON objects with known fields, bad input named like the CLI names it."""

from __future__ import annotations

from typing import Any

import orjson

from osmo.domain.errors import InvalidInput


def json_object(data: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a JSON object with only ``fields`` (an empty body is an empty object)."""
    if not data.strip():
        return {}
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"the request is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"the request must be a JSON object with the fields {', '.join(fields)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r} in the request (known: {', '.join(fields)})")
    return body


def text(body: dict[str, Any], field: str, *, mandatory: bool = True) -> str:
    """A string field; a missing one is '' when not mandatory (the use case then says what is wrong)."""
    value = body.get(field)
    if value is None:
        if mandatory:
            raise InvalidInput(f"the {field.replace('_', ' ')} is mandatory")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    return value


def integer(body: dict[str, Any], field: str, default: int | None, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    """An integer field (``true`` and ``3.0`` are not integers), within bounds."""
    value = body.get(field, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidInput(f"{field} must be between {minimum} and {maximum}, not {value}")
    return value


def flag(headers: dict[str, str] | None, name: str) -> bool:
    """A yes/no request header (absent: no)."""
    value = (headers or {}).get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise InvalidInput(f"header {name} must be true or false, not {value!r}")
