"""The services one ``osmo serve`` process can run (``--only``): the NATS request/reply services, the
recorder of streamed reports and the relay of committed events."""

SERVICES = ("player", "game", "achievement", "recorder", "relay")
