"""Entities in, results out: the one place that knows the input and output formats of a job.

Input: JSON records (the ``entities[]`` of POST /kyc/jobs), or CSV, NDJSON and Parquet files
(one entity per row, columns named after the subject fields plus ``entity_id``, ``lists``
and ``search_type``). Every input becomes the same *canonical entity frame* (ENTITY_SCHEMA),
validated as a whole with Polars expressions (never row by row), so a million-row upload is
checked in about a second. Problems are collected, up to MAX_PROBLEMS, into one
EntityValidationError whose ``details`` name the row and field.

Output: a job's results (``matching.screen`` rows plus ``entity_id``) as CSV (one row per
match, flattened), NDJSON (one api.md per-entity result per line) or Parquet (nested), written
batch by batch so a big job never has to be in memory at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import msgspec
import polars as pl
import pyarrow.parquet as pq
import pycountry

from data.schema import LIST_CODES

InputFormat = Literal["json", "csv", "ndjson", "parquet"]
OutputFormat = Literal["csv", "ndjson", "parquet"]

# --- The canonical entity frame ----------------------------------------------------------

IDENTIFIER = pl.Struct({"type": pl.Utf8, "value": pl.Utf8})

# The subject fields of api.md, in its order. All are text except ``identifiers``.
SUBJECT_FIELDS: tuple[str, ...] = (
    "full_name",
    "entity_type",
    "document_id",
    "document_type",
    "nationality",
    "birth_date",
    "identifiers",
    "wallet_address",
    "imo_number",
    "call_sign",
    "country",
)
TEXT_FIELDS = tuple(f for f in SUBJECT_FIELDS if f != "identifiers")

# Fields that can stand in for a name: a subject needs full_name or one of these.
IDENTIFIER_LIKE = ("document_id", "identifiers", "wallet_address", "imo_number", "call_sign")

ENTITY_SCHEMA = pl.Schema(
    {
        "row": pl.Int64,
        "entity_id": pl.Utf8,
        **{f: (pl.List(IDENTIFIER) if f == "identifiers" else pl.Utf8) for f in SUBJECT_FIELDS},
        "lists": pl.List(pl.Utf8),
        "search_type": pl.Utf8,
    }
)

ENTITY_TYPES = ("individual", "company", "organization", "vessel", "aircraft")
SEARCH_TYPES = ("exact", "token", "fuzzy", "composite")
NO_MODEL_SEARCH_TYPES = ("llm_enhanced",)
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}  # XK: Kosovo

# At most this many problems are reported for one rejected input.
MAX_PROBLEMS = 50

NO_MODEL_MESSAGE = (
    "search_type 'llm_enhanced' needs a language model that this service does not ship; "
    f"use one of {', '.join(SEARCH_TYPES)}"
)
DATE_MESSAGE = "expected YYYY-MM-DD, YYYY-MM or YYYY"


class EntityValidationError(ValueError):
    """Input that cannot be accepted; ``details`` lists each problem as {loc, message}."""

    def __init__(self, details: list[dict[str, str]], message: str | None = None) -> None:
        self.details = details
        self.message = message or f"{len(details)} invalid field(s); see details"
        super().__init__(self.message)


# --- Typed records: the JSON shape, checked for types in C by msgspec ----------------------


class IdentifierIn(msgspec.Struct):
    value: str
    type: str | None = None


class SubjectIn(msgspec.Struct):
    full_name: str | None = None
    entity_type: str | None = None
    document_id: str | None = None
    document_type: str | None = None
    nationality: str | None = None
    birth_date: str | None = None
    identifiers: list[IdentifierIn] | None = None
    wallet_address: str | None = None
    imo_number: str | None = None
    call_sign: str | None = None
    country: str | None = None


class EntityIn(msgspec.Struct):
    subject: SubjectIn
    entity_id: str | None = None
    lists: list[str] | None = None
    search_type: str | None = None


def type_error_details(error: msgspec.ValidationError, prefix: str) -> list[dict[str, str]]:
    """msgspec's "Expected `str`, got `int` - at `$[3].subject.full_name`" as a detail."""
    text = str(error)
    message, _, where = text.rpartition(" - at `")
    if not where:
        return [{"loc": prefix, "message": text}]
    loc = prefix + where.rstrip("`").removeprefix("$")
    return [{"loc": loc, "message": message or text}]


