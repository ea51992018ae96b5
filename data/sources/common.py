"""Helpers every list parser shares: text cleanup, name scripts, partial dates, safe reading.

The lists write the same facts in many ways; these helpers turn them into the common schema's
forms (data/schema.py): whitespace-collapsed text, the dominant Unicode script of a name, and
dates as ISO strings at the precision given ("1960-01-10", "1960-01", "1960"). Reading
helpers turn a broken file into a SourceError that names the file and the line.
"""

from __future__ import annotations

import calendar
import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

import polars as pl
from lxml import etree

from data.countries import to_iso2
from data.schema import TABLES, SourceError

# --- Text -----------------------------------------------------------------------------------


def clean(text: str | None) -> str | None:
    """Whitespace collapsed to single spaces and stripped; None for empty or missing text."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def clean_expr(expr: pl.Expr) -> pl.Expr:
    """`clean` as a whole-column expression."""
    text = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(text != "").then(text)


def split_numbered(expr: pl.Expr, *, keep_dashes: bool = False) -> pl.Expr:
    """ "(1) Iran (2) Iraq" -> ["Iran", "Iraq"]; unnumbered text -> [text]. Whole-column.

    OFSI numbers the values of a multi-valued cell; "(1) to (6) Algeria" repeats a value.
    A bare "-" stands for "none": dropped, unless kept to pair items with another cell's.
    """
    parts = expr.str.replace_all(r"\(\d+(?:-\d+)?\)(?:\s*to\s*\(\d+\))?", "\x1f").str.split("\x1f")
    item = clean_expr(pl.element())
    meaningful = item if keep_dashes else pl.when(item.str.contains(r"[\p{L}\p{N}]")).then(item)
    return parts.list.eval(meaningful).list.drop_nulls()


def per_distinct(function: Callable[[str], str | None], expr: pl.Expr) -> pl.Expr:
    """A Python text function as a whole-column expression, called once per distinct value.

    For the few look-ups no Polars expression can do (scripts, countries in free text):
    lists repeat their values, so a column of 100,000 rows holds a few thousand distinct ones.
    """

    def apply(texts: pl.Series) -> pl.Series:
        mapping = {text: function(text) for text in texts.drop_nulls().unique()}
        return texts.replace_strict(mapping, default=None, return_dtype=pl.Utf8)

    return expr.map_batches(apply, return_dtype=pl.Utf8)


# --- Countries in free text ------------------------------------------------------------------

_NOW = re.compile(r"\b(?:currently|now)\s+([^()]+)", re.IGNORECASE)
_SEGMENTS = re.compile(r"[,.;:()]")
_ISSUED = re.compile(r"^(?:issued|place of issue)(?:\s+(?:in|by|at))?(?:\s+the)?\s+", re.IGNORECASE)
_SOVIET = re.compile(r"\b(?:A?SSR|SFSR|Soviet Socialist Republic)\b", re.IGNORECASE)


_AFTER_PREPOSITION = re.compile(r"\b(?:in|of)\s+(?:the\s+)?([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")


def _country_name(text: str) -> str | None:
    """to_iso2 for names only: bare 2- and 3-letter words ("ID", "Tel", "AND") are not
    countries here."""
    text = text.strip(" -")
    return to_iso2(text) if len(text) > 3 else None


def _leading_country(text: str) -> str | None:
    """The country named by the longest leading run of words: "United Republic of Tanzania"."""
    words = _ISSUED.sub("", text.strip()).split()
    for size in range(min(len(words), 5), 0, -1):
        if code := _country_name(" ".join(words[:size])):
            return code
    return None


@cache
def find_country(text: str | None) -> str | None:
    """The ISO alpha-2 code of the country a free-text field names, else None.

    Reads "Iran", "Former USSR Currently Ukraine", "Ukrainian SSR", "Russia. Former USSR",
    "Afghanistan number, issued on 25 Aug. 2016", "Issued in Bahri, Sudan", "Cypriot Passport",
    "Diplomatic Passport Issued 18 February 2010 in Guinea-Bissau".
    """
    text = clean(text)
    if not text:
        return None
    if code := to_iso2(text):
        return code
    if (now := _NOW.search(text)) and (code := _country_name(now.group(1))):
        return code
    segments = _SEGMENTS.split(_SOVIET.sub("", text))
    # "Expires 2020 (Iraq)", "Issued in Bahri, Sudan"; then "... issued in Guinea-Bissau".
    candidates = [*segments, *_AFTER_PREPOSITION.findall(text)]
    return next((code for part in candidates if (code := _leading_country(part))), None)


def country_expr(expr: pl.Expr) -> pl.Expr:
    """`find_country` as a whole-column expression: computed once per distinct text."""
    return per_distinct(find_country, expr)


# --- Scripts --------------------------------------------------------------------------------

# Unicode character-name prefixes that do not name the script itself.
_SCRIPT_RENAMES = {"CJK": "Han", "MATHEMATICAL": "Latin"}
_WIDTH_PREFIXES = ("FULLWIDTH", "HALFWIDTH")


@cache
def _char_script(char: str) -> str | None:
    if not unicodedata.category(char).startswith("L"):
        return None
    words = unicodedata.name(char, "").split()
    if not words or words[0] == "MODIFIER":
        return None
    if words[0] in _WIDTH_PREFIXES and len(words) > 1:
        words = words[1:]
    return _SCRIPT_RENAMES.get(words[0], words[0].title())


@cache
def script_of(name: str | None) -> str | None:
    """The dominant Unicode script of a name: "Latin", "Cyrillic", "Arabic", "Han" ...

    The script most of its letters belong to; None when it has no letters.
    """
    if not name:
        return None
    if name.isascii():
        return "Latin" if any(c.isalpha() for c in name) else None
    counts = Counter(s for c in name if (s := _char_script(c)))
    return counts.most_common(1)[0][0] if counts else None


def script_expr(expr: pl.Expr) -> pl.Expr:
    """`script_of` as a whole-column expression: computed once per distinct name."""
    return per_distinct(script_of, expr)


# --- Dates ----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower())
}
_MONTHS["sept"] = 9

_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DMY = re.compile(r"(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})")
_TEXT = re.compile(r"(?:(\d{1,2})\s+)?([a-z]+)\.?,?\s+(?:(\d{1,2}),?\s+)?(\d{4})")
_APPROX = re.compile(r"^(?:circa|ca\.?|c\.|approx(?:imately|\.)?|about|around)\s+")


def iso_partial(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """ISO text at the precision given; None if the parts are not a real date.

    Month or day 0 means "unknown" (as OFSI writes 00/00/1970); a day without a month is
    dropped, since "1970-??-15" cannot be written in ISO.
    """
    if not 1800 <= year <= 2100:
        return None
    if not month:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if not day:
        return f"{year:04d}-{month:02d}"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


@cache
def parse_partial_date(text: str | None) -> str | None:
    """A date as the lists write it -> "YYYY-MM-DD" / "YYYY-MM" / "YYYY"; None if unreadable.

    Reads "1960-01-10", "1960-01", "1960", "10/01/1960" (day first; 00 = unknown),
    "01/1960", "10 Jan 1960", "Nov. 1973", "January 10, 1960" and "circa 1960".
    """
    text = clean(text)
    if not text:
        return None
    text = _APPROX.sub("", text.lower())
    if match := _ISO.fullmatch(text):
        year, month, day = match.groups()
        return iso_partial(int(year), int(month or 0), int(day or 0))
    if match := _DMY.fullmatch(text):
        day, month, year = match.groups()
        return iso_partial(int(year), int(month), int(day or 0))
    if match := _TEXT.fullmatch(text):
        day, month_name, day_after, year = match.groups()
        month = _MONTHS.get(month_name)
        if month is None:
            return None
        return iso_partial(int(year), month, int(day or day_after or 0))
    return None


def partial_date_expr(expr: pl.Expr) -> pl.Expr:
    """`parse_partial_date` as a whole-column expression: computed once per distinct text."""
    return per_distinct(parse_partial_date, expr)


def dmy_expr(expr: pl.Expr) -> pl.Expr:
    """ "dd/mm/yyyy", "mm/yyyy" or "yyyy" with 00 for unknown parts -> partial ISO. Whole-column.

    Values that are not such dates become null; impossible days (31/02) are not checked here.
    """
    parts = expr.str.strip_chars().str.extract_groups(
        r"^(?:(?:(?P<d>\d{1,2})/)?(?P<m>\d{1,2})/)?(?P<y>\d{4})$"
    )
    year = parts.struct.field("y")
    month = parts.struct.field("m").cast(pl.Int32, strict=False).fill_null(0)
    day = parts.struct.field("d").cast(pl.Int32, strict=False).fill_null(0)
    month_text = pl.lit("-") + month.cast(pl.Utf8).str.zfill(2)
    day_text = pl.lit("-") + day.cast(pl.Utf8).str.zfill(2)
    return (
        pl.when(month.is_between(1, 12) & day.is_between(1, 31))
        .then(year + month_text + day_text)
        .when(month.is_between(1, 12) & (day == 0))
        .then(year + month_text)
        .when(month == 0)
        .then(year)
    )


# --- Building tables --------------------------------------------------------------------------


def table(name: str, list_code: str, rows: list[tuple]) -> pl.DataFrame:
    """One of the common tables from row tuples given in schema order after list_code."""
    schema = TABLES[name]
    columns = list(schema.names())[1:]
    frame = pl.DataFrame(rows, schema={c: schema[c] for c in columns}, orient="row")
    return frame.select(pl.lit(list_code).alias("list_code"), *columns).unique(maintain_order=True)


def require_unique_ids(path: Path, entries: pl.DataFrame) -> pl.DataFrame:
    """The entries table, checked: one entry per id, or the file is inconsistent."""
    repeated = entries.filter(pl.col("entry_id").is_duplicated())
    if repeated.height:
        entry_id = repeated["entry_id"][0]
        raise SourceError(str(path), None, f"entry id {entry_id!r} is listed twice, differently")
    return entries


def with_scripts(names: pl.DataFrame) -> pl.DataFrame:
    """A names table with its script column filled from the names themselves.

    A name a list files as "original script" but that is written in Latin letters ("José
    Gregorio NORIEGA", "Baššār Ḥāfiẓ Al Assad") is an original spelling, kept as an aka.
    """
    names = names.with_columns(script_expr(pl.col("name")).alias("script"))
    latin_original = (pl.col("kind") == "original_script") & (pl.col("script") == "Latin")
    return names.with_columns(
        pl.when(latin_original).then(pl.lit("aka")).otherwise(pl.col("kind")).alias("kind")
    ).unique(maintain_order=True)


# --- Reading safely ---------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    """The file's bytes; SourceError if it is missing or empty."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(str(path), None, f"cannot read: {error.strerror}") from error
    if not data.strip():
        raise SourceError(str(path), "line 1", "the file is empty")
    return data


def decode_utf8(path: Path, data: bytes) -> str:
    """Text of a UTF-8 file (a BOM is dropped); SourceError naming the line of a bad byte."""
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        raise SourceError(
            str(path), f"line {line}", f"not UTF-8 (byte 0x{body[error.start]:02x})"
        ) from error


def parse_xml(path: Path) -> etree._Element:
    """The root element of an XML file; SourceError with the line for malformed, truncated,
    empty or wrongly encoded XML (lxml's recovery mode is off, so nothing is half-read)."""
    data = read_bytes(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        raise SourceError(str(path), f"line {line}", f"malformed XML: {error.msg}") from error


def element_location(element: etree._Element) -> str:
    """Where an element is, for error messages: "line 12, <INDIVIDUAL>"."""
    tag = etree.QName(element).localname
    return f"line {element.sourceline}, <{tag}>"
