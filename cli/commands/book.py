"""`kyc book`: show a tenant's monitored book and take entities out of it (data/book.py)."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from data.book import BookStore
from kyc import settings

app = typer.Typer(help="Monitored books: the entities of monitor jobs, which rescreens screen.")

SHOWN_COLUMNS = ("entity_id", "full_name", "entity_type", "source_job_id", "screened_version")


def _store() -> BookStore:
    return BookStore(settings.JOB_STORE_URI)


@app.command()
def show(
    tenant: Annotated[
        str | None, typer.Argument(help="A tenant; none: every tenant's count.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Entities shown at most.")] = 50,
) -> None:
    """A tenant's book (entity, name, source job, snapshot last screened against)."""
    store = _store()
    if tenant is None:
        table = Table("tenant", "entities")
        for name in store.tenants():
            table.add_row(name, f"{store.read(name).height:,}")
        Console().print(table)
        return
    book = store.read(tenant)
    table = Table(*SHOWN_COLUMNS, title=f"Monitored book of {tenant}: {book.height:,} entities")
    for row in book.head(limit).select(pl.col(SHOWN_COLUMNS).fill_null("")).iter_rows():
        table.add_row(*row)
    Console(width=200).print(table)


@app.command()
def remove(
    tenant: Annotated[str, typer.Argument(help="The tenant whose book to change.")],
    entity_ids: Annotated[list[str], typer.Argument(help="Book entity ids (see `show`).")],
) -> None:
    """Stop monitoring entities: later rescreens leave them out."""
    removed = _store().remove(tenant, entity_ids)
    missing = [entity_id for entity_id in entity_ids if entity_id not in removed]
    if missing:
        typer.echo(f"not in {tenant}'s book: {', '.join(missing)}", err=True)
    if not removed:
        raise typer.Exit(1)
    typer.echo(f"removed {len(removed)} from {tenant}'s book")