# --- Readers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Locator:
    """How a problem's location is written: JSON paths for records, row/column for files."""

    json: bool
    prefix: str = "entities"

    def __call__(self, row: int, field: str) -> str:
        if not self.json:
            return f"row {row + 1}, column {field}"
        where = f"subject.{field}" if field in SUBJECT_FIELDS else field
        return f"{self.prefix}[{row}].{where}" if self.prefix else where  # "": one subject


def entities_from_records(records: list[Any], prefix: str = "entities") -> pl.DataFrame:
    """The validated canonical frame from api.md entity records ({entity_id, subject, ...})."""
    if not isinstance(records, list):
        raise EntityValidationError([{"loc": prefix, "message": "expected a list of entities"}])
    try:
        typed = msgspec.convert(records, type=list[EntityIn])
    except msgspec.ValidationError as error:
        details = type_error_details(error, prefix)
        if not prefix:  # a single record (POST /kyc): "subject.x", not "[0].subject.x"
            details = [d | {"loc": d["loc"].removeprefix("[0].")} for d in details]
        raise EntityValidationError(details) from None
    flat = [
        {"entity_id": e.entity_id, "lists": e.lists, "search_type": e.search_type}
        | msgspec.structs.asdict(e.subject)
        for e in typed
    ]
    identifiers = [
        None if r["identifiers"] is None else [msgspec.structs.asdict(i) for i in r["identifiers"]]
        for r in flat
    ]
    frame = pl.DataFrame(
        [r | {"identifiers": None} for r in flat],
        schema={k: v for k, v in ENTITY_SCHEMA.items() if k != "row"},
    ).with_columns(pl.Series("identifiers", identifiers, dtype=pl.List(IDENTIFIER)))
    return _canonical(frame, _Locator(json=True, prefix=prefix))


def read_entities(source: bytes | Path, fmt: InputFormat) -> pl.DataFrame:
    """The validated canonical frame from a JSON array, CSV, NDJSON or Parquet body or file."""
    data = source.read_bytes() if isinstance(source, Path) else source
    if fmt == "json":
        try:
            records = msgspec.json.decode(data)
        except msgspec.DecodeError as error:
            detail = {"loc": "body", "message": f"invalid JSON: {error}"}
            raise EntityValidationError([detail]) from None
        if isinstance(records, dict):
            records = records.get("entities")
        return entities_from_records(records)
    readers: dict[str, Callable[[bytes], pl.DataFrame]] = {
        "csv": _read_csv,
        "ndjson": _read_ndjson,
        "parquet": _read_parquet,
    }
    if fmt not in readers:
        raise ValueError(f"unknown entity format {fmt!r}")
    frame = readers[fmt](data)
    return _canonical(_coerce_file_columns(frame), _Locator(json=False))


def format_for_path(path: Path) -> InputFormat:
    """The file format from a file name's extension (.csv, .ndjson/.jsonl, .parquet)."""
    suffix = path.suffix.lower()
    formats: dict[str, InputFormat] = {
        ".csv": "csv",
        ".ndjson": "ndjson",
        ".jsonl": "ndjson",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".json": "json",
    }
    if suffix not in formats:
        raise ValueError(f"{path.name}: expected a .csv, .ndjson, .jsonl or .parquet file")
    return formats[suffix]


def _read_csv(data: bytes) -> pl.DataFrame:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EntityValidationError(
            [{"loc": f"byte {error.start}", "message": "CSV is not UTF-8 text"}]
        ) from None
    try:
        return pl.read_csv(data, infer_schema=False, raise_if_empty=False)
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise EntityValidationError(_find_bad_csv_row(data, error)) from None


