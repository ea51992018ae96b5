"""The common schema every watchlist parser produces and every snapshot stores.

One parser per official list turns the publisher's format into these seven tables. Every
table carries ``list_code`` and ``entry_id`` (the list's own id for the entry), so a row can
always be traced back to the published record. Dates are ISO 8601 strings at the precision
the list gives: ``1960-01-10``, ``1960-01`` or ``1960``. Countries are ISO 3166-1 alpha-2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

LIST_CODES: dict[str, str] = {
    "ofac": "US OFAC Specially Designated Nationals (SDN)",
    "ofac_cons": "US OFAC Consolidated (non-SDN) list",
    "un": "UN Security Council Consolidated List",
    "eu": "EU Financial Sanctions Files (consolidated)",
    "uk": "UK OFSI Consolidated List of Financial Sanctions Targets",
    "us_csl": "US Consolidated Screening List (trade.gov)",
}

ENTITY_TYPES = ("individual", "organization", "vessel", "aircraft")

# Kinds of names: the primary name, aliases as the lists qualify them, and names written in
# the original (non-Latin) script.
NAME_KINDS = ("primary", "aka", "fka", "nka", "weak_alias", "original_script")

_KEY = {"list_code": pl.Utf8, "entry_id": pl.Utf8}

ENTRIES = pl.Schema(
    {
        **_KEY,
        "entity_type": pl.Utf8,  # one of ENTITY_TYPES
        "primary_name": pl.Utf8,
        "programs": pl.List(pl.Utf8),  # sanctions programmes / regimes
        "remarks": pl.Utf8,
        "listed_on": pl.Utf8,  # ISO date of listing where given
        "gender": pl.Utf8,  # "male" / "female" where given
        "title": pl.Utf8,  # position or title where given
    }
)

NAMES = pl.Schema(
    {
        **_KEY,
        "name": pl.Utf8,
        "kind": pl.Utf8,  # one of NAME_KINDS
        "script": pl.Utf8,  # dominant Unicode script: Latin, Cyrillic, Arabic, Han ...
    }
)

BIRTH_DATES = pl.Schema(
    {
        **_KEY,
        "birth_date": pl.Utf8,  # YYYY-MM-DD, YYYY-MM or YYYY
        "approximate": pl.Boolean,  # "circa", or one year of a range
    }
)

BIRTH_PLACES = pl.Schema({**_KEY, "place": pl.Utf8, "country": pl.Utf8})

NATIONALITIES = pl.Schema(
    {
        **_KEY,
        "country": pl.Utf8,  # ISO alpha-2
        "kind": pl.Utf8,  # "nationality" or "citizenship"
    }
)

IDENTIFIERS = pl.Schema(
    {
        **_KEY,
        "id_type": pl.Utf8,  # as the list labels it: "Passport", "National ID No.", "IMO" ...
        "value": pl.Utf8,  # as published
        "country": pl.Utf8,  # issuing country, ISO alpha-2, where given
    }
)

ADDRESSES = pl.Schema(
    {
        **_KEY,
        "address": pl.Utf8,  # the full address as one line
        "city": pl.Utf8,
        "country": pl.Utf8,  # ISO alpha-2
    }
)

TABLES: dict[str, pl.Schema] = {
    "entries": ENTRIES,
    "names": NAMES,
    "birth_dates": BIRTH_DATES,
    "birth_places": BIRTH_PLACES,
    "nationalities": NATIONALITIES,
    "identifiers": IDENTIFIERS,
    "addresses": ADDRESSES,
}


def empty(table: str) -> pl.DataFrame:
    """An empty frame of one of the common tables."""
    return pl.DataFrame(schema=TABLES[table])


@dataclass
class ParsedList:
    """What one parser returns for one list: the seven tables and where they came from."""

    list_code: str
    # The date the list itself says it was published or generated (ISO), read from its file;
    # None when the file carries none (OFAC's legacy CSVs, the CSL's CSV).
    publication_date: str | None
    entries: pl.DataFrame = field(default_factory=lambda: empty("entries"))
    names: pl.DataFrame = field(default_factory=lambda: empty("names"))
    birth_dates: pl.DataFrame = field(default_factory=lambda: empty("birth_dates"))
    birth_places: pl.DataFrame = field(default_factory=lambda: empty("birth_places"))
    nationalities: pl.DataFrame = field(default_factory=lambda: empty("nationalities"))
    identifiers: pl.DataFrame = field(default_factory=lambda: empty("identifiers"))
    addresses: pl.DataFrame = field(default_factory=lambda: empty("addresses"))

    def tables(self) -> dict[str, pl.DataFrame]:
        """The seven tables, each cast to its exact common schema."""
        return {
            name: getattr(self, name).select(
                [pl.col(col).cast(dtype) for col, dtype in schema.items()]
            )
            for name, schema in TABLES.items()
        }


@dataclass
class Watchlist:
    """A whole snapshot as Polars frames: every loaded list, the seven tables stacked."""

    version: str
    entries: pl.DataFrame
    names: pl.DataFrame
    birth_dates: pl.DataFrame
    birth_places: pl.DataFrame
    nationalities: pl.DataFrame
    identifiers: pl.DataFrame
    addresses: pl.DataFrame
    lists: pl.DataFrame  # one row per list: list_code, name, source, publication_date, counts


class SourceError(Exception):
    """A source file could not be read or parsed. Names the file and where in it."""

    def __init__(self, path: str, location: str | None, message: str) -> None:
        self.path = path
        self.location = location
        self.message = message
        where = f"{path}, {location}" if location else path
        super().__init__(f"{where}: {message}")
