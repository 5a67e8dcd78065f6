"""osmo over NATS: the Player, Game and Achievement request/reply services (``nats.micro``), streamed
ingest from JetStream (the recorder) and every committed event published to JetStream (the relay).

``run_nats`` is what ``osmo serve --nats URL`` runs; ``docs/nats.md`` describes the subjects, payloads and
failure behaviour.
"""

from osmo.entrypoints.nats_services.config import NatsConfig
from osmo.entrypoints.nats_services.relay import player_token
from osmo.entrypoints.nats_services.runner import NatsUnavailable, run_nats

__all__ = ["NatsConfig", "NatsUnavailable", "player_token", "run_nats"]
