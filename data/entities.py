"""Entities in: the one place that knows the input formats of a job (results: data/results.py).

Input: JSON records (the ``entities[]`` of POST /kyc/jobs), or CSV, NDJSON and Parquet files
(one entity per row, columns named after the subject fields plus ``entity_id``, ``lists``
and ``search_type``). Every input becomes the same *canonical entity frame* (ENTITY_SCHEMA),
validated as a whole with Polars expressions (never row by row), so a million-row upload is
checked in about a second. Problems are collected, up to MAX_PROBLEMS, into one
EntityValidationError whose ``details`` name the row and field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import msgspec
import polars as pl
import pycountry

from data.schema import LIST_CODES

InputFormat = Literal["json", "csv", "ndjson", "parquet"]

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


@cache
def _checks() -> list[tuple[str, pl.Expr, str]]:
    """(field, expression true on a bad row, message) for every rule, in report order
    (built once: the expressions are the same for every call)."""
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
    if bad_rows.is_empty():
        return []
    problems: list[tuple[int, int, dict[str, str]]] = []
    for index, (field, _, message) in enumerate(checks):
        rows = bad_rows.filter(pl.col(f"bad{index}"))["row"].to_list()
        problems.extend(
            (row, index, {"loc": locate(row, field), "message": message}) for row in rows
        )
    problems.sort(key=lambda item: (item[0], item[1]))
    return [detail for _, _, detail in problems[:MAX_PROBLEMS]]


__all__ = [
    "ENTITY_SCHEMA",
    "EntityValidationError",
    "entities_from_records",
    "format_for_path",
    "read_entities",
]
