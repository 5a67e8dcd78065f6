"""``osmo keys`` and ``osmo webhooks``: the HTTP service's API keys and webhooks (registered on the main CLI
with ``cli.add_command``). Keys are printed once, when created, and stored hashed."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from osmo.application import api_keys
from osmo.application import webhooks as webhooks_uc
from osmo.application.ports import ApiKeyRow
from osmo.bootstrap import App
from osmo.entrypoints import render


def _app(ctx: click.Context) -> App:
    app: App = ctx.obj
    return app


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def key_json(row: ApiKeyRow) -> dict[str, Any]:
    return {"name": row.name, "prefix": row.prefix, "scope": row.scope, "created_at": row.created_at,
            "revoked_at": row.revoked_at}


@click.group()
def keys() -> None:
    """API keys of the HTTP API: writes need 'Authorization: Bearer KEY'."""


@keys.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(api_keys.SCOPES), default="report", show_default=True,
              help="report: post games, register players; admin: also void, grant, revoke, backfill.")
@click.option("--json", "as_json", is_flag=True, help="Machine output: {name, key, scope}.")
@click.pass_context
def keys_create(ctx: click.Context, name: str, scope: str, as_json: bool) -> None:
    """Create a key named NAME and print it (once: only its hash is stored)."""
    row, key = api_keys.create_key(_app(ctx).uow, name, scope)
    if as_json:
        _print_json({"name": row.name, "key": key, "scope": row.scope})
        return
    click.echo(key)
    click.echo(f"created key {render.shown(row.name)} ({row.scope} scope): store it now, it is not shown again",
               err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """The keys (names, scopes, prefixes; never the keys)."""
    rows = api_keys.list_keys(_app(ctx).uow)
    if as_json:
        _print_json([key_json(r) for r in rows])
        return
    if not rows:
        click.echo("no API keys (create one with 'osmo keys create NAME --scope report|admin')")
    for row in rows:
        state = f"revoked {row.revoked_at}" if row.revoked_at else "active"
        click.echo(f"{render.shown(row.name):<24} {row.scope:<7} {row.prefix}…  created {row.created_at}  {state}")


@keys.command("revoke")
@click.argument("name")
@click.pass_context
def keys_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the key NAME: requests with it are refused from now on."""
    api_keys.revoke_key(_app(ctx).uow, name)
    click.echo(f"revoked key {render.shown(name)}")


@click.group()
def webhooks() -> None:
    """Webhooks: committed events POSTed to a URL, signed (HMAC-SHA256), in order, retried until a 2xx."""


@webhooks.command("add")
@click.argument("url")
@click.option("--secret", required=True, help="Signs each delivery: X-Osmo-Signature-256: sha256=HMAC(secret, body).")
@click.option("--events", "event_types", default="",
              help="Comma-separated event types (default: every type but CatalogChanged): "
                   + ", ".join(webhooks_uc.DELIVERED_TYPES) + ".")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def webhooks_add(ctx: click.Context, url: str, secret: str, event_types: str, as_json: bool) -> None:
    """POST the events committed from now on to URL (delivered by the 'osmo serve' processes)."""
    types = [t.strip() for t in event_types.split(",") if t.strip()]
    row = webhooks_uc.add_webhook(_app(ctx).uow, url, secret, types)
    if as_json:
        _print_json({"id": row.webhook_id, "url": row.url, "events": list(row.events), "cursor": row.cursor})
        return
    click.echo(f"webhook {row.webhook_id} added: {render.shown(row.url)} "
               f"({', '.join(row.events) or 'every event type'}, from position {row.cursor})")


@webhooks.command("list")
@click.option("--deliveries", default=5, show_default=True, type=click.IntRange(0, 50),
              help="Recent delivery attempts shown per webhook.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def webhooks_list(ctx: click.Context, deliveries: int, as_json: bool) -> None:
    """The webhooks, where each stands, and their last delivery attempts."""
    found = webhooks_uc.list_webhooks(_app(ctx).uow, deliveries)
    if as_json:
        _print_json([{
            "id": s.webhook.webhook_id, "url": s.webhook.url, "events": list(s.webhook.events),
            "cursor": s.webhook.cursor, "behind": s.behind, "attempts": s.webhook.attempts,
            "deliveries": [{"position": d.position, "type": d.event_type, "attempt": d.attempt, "status": d.status,
                            "error": d.error, "at": d.delivered_at} for d in s.deliveries],
        } for s in found])
        return
    if not found:
        click.echo("no webhooks (add one with 'osmo webhooks add URL --secret S')")
    for status in found:
        hook = status.webhook
        retrying = f", retrying (attempt {hook.attempts})" if hook.attempts else ""
        click.echo(f"{hook.webhook_id}  {render.shown(hook.url)}  [{', '.join(hook.events) or 'all'}]  "
                   f"at position {hook.cursor}, {status.behind} event(s) behind{retrying}")
        for d in status.deliveries:
            outcome = f"HTTP {d.status}" if d.status is not None else render.shown(d.error or "no answer")
            click.echo(f"    {d.delivered_at}  #{d.position} {d.event_type}  try {d.attempt}: {outcome}")


@webhooks.command("remove")
@click.argument("webhook_id", type=int)
@click.pass_context
def webhooks_remove(ctx: click.Context, webhook_id: int) -> None:
    """Remove webhook WEBHOOK_ID (and its delivery log)."""
    webhooks_uc.remove_webhook(_app(ctx).uow, webhook_id)
    click.echo(f"removed webhook {webhook_id}")
