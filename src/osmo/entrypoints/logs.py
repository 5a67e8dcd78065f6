"""Log lines on stderr, as text or as JSON objects (``--log-format text|json``, ``OSMO_LOG_FORMAT``).

Every record goes through one handler on the root logger. A JSON line is one object: ``ts`` (UTC, ISO 8601
with milliseconds), ``level``, ``logger``, ``msg``, then the record's fields (what the caller passed as
``extra=``), and ``exc`` with the traceback when there is one. A text line is
``ts level logger msg key=value ...``. osmo's loggers log from INFO (DEBUG with ``--debug``), everything
else from WARNING (uvicorn, nats-py...).

What osmo logs never holds a secret: request lines carry the route and the path without its query string,
never a header; URLs are logged through ``redact_url`` (no user, no password).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

FORMATS = ("text", "json")
_MARK = "_osmo_handler"
_configured = {"format": "text"}
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime",
                                                                                     "taskName"}


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(record.msecs):03d}Z"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller added to a record (``extra=``)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(), "logger": record.name,
                                "msg": record.getMessage()}
        for key, value in fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{key}={_text(value)}" for key, value in fields(record).items()]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or not text.isprintable() or any(c in ' "=' for c in text) else text


def configure_logging(format: str, debug: bool = False) -> None:
    """Send every log record to stderr in ``format`` (``text`` or ``json``). Cheap, and idempotent: a second
    call replaces the handler the first one installed."""
    if format not in FORMATS:
        raise ValueError(f"unknown log format {format!r} (known: {', '.join(FORMATS)})")
    _configured["format"] = format
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("osmo").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.captureWarnings(format == "json")  # warnings become records, so every line is JSON


def announce(message: str) -> None:
    """A line for the operator on stderr (``osmo serving ...``): as it is in text, a log record in JSON (so
    every line of a JSON log parses)."""
    if _configured["format"] == "json":
        logging.getLogger("osmo.serve").info(message)
    else:
        print(message, file=sys.stderr, flush=True)


def redact_url(url: str) -> str:
    """``url`` without its user, password and query string (``nats://u:p@h:4222`` -> ``nats://h:4222``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<url>"
