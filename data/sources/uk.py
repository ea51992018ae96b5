"""UK OFSI Consolidated List of Financial Sanctions Targets (ConList.xlsx or ConList.csv).

Row 1 is "Last Updated, dd/mm/yyyy", row 2 the header, then one row per NAME of a target:
rows sharing a "Group ID" are one target (its entry id), and the other columns (birth date,
nationality, passport, address ...) repeat or vary across its rows. Multi-valued cells are
numbered: "(1) Iran (2) Iraq". Everything below works on whole columns.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from data.schema import ParsedList, SourceError
from data.sources.common import (
    clean_expr,
    country_expr,
    decode_utf8,
    dmy_expr,
    parse_partial_date,
    read_bytes,
    split_numbered,
    with_scripts,
)

FOLDER = "uk"
FILES = {
    "ConList.xlsx": "https://ofsistorage.blob.core.windows.net/publishlive/2022format/ConList.xlsx",
    "ConList.csv": "https://ofsistorage.blob.core.windows.net/publishlive/2022format/ConList.csv",
}
REQUIRED: tuple[str, ...] = ()  # either file will do; parse() insists on one of them
LIST_CODE = "uk"

NAME_COLUMNS = [f"Name {n}" for n in (1, 2, 3, 4, 5, 6)]  # Name 6 is the surname
ADDRESS_COLUMNS = [f"Address {n}" for n in range(1, 7)]
COLUMNS = [
    *NAME_COLUMNS,
    "Title",
    "Name Non-Latin Script",
    "DOB",
    "Town of Birth",
    "Country of Birth",
    "Nationality",
    "Passport Number",
    "Passport Details",
    "National Identification Number",
    "National Identification Details",
    "Position",
    *ADDRESS_COLUMNS,
    "Post/Zip Code",
    "Country",
    "Other Information",
    "Group Type",
    "Alias Type",
    "Alias Quality",
    "Regime",
    "Listed On",
    "Group ID",
]
ENTITY_TYPES = {"Individual": "individual", "Entity": "organization", "Ship": "vessel"}
# Spreadsheet row (1-based) of the first target row: after the date row and the header.
FIRST_ROW = 3

_ID = pl.col("Group ID").alias("entry_id")


def parse(files: dict[str, Path]) -> ParsedList:
    path = files.get("ConList.xlsx") or files.get("ConList.csv")
    if path is None:
        raise SourceError(FOLDER, None, "neither ConList.xlsx nor ConList.csv is present")
    sheet = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    publication_date, rows = _split_sheet(path, sheet)
    rows = rows.with_columns(
        clean_expr(pl.concat_str(NAME_COLUMNS, separator=" ", ignore_nulls=True)).alias("name")
    )
    return ParsedList(
        list_code=LIST_CODE,
        publication_date=publication_date,
        entries=_entries(rows),
        names=_names(rows),
        birth_dates=_birth_dates(rows),
        birth_places=_birth_places(rows),
        nationalities=_nationalities(rows),
        identifiers=_identifiers(rows),
        addresses=_addresses(rows),
    )


# --- Reading --------------------------------------------------------------------------------


def _read_xlsx(path: Path) -> pl.DataFrame:
    read_bytes(path)  # a clear error for a missing or empty file
    try:
        return pl.read_excel(
            path, sheet_name="Data", engine="calamine", has_header=False, infer_schema_length=0
        )
    except Exception as error:  # fastexcel raises its own types for every kind of bad file
        raise SourceError(str(path), 'sheet "Data"', f"not a readable XLSX: {error}") from error


def _read_csv(path: Path) -> pl.DataFrame:
    """The CSV as the XLSX sheet reads: every row, no header, all text.

    Row 1 ("Last Updated,dd/mm/yyyy") may be shorter than the rest, so it is read on its own.
    """
    text = decode_utf8(path, read_bytes(path))
    first_line, _, rest = text.partition("\n")
    date_row = next(csv.reader([first_line]), [])
    try:
        body = pl.read_csv(io.StringIO(rest), has_header=False, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise SourceError(str(path), "rows 2 on", f"not a readable CSV: {error}") from error
    date_row = (date_row + [None] * body.width)[: body.width]
    return pl.concat(
        [pl.DataFrame([date_row], schema=dict.fromkeys(body.columns, pl.Utf8), orient="row"), body]
    )


def _split_sheet(path: Path, sheet: pl.DataFrame) -> tuple[str | None, pl.DataFrame]:
    """The "Last Updated" date of row 1, and the rows below the header of row 2, checked."""
    if sheet.height < FIRST_ROW:
        raise SourceError(str(path), "row 1", "no header row and no targets")
    first = [cell for cell in sheet.row(0) if cell]
    last_updated = parse_partial_date(first[1]) if len(first) > 1 else None
    header = [(cell or "").strip() for cell in sheet.row(1)]
    if missing := [column for column in COLUMNS if column not in header]:
        raise SourceError(str(path), "row 2", f"missing columns: {', '.join(missing)}")
    rows = sheet.slice(2)
    rows.columns = [name or f"unnamed {i}" for i, name in enumerate(header)]
    rows = rows.select(COLUMNS).with_columns(
        pl.int_range(FIRST_ROW, FIRST_ROW + pl.len()).alias("row"),
        # The long "Other Information" text repeats on every row of a target: it is cleaned
        # once per target, in _entries.
        clean_expr(pl.col(pl.Utf8).exclude("Other Information")),
        pl.col("Other Information").str.strip_chars().replace("", None),
    )
    bad = rows.filter(
        pl.col("Group ID").is_null()
        | ~pl.col("Group Type").is_in(list(ENTITY_TYPES))
        | pl.col("Group ID").str.contains(r"\D")
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceError(
            str(path),
            f"row {row['row']}",
            f"bad Group ID {row['Group ID']!r} or Group Type {row['Group Type']!r}",
        )
    if rows.height == 0:
        raise SourceError(str(path), "row 3", "no targets")
    return last_updated, rows


# --- The seven tables -----------------------------------------------------------------------


def _entries(rows: pl.DataFrame) -> pl.DataFrame:
    primary_first = rows.sort(pl.col("Alias Type") != "Primary name", "row")
    info = pl.col("Other Information")
    titles = pl.concat_list(split_numbered(pl.col("Title")), split_numbered(pl.col("Position")))
    return (
        primary_first.group_by(_ID, maintain_order=True)
        .agg(
            pl.col("Group Type").first().replace_strict(ENTITY_TYPES).alias("entity_type"),
            pl.col("name").drop_nulls().first().alias("primary_name"),
            pl.col("Regime").drop_nulls().unique(maintain_order=True).alias("programs"),
            info.drop_nulls().first().alias("remarks"),
            dmy_expr(pl.col("Listed On")).min().alias("listed_on"),
            info.str.extract(r"\(Gender\):\s*(Male|Female)").drop_nulls().first().alias("gender"),
            titles.explode().drop_nulls().unique(maintain_order=True).alias("titles"),
            pl.col("row").min(),
        )
        .sort("row")
        .select(
            pl.lit(LIST_CODE).alias("list_code"),
            "entry_id",
            "entity_type",
            "primary_name",
            "programs",
            clean_expr(pl.col("remarks")),
            "listed_on",
            pl.col("gender").str.to_lowercase(),
            pl.col("titles").list.join("; ").replace("", None).alias("title"),
        )
    )


def _names(rows: pl.DataFrame) -> pl.DataFrame:
    alias_type = pl.col("Alias Type").str.to_lowercase()
    kind = (
        pl.when(alias_type == "primary name")
        .then(pl.lit("primary"))
        .when(alias_type == "fka")
        .then(pl.lit("fka"))
        .when(pl.col("Alias Quality").str.to_lowercase().str.starts_with("low"))
        .then(pl.lit("weak_alias"))
        .otherwise(pl.lit("aka"))  # AKA, "Primary name variation", or unqualified
    )
    latin = rows.select(_ID, "name", kind.alias("kind"), "row")
    original = rows.select(
        _ID, pl.col("Name Non-Latin Script").alias("name"), pl.lit("original_script"), "row"
    )
    original.columns = latin.columns
    names = pl.concat([latin, original]).drop_nulls("name").sort("row")
    return with_scripts(_finish(names.drop("row"), "entry_id", "name", "kind"))


def _birth_dates(rows: pl.DataFrame) -> pl.DataFrame:
    return _finish(
        rows.select(_ID, dmy_expr(pl.col("DOB")).alias("birth_date"), pl.lit(False)),
        "entry_id",
        "birth_date",
        "approximate",
    )


def _birth_places(rows: pl.DataFrame) -> pl.DataFrame:
    towns = split_numbered(pl.col("Town of Birth"))
    countries = split_numbered(pl.col("Country of Birth"))
    # Pair towns with countries by their numbers; one country serves every town; when the
    # counts disagree the towns stand alone and the countries each become a place.
    paired = rows.select(_ID, towns.alias("town"), countries.alias("country"), "row").with_columns(
        pl.when(pl.col("town").list.len() == 0)
        .then(pl.col("country"))
        .otherwise(pl.col("town"))
        .alias("town"),
        pl.when(pl.col("town").list.len() == 0)
        .then(pl.col("country"))
        .when(pl.col("country").list.len() == pl.col("town").list.len())
        .then(pl.col("country"))
        .when(pl.col("country").list.len() == 1)
        .then(pl.col("country").list.first().repeat_by(pl.col("town").list.len()))
        .otherwise(pl.lit(None, pl.Utf8).repeat_by(pl.col("town").list.len()))
        .alias("country"),
    )
    places = paired.explode("town", "country").drop_nulls("town")
    place = pl.when(pl.col("town") == pl.col("country")).then(pl.col("town"))
    place = place.otherwise(pl.concat_str("town", "country", separator=", ", ignore_nulls=True))
    return _finish(
        places.sort("row").select(
            "entry_id",
            place.alias("place"),
            country_expr(pl.col("country").fill_null(pl.col("town"))),
        ),
        "entry_id",
        "place",
        "country",
    )


def _nationalities(rows: pl.DataFrame) -> pl.DataFrame:
    found = rows.select(_ID, split_numbered(pl.col("Nationality")).alias("text"), "row")
    found = found.explode("text").sort("row")
    return _finish(
        found.select(
            "entry_id", country_expr(pl.col("text")).alias("country"), pl.lit("nationality")
        ),
        "entry_id",
        "country",
        "kind",
    )


def _identifiers(rows: pl.DataFrame) -> pl.DataFrame:
    passports = _numbered_ids(rows, "Passport Number", "Passport Details", "Passport")
    national = _numbered_ids(
        rows, "National Identification Number", "National Identification Details", "National ID"
    )
    imo = rows.select(
        _ID,
        pl.lit("IMO").alias("id_type"),
        pl.col("Other Information")
        .str.extract(r"\(IMO number\):\s*(?:IMO\s*)?(\d{7})")
        .alias("value"),
        pl.lit(None, pl.Utf8).alias("country"),
    )
    return _finish(
        pl.concat([passports, national, imo]),
        *("entry_id", "id_type", "value", "country"),
        value="value",
    )


def _numbered_ids(rows: pl.DataFrame, numbers: str, details: str, id_type: str) -> pl.DataFrame:
    """Numbered values and their numbered details, paired by number where the counts agree."""
    found = rows.select(
        _ID,
        split_numbered(pl.col(numbers), keep_dashes=True).alias("value"),
        split_numbered(pl.col(details), keep_dashes=True).alias("details"),
        "row",
    )
    found = found.with_columns(
        pl.when(pl.col("details").list.len() == pl.col("value").list.len())
        .then(pl.col("details"))
        .otherwise(pl.lit(None, pl.Utf8).repeat_by(pl.col("value").list.len()))
    ).explode("value", "details")
    return found.sort("row").select(
        "entry_id",
        pl.lit(id_type).alias("id_type"),
        pl.col("value").str.strip_chars(" .-"),
        country_expr(pl.col("details")).alias("country"),
    )


def _addresses(rows: pl.DataFrame) -> pl.DataFrame:
    parts = [
        pl.col(c).str.strip_chars(" ,") for c in (*ADDRESS_COLUMNS, "Post/Zip Code", "Country")
    ]
    return _finish(
        rows.select(
            _ID,
            pl.concat_str(parts, separator=", ", ignore_nulls=True)
            .replace("", None)
            .alias("address"),
            pl.lit(None, pl.Utf8).alias("city"),  # OFSI has no town column; lines vary
            country_expr(pl.col("Country")).alias("country"),
        ),
        "entry_id",
        "address",
        "city",
        "country",
    )


def _finish(frame: pl.DataFrame, *columns: str, value: str | None = None) -> pl.DataFrame:
    """Rows with a value (by default the first column after entry_id), each once, with the
    list code in front, in first-seen order."""
    value = value or columns[1]
    frame = frame.filter(pl.col(value).is_not_null() & (pl.col(value) != ""))
    frame.columns = list(columns)
    return frame.unique(maintain_order=True).select(pl.lit(LIST_CODE).alias("list_code"), *columns)
