"""The UN Security Council Consolidated List parser, on the real file from ../shared."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.schema import TABLES, ParsedList, SourceError
from data.sources import un
from data.sources.common import parse_partial_date, script_of


@pytest.fixture(scope="module")
def un_file(watchlist_dir: Path) -> Path:
    return watchlist_dir / un.FOLDER / "consolidated.xml"


@pytest.fixture(scope="module")
def parsed(un_file: Path) -> ParsedList:
    return un.parse({"consolidated.xml": un_file})


def _rows(frame: pl.DataFrame, entry_id: str) -> pl.DataFrame:
    return frame.filter(pl.col("entry_id") == entry_id).drop("list_code", "entry_id")


def test_module_contract() -> None:
    assert un.FOLDER == "un"
    assert un.REQUIRED == ("consolidated.xml",)
    assert un.FILES["consolidated.xml"].startswith("https://scsanctions.un.org/")


def test_counts_match_sources_md(parsed: ParsedList) -> None:
    types = dict(parsed.entries.group_by("entity_type").len().iter_rows())
    assert types == {"individual": 730, "organization": 273}
    assert parsed.entries["entry_id"].n_unique() == 1003
    assert parsed.publication_date == "2026-02-27"
    assert (parsed.entries["list_code"] == "un").all()


def test_tables_fit_the_common_schema(parsed: ParsedList) -> None:
    for name, frame in parsed.tables().items():
        assert frame.schema == TABLES[name], name
    ids = set(parsed.entries["entry_id"])
    for name, frame in parsed.tables().items():
        assert set(frame["entry_id"]) <= ids, name
    assert (
        parsed.names["kind"].is_in(["primary", "aka", "fka", "weak_alias", "original_script"]).all()
    )
    assert parsed.birth_dates["birth_date"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    assert parsed.nationalities["country"].str.contains(r"^[A-Z]{2}$").all()


def test_individual_with_original_script_name(parsed: ParsedList) -> None:
    entry = _rows(parsed.entries, "TAi.011").row(0, named=True)
    assert entry["entity_type"] == "individual"
    assert entry["primary_name"] == "AKHTAR MOHAMMAD MANSOUR SHAH MOHAMMED"
    assert entry["programs"] == ["Taliban"]
    assert entry["listed_on"] == "2001-01-25"
    assert entry["title"].startswith("Maulavi; Mullah; Minister of Civil Aviation")
    assert entry["remarks"].startswith("Involved in drug trafficking as of 2011")

    names = _rows(parsed.names, "TAi.011")
    original = names.filter(kind="original_script").row(0, named=True)
    assert original == {
        "name": "اختر محمد منصور شاه محمد",
        "kind": "original_script",
        "script": "Arabic",
    }
    assert ("Akhtar Muhammad Mansoor", "aka", "Latin") in names.rows()
    assert ("Naib Imam", "weak_alias", "Latin") in names.rows()

    births = set(_rows(parsed.birth_dates, "TAi.011").rows())
    assert births == {("1960", True), ("1966", False)}
    assert _rows(parsed.nationalities, "TAi.011").rows() == [("AF", "nationality")]
    assert _rows(parsed.identifiers, "TAi.011").rows() == [("Passport", "SE-011697", "AF")]
    places = _rows(parsed.birth_places, "TAi.011").rows()
    assert places == [
        ("Band-e-Timur village, Maiwand District, Kandahar Province, Afghanistan", "AF")
    ]


def test_entity_with_many_aliases(parsed: ParsedList) -> None:
    entry = _rows(parsed.entries, "KPe.016").row(0, named=True)
    assert entry["entity_type"] == "organization"
    assert entry["primary_name"] == "KOREA RYONHA MACHINERY JOINT VENTURE CORPORATION"
    assert entry["programs"] == ["DPRK"]
    names = _rows(parsed.names, "KPe.016")
    assert names.filter(kind="aka").height == 15
    assert ("Ryonha Machinery Corp.", "aka", "Latin") in names.rows()
    assert ("朝鲜联合机械贸易会社", "aka", "Han") in names.rows()


def test_between_dates_give_each_year_as_approximate(parsed: ParsedList) -> None:
    between = parsed.birth_dates.filter(pl.col("approximate"))
    assert between.height > 100
    # Every UN individual with a birth-date element of type BETWEEN yields at least two years.
    assert between.group_by("entry_id").len()["len"].max() >= 2


def test_fka_aliases_are_kept(parsed: ParsedList) -> None:
    assert parsed.names.filter(kind="fka").height == 19


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1960-01-10", "1960-01-10"),
        ("10/01/1960", "1960-01-10"),
        ("00/00/1960", "1960"),
        ("00/03/1960", "1960-03"),
        ("Nov. 1973", "1973-11"),
        ("10 Jan 1960", "1960-01-10"),
        ("January 10, 1960", "1960-01-10"),
        ("circa 1955", "1955"),
        ("31/02/1960", None),
        ("30-35 years old", None),
        ("24/06/1402 (Hijri Calendar)", None),
    ],
)
def test_partial_dates(text: str, expected: str | None) -> None:
    assert parse_partial_date(text) == expected


def test_scripts() -> None:
    assert script_of("Jérôme") == "Latin"
    assert script_of("Хизри Магомедович") == "Cyrillic"
    assert script_of("한국") == "Hangul"
    assert script_of("123") is None


# --- Bad input: copies in tmp_path -------------------------------------------------------------


def _parse_bytes(tmp_path: Path, data: bytes) -> ParsedList:
    path = tmp_path / "consolidated.xml"
    path.write_bytes(data)
    return un.parse({"consolidated.xml": path})


def test_truncated_file_fails_naming_file_and_line(tmp_path: Path, un_file: Path) -> None:
    data = un_file.read_bytes()
    with pytest.raises(SourceError) as caught:
        _parse_bytes(tmp_path, data[: len(data) // 2])
    assert caught.value.path.endswith("consolidated.xml")
    assert caught.value.location.startswith("line ")
    assert "consolidated.xml, line " in str(caught.value)


def test_malformed_xml_names_the_line(tmp_path: Path, un_file: Path) -> None:
    lines = un_file.read_bytes().split(b"\n")
    lines[99] = b"<BROKEN>"  # line 100 opens a tag that is never closed
    with pytest.raises(SourceError, match=r"consolidated\.xml, line \d+: malformed XML"):
        _parse_bytes(tmp_path, b"\n".join(lines))


def test_empty_file_fails(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="empty"):
        _parse_bytes(tmp_path, b"")


def test_wrong_encoding_fails_with_line(tmp_path: Path) -> None:
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n'
        "<INDIVIDUAL><FIRST_NAME>J\u00e9r\u00f4me</FIRST_NAME></INDIVIDUAL>\n"
        "</INDIVIDUALS>\n</CONSOLIDATED_LIST>\n"
    ).encode("latin-1")
    with pytest.raises(SourceError, match=r"line 4"):
        _parse_bytes(tmp_path, data)


def test_entry_without_reference_number_names_the_element(tmp_path: Path) -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<CONSOLIDATED_LIST dateGenerated="2026-01-01">\n'
        b"<INDIVIDUALS>\n<INDIVIDUAL><FIRST_NAME>X</FIRST_NAME></INDIVIDUAL>\n"
        b"</INDIVIDUALS>\n</CONSOLIDATED_LIST>\n"
    )
    with pytest.raises(SourceError, match=r"line 4, <INDIVIDUAL>: no REFERENCE_NUMBER"):
        _parse_bytes(tmp_path, data)


def test_other_xml_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a UN consolidated list"):
        _parse_bytes(tmp_path, b"<?xml version='1.0'?>\n<export/>\n")
