"""EU Financial Sanctions Files, full list XML format 1.1 -> the common schema.

Written from the published schema (schema_1_1.xsd, namespace
http://eu.europa.ec/fpi/fsd/export): no real copy of the file could be had on this machine,
so tests run on small documents written in that schema (tests/fixtures/eu/). The structure:

    <export generationDate="..." globalFileId="...">
      <sanctionEntity logicalId euReferenceNumber unitedNationId designationDate ...>
        <remark/>*  <regulation programme publicationDate .../>*
        <subjectType code="person|enterprise" classificationCode="P|E"/>
        <nameAlias firstName middleName lastName wholeName function gender title
                   nameLanguage strong/>*
        <citizenship countryIso2Code/>*
        <birthdate birthdate dayOfMonth monthOfYear year yearRangeFrom yearRangeTo circa
                   city place region countryIso2Code countryDescription/>*
        <identification identificationTypeCode identificationTypeDescription number
                        countryIso2Code/>*
        <address street poBox zipCode city region place countryIso2Code countryDescription/>*

The entry id is the entity's logicalId: it is always present and is the id the EU's own
pages and CSV use, while euReferenceNumber ("EU.27.28") may be empty; the reference numbers
are kept as identifiers so they can still be looked up. Country code "00" means unknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from data.schema import ParsedList, SourceError
from data.sources.common import (
    clean,
    element_location,
    iso_partial,
    parse_partial_date,
    parse_xml,
    require_unique_ids,
    script_of,
    table,
    with_scripts,
)

FOLDER = "eu"
FILE = "xmlFullSanctionsList_1_1.xml"
FILES = {
    FILE: "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
    "?token=dG9rZW4tMjAxNw"
}
REQUIRED = (FILE,)
LIST_CODE = "eu"
NAMESPACE = "http://eu.europa.ec/fpi/fsd/export"

SUBJECT_TYPES = {
    "person": "individual",
    "enterprise": "organization",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
CLASSIFICATIONS = {"P": "individual", "E": "organization"}
GENDERS = {"M": "male", "F": "female"}
# A year range wider than this is not a usable set of birth years.
MAX_YEAR_RANGE = 15


def parse(files: dict[str, Path]) -> ParsedList:
    path = files[FILE]
    root = parse_xml(path)
    if etree.QName(root).localname != "export":
        raise SourceError(str(path), element_location(root), "not an EU sanctions export")
    entities = _children(root, "sanctionEntity")
    if not entities:
        raise SourceError(str(path), element_location(root), "no sanctionEntity")
    rows: dict[str, list[tuple]] = {name: [] for name in _TABLE_READERS}
    for entity in entities:
        entry_id = _attr(entity, "logicalId")
        if not entry_id:
            raise SourceError(str(path), element_location(entity), "no logicalId")
        for name, reader in _TABLE_READERS.items():
            rows[name].extend((entry_id, *row) for row in reader(path, entity))
    tables = {name: table(name, LIST_CODE, found) for name, found in rows.items()}
    tables["names"] = with_scripts(tables["names"])
    require_unique_ids(path, tables["entries"])
    return ParsedList(
        list_code=LIST_CODE,
        publication_date=parse_partial_date((root.get("generationDate") or "")[:10]),
        **tables,
    )


# --- One reader per table: sanctionEntity -> rows (without the entry id) --------------------


def _entry(path: Path, entity: etree._Element) -> Iterator[tuple]:
    aliases = _children(entity, "nameAlias")
    regulations = _children(entity, "regulation")
    titles = [t for alias in aliases for t in (_attr(alias, "title"), _attr(alias, "function"))]
    genders = [GENDERS.get(_attr(alias, "gender") or "") for alias in aliases]
    published = sorted(d for r in regulations if (d := _date_attr(r, "publicationDate")))
    yield (
        _entity_type(path, entity),
        _primary_name(path, entity),
        _unique(_attr(regulation, "programme") for regulation in regulations),
        " ".join(_texts(entity, "remark")) or None,
        _date_attr(entity, "designationDate") or (published[0] if published else None),
        next((gender for gender in genders if gender), None),
        "; ".join(_unique(titles)) or None,
    )


def _names(path: Path, entity: etree._Element) -> Iterator[tuple]:
    primary = _primary_name(path, entity)
    yield primary, "primary", None
    for alias in _children(entity, "nameAlias"):
        name = _alias_name(alias)
        if not name or name == primary:
            continue
        if (script_of(name) or "Latin") != "Latin":
            yield name, "original_script", None
        elif _attr(alias, "strong") == "false":
            yield name, "weak_alias", None
        else:
            yield name, "aka", None


def _birth_dates(path: Path, entity: etree._Element) -> Iterator[tuple]:
    for birth in _children(entity, "birthdate"):
        circa = _attr(birth, "circa") == "true"
        first, last = _int_attr(birth, "yearRangeFrom"), _int_attr(birth, "yearRangeTo")
        if date := _date_attr(birth, "birthdate"):
            yield date, circa
        elif year := _int_attr(birth, "year"):
            month, day = _int_attr(birth, "monthOfYear"), _int_attr(birth, "dayOfMonth")
            if date := iso_partial(year, month, day) or iso_partial(year):
                yield date, circa
        elif first and last and 0 <= last - first <= MAX_YEAR_RANGE:
            for year in range(first, last + 1):
                if date := iso_partial(year):
                    yield date, True


def _birth_places(path: Path, entity: etree._Element) -> Iterator[tuple]:
    for birth in _children(entity, "birthdate"):
        place = _joined(birth, "city", "place", "region", "countryDescription")
        if place:
            yield place, _country(birth)


def _nationalities(path: Path, entity: etree._Element) -> Iterator[tuple]:
    for citizenship in _children(entity, "citizenship"):
        if country := _country(citizenship):
            yield country, "citizenship"


def _identifiers(path: Path, entity: etree._Element) -> Iterator[tuple]:
    for document in _children(entity, "identification"):
        number = _attr(document, "number") or _attr(document, "latinNumber")
        if not number:
            continue
        code = _attr(document, "identificationTypeCode")
        label = "Passport" if code == "passport" else None
        label = label or _attr(document, "identificationTypeDescription") or code or "Document"
        yield label, number, _country(document)
    for attribute, label in (
        ("euReferenceNumber", "EU Reference Number"),
        ("unitedNationId", "UN Reference Number"),
    ):
        if value := _attr(entity, attribute):
            yield label, value, None


def _addresses(path: Path, entity: etree._Element) -> Iterator[tuple]:
    for address in _children(entity, "address"):
        text = _joined(
            address, "street", "poBox", "zipCode", "city", "place", "region", "countryDescription"
        )
        if text:
            yield text, _attr(address, "city"), _country(address)


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


def _entity_type(path: Path, entity: etree._Element) -> str:
    subject = next(iter(_children(entity, "subjectType")), None)
    code = _attr(subject, "code") if subject is not None else None
    classification = _attr(subject, "classificationCode") if subject is not None else None
    entity_type = SUBJECT_TYPES.get((code or "").lower()) or CLASSIFICATIONS.get(
        classification or ""
    )
    if entity_type is None:
        where = subject if subject is not None else entity
        raise SourceError(str(path), element_location(where), f"unknown subjectType code {code!r}")
    return entity_type


def _primary_name(path: Path, entity: etree._Element) -> str:
    """The first strong Latin-script name (the EU lists the main name first), else the first."""
    names = [
        (name, _attr(alias, "strong") != "false")
        for alias in _children(entity, "nameAlias")
        if (name := _alias_name(alias))
    ]
    if not names:
        raise SourceError(str(path), element_location(entity), "no nameAlias with a name")
    strong_latin = [n for n, strong in names if strong and (script_of(n) or "Latin") == "Latin"]
    return (strong_latin or [names[0][0]])[0]


def _alias_name(alias: etree._Element) -> str | None:
    parts = (_attr(alias, part) for part in ("firstName", "middleName", "lastName"))
    return _attr(alias, "wholeName") or clean(" ".join(p for p in parts if p))


def _country(element: etree._Element) -> str | None:
    code = (_attr(element, "countryIso2Code") or "").upper()
    return code if len(code) == 2 and code.isalpha() else None  # "00" is unknown


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    """Children by local name, with or without the export namespace."""
    return element.findall(f"{{{NAMESPACE}}}{name}") or element.findall(name)


def _attr(element: etree._Element, name: str) -> str | None:
    return clean(element.get(name))


def _int_attr(element: etree._Element, name: str) -> int | None:
    value = _attr(element, name)
    return int(value) if value and value.isdigit() else None


def _date_attr(element: etree._Element, name: str) -> str | None:
    return parse_partial_date((_attr(element, name) or "")[:10])


def _texts(element: etree._Element, name: str) -> list[str]:
    return [text for child in _children(element, name) if (text := clean(child.text))]


def _joined(element: etree._Element, *names: str) -> str | None:
    values = [_attr(element, name) for name in names]
    return ", ".join(v for v in values if v and v.upper() != "UNKNOWN") or None


def _unique(values: Iterator[str | None] | list[str | None]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))
