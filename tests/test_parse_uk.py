"""The UK OFSI Consolidated List parser, on the real ConList.xlsx from ../shared."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.schema import TABLES, ParsedList, SourceError
from data.sources import uk
from data.sources.common import dmy_expr, find_country, split_numbered


@pytest.fixture(scope="module")
def xlsx(watchlist_dir: Path) -> Path:
    return watchlist_dir / uk.FOLDER / "ConList.xlsx"


@pytest.fixture(scope="module")
def parsed(xlsx: Path) -> ParsedList:
    return uk.parse({"ConList.xlsx": xlsx})


def _rows(frame: pl.DataFrame, entry_id: str) -> list[tuple]:
    return frame.filter(pl.col("entry_id") == entry_id).drop("list_code", "entry_id").rows()


def test_counts_match_sources_md(parsed: ParsedList) -> None:
    assert parsed.entries.height == 4688
    assert parsed.entries["entry_id"].n_unique() == 4688
    types = dict(parsed.entries.group_by("entity_type").len().iter_rows())
    # 13,692 individual, 5,025 entity and 81 ship NAME rows make these targets.
    assert types == {"individual": 3663, "organization": 1010, "vessel": 15}
    assert parsed.publication_date == "2025-04-14"


def test_tables_fit_the_common_schema(parsed: ParsedList) -> None:
    ids = set(parsed.entries["entry_id"])
    for name, frame in parsed.tables().items():
        assert frame.schema == TABLES[name], name
        assert set(frame["entry_id"]) <= ids, name
    assert parsed.entries["primary_name"].null_count() == 0
    assert parsed.birth_dates["birth_date"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()


def test_target_with_non_latin_name(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="14241").row(0, named=True)
    assert entry["primary_name"] == "Khizri Magomedovich ABAKAROV"
    assert entry["entity_type"] == "individual"
    assert entry["programs"] == ["Russia"]
    assert entry["listed_on"] == "2022-03-11"
    assert entry["gender"] == "male"
    assert _rows(parsed.names, "14241") == [
        ("Khizri Magomedovich ABAKAROV", "primary", "Latin"),
        ("Хизри Магомедович Абакаров", "original_script", "Cyrillic"),
    ]
    assert _rows(parsed.birth_dates, "14241") == [("1960-06-28", False)]
    assert _rows(parsed.birth_places, "14241") == [("Yuzhno Sakhalinsk, Russia", "RU")]
    assert _rows(parsed.nationalities, "14241") == [("RU", "nationality")]
    assert _rows(parsed.addresses, "14241") == [("1 Okhotny Ryad str, 103265, Russia", None, "RU")]


def test_individual_with_partial_birth_date_and_passports(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="13131").row(0, named=True)
    assert entry["primary_name"] == "ABD AL-RAHMAN BIN UMAYR AL-NU'AYMI"
    assert entry["programs"] == ["ISIL (Da'esh) and Al-Qaida"]
    assert _rows(parsed.birth_dates, "13131") == [("1954", False)]  # written 00/00/1954
    assert _rows(parsed.identifiers, "13131") == [
        ("Passport", "01461558", "QA"),
        ("Passport", "00868774", "QA"),
        ("National ID", "25463400086", "QA"),
        ("National ID", "25463401784", "QA"),
    ]
    names = _rows(parsed.names, "13131")
    assert ("A. Rahman AL-NAIMI", "aka", "Latin") in names
    assert len(names) == 11


def test_ship_with_imo_number(parsed: ParsedList) -> None:
    assert parsed.entries.filter(entry_id="13651")["entity_type"].item() == "vessel"
    assert ("IMO", "7408873", None) in _rows(parsed.identifiers, "13651")
    assert parsed.identifiers.filter(id_type="IMO").height == 15


def test_alias_kinds(parsed: ParsedList) -> None:
    kinds = dict(parsed.names.group_by("kind").len().iter_rows())
    assert kinds["weak_alias"] > 500  # "Low quality" AKAs
    assert kinds["fka"] > 10
    assert kinds["original_script"] > 1000
    assert parsed.names.filter(kind="original_script")["script"].is_in(["Latin"]).sum() == 0


def test_csv_of_the_same_sheet_parses_the_same(
    tmp_path: Path, xlsx: Path, parsed: ParsedList
) -> None:
    # The official ConList.csv has the XLSX's layout: the date row, the header, the names.
    sheet = pl.read_excel(xlsx, sheet_name="Data", has_header=False, infer_schema_length=0)
    csv = tmp_path / "ConList.csv"
    sheet.write_csv(csv, include_header=False)
    from_csv = uk.parse({"ConList.csv": csv})
    assert from_csv.publication_date == parsed.publication_date
    for name, frame in parsed.tables().items():
        assert from_csv.tables()[name].equals(frame), name


# --- Helpers ---------------------------------------------------------------------------------


def test_dmy_dates_with_unknown_parts() -> None:
    dates = pl.Series(["28/06/1960", "00/00/1954", "00/03/1970", "03/1970", "1970", "junk", None])
    result = pl.select(dmy_expr(pl.lit(dates))).to_series().to_list()
    assert result == ["1960-06-28", "1954", "1970-03", "1970-03", "1970", None, None]


def test_numbered_cells_split() -> None:
    cells = pl.Series(
        ["(1) Iran (2) Iraq", "Syria", "(1) to (6) Algeria (7) Morocco", "(1) X (2) -", None]
    )
    result = pl.select(split_numbered(pl.lit(cells))).to_series().to_list()
    assert result == [["Iran", "Iraq"], ["Syria"], ["Algeria", "Morocco"], ["X"], None]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Former USSR Currently Ukraine", "UA"),
        ("Afghanistan number, issued on 25 Aug. 2016", "AF"),
        ("Issued in Bahri, Sudan", "SD"),
        ("Diplomatic Passport Issued 18 February 2010 in Guinea-Bissau. Expires 2013", "GW"),
        ("AND THE", None),
        ("Taxpayer ID", None),
    ],
)
def test_countries_in_free_text(text: str, code: str | None) -> None:
    assert find_country(text) == code


# --- Bad input -------------------------------------------------------------------------------


def test_xlsx_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "ConList.xlsx"
    path.write_text("Last Updated,14/04/2025\n")
    with pytest.raises(SourceError, match=r'ConList\.xlsx, sheet "Data": not a readable XLSX'):
        uk.parse({"ConList.xlsx": path})


def test_truncated_xlsx(tmp_path: Path, xlsx: Path) -> None:
    path = tmp_path / "ConList.xlsx"
    path.write_bytes(xlsx.read_bytes()[:100_000])
    with pytest.raises(SourceError, match=r"ConList\.xlsx"):
        uk.parse({"ConList.xlsx": path})


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "ConList.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=r"ConList\.csv, line 1: the file is empty"):
        uk.parse({"ConList.csv": path})


def test_wrong_encoding_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ConList.csv"
    header = ",".join(uk.COLUMNS)
    path.write_bytes(f"Last Updated,14/04/2025\n{header}\nJérôme,1\n".encode("latin-1"))
    with pytest.raises(SourceError, match=r"ConList\.csv, line 3: not UTF-8"):
        uk.parse({"ConList.csv": path})


def test_missing_columns_name_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "ConList.csv"
    path.write_text("Last Updated,14/04/2025\nName 6,Name 1\nX,Y\n")
    with pytest.raises(SourceError, match=r"row 2: missing columns: Name 2"):
        uk.parse({"ConList.csv": path})


def test_row_without_group_id_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ConList.csv"
    good = {column: "" for column in uk.COLUMNS} | {"Name 6": "A", "Group Type": "Entity"}
    rows = [good | {"Group ID": "1"}, good | {"Group ID": ""}]
    pl.DataFrame(rows).write_csv(path)
    text = path.read_text()
    path.write_text("Last Updated,14/04/2025\n" + text)
    with pytest.raises(SourceError, match=r"ConList\.csv, row 4: bad Group ID"):
        uk.parse({"ConList.csv": path})


def test_no_file_at_all() -> None:
    with pytest.raises(SourceError, match=r"neither ConList\.xlsx nor ConList\.csv"):
        uk.parse({})