def _find_bad_csv_row(data: bytes, error: Exception) -> list[dict[str, str]]:
    """Polars does not say which row broke; re-read with the csv module (error path only)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, [])
    for number, fields in enumerate(reader, start=1):
        if len(fields) != len(header):
            message = f"expected {len(header)} fields as in the header, found {len(fields)}"
            return [{"loc": f"row {number}", "message": message}]
    return [{"loc": "body", "message": f"unreadable CSV: {error}"}]


def _read_ndjson(data: bytes) -> pl.DataFrame:
    if not data.strip():
        return pl.DataFrame()
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError):
        return _ndjson_slow_path(data)
    if "subject" in frame.columns:  # api.md records, one per line
        return _ndjson_slow_path(data)
    return frame


def _ndjson_slow_path(data: bytes) -> pl.DataFrame:
    """Lines in the api.md record shape, or lines Polars could not read: decode each line."""
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(msgspec.json.decode(line))
        except msgspec.DecodeError as error:
            raise EntityValidationError([{"loc": f"row {number}", "message": str(error)}]) from None
    if records and all(isinstance(r, dict) and "subject" in r for r in records):
        frame = entities_from_records(records, prefix="rows")
        return frame.drop("row")
    try:
        return pl.DataFrame(records, infer_schema_length=None, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as error:
        raise EntityValidationError([{"loc": "body", "message": str(error)}]) from None


def _read_parquet(data: bytes) -> pl.DataFrame:
    try:
        return pl.read_parquet(io.BytesIO(data))
    except Exception as error:  # pyarrow and polars raise many kinds for a corrupt file
        raise EntityValidationError(
            [{"loc": "body", "message": f"not a readable Parquet file: {error}"}]
        ) from None


def _coerce_file_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """File columns -> the canonical types: text as text, lists split on ';', identifiers parsed."""
    problems = []
    columns = []
    for name in ("entity_id", *TEXT_FIELDS, "search_type"):
        if name not in frame.columns:
            continue
        dtype = frame.schema[name]
        if dtype.is_nested() or dtype == pl.Binary:
            problems.append({"loc": f"column {name}", "message": f"expected text, got {dtype}"})
        else:
            columns.append(pl.col(name).cast(pl.Utf8))
    if "lists" in frame.columns:
        columns.append(_lists_column(frame.schema["lists"], problems))
    if "identifiers" in frame.columns:
        columns.append(_identifiers_column(frame, problems))
    if problems:
        raise EntityValidationError(problems)
    return frame.with_columns(columns)


def _lists_column(dtype: pl.DataType, problems: list[dict[str, str]]) -> pl.Expr:
    lists = pl.col("lists")
    if dtype == pl.Utf8:
        return (
            lists.str.replace_all(",", ";")
            .str.split(";")
            .list.eval(pl.element().str.strip_chars())
            .list.filter(pl.element() != "")
        )
    if dtype == pl.List(pl.Utf8) or dtype == pl.Null:
        return lists.cast(pl.List(pl.Utf8))
    problems.append({"loc": "column lists", "message": f"expected text or a list, got {dtype}"})
    return lists


def _identifiers_column(frame: pl.DataFrame, problems: list[dict[str, str]]) -> pl.Expr:
    """Identifiers: a list of {type, value}, JSON text, or "type:value;type:value" text."""
    dtype = frame.schema["identifiers"]
    column = pl.col("identifiers")
    if dtype == pl.Null:
        return column.cast(pl.List(IDENTIFIER))
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    names = {f.name for f in inner.fields} if isinstance(inner, pl.Struct) else set()
    if "value" in names:  # already a list of structs (Parquet, NDJSON)
        kind = pl.element().struct.field("type") if "type" in names else pl.lit(None)
        return column.list.eval(
            pl.struct(
                type=kind.cast(pl.Utf8), value=pl.element().struct.field("value").cast(pl.Utf8)
            )
        )
    if dtype != pl.Utf8:
        problems.append(
            {
                "loc": "column identifiers",
                "message": f"expected a list of {{type, value}}, got {dtype}",
            }
        )
        return column
    text = column.str.strip_chars()
    is_json = text.str.starts_with("[").fill_null(False)
    json_text = pl.when(is_json).then(text)
    try:
        frame.select(json_text.str.json_decode(pl.List(IDENTIFIER)))
    except pl.exceptions.PolarsError:
        bad = _first_bad_json_row(frame.select(text).to_series())
        loc = f"row {bad + 1}, column identifiers"
        problems.append({"loc": loc, "message": "invalid JSON identifiers"})
        return column
    pair = pl.element()
    pairs = text.str.split(";").list.eval(
        pl.struct(
            type=pl.when(pair.str.contains(":")).then(
                pair.str.extract(r"^([^:]*):", 1).str.strip_chars()
            ),
            value=pair.str.replace(r"^[^:]*:", "").str.strip_chars(),
        ).filter(pair.str.strip_chars() != "")
    )
    decoded = json_text.str.json_decode(pl.List(IDENTIFIER))
    return pl.when(is_json).then(decoded).otherwise(pairs).alias("identifiers")


def _first_bad_json_row(texts: pl.Series) -> int:
    for index, value in enumerate(texts.to_list()):  # error path only
        if value and value.startswith("["):
            try:
                json.loads(value)
            except ValueError:
                return index
    return 0


# --- Validation, vectorised ----------------------------------------------------------------


def _canonical(frame: pl.DataFrame, locate: _Locator) -> pl.DataFrame:
    """Any input frame -> ENTITY_SCHEMA, trimmed and normalised, or EntityValidationError."""
    missing = [
        pl.lit(None, dtype).alias(n) for n, dtype in ENTITY_SCHEMA.items() if n not in frame.columns
    ]
    text = [
        pl.col(n).str.strip_chars().replace("", None)
        for n in ("entity_id", *TEXT_FIELDS, "search_type")
    ]
    frame = (
        frame.with_columns(missing)
        .with_columns(text)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
            pl.col("nationality", "country").str.to_uppercase(),
            pl.col("entity_type", "search_type").str.to_lowercase(),
            pl.col("lists").list.eval(pl.element().str.strip_chars().str.to_lowercase()),
        )
        .with_columns(
            pl.col("entity_id").fill_null((pl.col("row") + 1).cast(pl.Utf8)),
        )
        .select(list(ENTITY_SCHEMA))
    )
    if frame.height == 0:
        raise EntityValidationError(
            [{"loc": locate.prefix if locate.json else "body", "message": "no entities"}]
        )
    problems = _problems(frame, locate)
    if problems:
        raise EntityValidationError(problems)
    return frame


def _has_text(name: str) -> pl.Expr:
    return pl.col(name).is_not_null()


def _checks() -> list[tuple[str, pl.Expr, str]]:
    """(field, expression true on a bad row, message) for every rule, in report order."""
    has_identifier = pl.any_horizontal(
        _has_text("document_id"),
        _has_text("wallet_address"),
        _has_text("imo_number"),
        _has_text("call_sign"),
        pl.col("identifiers").list.len().fill_null(0) > 0,
    )
    birth = pl.col("birth_date")
    shape_ok = birth.str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$")
    padded = (
        pl.when(birth.str.len_chars() == 4)
        .then(birth + "-01-01")
        .when(birth.str.len_chars() == 7)
        .then(birth + "-01")
        .otherwise(birth)
    )
    real_date = padded.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    codes = sorted(COUNTRY_CODES)
    known_lists = list(LIST_CODES)
    return [
        ("entity_id", pl.col("entity_id").is_first_distinct().not_(), "duplicate entity_id"),
        (
            "full_name",
            _has_text("full_name").not_() & has_identifier.not_(),
            "full_name or an identifier (" + ", ".join(IDENTIFIER_LIKE) + ") is required",
        ),
        (
            "entity_type",
            _has_text("entity_type") & pl.col("entity_type").is_in(ENTITY_TYPES).not_(),
            "expected one of " + ", ".join(ENTITY_TYPES),
        ),
        ("birth_date", birth.is_not_null() & shape_ok.not_(), DATE_MESSAGE),
        ("birth_date", birth.is_not_null() & shape_ok & real_date.not_(), "not a real date"),
        (
            "nationality",
            _has_text("nationality") & pl.col("nationality").is_in(codes).not_(),
            "expected an ISO 3166-1 alpha-2 country code",
        ),
        (
            "country",
            _has_text("country") & pl.col("country").is_in(codes).not_(),
            "expected an ISO 3166-1 alpha-2 country code",
        ),
        (
            "identifiers",
            pl.col("identifiers")
            .list.eval(pl.element().struct.field("value").str.strip_chars().fill_null("") == "")
            .list.any()
            .fill_null(False),
            "every identifier needs a non-empty value",
        ),
        (
            "lists",
            pl.col("lists")
            .list.eval(pl.element().is_in(known_lists).not_())
            .list.any()
            .fill_null(False),
            "unknown list code; known: " + ", ".join(known_lists),
        ),
        (
            "search_type",
            pl.col("search_type").is_in(NO_MODEL_SEARCH_TYPES).fill_null(False),
            NO_MODEL_MESSAGE,
        ),
        (
            "search_type",
            _has_text("search_type")
            & pl.col("search_type").is_in([*SEARCH_TYPES, *NO_MODEL_SEARCH_TYPES]).not_(),
            "expected one of " + ", ".join(SEARCH_TYPES),
        ),
    ]


def _problems(frame: pl.DataFrame, locate: _Locator) -> list[dict[str, str]]:
    checks = _checks()
    flags = frame.select(
        pl.col("row"), *[expr.alias(f"bad{i}") for i, (_, expr, _) in enumerate(checks)]
    )
    any_bad = pl.any_horizontal(pl.exclude("row"))
    bad_rows = flags.filter(any_bad).head(MAX_PROBLEMS)
    problems: list[tuple[int, int, dict[str, str]]] = []
    for index, (field, _, message) in enumerate(checks):
        rows = bad_rows.filter(pl.col(f"bad{index}"))["row"].to_list()
        problems.extend(
            (row, index, {"loc": locate(row, field), "message": message}) for row in rows
        )
    problems.sort(key=lambda item: (item[0], item[1]))
    return [detail for _, _, detail in problems[:MAX_PROBLEMS]]


# --- Results out --------------------------------------------------------------------------

# The per-entity result of api.md, without its matches: these columns, in this order.
RESULT_FIELDS = ("entity_id", "status", "is_match", "match_count")


def result_json(frame: pl.DataFrame) -> pl.Series:
    """Each result row as its api.md per-entity JSON object (text), built with Polars.

    The matches' ``details`` are JSON text in the store; they are spliced in as objects, not
    re-encoded as strings, which is why this builds text rather than calling json_encode once.
    """
    match_fields = pl.element().struct.field
    match_json = pl.concat_str(
        pl.element()
        .struct.with_fields(details=None)
        .struct.json_encode()
        .str.head(-len(',"details":null}')),
        pl.lit(',"details":'),
        match_fields("details").fill_null("{}"),
        pl.lit("}"),
    )
    head = pl.struct(RESULT_FIELDS).struct.json_encode().str.head(-1)
    matches = pl.col("matches").list.eval(match_json).list.join(",").fill_null("")
    error = pl.when(pl.col("error").is_not_null()).then(
        pl.lit(',"error":') + pl.struct("error").struct.json_encode().str.slice(9).str.head(-1)
    )
    line = pl.concat_str(
        head, pl.lit(',"matches":['), matches, pl.lit("]"), error.fill_null(""), pl.lit("}")
    )
    return frame.select(line.alias("json")).to_series()


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


MATCH = pl.Struct(
    {
        "entity_id": pl.Utf8,
        "list_name": pl.Utf8,
        "confidence_score": pl.Float64,
        "match_type": pl.Utf8,
        "matched_name": pl.Utf8,
        "programs": pl.List(pl.Utf8),
        "match_data": pl.Struct(
            {
                "name": pl.Utf8,
                "aliases": pl.List(pl.Utf8),
                "entity_type": pl.Utf8,
                "nationality": pl.List(pl.Utf8),
                "birth_dates": pl.List(pl.Utf8),
                "identifiers": pl.List(IDENTIFIER),
                "addresses": pl.List(pl.Utf8),
                "remarks": pl.Utf8,
            }
        ),
        "details": pl.Utf8,
    }
)

# A stored result row: matching.screen's output plus the entity's id (interfaces.md 3 and 5).
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

__all__ = [
    "ENTITY_SCHEMA",
    "RESULT_SCHEMA",
    "EntityValidationError",
    "entities_from_records",
    "format_for_path",
    "iter_result_bytes",
    "read_entities",
    "result_json",
    "write_results",
]
