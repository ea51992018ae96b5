"""`kyc screen INPUT -o OUTPUT`: screen a CSV, NDJSON or Parquet file against the current snapshot.

The same path a job takes: data.entities validates the whole file first (a bad row stops
everything with a message naming it), flows.engine gives the snapshot's cached index, and
matching.screen screens it chunk by chunk; each chunk's results are written as they come,
to a temporary file renamed into place at the end, so a failure leaves no half output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from data.entities import (
    EntityValidationError,
    format_for_path,
    list_code_problem,
    read_entities,
)
from data.results import OutputFormat, write_results
from data.store import open_snapshots
from kyc import settings

OUTPUT_FORMATS: dict[str, OutputFormat] = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
}

# Problems listed before "... and N more".
SHOWN_PROBLEMS = 10


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def screen(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="A .csv, .ndjson/.jsonl or .parquet file.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Results: .csv, .ndjson/.jsonl or .parquet.")
    ],
    lists: Annotated[
        str | None, typer.Option(help="Comma-separated list codes; default: every loaded list.")
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Lowest confidence reported.")
    ] = settings.DEFAULT_THRESHOLD,
    search_type: Annotated[
        str, typer.Option(help="exact, token, fuzzy or composite.")
    ] = settings.DEFAULT_SEARCH_TYPE,
) -> None:
    """Screen every entity of INPUT and write one result per entity to OUTPUT."""
    store = open_snapshots(settings.SNAPSHOT_URI, settings.SNAPSHOT_DIR)
    version = store.current_version()
    if version is None:
        raise _fail("no watchlist snapshot has been loaded yet (run `kyc lists refresh`)")
    loaded = store.loaded_lists(version)
    codes = _checked_lists(lists, loaded)
    if search_type not in ("exact", "token", "fuzzy", "composite"):
        raise _fail(f"unknown search type {search_type!r}; use exact, token, fuzzy or composite")
    out_format = OUTPUT_FORMATS.get(output.suffix.lower())
    if out_format is None:
        raise _fail(f"{output.name}: the output must end in .csv, .ndjson, .jsonl or .parquet")
    if not input_path.is_file():
        raise _fail(f"{input_path}: no such file")
    try:
        entities = read_entities(input_path, format_for_path(input_path), loaded)
    except EntityValidationError as error:
        raise _fail(_describe(input_path, error)) from None
    except ValueError as error:
        raise _fail(str(error)) from None
    engine = _engine(version)
    partial = output.with_name(output.name + ".partial")
    with _progress() as progress:
        task = progress.add_task(f"screening {input_path.name}", total=entities.height)
        chunks = _screen_chunks(
            entities, engine.index, codes, threshold, search_type, progress, task
        )
        try:
            write_results(chunks, out_format, partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(output)
    typer.echo(
        f"{entities.height} entities screened against snapshot {engine.version} -> {output}",
        err=True,
    )


def _checked_lists(lists: str | None, loaded: frozenset[str]) -> list[str] | None:
    if lists is None:
        return None
    codes = [code.strip().lower() for code in lists.split(",") if code.strip()]
    problems = [problem for code in codes if (problem := list_code_problem(code, loaded))]
    if problems:
        raise _fail("; ".join(problems))
    return codes or None


def _describe(path: Path, error: EntityValidationError) -> str:
    lines = [
        f"{path}: {detail['loc']}: {detail['message']}" for detail in error.details[:SHOWN_PROBLEMS]
    ]
    if len(error.details) > SHOWN_PROBLEMS:
        lines.append(f"... and {len(error.details) - SHOWN_PROBLEMS} more")
    return "\n".join(lines)


def _engine(version: str):
    from flows.engine import SnapshotGone, get_index

    try:
        return get_index(None, version)
    except SnapshotGone as error:
        raise _fail(f"{error} (run `kyc lists refresh`)") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


def _screen_chunks(
    entities: pl.DataFrame,
    index: object,
    lists: list[str] | None,
    threshold: float,
    search_type: str,
    progress: Progress,
    task: object,
) -> Iterator[pl.DataFrame]:
    """Results chunk by chunk (matching.screen output plus entity_id), advancing the bar."""
    import matching

    for chunk in entities.iter_slices(settings.CHUNK_SIZE):
        results = matching.screen(
            chunk.drop("entity_id"),
            index,
            threshold=threshold,
            max_matches=settings.MAX_MATCHES,
            lists=lists,
            search_type=search_type,
        )
        yield results.with_columns(chunk["entity_id"]).select(
            "row", "entity_id", pl.exclude("row", "entity_id")
        )
        progress.advance(task, chunk.height)  # type: ignore[arg-type]
