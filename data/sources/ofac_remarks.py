"""Structured facts from OFAC's Remarks column.

The legacy CSVs have no columns for birth dates, passports or nationalities: OFAC writes them
into Remarks as ";"-separated clauses, each optionally prefixed "alt." for an alternative
value: "DOB 10 Jan 1960; alt. DOB 1962; POB Tehran, Iran; nationality Iran; Passport A1234567
(Iran) expires 2020; Gender Male; Digital Currency Address - XBT 1abc; a.k.a. 'BNC'; Linked To:
...". Every extractor here is one anchored regex applied to the whole clause column, so a
clause feeds at most one table and nothing loops over rows in Python.

Frames in and out carry ``entry_id`` only; the caller adds ``list_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data.countries import to_iso2

# A year range wider than this is not a birth-date range but a typo; it is not expanded.
MAX_RANGE_YEARS = 30

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

# "10 Jan 1960", "Jan 1960", "1960"; a range "<date> to <date>" or "1979-1982".
_DATE = r"(?:(?P<{p}d>\d{{1,2}})\s+)?(?:(?P<{p}m>[A-Za-z]{{3,9}})\.?\s+)?(?P<{p}y>\d{{4}})"
DOB_RE = (
    r"^DOB:?\s+(?P<circa>(?:circa|ca\.|approximately)\s+)?"
    + _DATE.format(p="s")
    + r"(?:\s*(?:to|-)\s*"
    + _DATE.format(p="e")
    + r")?$"
)
POB_RE = r"^POB:?\s+(?P<place>.+)$"
NATIONALITY_RE = (
    r"^(?P<kind>[Nn]ationality|[Cc]itizen(?:ship)?):?\s+(?:possibly\s+)?(?P<country>.+)$"
)
GENDER_RE = r"^Gender:?\s+(?P<gender>Male|Female)$"
# "a.k.a. 'BNC'": OFAC's legacy format puts its weak (low-quality) a.k.a.s here.
ALIAS_RE = r"^(?P<kind>[afn])\.k\.a\.,?\s+'?(?P<name>.+?)'?$"
ALIAS_KINDS = {"a": "weak_alias", "f": "fka", "n": "nka"}
DIGITAL_CURRENCY_RE = (
    r"^Digital\s*Currency\s+Address\s*-\s*(?P<currency>[A-Z0-9]+)\s+(?P<rest>\S.*)$"
)

# Identifier labels as OFAC writes them, mapped to the id_type we store (None = keep the
# label). The regex tries longer labels first, so "Identification Number IMO" wins over
# "Identification Number".
ID_LABELS: dict[str, str | None] = {
    "Vessel Registration Identification IMO": "IMO",
    "Identification Number IMO": "IMO",
    "Company Number IMO": None,
    "Other Vessel Call Sign": "Call Sign",
    "Vessel Registration Identification": None,
    "Passport": None,
    "Diplomatic Passport": None,
    "National ID No.": None,
    "National Foreign ID Number": None,
    "Personal ID Card": None,
    "Identification Number": None,
    "Tax ID No.": None,
    "Cedula No.": None,
    "C.U.I.T.": None,
    "C.U.I.P.": None,
    "D.N.I.": None,
    "NIT #": None,
    "RUC #": None,
    "R.F.C.": None,
    "C.U.R.P.": None,
    "CURP #": None,
    "RFC #": None,
    "Driver's License No.": None,
    "Birth Certificate Number": None,
    "Social Security Number": None,
    "SSN": None,
    "Residency Number": None,
    "Refugee ID Card": None,
    "Stateless Person ID Card": None,
    "Travel Document Number": None,
    "Registration Number": None,
    "Registration ID": None,
    "Business Registration Number": None,
    "Business Number": None,
    "Company Number": None,
    "Commercial Registry Number": None,
    "Commercial Registration Number": None,
    "Government Gazette Number": None,
    "Folio Mercantil No.": None,
    "Matricula Mercantil No": None,
    "Unified Social Credit Code": None,
    "Legal Entity Number": None,
    "Economic Register Number": None,
    "Chamber of Commerce Number": None,
    "Istanbul Chamber of Comm. No.": None,
    "Central Registration System Number": None,
    "C.R. No.": None,
    "D-U-N-S Number": None,
    "V.A.T. Number": None,
    "Trade License No.": None,
    "License": None,
    "Certificate of Incorporation Number": None,
    "Public Registration Number": None,
    "Enterprise Number": None,
    "Tax Registration Number": None,
    "BIK": None,
    "SWIFT/BIC": None,
    "MMSI": None,
    "Aircraft Manufacturer's Serial Number (MSN)": None,
    "Aircraft Construction Number (also called L/N or S/N or F/N)": None,
    "Aircraft Construction Number": None,
    "Aircraft Tail Number": None,
    "VisaNumberID": None,
    "Business Registration Document #": None,
    "RIF #": None,
    "C.U.I.": None,
    "C.I.F.": None,
    "N.I.F.": None,
    "I.F.E.": None,
    "RTN": None,
    "US FEIN": None,
    "ISIN": None,
    "Cartilla de Servicio Militar Nacional": None,
    "Numero de Identidad": None,
    "Numero Unico de Identificacao Tributaria": None,
    "Credencial electoral": None,
    "United Social Credit Code Certificate": None,
    "Paraguayan tax identification number": None,
    "Romanian C.R.": None,
    "UAE Identification": None,
    "Seafarer's Identification Document": None,
    "Registration Certificate Number": None,
    "Aircraft Serial Identification": None,
    "PHONE": "Phone Number",
    "FAX": "Fax",
    "RFC": None,
    "Email Address": None,
    "Website": None,
    "Phone Number": None,
    "Telephone": None,
    "Fax": None,
}


def _escape(label: str) -> str:
    """A literal for the Rust regex engine (Python's re.escape also escapes spaces)."""
    return "".join("\\" + c if c in r".^$*+?()[]{}|\/#-" else c for c in label)


_LABEL_ALTERNATION = "|".join(_escape(label) for label in sorted(ID_LABELS, key=len, reverse=True))
# A label may be followed by its abbreviation: "Unified Social Credit Code (USCC) 9133...".
ID_RE = rf"^(?P<label>{_LABEL_ALTERNATION})(?:\s+\((?P<abbr>[A-Z]{{2,8}})\))?:?\s+(?P<rest>\S.*)$"
# Other "<label> Number/No./ID/Code/Passport <value with a digit>" clauses OFAC adds over
# time ("Italian Fiscal Code ...", "Stateless Person Passport ...").
GENERIC_ID_RE = (
    r"^(?P<label>[A-Z][\w.'/&-]*(?:\s+[\w.'/&-]+){0,5}?\s+"
    r"(?:Number|No\.?|ID|Code|Card|Passport|License))"
    r":?\s+(?P<rest>[A-Za-z0-9][^(;]*?\d.*)$"
)
# The value runs to a comma, a bracketed country or an issue / expiry date ...
VALUE_RE = r"^(.+?)(?:,|\s+\(|\s+issued\b|\s+expires\b|\s+valid\b|$)"
# ... except for these single-token values, where what follows is not part of it.
TOKEN_VALUES = ("IMO", "MMSI", "SWIFT/BIC", "Email Address", "Website", "BIK")


@dataclass
class RemarkFacts:
    """What the remarks say, one frame per common table (without list_code)."""

    names: pl.DataFrame  # entry_id, name, kind
    birth_dates: pl.DataFrame  # entry_id, birth_date, approximate
    birth_places: pl.DataFrame  # entry_id, place, country
    nationalities: pl.DataFrame  # entry_id, country, kind
    identifiers: pl.DataFrame  # entry_id, id_type, value, country
    genders: pl.DataFrame  # entry_id, gender


def iso2_expr(expr: pl.Expr) -> pl.Expr:
    """data.countries.to_iso2 as a whole-column expression, run once per distinct value."""
    return expr.map_batches(_iso2_series, return_dtype=pl.Utf8)


def _iso2_series(values: pl.Series) -> pl.Series:
    mapping = {value: to_iso2(value) for value in values.drop_nulls().unique()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def clauses(remarks: pl.DataFrame) -> pl.DataFrame:
    """entry_id, remarks -> one row per clause: entry_id, clause (as written), body (the clause
    without its "alt." prefix)."""
    text = pl.col("remarks").str.strip_chars().str.strip_chars_end(".")
    return (
        remarks.select("entry_id", text.str.split(";").alias("clause"))
        .explode("clause")
        .with_columns(pl.col("clause").str.strip_chars())
        .filter(pl.col("clause").str.len_chars() > 0)
        .with_columns(body=pl.col("clause").str.replace(r"^[Aa]lt\.\s+", ""))
    )


def extract(remarks: pl.DataFrame) -> RemarkFacts:
    """All the facts in the remarks of the given entries (columns entry_id, remarks)."""
    parts = clauses(remarks.filter(pl.col("remarks").is_not_null()))
    return RemarkFacts(
        names=_names(parts),
        birth_dates=_birth_dates(parts),
        birth_places=_birth_places(parts),
        nationalities=_nationalities(parts),
        identifiers=_identifiers(parts),
        genders=_genders(parts),
    )


def _groups(parts: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """The clauses matching pattern, with its named groups as columns."""
    return (
        parts.select("entry_id", pl.col("body").str.extract_groups(pattern).alias("g"))
        .unnest("g")
        .filter(pl.all_horizontal(pl.exclude("entry_id").is_null()).not_())
    )


def _names(parts: pl.DataFrame) -> pl.DataFrame:
    found = _groups(parts, ALIAS_RE)
    return found.select(
        "entry_id",
        pl.col("name").str.strip_chars(),
        pl.col("kind").replace_strict(ALIAS_KINDS, return_dtype=pl.Utf8),
    ).filter(pl.col("name").str.len_chars() > 0)


def _month(expr: pl.Expr) -> pl.Expr:
    return expr.str.slice(0, 3).str.to_lowercase().replace_strict(_MONTHS, default=None)


def _birth_dates(parts: pl.DataFrame) -> pl.DataFrame:
    found = _groups(parts, DOB_RE).with_columns(
        sy=pl.col("sy").cast(pl.Int32),
        ey=pl.col("ey").cast(pl.Int32),
        month=_month(pl.col("sm")),
        day=pl.col("sd").cast(pl.Int32),
        circa=pl.col("circa").is_not_null(),
    )
    # A month word that is not a month ("DOB Unknown 1960") makes the clause unreadable.
    found = found.filter(pl.col("sm").is_null() | pl.col("month").is_not_null())
    month_text = pl.lit("-") + pl.col("month").cast(pl.Utf8).str.zfill(2)
    day_text = pl.lit("-") + pl.col("day").cast(pl.Utf8).str.zfill(2)
    year_month = pl.concat_str(pl.col("sy").cast(pl.Utf8), month_text, ignore_nulls=True)
    full = year_month + day_text
    # "31 Feb" is no date: the day is dropped and the month kept.
    real_day = full.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    single = found.filter(pl.col("ey").is_null()).select(
        "entry_id",
        birth_date=pl.when(real_day).then(full).otherwise(year_month),
        approximate=pl.col("circa"),
    )
    # A range stands for every year in it; each is approximate unless the range is one year.
    ranges = (
        found.filter(
            pl.col("ey").is_not_null(),
            pl.col("ey") >= pl.col("sy"),
            pl.col("ey") - pl.col("sy") <= MAX_RANGE_YEARS,
        )
        .select(
            "entry_id",
            birth_date=pl.int_ranges(pl.col("sy"), pl.col("ey") + 1),
            approximate=pl.col("circa") | (pl.col("ey") != pl.col("sy")),
        )
        .explode("birth_date")
        .with_columns(pl.col("birth_date").cast(pl.Utf8))
    )
    return pl.concat([single, ranges]).unique(maintain_order=True)


def _birth_places(parts: pl.DataFrame) -> pl.DataFrame:
    found = _groups(parts, POB_RE).with_columns(pl.col("place").str.strip_chars())
    # The country is the last comma-separated part; else the whole place ("Gaza Strip"),
    # else its last one or two words ("Khartoum Sudan", "Riyadh Saudi Arabia").
    place = pl.col("place")
    candidates = [
        place.str.split(",").list.last().str.strip_chars(),
        place,
        place.str.extract(r"(\S+\s+\S+)$"),
        place.str.extract(r"(\S+)$"),
    ]
    return found.select(
        "entry_id", "place", country=pl.coalesce([iso2_expr(c) for c in candidates])
    ).unique(maintain_order=True)


def _nationalities(parts: pl.DataFrame) -> pl.DataFrame:
    found = _groups(parts, NATIONALITY_RE)
    kind = pl.col("kind").str.to_lowercase().str.starts_with("nationality")
    return (
        found.select(
            "entry_id",
            country=iso2_expr(pl.col("country").str.strip_chars()),
            kind=pl.when(kind).then(pl.lit("nationality")).otherwise(pl.lit("citizenship")),
        )
        .filter(pl.col("country").is_not_null())
        .unique(maintain_order=True)
    )


def _genders(parts: pl.DataFrame) -> pl.DataFrame:
    found = _groups(parts, GENDER_RE)
    return found.select("entry_id", pl.col("gender").str.to_lowercase()).unique(
        "entry_id", keep="first", maintain_order=True
    )


def _identifiers(parts: pl.DataFrame) -> pl.DataFrame:
    labels = {label: id_type or label for label, id_type in ID_LABELS.items()}
    known = _groups(parts, ID_RE).select(
        "entry_id",
        label=pl.concat_str(
            pl.col("label").replace_strict(labels, return_dtype=pl.Utf8),
            pl.lit(" (") + pl.col("abbr") + pl.lit(")"),
            ignore_nulls=True,
        ),
        rest="rest",
    )
    unlabelled = parts.filter(~pl.col("body").str.contains(ID_RE))
    wallets = _groups(unlabelled, DIGITAL_CURRENCY_RE).select(
        "entry_id", label=pl.lit("Digital Currency Address - ") + pl.col("currency"), rest="rest"
    )
    generic = _groups(
        unlabelled.filter(~pl.col("body").str.contains(DIGITAL_CURRENCY_RE)), GENERIC_ID_RE
    )
    found = pl.concat([known, wallets, generic])
    single_token = pl.col("label").is_in(TOKEN_VALUES) | pl.col("label").str.starts_with("Digital")
    value = (
        pl.when(single_token)
        .then(pl.col("rest").str.extract(r"^(\S+)").str.strip_chars_end("."))
        .otherwise(pl.col("rest").str.extract(VALUE_RE))
    )
    return (
        found.select(
            "entry_id",
            id_type="label",
            # "R.F.C. # PMA-910805", "Telephone No. 0096...": the marker is not the value
            value=value.str.replace(r"^(?:#|No\.?:?|Number:?)\s*", "").str.strip_chars(),
            # the issuing country is the last bracket: "(Dubai) DMCC193946 (United Arab Emirates)"
            country=iso2_expr(pl.col("rest").str.extract(r".*\(([^()]+)\)")),
        )
        .filter(pl.col("value").str.len_chars() > 0)
        .unique(maintain_order=True)
    )


def parsed_mask(parts: pl.DataFrame) -> pl.Series:
    """For each clause of `clauses()`, whether any extractor reads it (for coverage reports)."""
    patterns = [DOB_RE, POB_RE, NATIONALITY_RE, GENDER_RE, ALIAS_RE, ID_RE, DIGITAL_CURRENCY_RE]
    patterns.append(GENERIC_ID_RE)
    return parts.select(
        pl.any_horizontal([pl.col("body").str.contains(p) for p in patterns])
    ).to_series()
