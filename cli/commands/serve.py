"""`kyc serve`: run the service (Prefect server + runner + API, or one of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kyc import settings


def serve(
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Offline folder of list files (one sub-folder per source) for the first load.",
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="all: Prefect server, runner and API; api: the API only; worker: the runner only.",
        ),
    ] = settings.SERVE_MODE,
    recover: Annotated[
        bool,
        typer.Option(
            "--recover",
            help="Worker mode: resume or fail jobs left processing by a dead process first "
            "(only when no other worker can be running them).",
        ),
    ] = False,
) -> None:
    """Start the service; Ctrl-C (or SIGTERM) stops every part of it."""
    from cli.service import MODES, ServiceError
    from cli.service import serve as run_service

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    if from_dir is not None and not from_dir.is_dir():
        raise typer.BadParameter(f"{from_dir}: no such folder", param_hint="--from")
    try:
        run_service(mode, from_dir.resolve() if from_dir else None, recover)
    except ServiceError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
