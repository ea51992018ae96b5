"""UN Security Council Consolidated List (sc-sanctions.xsd XML) -> the common schema.

One <INDIVIDUAL> or <ENTITY> per listed party. The entry id is REFERENCE_NUMBER ("CDi.001",
"QDe.004"), not DATAID: the reference number is what Security Council documents, national
lists and compliance teams cite, and it stays the same across versions of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from data.countries import to_iso2
from data.schema import ParsedList, SourceError
from data.sources.common import (
    clean,
    element_location,
    iso_partial,
    parse_partial_date,
    parse_xml,
    require_unique_ids,
    table,
    with_scripts,
)

FOLDER = "un"
FILES = {"consolidated.xml": "https://scsanctions.un.org/resources/xml/en/consolidated.xml"}
REQUIRED = ("consolidated.xml",)
LIST_CODE = "un"

_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_ALIAS_KINDS = {"good": "aka", "a.k.a.": "aka", "low": "weak_alias", "f.k.a.": "fka"}
_PASSPORT_WORDS = ("passport", "passeport", "pasaporte")
# A BETWEEN range wider than this is not a usable birth year set.
_MAX_YEAR_RANGE = 15


def parse(files: dict[str, Path]) -> ParsedList:
    path = files["consolidated.xml"]
    root = parse_xml(path)
    if root.tag != "CONSOLIDATED_LIST":
        raise SourceError(str(path), element_location(root), "not a UN consolidated list")
    parties = list(root.iterfind("INDIVIDUALS/INDIVIDUAL")) + list(root.iterfind("ENTITIES/ENTITY"))
    if not parties:
        raise SourceError(str(path), element_location(root), "no INDIVIDUAL or ENTITY")
    rows: dict[str, list[tuple]] = {name: [] for name in _TABLE_READERS}
    for party in parties:
        entry_id = _required(path, party, "REFERENCE_NUMBER")
        for name, reader in _TABLE_READERS.items():
            rows[name].extend((entry_id, *row) for row in reader(path, party))
    tables = {name: table(name, LIST_CODE, found) for name, found in rows.items()}
    tables["names"] = with_scripts(tables["names"])
    require_unique_ids(path, tables["entries"])
    return ParsedList(
        list_code=LIST_CODE,
        publication_date=(root.get("dateGenerated") or "")[:10] or None,
        **tables,
    )


# --- One reader per table: party element -> rows (without the entry id) ---------------------


def _entry(path: Path, party: etree._Element) -> Iterator[tuple]:
    is_person = party.tag == "INDIVIDUAL"
    titles = [*_values(party, "TITLE/VALUE"), *_values(party, "DESIGNATION/VALUE")]
    listed_on = clean(party.findtext("LISTED_ON"))
    yield (
        "individual" if is_person else "organization",
        _primary_name(path, party),
        [p] if (p := clean(party.findtext("UN_LIST_TYPE"))) else [],
        clean(party.findtext("COMMENTS1")),
        listed_on[:10] if listed_on else None,  # some carry a zone: "2001-01-25-05:00"
        (clean(party.findtext("GENDER")) or "").lower() or None,
        "; ".join(titles) or None,
    )


def _names(path: Path, party: etree._Element) -> Iterator[tuple]:
    yield _primary_name(path, party), "primary", None
    for original in _values(party, "NAME_ORIGINAL_SCRIPT"):
        yield original, "original_script", None
    for alias in _children(party, "_ALIAS"):
        name = clean(alias.findtext("ALIAS_NAME"))
        if name:
            quality = (clean(alias.findtext("QUALITY")) or "good").lower()
            yield name, _ALIAS_KINDS.get(quality, "aka"), None


def _birth_dates(path: Path, party: etree._Element) -> Iterator[tuple]:
    for dob in party.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
        yield from _dates_of_birth(dob)
    for alias_date in _values(party, "INDIVIDUAL_ALIAS/DATE_OF_BIRTH"):
        if date := parse_partial_date(alias_date):
            yield date, False


def _dates_of_birth(dob: etree._Element) -> Iterator[tuple]:
    kind = clean(dob.findtext("TYPE_OF_DATE"))
    approximate = kind in ("APPROXIMATELY", "BETWEEN")
    note = clean(dob.findtext("NOTE")) or ""
    if (date := clean(dob.findtext("DATE"))) and (iso := parse_partial_date(date)):
        yield iso, approximate
    elif year := clean(dob.findtext("YEAR")):
        # <YEAR>1958</YEAR><NOTE>Sep.</NOTE> is September 1958.
        if iso := parse_partial_date(f"{note} {year}") or parse_partial_date(year):
            yield iso, approximate
    elif kind == "BETWEEN":
        first, last = (_int(dob.findtext(tag)) for tag in ("FROM_YEAR", "TO_YEAR"))
        if first and last and 0 <= last - first <= _MAX_YEAR_RANGE:
            for year_number in range(first, last + 1):
                if iso := iso_partial(year_number):
                    yield iso, True
    elif iso := parse_partial_date(note):  # a date written only in the note: "Nov. 1973"
        yield iso, approximate


def _birth_places(path: Path, party: etree._Element) -> Iterator[tuple]:
    for place in party.iterfind("INDIVIDUAL_PLACE_OF_BIRTH"):
        country = clean(place.findtext("COUNTRY"))
        text = _join(place, "CITY", "STATE_PROVINCE", "COUNTRY")
        if text:
            yield text, to_iso2(country)
    for alias in party.iterfind("INDIVIDUAL_ALIAS"):
        country = clean(alias.findtext("COUNTRY_OF_BIRTH"))
        text = _join(alias, "CITY_OF_BIRTH", "COUNTRY_OF_BIRTH")
        if text:
            yield text, to_iso2(country)


def _nationalities(path: Path, party: etree._Element) -> Iterator[tuple]:
    for value in _values(party, "NATIONALITY/VALUE"):
        if country := to_iso2(value):
            yield country, "nationality"


def _identifiers(path: Path, party: etree._Element) -> Iterator[tuple]:
    for document in party.iterfind("INDIVIDUAL_DOCUMENT"):
        number = clean(document.findtext("NUMBER"))
        if not number:
            continue
        label = clean(document.findtext("TYPE_OF_DOCUMENT")) or clean(
            document.findtext("TYPE_OF_DOCUMENT2")
        )
        if label and any(word in label.lower() for word in _PASSPORT_WORDS):
            label = "Passport"  # the French and Spanish labels of the same document
        country = clean(document.findtext("ISSUING_COUNTRY")) or clean(
            document.findtext("COUNTRY_OF_ISSUE")
        )
        yield label or "Document", number, to_iso2(country)


def _addresses(path: Path, party: etree._Element) -> Iterator[tuple]:
    for address in _children(party, "_ADDRESS"):
        text = _join(address, "STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")
        if text:
            country = clean(address.findtext("COUNTRY"))
            yield text, clean(address.findtext("CITY")), to_iso2(country)


_TABLE_READERS = {
    "entries": _entry,
    "names": _names,
    "birth_dates": _birth_dates,
    "birth_places": _birth_places,
    "nationalities": _nationalities,
    "identifiers": _identifiers,
    "addresses": _addresses,
}


# --- Small helpers ---------------------------------------------------------------------------


def _primary_name(path: Path, party: etree._Element) -> str:
    # The parts in the order the UN publishes them; for entities only FIRST_NAME is used.
    name = clean(" ".join(party.findtext(part) or "" for part in _NAME_PARTS))
    if not name:
        raise SourceError(str(path), element_location(party), "no FIRST_NAME")
    return name


def _required(path: Path, party: etree._Element, tag: str) -> str:
    value = clean(party.findtext(tag))
    if not value:
        raise SourceError(str(path), element_location(party), f"no {tag}")
    return value


def _children(party: etree._Element, suffix: str) -> list[etree._Element]:
    """INDIVIDUAL_ALIAS or ENTITY_ALIAS children alike."""
    return [child for child in party if isinstance(child.tag, str) and child.tag.endswith(suffix)]


def _values(element: etree._Element, path: str) -> list[str]:
    return [text for found in element.iterfind(path) if (text := clean(found.text))]


def _join(element: etree._Element, *tags: str) -> str | None:
    return ", ".join(t for tag in tags if (t := clean(element.findtext(tag)))) or None


def _int(text: str | None) -> int | None:
    text = clean(text)
    return int(text) if text and text.isdigit() else None
