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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import msgspec
import polars as pl
import pycountry

from data.schema import LIST_CODES
from matching.config import MIN_IDENTIFIER_LEN
from matching.index import normalize_identifier
from matching.normalize import has_name_parts

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

# Longest accepted full_name, in characters. The engine reads the first 200; a longer
# "name" is junk or an attack, and is refused rather than silently cut.
MAX_NAME_LENGTH = 1000

# Longest accepted value of every other text field (entity_id, identifiers, codes).
MAX_FIELD_LENGTH = 256

# Rows without an entity_id get "#<row>" (1-based). A client's own ids may not begin with
# "#", so a default id can never collide with one the client sent.
DEFAULT_ID_PREFIX = "#"

# NUL and the other C0/C1 control characters: never part of a name or an id, and refused
# wherever they are in a value (so tabs and line breaks too).
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"

# Blanks trimmed from both ends of every text value; a value of blanks only is no value.
BLANKS = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

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


def entities_from_records(
    records: list[Any], prefix: str = "entities", loaded_lists: Iterable[str] = LIST_CODES
) -> pl.DataFrame:
    """The validated canonical frame from api.md entity records ({entity_id, subject, ...}).

    ``loaded_lists``: the list codes the snapshot to screen against holds; asking for another
    known list is a problem too (screening it would look clean while checking nothing)."""
    frame = _records_frame(records, prefix)
    return _canonical(frame, _Locator(json=True, prefix=prefix), loaded_lists)


def _records_frame(records: list[Any], prefix: str) -> pl.DataFrame:
    """api.md entity records, type-checked (in C, by msgspec), as one flat frame."""
    if not isinstance(records, list):
        raise EntityValidationError([{"loc": prefix, "message": "expected a list of entities"}])
    try:
        typed = msgspec.convert(records, type=list[EntityIn])
    except RecursionError:
        raise EntityValidationError([{"loc": prefix, "message": "nested too deeply"}]) from None
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
    return pl.DataFrame(
        [r | {"identifiers": None} for r in flat],
        schema={k: v for k, v in ENTITY_SCHEMA.items() if k != "row"},
    ).with_columns(pl.Series("identifiers", identifiers, dtype=pl.List(IDENTIFIER)))


def decode_json(data: bytes, loc: str = "body") -> Any:
    """A JSON document, or an EntityValidationError saying why it is not one (bad UTF-8,
    malformed, nested deeper than Python's recursion limit allows)."""
    try:
        return msgspec.json.decode(data)
    except UnicodeDecodeError as error:
        message = f"the JSON is not UTF-8 text (byte {error.start})"
    except RecursionError:
        message = "the JSON is nested too deeply"
    except msgspec.DecodeError as error:
        message = f"invalid JSON: {error}"
    raise EntityValidationError([{"loc": loc, "message": message}], message) from None


def read_entities(
    source: bytes | Path, fmt: InputFormat, loaded_lists: Iterable[str] = LIST_CODES
) -> pl.DataFrame:
    """The validated canonical frame from a JSON array, CSV, NDJSON or Parquet body or file."""
    data = source.read_bytes() if isinstance(source, Path) else source
    if fmt == "json":
        records = decode_json(data)
        if isinstance(records, dict):
            records = records.get("entities")
        return entities_from_records(records, loaded_lists=loaded_lists)
    readers: dict[str, Callable[[bytes], pl.DataFrame]] = {
        "csv": _read_csv,
        "ndjson": _read_ndjson,
        "parquet": _read_parquet,
    }
    if fmt not in readers:
        raise ValueError(f"unknown entity format {fmt!r}")
    frame = readers[fmt](data)
    return _canonical(_coerce_file_columns(frame), _Locator(json=False), loaded_lists)


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


