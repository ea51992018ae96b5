"""The ``kyc`` command: one Typer app, each command group in its own module under cli/commands/."""

from __future__ import annotations

import typer

from cli.commands import book, cluster, keys, lists, screen, serve, webhooks

app = typer.Typer(
    help="Batch KYC screening against the official sanctions lists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Command groups register themselves here, one line each:
# app.add_typer(lists.app, name="lists")
app.add_typer(lists.app, name="lists")
app.command(name="serve")(serve.serve)
app.add_typer(keys.app, name="keys")
app.command(name="screen")(screen.screen)
app.add_typer(book.app, name="book")
app.add_typer(cluster.app, name="cluster")
app.add_typer(webhooks.app, name="webhooks")
