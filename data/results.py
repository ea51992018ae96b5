"""Results out: a job's results as CSV, NDJSON or Parquet, written batch by batch.

A stored result row is ``matching.screen``'s output plus the entity's own id. CSV has one row
per match (flattened), NDJSON one api.md per-entity result per line, Parquet the nested rows;
a big job is encoded one batch at a time and never has to be in memory at once.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import polars as pl
import pyarrow.parquet as pq

from matching.frames import MATCH

OutputFormat = Literal["csv", "ndjson", "parquet"]


# The per-entity result of api.md, without its matches: these columns, in this order.
RESULT_FIELDS = ("entity_id", "status", "is_match", "match_count")


def result_json(frame: pl.DataFrame, include_suppressed: bool = False) -> pl.Series:
    """Each result row as its api.md per-entity JSON object (text), built with Polars.

    The matches' ``details`` are JSON text in the store; they are spliced in as objects, not
    re-encoded as strings, which is why this builds text rather than calling json_encode once.
    A rescreen's row adds ``resolved`` (earlier matches on entries no longer listed) when it
    has any; ``include_suppressed`` adds ``suppressed``: the matches analysts' decisions
    left out, each with its ``decision_id``.
    """
    head = pl.struct(RESULT_FIELDS).struct.json_encode().str.head(-1)
    error = pl.when(pl.col("error").is_not_null()).then(
        pl.lit(',"error":') + pl.struct("error").struct.json_encode().str.slice(9).str.head(-1)
    )
    parts = [head, pl.lit(',"matches":['), _matches_json("matches"), pl.lit("]")]
    if "resolved" in frame.columns:
        resolved = pl.col("resolved").list.eval(pl.element().struct.json_encode()).list.join(",")
        parts.append(
            pl.when(pl.col("resolved").list.len() > 0)
            .then(pl.concat_str(pl.lit(',"resolved":['), resolved, pl.lit("]")))
            .otherwise(pl.lit(""))
        )
    if include_suppressed:
        suppressed = _matches_json("suppressed") if "suppressed" in frame.columns else pl.lit("")
        parts += [pl.lit(',"suppressed":['), suppressed, pl.lit("]")]
    line = pl.concat_str(*parts, error.fill_null(""), pl.lit("}"))
    return frame.select(line.alias("json")).to_series()


def _matches_json(column: str) -> pl.Expr:
    """A list column of match structs as the JSON of their items (no brackets), each
    match's ``details`` text spliced in as an object wherever that field comes."""
    match_json = (
        pl.element()
        .struct.with_fields(details=None)
        .struct.json_encode()
        .str.replace(
            '"details":null',
            pl.concat_str(
                pl.lit('"details":'), pl.element().struct.field("details").fill_null("{}")
            ),
            literal=True,
            n=1,
        )
    )
    return pl.col(column).list.eval(match_json).list.join(",").fill_null("")


def _csv_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per match (an entity without matches keeps one row), nested fields flattened."""
    matches = frame.select(
        *RESULT_FIELDS,
        "error",
        pl.col("matches").list.eval(
            pl.element().struct.with_fields(rank=pl.int_range(1, pl.len() + 1))
        ),
    ).explode("matches", empty_as_null=True)
    match = pl.col("matches").struct.field
    return matches.select(
        *RESULT_FIELDS,
        "error",
        match("rank").alias("match_rank"),
        match("entity_id").alias("match_entity_id"),
        match("list_name"),
        match("confidence_score"),
        match("match_type"),
        match("matched_name"),
        match("programs").list.join(";").alias("programs"),
        match("match_data").struct.field("name").alias("listed_name"),
        match("match_data").struct.field("entity_type").alias("listed_entity_type"),
        match("match_data").struct.field("nationality").list.join(";").alias("listed_nationality"),
        match("match_data").struct.field("birth_dates").list.join(";").alias("listed_birth_dates"),
        match("details"),
    )


def write_results(
    results: pl.DataFrame | Iterable[pl.DataFrame], fmt: OutputFormat, sink: Path | IO[bytes]
) -> None:
    """Write result frames (one or many batches) to a file or binary stream as fmt."""
    if isinstance(sink, Path):
        with sink.open("wb") as stream:
            write_results(results, fmt, stream)
        return
    for chunk in iter_result_bytes(results, fmt):
        sink.write(chunk)


def iter_result_bytes(
    results: pl.DataFrame | Iterable[pl.DataFrame], fmt: OutputFormat
) -> Iterator[bytes]:
    """The encoded output, one piece per input batch: what a streamed HTTP download sends."""
    batches = [results] if isinstance(results, pl.DataFrame) else results
    if fmt == "parquet":
        yield from _parquet_bytes(batches)
        return
    if fmt not in ("csv", "ndjson"):
        raise ValueError(f"unknown result format {fmt!r}")
    first = True
    for batch in batches:
        if fmt == "ndjson":
            if batch.height:
                yield ("\n".join(result_json(batch).to_list()) + "\n").encode()
            continue
        buffer = io.BytesIO()
        _csv_rows(batch).write_csv(buffer, include_header=first)
        first = False
        yield buffer.getvalue()
    if fmt == "csv" and first:  # no batch at all: still a header
        yield b",".join(c.encode() for c in _csv_rows(_empty_results()).columns) + b"\n"


class _Drain(io.RawIOBase):
    """A write-only stream whose bytes are taken out after each Parquet row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _parquet_bytes(batches: Iterable[pl.DataFrame]) -> Iterator[bytes]:
    drain = _Drain()
    writer: pq.ParquetWriter | None = None
    for batch in batches:
        table = _parquet_frame(batch).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(drain, table.schema)
        writer.write_table(table)
        yield drain.take()
    if writer is None:
        writer = pq.ParquetWriter(drain, _parquet_frame(_empty_results()).to_arrow().schema)
    writer.close()
    yield drain.take()


def _parquet_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(*RESULT_FIELDS, "matches", "error")


def _empty_results() -> pl.DataFrame:
    return pl.DataFrame(schema=RESULT_SCHEMA)


# A stored result row: matching.screen's output plus the entity's id.
RESULT_SCHEMA = pl.Schema(
    {
        "row": pl.Int64,
        "entity_id": pl.Utf8,
        "status": pl.Utf8,
        "is_match": pl.Boolean,
        "match_count": pl.Int64,
        "matches": pl.List(MATCH),
        "error": pl.Utf8,
    }
)