def _require_utf8(data: bytes, what: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EntityValidationError(
            [{"loc": f"byte {error.start}", "message": f"{what} is not UTF-8 text"}]
        ) from None


def _read_csv(data: bytes) -> pl.DataFrame:
    _require_utf8(data, "CSV")
    try:
        frame = pl.read_csv(data, infer_schema=False, raise_if_empty=False)
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise EntityValidationError(_find_bad_csv_row(data, error)) from None
    _check_csv_header(frame.columns)
    return frame


# Every column a file may have: what the header is checked against.
FILE_COLUMNS = ("entity_id", *SUBJECT_FIELDS, "lists", "search_type")


def _check_csv_header(columns: list[str]) -> None:
    """A header that names no subject field is not a header (or not comma-separated)."""
    if not columns or any(column.strip() in SUBJECT_FIELDS for column in columns):
        return
    found = ", ".join(repr(column) for column in columns[:5])
    message = f"the header row names none of the subject fields ({found})"
    separator = next((sep for sep in ";\t|" if any(sep in column for column in columns)), None)
    if separator is not None:
        message += f"; the file looks {'tab' if separator == chr(9) else repr(separator)}-separated"
        message += ": separate the columns with commas"
    else:
        message += "; the first line must name the columns: " + ", ".join(FILE_COLUMNS)
    raise EntityValidationError([{"loc": "header", "message": message}])


def _find_bad_csv_row(data: bytes, error: Exception) -> list[dict[str, str]]:
    """Polars does not say which row broke; re-read with the csv module (error path only)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
    try:
        header = next(reader, [])
        for number, fields in enumerate(reader, start=1):
            if len(fields) != len(header):
                message = f"expected {len(header)} fields as in the header, found {len(fields)}"
                return [{"loc": f"row {number}", "message": message}]
    except csv.Error:
        opened = _unclosed_quote_line(data.decode("utf-8"))
        message = "a quoted field is never closed: a '\"' opens it and no '\"' ends it"
        return [{"loc": "header" if opened == 0 else f"row {opened}", "message": message}]
    message = "unreadable CSV: check the quoting and that every row has the header's fields"
    return [{"loc": "body", "message": message}]


def _unclosed_quote_line(text: str) -> int:
    """The 0-based line (0 = the header) where a quote that is never closed opens."""
    inside, opened_at = False, 0
    for number, line in enumerate(text.splitlines()):
        if line.count('"') % 2:
            inside = not inside
            opened_at = number if inside else opened_at
    return opened_at


def _read_ndjson(data: bytes) -> pl.DataFrame:
    _require_utf8(data, "NDJSON")
    if not data.strip():
        return pl.DataFrame()
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError):
        return _ndjson_line_by_line(data)
    if "subject" in frame.columns:  # api.md records, one per line (or a mix: said so there)
        return _ndjson_line_by_line(data)
    return frame


def _ndjson_line_by_line(data: bytes) -> pl.DataFrame:
    """Lines in the api.md record shape, or lines Polars could not read: decode each line,
    and say which line is wrong and how."""
    records, numbers = [], []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        record = decode_json(line, f"row {number}")
        if not isinstance(record, dict):
            kind = type(record).__name__.replace("dict", "object").replace("list", "array")
            message = f"expected a JSON object (one entity per line), found a JSON {kind}"
            raise EntityValidationError([{"loc": f"row {number}", "message": message}])
        records.append(record)
        numbers.append(number)
    shaped = ["subject" in record for record in records]
    if all(shaped):
        return _records_frame(records, prefix="rows")
    if any(shaped):
        odd = numbers[shaped.index(not shaped[0])]
        message = (
            "every line must have the same shape: flat rows (full_name, ...) or entity "
            "records ({entity_id, subject: {...}}), not both; line 1 is "
            + ("a record" if shaped[0] else "a flat row")
        )
        raise EntityValidationError([{"loc": f"row {odd}", "message": message}])
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


def _canonical(frame: pl.DataFrame, locate: _Locator, loaded_lists: Iterable[str]) -> pl.DataFrame:
    """Any input frame -> ENTITY_SCHEMA, trimmed and normalised, or EntityValidationError."""
    missing = [
        pl.lit(None, dtype).alias(n) for n, dtype in ENTITY_SCHEMA.items() if n not in frame.columns
    ]
    trimmed = ("entity_id", *TEXT_FIELDS, "search_type")
    # Lengths are those of the values as sent; JSON can say "entity_id": "" on purpose (an
    # empty CSV cell is simply no id).
    as_sent = [
        _too_long(name).alias(f"_long_{name}")
        for name in ("entity_id", *TEXT_FIELDS, "identifiers")
    ]
    empty_id = pl.col("entity_id").str.strip_chars(BLANKS) == "" if locate.json else pl.lit(False)
    frame = (
        frame.with_columns(missing)
        .with_columns(*as_sent, empty_id.fill_null(False).alias("_empty_id"))
        .with_columns(pl.col(n).str.strip_chars(BLANKS).replace("", None) for n in trimmed)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
            pl.col("nationality", "country").str.to_uppercase(),
            pl.col("entity_type", "search_type").str.to_lowercase(),
            pl.col("lists").list.eval(pl.element().str.strip_chars(BLANKS).str.to_lowercase()),
            pl.col("entity_id").is_not_null().alias("_given_id"),
        )
        .with_columns(
            pl.col("entity_id").fill_null(DEFAULT_ID_PREFIX + (pl.col("row") + 1).cast(pl.Utf8)),
        )
    )
    if frame.height == 0:
        raise EntityValidationError(
            [{"loc": locate.prefix if locate.json else "body", "message": "no entities"}]
        )
    problems = _problems(frame, locate, frozenset(loaded_lists))
    if problems:
        raise EntityValidationError(problems)
    return frame.select(list(ENTITY_SCHEMA))


def _has_text(name: str) -> pl.Expr:
    return pl.col(name).is_not_null()


def _screenable(identifier: pl.Expr) -> pl.Expr:
    """An identifier the engine can screen by: at least MIN_IDENTIFIER_LEN letters or digits
    once normalised (shorter ones would match too much to mean anything)."""
    return normalize_identifier(identifier).str.len_chars() >= MIN_IDENTIFIER_LEN


def _has_control_characters(name: str) -> pl.Expr:
    if name == "identifiers":
        values = pl.element().struct.field("value").str.contains(CONTROL_CHARACTERS)
        labels = pl.element().struct.field("type").str.contains(CONTROL_CHARACTERS)
        bad = values.fill_null(False) | labels.fill_null(False)
        return pl.col(name).list.eval(bad).list.any().fill_null(False)
    return pl.col(name).str.contains(CONTROL_CHARACTERS).fill_null(False)


def _length_limit(name: str) -> int:
    return MAX_NAME_LENGTH if name == "full_name" else MAX_FIELD_LENGTH


def _too_long(name: str) -> pl.Expr:
    limit = _length_limit(name)
    if name == "identifiers":
        values = pl.element().struct.field("value").str.len_chars() > limit
        labels = pl.element().struct.field("type").str.len_chars() > limit
        long = values.fill_null(False) | labels.fill_null(False)
        return pl.col(name).list.eval(long).list.any().fill_null(False)
    return (pl.col(name).str.len_chars() > limit).fill_null(False)


@cache
def _checks() -> list[tuple[str, pl.Expr, str]]:
    """(field, expression true on a bad row, message) for every rule but the list codes',
    in report order (built once: the expressions are the same for every call). The frame
    carries the helper columns _given_id, _empty_id and _has_name_parts."""
    has_identifier = pl.any_horizontal(
        *[_screenable(pl.col(n)).fill_null(False) for n in IDENTIFIER_LIKE if n != "identifiers"],
        pl.col("identifiers")
        .list.eval(_screenable(pl.element().struct.field("value")).fill_null(False))
        .list.any()
        .fill_null(False),
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
    given_id = pl.col("_given_id")
    checked_text = ("entity_id", *TEXT_FIELDS)
    return [
        ("entity_id", pl.col("_empty_id"), "empty; leave entity_id out to get a default"),
        (
            "entity_id",
            given_id & pl.col("entity_id").str.starts_with(DEFAULT_ID_PREFIX),
            f"ids beginning with {DEFAULT_ID_PREFIX!r} are reserved for rows without one",
        ),
        (
            "entity_id",
            given_id & pl.col("entity_id").is_first_distinct().not_(),
            "duplicate entity_id",
        ),
        *[
            (name, _has_control_characters(name), "control characters are not allowed")
            for name in (*checked_text, "identifiers")
        ],
        *[
            (name, pl.col(f"_long_{name}"), f"longer than {_length_limit(name)} characters")
            for name in (*checked_text, "identifiers")
        ],
        (
            "full_name",
            _has_text("full_name").not_() & has_identifier.not_(),
            "full_name or an identifier ("
            + ", ".join(IDENTIFIER_LIKE)
            + f") of at least {MIN_IDENTIFIER_LEN} letters or digits is required",
        ),
        (
            "full_name",
            _has_text("full_name") & pl.col("_has_name_parts").not_() & has_identifier.not_(),
            "nothing to screen: no letters or digits besides titles",
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
            .list.eval(
                pl.element().struct.field("value").str.strip_chars(BLANKS).fill_null("") == ""
            )
            .list.any()
            .fill_null(False),
            "every identifier needs a non-empty value",
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


def list_code_problem(code: str, loaded_lists: frozenset[str]) -> str | None:
    """Why a list code cannot be screened (unknown, or not in the snapshot), else None."""
    if code not in LIST_CODES:
        return f"unknown list {code!r}; known: {', '.join(LIST_CODES)}"
    if code not in loaded_lists:
        loaded = ", ".join(sorted(loaded_lists)) or "none"
        return f"list {code!r} is not loaded in the current watchlist snapshot; loaded: {loaded}"
    return None


def _any_list(bad: pl.Expr) -> pl.Expr:
    return pl.col("lists").list.eval(bad).list.any().fill_null(False)


def _list_checks(loaded_lists: frozenset[str]) -> list[tuple[str, pl.Expr, str]]:
    """One rule per kind of bad list code (unknown; known but not in the snapshot)."""
    known = pl.element().is_in(list(LIST_CODES))
    loaded = ", ".join(sorted(loaded_lists)) or "none"
    return [
        ("lists", _any_list(known.not_()), "unknown list code; known: " + ", ".join(LIST_CODES)),
        (
            "lists",
            _any_list(known & pl.element().is_in(list(loaded_lists)).not_()),
            f"a list that is not loaded in the current watchlist snapshot; loaded: {loaded}",
        ),
    ]


def _problems(
    frame: pl.DataFrame, locate: _Locator, loaded_lists: frozenset[str]
) -> list[dict[str, str]]:
    frame = frame.with_columns(has_name_parts(frame["full_name"]).alias("_has_name_parts"))
    checks = [*_checks(), *_list_checks(loaded_lists)]
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
