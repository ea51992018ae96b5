"""`kyc lists`: refresh the watchlist snapshot and show what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from data.store import (
    REFRESH_ERRORS,
    RefreshReport,
    SnapshotNotFoundError,
    open_snapshots,
    publication_text,
)
from flows.lists import configured_refresh, source_folder
from kyc import settings

app = typer.Typer(help="Watchlist snapshots: refresh them from the sources, show the current one.")

# Failures we explain in one line; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (*REFRESH_ERRORS, SnapshotNotFoundError)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@app.command()
def refresh(
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="Offline folder with one sub-folder per source."),
    ] = None,
    lists: Annotated[
        list[str] | None,
        typer.Option("--list", help="A list code to refresh (repeatable); default: all."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Accept a list that shrank a lot.")
    ] = False,
) -> None:
    """Build a new snapshot from the official sources (or a folder) and make it current."""
    folder = source_folder(from_dir)
    if folder is not None and not folder.is_dir():
        raise _fail(FileNotFoundError(f"--from {folder}: no such folder"))
    try:
        report = configured_refresh(lists, folder, force)
    except EXPECTED_ERRORS as exc:
        raise _fail(exc) from None
    _print_report(report)


@app.command()
def show() -> None:
    """The current snapshot version and, per list, its counts, publication date and refresh
    time; the configured lists it does not hold."""
    store = open_snapshots(settings.SNAPSHOT_URI, settings.SNAPSHOT_DIR)
    try:
        version = store.current_version()
        stats = store.list_stats(version)
    except EXPECTED_ERRORS as exc:
        raise _fail(exc) from None
    table = Table(title=f"Watchlist snapshot {version}")
    for column in ("list", "name", "entries", "names", "identifiers", "published", "refreshed"):
        table.add_column(
            column, justify="right" if column in ("entries", "names", "identifiers") else "left"
        )
    for row in stats.iter_rows(named=True):
        table.add_row(
            row["list_code"],
            row["name"],
            f"{row['entries']:,}",
            f"{row['names']:,}",
            f"{row['identifiers']:,}",
            publication_text(row),
            row["fetched_at"] or "",
        )
    console = Console(width=200)
    console.print(table)
    missing = [code for code in settings.LISTS if code not in set(stats["list_code"])]
    if missing:
        console.print(
            f"not loaded (in KYC_LISTS, but not in this snapshot; never screened): "
            f"{', '.join(missing)}"
        )


def _print_report(report: RefreshReport) -> None:
    console = Console()
    if report.status == "unchanged":
        console.print(f"unchanged: the sources are those of snapshot {report.version}")
    else:
        console.print(f"created snapshot {report.version} (previous: {report.previous_version})")
    for code, entries in report.lists.items():
        changes = report.changes.get(code, {})
        counted = ", ".join(f"{n:,} {change}" for change, n in sorted(changes.items()))
        console.print(f"  {code}: {entries:,} entries" + (f" ({counted})" if counted else ""))
    if report.carried:
        console.print(f"  carried over unchanged: {', '.join(report.carried)}")
    if report.skipped:
        console.print(f"  skipped (no files in the folder): {', '.join(report.skipped)}")
