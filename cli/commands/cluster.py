"""`kyc cluster up | down | status | setup`: the split-up stack on one machine (cli/cluster.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kyc import settings

app = typer.Typer(help="The split-up stack on one machine: PostgreSQL, Prefect, Dask, S3, APIs.")

Folder = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Where the stack keeps its state and logs (default $KYC_DATA_DIR/cluster)."
    ),
]


def _folder(folder: Path | None) -> Path:
    return folder or settings.DATA_DIR / "cluster"


@app.command()
def up(
    folder: Folder = None,
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="Offline folder of list files for the first snapshot."),
    ] = None,
    dask_workers: Annotated[int, typer.Option(help="Dask worker processes.")] = 2,
    postgres_port: Annotated[int, typer.Option(help="PostgreSQL.")] = 5433,
    s3_port: Annotated[int, typer.Option(help="The S3 server (moto).")] = 9000,
    prefect_port: Annotated[int, typer.Option(help="The Prefect server and its UI.")] = 4200,
    dask_port: Annotated[int, typer.Option(help="The Dask scheduler.")] = 8786,
    api_ports: Annotated[
        str, typer.Option(help="The API processes, comma-separated.")
    ] = "8000,8001",
) -> None:
    """Start the stack and return once every part answers (`kyc cluster down` stops it)."""
    from cli.cluster import Ports
    from cli.cluster import up as start
    from cli.stack import StackError

    if from_dir is not None and not from_dir.is_dir():
        raise typer.BadParameter(f"{from_dir}: no such folder", param_hint="--from")
    try:
        apis = [int(port) for port in api_ports.split(",") if port.strip()]
    except ValueError:
        raise typer.BadParameter(f"{api_ports!r}: expected ports like 8000,8001") from None
    ports = Ports(postgres_port, s3_port, prefect_port, dask_port, apis)
    try:
        cluster = start(
            _folder(folder), ports, from_dir.resolve() if from_dir else None, dask_workers
        )
    except StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    for part in cluster.parts:
        typer.echo(f"{part.name:16} pid {part.pid:<8} {part.url or ''}")
    typer.echo(
        f"\nPrefect UI: http://127.0.0.1:{ports.prefect} (user:password in {cluster.env_file})"
    )
    typer.echo(f"To use it from a shell: set -a; . {cluster.env_file}; set +a")


@app.command()
def down(folder: Folder = None) -> None:
    """Stop every part of the stack started from --dir (the last started first)."""
    from cli.cluster import down as stop

    stopped = stop(_folder(folder))
    typer.echo("\n".join(f"stopped {part}" for part in stopped) or "nothing was running")


@app.command()
def status(folder: Folder = None) -> None:
    """Each part of the stack: its process, whether it runs, its URL or log."""
    from cli.cluster import status as parts

    rows = parts(_folder(folder))
    if not rows:
        typer.echo("no cluster was started from here")
        raise typer.Exit(1)
    for name, pid, alive, where in rows:
        typer.echo(f"{name:16} pid {pid:<8} {'running' if alive else 'STOPPED':8} {where}")


@app.command()
def setup() -> None:
    """Once per Prefect server (PREFECT_API_URL): the work pool and deployments of
    prefect.yaml, and the automations that mark dead workers' runs Crashed."""
    from cli.cluster import setup as set_up
    from cli.stack import StackError

    try:
        done = set_up(settings.RUN_SILENT_AFTER_S, settings.RUN_PENDING_AFTER_S)
    except StackError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo("\n".join(done))
