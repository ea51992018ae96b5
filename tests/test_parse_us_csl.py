"""The US Consolidated Screening List parser, on the real consolidated.csv from ../shared."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.schema import TABLES, ParsedList, SourceError
from data.sources import us_csl


@pytest.fixture(scope="module")
def csv_file(watchlist_dir: Path) -> Path:
    return watchlist_dir / us_csl.FOLDER / "consolidated.csv"


@pytest.fixture(scope="module")
def parsed(csv_file: Path) -> ParsedList:
    return us_csl.parse({"consolidated.csv": csv_file})


def _rows(frame: pl.DataFrame, entry_id: str) -> list[tuple]:
    return frame.filter(pl.col("entry_id") == entry_id).drop("list_code", "entry_id").rows()


def test_counts_match_sources_md(parsed: ParsedList, csv_file: Path) -> None:
    rows = pl.read_csv(csv_file, infer_schema=False)
    assert rows.height == 14160
    # 112 parties sit on two or three source lists under one _id: one entry each.
    assert parsed.entries.height == rows["_id"].n_unique() == 14048
    assert set(parsed.entries["entry_id"]) == set(rows["_id"])
    on_lists = parsed.entries.explode("programs")["programs"].value_counts()
    counts = dict(on_lists.iter_rows())
    assert counts["SDN"] == 10026
    assert counts["Entity List"] == 2001
    assert counts["DPL"] == 462
    assert counts["ITAR Debarred"] == 727
    assert parsed.publication_date is None  # the CSV has no date; see data/store.py


def test_tables_fit_the_common_schema(parsed: ParsedList) -> None:
    ids = set(parsed.entries["entry_id"])
    for name, frame in parsed.tables().items():
        assert frame.schema == TABLES[name], name
        assert set(frame["entry_id"]) <= ids, name
    types = dict(parsed.entries.group_by("entity_type").len().iter_rows())
    assert types == {"individual": 5284, "organization": 8048, "vessel": 433, "aircraft": 283}


def test_individual_with_ids(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="29668").row(0, named=True)
    assert entry["primary_name"] == "BUCARAN PARAGUAN, Chaim Jose"
    assert entry["entity_type"] == "individual"
    assert entry["programs"] == ["VENEZUELA", "SDN"]
    assert entry["gender"] == "male"
    assert _rows(parsed.identifiers, "29668") == [
        ("Cedula No.", "V-10998672", "VE"),
        ("Passport", "024751597", "VE"),
    ]
    assert _rows(parsed.birth_dates, "29668") == [("1972-08-16", False)]
    assert _rows(parsed.birth_places, "29668") == [("Anaco, Anzoategui, Venezuela", "VE")]
    assert _rows(parsed.nationalities, "29668") == [("VE", "nationality")]
    address = _rows(parsed.addresses, "29668")
    assert address == [
        (
            "Calle Ayacucho Cruce con Calle Apure, Casa Nro. 04, Sector Pueblo Nuevo, Anaco,"
            " Anzoategui, 6003, VE",
            None,
            "VE",
        )
    ]


def test_wallets_are_identifiers(parsed: ParsedList) -> None:
    ids = _rows(parsed.identifiers, "29703")
    assert ("Digital Currency Address - XBT", "1Fz29BQp82pE3vXXcsZoMNQ3KSHfMzfMe3", None) in ids
    assert ("Passport", "4005504207", "RU") in ids
    assert not [row for row in ids if row[0] == "Gender"]


def test_vessel_with_imo(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="23156").row(0, named=True)
    assert (entry["entity_type"], entry["primary_name"]) == ("vessel", "7-28")
    assert _rows(parsed.identifiers, "23156") == [("IMO", "8898831", None)]


def test_party_on_three_lists_is_one_entry(parsed: ParsedList) -> None:
    entry = parsed.entries.filter(entry_id="17013")
    assert entry.height == 1
    assert set(entry["programs"][0]) == {
        "UKRAINE-EO13662",
        "RUSSIA-EO14024",
        "CAPTA",
        "SDN",
        "SSI",
    }


def test_untyped_parties_are_organizations_and_aliases_split(parsed: ParsedList) -> None:
    names = parsed.names.filter(kind="aka")
    assert names.height > 15000
    assert not names["name"].str.contains(";").any()


def test_year_ranges_give_approximate_years(parsed: ParsedList) -> None:
    approximate = parsed.birth_dates.filter(pl.col("approximate"))
    assert approximate.height > 100
    assert approximate["birth_date"].str.contains(r"^\d{4}$").all()


# --- Bad input -------------------------------------------------------------------------------


def _write(tmp_path: Path, data: bytes) -> dict[str, Path]:
    path = tmp_path / "consolidated.csv"
    path.write_bytes(data)
    return {"consolidated.csv": path}


def test_wrong_encoding_names_the_line(tmp_path: Path, csv_file: Path) -> None:
    lines = csv_file.read_bytes().split(b"\n")
    lines[41] = lines[41].replace(b",", "é,".encode("latin-1"), 1)
    with pytest.raises(SourceError, match=r"consolidated\.csv, line 42: not UTF-8"):
        us_csl.parse(_write(tmp_path, b"\n".join(lines)))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"consolidated\.csv, line 1: the file is empty"):
        us_csl.parse(_write(tmp_path, b"\n"))


def test_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"line 1: missing columns: .*alt_names"):
        us_csl.parse(_write(tmp_path, b"_id,source,name\n1,SDN,X\n"))


def test_row_without_name_is_named(tmp_path: Path, csv_file: Path) -> None:
    frame = pl.read_csv(csv_file, infer_schema=False, n_rows=5)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("name")).alias("name")
    )
    path = tmp_path / "consolidated.csv"
    frame.write_csv(path)
    with pytest.raises(SourceError, match=r"consolidated\.csv, line 5: no _id or name"):
        us_csl.parse({"consolidated.csv": path})


def test_truncated_file_fails(tmp_path: Path, csv_file: Path) -> None:
    data = csv_file.read_bytes()
    cut = data.index(b'"', len(data) // 2) + 1  # inside a quoted field: an unclosed quote
    with pytest.raises(SourceError, match=r"consolidated\.csv"):
        us_csl.parse(_write(tmp_path, data[:cut]))
