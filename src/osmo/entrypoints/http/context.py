"""What every router reaches through ``request.app.state``: the store, the metrics, the options."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import Request

from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.runtime import Store


@dataclass
class Service:
    store: Store
    metrics: Metrics
    stop: asyncio.Event  # set when the server stops: live streams end
    body_limit: int = 1_000_000


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found
