"""`kyc webhooks`: per-tenant endpoints that receive signed event POSTs, and their delivery log.

kyc webhooks add --tenant acme --url https://hooks.acme.example/kyc   # prints the secret once
kyc webhooks list [--tenant acme]
kyc webhooks remove wh_0123abcd
kyc webhooks rotate-secret --tenant acme                              # prints the new one
kyc webhooks test --tenant acme                                       # queue a "ping"
kyc webhooks deliveries --tenant acme                                 # the delivery log
kyc webhooks deliver                                                  # one dispatch pass now
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from data.jobs import utc_now
from data.webhooks import EVENTS, DeliveryStore, WebhookConfig
from flows.webhooks import WebhookDispatcher, notify, retry_policy
from kyc import settings

app = typer.Typer(
    help="Webhooks: signed POSTs to a tenant's URLs when its jobs end and alerts appear."
)


def _config() -> WebhookConfig:
    return WebhookConfig(settings.WEBHOOKS_FILE)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command()
def add(
    tenant: Annotated[str, typer.Option(help="The tenant whose events the URL receives.")],
    url: Annotated[str, typer.Option(help="The receiver's http(s) URL.")],
    events: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(EVENTS)}.")
    ] = "job.completed,job.failed,rescreen.alerts",
) -> None:
    """Add an endpoint; the tenant's signing secret is printed (created with its first one)."""
    wanted = [e.strip() for e in events.split(",") if e.strip()]
    try:
        endpoint, secret = _config().add(tenant, url, wanted)
    except ValueError as error:
        raise _fail(str(error)) from None
    typer.echo(secret)
    typer.echo(
        f"{endpoint.webhook_id} for tenant {endpoint.tenant}: {endpoint.url}"
        f" ({', '.join(endpoint.events)}). The line above is the tenant's signing secret:"
        " give it to the receiver, who checks X-KYC-Signature with it.",
        err=True,
    )


@app.command(name="list")
def list_endpoints(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's.")] = None,
) -> None:
    """Every endpoint: id, tenant, URL, events (never the secret)."""
    table = Table("webhook id", "tenant", "url", "events", "created")
    for e in _config().endpoints(tenant):
        table.add_row(e.webhook_id, e.tenant, e.url, " ".join(e.events), e.created_at)
    Console(width=200).print(table)


@app.command()
def remove(
    webhook_id: Annotated[str, typer.Argument(help="An id from `kyc webhooks list`.")],
) -> None:
    """Remove an endpoint: its pending deliveries are recorded failed at their next try."""
    if not _config().remove(webhook_id):
        raise _fail(f"no webhook {webhook_id}")
    typer.echo(f"removed {webhook_id}")


@app.command(name="rotate-secret")
def rotate_secret(tenant: Annotated[str, typer.Option(help="The tenant.")]) -> None:
    """Give the tenant a new signing secret (printed); the old one stops at once."""
    secret = _config().rotate_secret(tenant)
    if secret is None:
        raise _fail(f"tenant {tenant} has no webhooks")
    typer.echo(secret)


@app.command()
def test(tenant: Annotated[str, typer.Option(help="The tenant.")]) -> None:
    """Queue a "ping" to the tenant's endpoints subscribed to it (the service delivers it)."""
    made = notify(tenant, "ping", f"ping-{uuid.uuid4().hex}", {"occurred_at": utc_now()})
    if not made:
        raise _fail(f"no endpoint of {tenant} subscribes to ping (add one with --events ping)")
    typer.echo(f"queued {made} ping deliveries")


@app.command()
def deliveries(
    tenant: Annotated[str, typer.Option(help="The tenant.")],
    limit: Annotated[int, typer.Option(help="Deliveries shown at most.")] = 50,
) -> None:
    """The delivery log: each delivery with its attempts (time, answer, outcome)."""
    table = Table("delivery", "event", "created", "attempts", "last answer", "state")
    for delivery, attempts in DeliveryStore(settings.JOB_STORE_URI).log(tenant, limit):
        last = attempts[-1] if attempts else None
        answer = "" if last is None else str(last.status_code or last.error)
        state = "pending" if last is None else last.outcome
        table.add_row(
            delivery.delivery_id,
            delivery.event,
            delivery.created_at,
            str(len(attempts)),
            answer,
            state,
        )
    Console(width=200).print(table)


@app.command()
def deliver() -> None:
    """One delivery pass now (the API process delivers on its own; this is for operators)."""
    dispatcher = WebhookDispatcher(
        DeliveryStore(settings.JOB_STORE_URI),
        _config(),
        retry_policy(),
        timeout_s=settings.WEBHOOK_TIMEOUT_S,
    )

    async def once() -> int:
        async with httpx.AsyncClient(timeout=settings.WEBHOOK_TIMEOUT_S) as client:
            return len(await dispatcher.deliver_due(client))

    typer.echo(f"{asyncio.run(once())} attempts made")
