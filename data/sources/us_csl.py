"""US Consolidated Screening List (trade.gov CSL, CSV with a header row) -> the common schema.

One row per party per source list (SDN, Entity List, DPL ...). Multi-valued cells are joined
with "; ". A party on several source lists (VTB Bank is on SDN, SSI and CAPTA) has one row per
list under the same `_id`: those rows become ONE entry whose programs hold every list's
programs and short names, since an entry id must name one party.

`ids` cells hold "country, [dates, ]value, type" items ("VE, 2014-07-02, 2009-07-03,
024751597, Passport"; "IMO 9051624, Vessel Registration Identification"; "Female, Gender"):
the type comes last, the value before it, and a leading two-letter code is the country.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from data.schema import ParsedList, SourceError
from data.sources.common import (
    clean_expr,
    country_expr,
    decode_utf8,
    partial_date_expr,
    read_bytes,
    with_scripts,
)

FOLDER = "us_csl"
FILES = {
    "consolidated.csv": "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"
}
REQUIRED = ("consolidated.csv",)
LIST_CODE = "us_csl"

COLUMNS = [
    "_id",
    "source",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "start_date",
    "call_sign",
    "remarks",
    "alt_names",
    "citizenships",
    "dates_of_birth",
    "nationalities",
    "places_of_birth",
    "ids",
]
ENTITY_TYPES = {"Individual": "individual", "Entity": "organization", "Vessel": "vessel"}
ENTITY_TYPES["Aircraft"] = "aircraft"
# Short names of the source lists, as compliance teams name them ("(EL)" is the Entity List).
SOURCE_NAMES = {
    "EL": "Entity List",
    "DTC": "ITAR Debarred",
    "CAP": "CAPTA",
    "NS-MBS List": "NS-MBS",
}
# `ids` item types that are facts about the party, not identifiers of it.
NOT_IDENTIFIERS = (
    r"(?i)(:|-)$|gender|date|information|type|model|operator|flag"
    r"|nationality|issuer name|website|email|phone|equity ticker"
)
# A birth-year range wider than this is not a usable set of birth years.
MAX_YEAR_RANGE = 15

_ID = pl.col("_id").alias("entry_id")


def parse(files: dict[str, Path]) -> ParsedList:
    path = files["consolidated.csv"]
    rows = _read(path)
    return ParsedList(
        list_code=LIST_CODE,
        # The CSV carries no date of its own (its newest start_date is only the newest
        # listing): a download's Last-Modified stands in (data/store.py).
        publication_date=None,
        entries=_entries(rows),
        names=_names(rows),
        birth_dates=_birth_dates(rows),
        birth_places=_birth_places(rows),
        nationalities=_nationalities(rows),
        identifiers=_identifiers(rows),
        addresses=_addresses(rows),
    )


# --- Reading --------------------------------------------------------------------------------


def _read(path: Path) -> pl.DataFrame:
    text = decode_utf8(path, read_bytes(path))
    if not text.endswith("\n"):
        line = text.count("\n") + 1
        raise SourceError(str(path), f"line {line}", "truncated: the last record has no line end")
    try:
        rows = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise SourceError(str(path), None, f"not a readable CSV: {error}") from error
    if missing := [column for column in COLUMNS if column not in rows.columns]:
        raise SourceError(str(path), "line 1", f"missing columns: {', '.join(missing)}")
    rows = rows.with_columns(_first_lines(rows)).select("line", *COLUMNS)
    rows = rows.with_columns(clean_expr(pl.col(COLUMNS)))
    bad = rows.filter(
        pl.col("_id").is_null()
        | pl.col("name").is_null()
        | ~(pl.col("type").is_in(list(ENTITY_TYPES)) | pl.col("type").is_null())
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceError(
            str(path),
            f"line {row['line']}",
            f"no _id or name, or an unknown type {row['type']!r}",
        )
    return rows


def _first_lines(rows: pl.DataFrame) -> pl.Expr:
    """The file line each record starts on: a few remarks hold line breaks inside quotes."""
    breaks = pl.sum_horizontal(pl.col(rows.columns).str.count_matches("\n").fill_null(0))
    return (2 + (breaks + 1).cum_sum() - (breaks + 1)).alias("line")


def _items(column: str) -> pl.Expr:
    """A "; "-joined cell as a list of cleaned items; an empty list for an empty cell."""
    items = pl.col(column).str.split(";").list.eval(clean_expr(pl.element())).list.drop_nulls()
    return items.fill_null(pl.lit([], dtype=pl.List(pl.Utf8)))


# --- The seven tables -----------------------------------------------------------------------


def _entries(rows: pl.DataFrame) -> pl.DataFrame:
    short = pl.col("source").str.extract(r"\(([^)]+)\)").replace(SOURCE_NAMES)
    gender = (
        _ids(rows)
        .filter(pl.col("id_type") == "Gender")
        .group_by("entry_id")
        .agg(pl.col("value").first().str.to_lowercase().alias("gender"))
    )
    entries = rows.group_by(_ID, maintain_order=True).agg(
        pl.col("type").drop_nulls().first().replace_strict(ENTITY_TYPES).alias("entity_type"),
        pl.col("name").first().alias("primary_name"),
        pl.concat_list(_items("programs"), short.fill_null(pl.col("source")))
        .explode()
        .drop_nulls()
        .unique(maintain_order=True)
        .alias("programs"),
        pl.col("remarks").drop_nulls().unique(maintain_order=True).str.join(" ").alias("remarks"),
        pl.col("start_date").drop_nulls().min().alias("listed_on"),
        pl.col("title").drop_nulls().unique(maintain_order=True).str.join("; ").alias("title"),
    )
    return entries.join(gender, on="entry_id", how="left", maintain_order="left").select(
        pl.lit(LIST_CODE).alias("list_code"),
        "entry_id",
        pl.col("entity_type").fill_null("organization"),  # DPL, Entity List ... give no type
        "primary_name",
        "programs",
        pl.col("remarks").replace("", None),
        "listed_on",
        "gender",
        pl.col("title").replace("", None),
    )


def _names(rows: pl.DataFrame) -> pl.DataFrame:
    primary = rows.select(_ID, "name", pl.lit("primary").alias("kind"))
    aliases = rows.select(_ID, _items("alt_names").alias("name"), pl.lit("aka").alias("kind"))
    names = pl.concat([primary, aliases.explode("name")])
    return with_scripts(_finish(names, value="name"))


def _birth_dates(rows: pl.DataFrame) -> pl.DataFrame:
    items = rows.select(_ID, _items("dates_of_birth").alias("text")).explode("text")
    span = items["text"].str.extract_groups(r"^(\d{4}) to (\d{4})$").struct.unnest()
    items = items.with_columns(
        first=span["1"].cast(pl.Int32), last=span["2"].cast(pl.Int32)
    ).with_columns(
        years=pl.when((pl.col("last") - pl.col("first")).is_between(0, MAX_YEAR_RANGE)).then(
            pl.int_ranges("first", pl.col("last") + 1).cast(pl.List(pl.Utf8))
        )
    )
    ranges = items.filter(pl.col("years").is_not_null()).explode("years")
    single = items.filter(pl.col("first").is_null())
    return _finish(
        pl.concat(
            [
                ranges.select("entry_id", pl.col("years").alias("birth_date"), approximate=True),
                single.select(
                    "entry_id",
                    partial_date_expr(pl.col("text")).alias("birth_date"),
                    approximate=pl.col("text").str.contains(r"(?i)circa|approx|about"),
                ),
            ]
        ),
        value="birth_date",
    )


def _birth_places(rows: pl.DataFrame) -> pl.DataFrame:
    places = rows.select(_ID, _items("places_of_birth").alias("place")).explode("place")
    country = country_expr(pl.col("place").str.split(",").list.last())
    return _finish(places.with_columns(country.alias("country")), value="place")


def _nationalities(rows: pl.DataFrame) -> pl.DataFrame:
    frames = [
        rows.select(_ID, _items(column).alias("text"), pl.lit(kind).alias("kind"))
        .explode("text")
        .select("entry_id", country_expr(pl.col("text")).alias("country"), "kind")
        for column, kind in (("nationalities", "nationality"), ("citizenships", "citizenship"))
    ]
    return _finish(pl.concat(frames), value="country")


def _ids(rows: pl.DataFrame) -> pl.DataFrame:
    """Every `ids` item as id_type, value and country (a leading two-letter code)."""
    parts = (
        rows.select(_ID, _items("ids").alias("item"))
        .explode("item")
        .drop_nulls("item")
        .select("entry_id", pl.col("item").str.split(",").list.eval(pl.element().str.strip_chars()))
    )
    return parts.select(
        "entry_id",
        pl.col("item").list.last().alias("id_type"),
        pl.col("item").list.get(-2, null_on_oob=True).alias("value"),
        pl.when(
            (pl.col("item").list.len() >= 3)
            & pl.col("item").list.first().str.contains(r"^[A-Z]{2}$")
        )
        .then(pl.col("item").list.first())
        .alias("country"),
    )


def _identifiers(rows: pl.DataFrame) -> pl.DataFrame:
    found = _ids(rows).filter(~pl.col("id_type").str.contains(NOT_IDENTIFIERS))
    imo = pl.col("value").str.extract(r"^IMO\s*(\d{7})$")
    found = found.with_columns(
        pl.when(imo.is_not_null()).then(pl.lit("IMO")).otherwise("id_type").alias("id_type"),
        pl.coalesce(imo, "value").alias("value"),
    )
    call_signs = rows.select(
        _ID,
        pl.lit("Call Sign").alias("id_type"),
        pl.col("call_sign").alias("value"),
        pl.lit(None, pl.Utf8).alias("country"),
    )
    return _finish(pl.concat([found, call_signs]), value="value")


def _addresses(rows: pl.DataFrame) -> pl.DataFrame:
    addresses = rows.select(_ID, _items("addresses").alias("address")).explode("address")
    last = pl.col("address").str.split(",").list.last().str.strip_chars()
    return _finish(
        addresses.select(
            "entry_id",
            "address",
            # Components are "street, city, state, postal, country" with empty ones left out,
            # so only the country (last, usually an ISO code) can be told apart.
            pl.lit(None, pl.Utf8).alias("city"),
            country_expr(last).alias("country"),
        ),
        value="address",
    )


def _finish(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Rows with a value, each once, with the list code in front, in first-seen order."""
    frame = frame.filter(pl.col(value).is_not_null() & (pl.col(value) != ""))
    return frame.unique(maintain_order=True).select(pl.lit(LIST_CODE).alias("list_code"), pl.all())
