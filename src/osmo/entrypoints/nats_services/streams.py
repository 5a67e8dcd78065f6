"""The JetStream streams and the durable consumer osmo uses, created when missing (never reconfigured:
an operator's changes to them stand)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from osmo.entrypoints.nats_services.config import NatsConfig

STREAM_NAME_IN_USE = 10058
CONSUMER_EXISTS = 10013  # 10148 on newer servers
MAX_ACK_PENDING = 20_000


async def ensure_stream(js: JetStreamContext, name: str, subjects: str, duplicate_window: float) -> None:
    """Create the stream (file storage, with a duplicate window) unless it exists."""
    try:
        await js.stream_info(name)
        return
    except NotFoundError:
        pass
    try:
        await js.add_stream(StreamConfig(name=name, subjects=[subjects], storage=StorageType.FILE,
                                         duplicate_window=duplicate_window))
    except BadRequestError as error:
        if error.err_code != STREAM_NAME_IN_USE:  # another process created it meanwhile
            raise


async def ensure_streams(js: JetStreamContext, config: NatsConfig, *, reports: bool, events: bool) -> None:
    if reports:
        await ensure_stream(js, config.reports_stream, f"{config.reports_subject}.>", config.duplicate_window)
        await ensure_stream(js, config.rejected_stream, f"{config.rejected_subject}.>", config.duplicate_window)
    if events:
        await ensure_stream(js, config.events_stream, f"{config.events_subject}.>", config.duplicate_window)


async def ensure_consumer(js: JetStreamContext, config: NatsConfig) -> float:
    """The recorder's durable pull consumer (created unless it exists); returns its ack wait in seconds."""
    try:
        info = await js.consumer_info(config.reports_stream, config.durable)
    except NotFoundError:
        try:
            info = await js.add_consumer(config.reports_stream, ConsumerConfig(
                durable_name=config.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                ack_wait=config.ack_wait, max_deliver=-1, max_ack_pending=MAX_ACK_PENDING,
                filter_subject=f"{config.reports_subject}.>"))
        except BadRequestError:  # created by another process meanwhile
            info = await js.consumer_info(config.reports_stream, config.durable)
    return float(info.config.ack_wait or config.ack_wait)
