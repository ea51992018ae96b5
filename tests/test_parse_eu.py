"""The EU Financial Sanctions Files parser, on small documents written in the published
format 1.1 schema (no real copy of the list exists on this machine)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.schema import TABLES, ParsedList, SourceError
from data.sources import eu

FIXTURES = Path(__file__).parent / "fixtures" / "eu"


@pytest.fixture(scope="module")
def parsed() -> ParsedList:
    return eu.parse({eu.FILE: FIXTURES / "sample.xml"})


def _rows(frame: pl.DataFrame, entry_id: str) -> list[tuple]:
    return frame.filter(pl.col("entry_id") == entry_id).drop("list_code", "entry_id").rows()


def test_module_contract() -> None:
    assert eu.FOLDER == "eu"
    assert eu.REQUIRED == (eu.FILE,)
    assert eu.FILES[eu.FILE].startswith("https://webgate.ec.europa.eu/fsd/fsf/public/files/")
    assert "xmlFullSanctionsList_1_1" in eu.FILES[eu.FILE]


def test_tables_fit_the_common_schema(parsed: ParsedList) -> None:
    for name, frame in parsed.tables().items():
        assert frame.schema == TABLES[name], name
    assert parsed.publication_date == "2026-11-20"
    assert parsed.entries["entry_id"].to_list() == ["900101", "900202"]


def test_person(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="900101").row(0, named=True)
    assert entry == {
        "list_code": "eu",
        "entry_id": "900101",
        "entity_type": "individual",
        "primary_name": "Aleksandr Viktorovich KOVALENKO",
        "programs": ["UKR"],
        "remarks": "Invented person for parser tests.",
        "listed_on": "2022-03-15",
        "gender": "male",
        "title": "Deputy Minister of Transport",
    }
    assert _rows(parsed.names, "900101") == [
        ("Aleksandr Viktorovich KOVALENKO", "primary", "Latin"),
        ("Alexandre Viktorovitch Kovalenko", "aka", "Latin"),  # the French spelling
        ("Александр Викторович Коваленко", "original_script", "Cyrillic"),
        ("Sasha Koval", "weak_alias", "Latin"),  # strong="false"
    ]
    assert _rows(parsed.birth_dates, "900101") == [
        ("1965-03-14", False),
        ("1966-07", False),  # year and month only
        ("1964", True),  # circa
        ("1961", True),  # yearRangeFrom..yearRangeTo
        ("1962", True),
    ]
    assert _rows(parsed.birth_places, "900101") == [("Tula, RUSSIAN FEDERATION", "RU")]
    assert _rows(parsed.nationalities, "900101") == [("RU", "citizenship")]  # "00" dropped
    assert _rows(parsed.identifiers, "900101") == [
        ("Passport", "7512345678", "RU"),
        ("Tax Identification Number", "771234567890", "RU"),
        ("EU Reference Number", "EU.9001.11", None),
    ]
    assert _rows(parsed.addresses, "900101") == [
        ("Ulitsa Primernaya 1, 101000, Moscow, RUSSIAN FEDERATION", "Moscow", "RU")
    ]


def test_enterprise(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="900202").row(0, named=True)
    assert entry["entity_type"] == "organization"
    assert entry["primary_name"] == "Northern Star Shipping LLC"
    assert entry["programs"] == ["RUS", "UKR"]
    assert entry["listed_on"] == "2023-06-23"  # no designationDate: the first regulation
    assert ("ООО Северная Звезда", "original_script", "Cyrillic") in _rows(parsed.names, "900202")
    assert ("Registration Number", "1027700123456", "RU") in _rows(parsed.identifiers, "900202")


def test_document_without_namespace_parses_too(tmp_path: Path) -> None:
    text = (FIXTURES / "sample.xml").read_text(encoding="utf-8")
    path = tmp_path / eu.FILE
    path.write_text(text.replace(' xmlns="http://eu.europa.ec/fpi/fsd/export"', ""))
    assert eu.parse({eu.FILE: path}).entries.height == 2


# --- Bad input -------------------------------------------------------------------------------


def test_malformed_document_names_the_line() -> None:
    with pytest.raises(SourceError, match=r"malformed\.xml, line 7: malformed XML"):
        eu.parse({eu.FILE: FIXTURES / "malformed.xml"})


def test_truncated_document_fails(tmp_path: Path) -> None:
    data = (FIXTURES / "sample.xml").read_bytes()
    path = tmp_path / eu.FILE
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SourceError, match=r"line \d+: malformed XML"):
        eu.parse({eu.FILE: path})


def test_empty_document_fails(tmp_path: Path) -> None:
    path = tmp_path / eu.FILE
    path.write_bytes(b"  \n")
    with pytest.raises(SourceError, match="the file is empty"):
        eu.parse({eu.FILE: path})


def test_wrong_encoding_fails(tmp_path: Path) -> None:
    text = (FIXTURES / "sample.xml").read_text(encoding="utf-8")
    latin = text.replace("Александр Викторович Коваленко", "Aleksandr Kovalenkó")
    path = tmp_path / eu.FILE
    path.write_bytes(latin.encode("latin-1", errors="replace"))  # é becomes byte 0xE9
    line = latin[: latin.index("Kovalenkó")].count("\n") + 1
    with pytest.raises(SourceError, match=rf"line {line}: malformed XML"):
        eu.parse({eu.FILE: path})


def test_unknown_subject_type_names_the_element(tmp_path: Path) -> None:
    text = (FIXTURES / "sample.xml").read_text(encoding="utf-8")
    path = tmp_path / eu.FILE
    path.write_text(text.replace('code="enterprise" classificationCode="E"', 'code="planet"'))
    with pytest.raises(SourceError, match=r"line \d+, <subjectType>: unknown subjectType"):
        eu.parse({eu.FILE: path})


def test_entity_without_names_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / eu.FILE
    path.write_text(
        '<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-01-01">\n'
        '<sanctionEntity logicalId="1"><subjectType code="person"/></sanctionEntity>\n'
        "</export>\n"
    )
    with pytest.raises(SourceError, match=r"line 2, <sanctionEntity>: no nameAlias"):
        eu.parse({eu.FILE: path})


def test_other_xml_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / eu.FILE
    path.write_text("<CONSOLIDATED_LIST/>\n")
    with pytest.raises(SourceError, match="not an EU sanctions export"):
        eu.parse({eu.FILE: path})


def test_two_entities_with_one_id_are_an_error(tmp_path: Path) -> None:
    text = (FIXTURES / "sample.xml").read_text(encoding="utf-8")
    path = tmp_path / eu.FILE
    path.write_text(text.replace('logicalId="900202">', 'logicalId="900101">'))
    with pytest.raises(SourceError, match="'900101' is listed twice"):
        eu.parse({eu.FILE: path})
