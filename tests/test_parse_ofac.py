"""OFAC legacy CSV parsers (data/sources/ofac.py, ofac_cons.py) against the real files.

Counts come from ../shared/data/watchlists/SOURCES.md; the known records were picked by reading
the files. Bad-input tests corrupt copies in tmp_path.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import polars as pl
import pytest

from data.schema import ParsedList, SourceError
from data.sources import ofac, ofac_cons, ofac_remarks
from data.sources.ofac_legacy import LegacyFiles, read_legacy_set


def _files(folder: Path, module) -> dict[str, Path]:
    return {name: folder / name for name in module.FILES if (folder / name).exists()}


@pytest.fixture(scope="module")
def sdn(watchlist_dir: Path) -> ParsedList:
    return ofac.parse(_files(watchlist_dir / ofac.FOLDER, ofac))


@pytest.fixture(scope="module")
def cons(watchlist_dir: Path) -> ParsedList:
    return ofac_cons.parse(_files(watchlist_dir / ofac_cons.FOLDER, ofac_cons))


def _entry(parsed: ParsedList, entry_id: str) -> dict[str, pl.DataFrame]:
    """Every table's rows for one entry."""
    return {
        name: table.filter(pl.col("entry_id") == entry_id)
        for name, table in parsed.tables().items()
    }


def _pairs(frame: pl.DataFrame, *columns: str) -> set[tuple]:
    return set(frame.select(columns).iter_rows())


# --- Module contract and counts -----------------------------------------------------------


def test_module_contract() -> None:
    assert ofac.FOLDER == "ofac" and ofac.REQUIRED == ("sdn.csv",)
    assert ofac.FILES["sdn.csv"] == "https://www.treasury.gov/ofac/downloads/sdn.csv"
    assert set(ofac.FILES) == {"sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"}
    assert ofac_cons.FOLDER == "ofac_consolidated" and ofac_cons.REQUIRED == ("cons_prim.csv",)
    assert (
        ofac_cons.FILES["cons_prim.csv"]
        == "https://www.treasury.gov/ofac/downloads/consolidated/cons_prim.csv"
    )


def test_sdn_counts(sdn: ParsedList) -> None:
    entries = sdn.entries
    assert entries.height == 15_443
    assert entries["entry_id"].n_unique() == 15_443
    counts = dict(entries["entity_type"].value_counts().iter_rows())
    assert counts == {"individual": 6_927, "vessel": 872, "aircraft": 374, "organization": 7_270}
    assert sdn.list_code == "ofac" and sdn.publication_date is None
    assert (entries["list_code"] == "ofac").all()
    # every table is already in the common schema and joins back to an entry
    for name, table in sdn.tables().items():
        assert table.height > 0, name
        assert table["entry_id"].is_in(entries["entry_id"].implode()).all(), name


def test_sdn_aliases_attached_for_known_ent_nums(sdn: ParsedList, watchlist_dir: Path) -> None:
    folder = watchlist_dir / "ofac"
    legacy = read_legacy_set(LegacyFiles(folder / "sdn.csv", folder / "alt.csv"))
    known_aliases = legacy.aliases.filter(pl.col("alt_name").is_not_null())
    # SOURCES.md: alt.csv has 20,107 aliases; those of ent_nums designated after sdn.csv are
    # orphans, the rest all become names.
    assert known_aliases.height + legacy.orphans["alt.csv"] == 20_107
    assert legacy.orphans["alt.csv"] > 0
    alias_pairs = set(known_aliases.select("ent_num", "alt_name").iter_rows())
    assert alias_pairs <= _pairs(sdn.names, "entry_id", "name")
    # every entry with an alias other than its primary name has aka/fka/nka names; "aka"
    # names come from alt.csv only (an a.k.a. in the remarks is a weak alias)
    distinct = known_aliases.join(legacy.primary, on="ent_num").filter(
        pl.col("alt_name") != pl.col("name")
    )
    aliased = sdn.names.filter(pl.col("kind").is_in(["aka", "fka", "nka"]))["entry_id"]
    assert set(distinct["ent_num"]) <= set(aliased)
    akas = sdn.names.filter(pl.col("kind") == "aka")["entry_id"]
    assert set(akas) <= set(distinct["ent_num"])


def test_orphans_are_logged(watchlist_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parsed = ofac.parse(_files(watchlist_dir / "ofac", ofac))
    assert "not in sdn.csv" in caplog.text and "alt.csv" in caplog.text
    assert parsed.entries.height == 15_443


def test_consolidated_counts(cons: ParsedList, watchlist_dir: Path) -> None:
    assert cons.list_code == "ofac_cons"
    assert cons.entries.height == 442
    folder = watchlist_dir / "ofac_consolidated"
    legacy = read_legacy_set(
        LegacyFiles(folder / "cons_prim.csv", folder / "cons_alt.csv", folder / "cons_add.csv")
    )
    assert legacy.orphans == {}  # this set joins with no orphans
    assert legacy.aliases.height == 1_073
    assert legacy.aliases["ent_num"].n_unique() == 395
    aliased = cons.names.filter(pl.col("kind") != "primary")["entry_id"].n_unique()
    assert aliased >= 395


def test_older_snapshot_parses(watchlist_dir: Path) -> None:
    folder = watchlist_dir / "ofac" / "snapshot_2021-07-07"
    parsed = ofac.parse(_files(folder, ofac))  # its sdn_comments.csv has no EOF byte
    assert parsed.entries.height == 8_976
    legacy = read_legacy_set(
        LegacyFiles(folder / "sdn.csv", folder / "alt.csv", folder / "add.csv")
    )
    assert legacy.orphans == {}  # downloaded together: no orphans
    assert legacy.aliases.height == 11_910 and legacy.addresses.height == 13_837
    assert parsed.names.filter(pl.col("kind") != "primary").height > 11_000


# --- Known records, field by field ------------------------------------------------------------


def test_individual_with_facts_in_remarks(sdn: ParsedList) -> None:
    # 7265 BINALSHIBH: "DOB 01 May 1972; alt. DOB 16 Sep 1973; POB Hadramawt, Yemen; alt. POB
    # Khartoum Sudan; nationality Yemen; Gender Male; Passport R85243 (Yemen); alt. Passport
    # A755350 (Saudi Arabia); alt. Passport 00085243 (Yemen)."
    rows = _entry(sdn, "7265")
    entry = rows["entries"].row(0, named=True)
    assert entry["primary_name"] == "BINALSHIBH, Ramzi Mohammed Abdullah"
    assert entry["entity_type"] == "individual"
    assert entry["programs"] == ["SDGT"]
    assert entry["gender"] == "male"
    assert _pairs(rows["birth_dates"], "birth_date", "approximate") == {
        ("1972-05-01", False),
        ("1973-09-16", False),
    }
    assert ("Hadramawt, Yemen", "YE") in _pairs(rows["birth_places"], "place", "country")
    assert _pairs(rows["nationalities"], "country", "kind") == {("YE", "nationality")}
    assert _pairs(rows["identifiers"], "id_type", "value", "country") == {
        ("Passport", "R85243", "YE"),
        ("Passport", "A755350", "SA"),
        ("Passport", "00085243", "YE"),
    }
    assert ("BIN AL SHIBH, Ramzi", "aka") in _pairs(rows["names"], "name", "kind")
    assert rows["addresses"]["country"].to_list() == ["CU"]


def test_alternative_birth_dates_and_passport_with_dates(sdn: ParsedList) -> None:
    # 7263: "DOB 22 Jan 1958; alt. DOB 20 Jan 1958; ...; Passport A-992535 (Saudi Arabia);
    # alt. Passport B 524420 issued 15 Jul 1998 expires 22 May 2003; a.k.a. 'ABU AL-HASAN AL MADANI'"
    rows = _entry(sdn, "7263")
    assert set(rows["birth_dates"]["birth_date"]) == {"1958-01-22", "1958-01-20"}
    assert _pairs(rows["identifiers"], "id_type", "value", "country") == {
        ("Passport", "A-992535", "SA"),
        ("Passport", "B 524420", None),
    }
    assert ("ABU AL-HASAN AL MADANI", "weak_alias") in _pairs(rows["names"], "name", "kind")


@pytest.mark.parametrize(
    ("entry_id", "expected"),
    [
        ("15496", {("1929", True), ("1930", True)}),  # "DOB 1929 to 1930"
        ("7782", {("1951", True)}),  # "DOB circa 1951"; POB "Foca, Bosnia-Herzegovina"
        # "DOB circa 1979-1982; alt. DOB 1982"
        ("11748", {(str(year), True) for year in range(1979, 1983)} | {("1982", False)}),
        ("8594", {("1946-08", False)}),  # "DOB Aug 1946"
        # "DOB 01 Jan 1971 to 31 Dec 1971; alt. DOB 01 Jan 1969": a one-year range is exact
        ("21265", {("1971", False), ("1969-01-01", False)}),
    ],
)
def test_partial_circa_and_range_birth_dates(
    sdn: ParsedList, entry_id: str, expected: set[tuple[str, bool]]
) -> None:
    rows = _entry(sdn, entry_id)
    assert _pairs(rows["birth_dates"], "birth_date", "approximate") == expected


def test_place_of_birth_countries(sdn: ParsedList) -> None:
    places = dict(_pairs(_entry(sdn, "7782")["birth_places"], "place", "country"))
    assert places == {"Foca, Bosnia-Herzegovina": "BA"}
    # "alt. POB Khartoum Sudan" has no comma before its country
    places = dict(_pairs(_entry(sdn, "7265")["birth_places"], "place", "country"))
    assert places == {"Hadramawt, Yemen": "YE", "Khartoum Sudan": "SD"}


def test_vessel_imo_mmsi_and_call_sign(sdn: ParsedList) -> None:
    # 15036 ARTAVIL: call sign T2EU4, "Vessel Registration Identification IMO 9187629; MMSI
    # 572469210; f.k.a. 'ALPHA'; Linked To: NATIONAL IRANIAN TANKER COMPANY."
    rows = _entry(sdn, "15036")
    entry = rows["entries"].row(0, named=True)
    assert entry["entity_type"] == "vessel" and entry["programs"] == ["IRAN"]
    ids = _pairs(rows["identifiers"], "id_type", "value")
    assert {("IMO", "9187629"), ("MMSI", "572469210"), ("Call Sign", "T2EU4")} <= ids
    assert "Vessel Flag Iran" in entry["remarks"] and "Vessel Type Crude/Oil" in entry["remarks"]
    names = _pairs(rows["names"], "name", "kind")
    assert {("ARTAVIL", "primary"), ("ALPHA", "fka"), ("ABADAN", "fka"), ("SHONA", "fka")} <= names
    # "Linked To" names another party: it must never become a name of this one
    assert not any("NATIONAL IRANIAN TANKER" in name for name, _ in names)


def test_entity_with_several_aliases(sdn: ParsedList) -> None:
    rows = _entry(sdn, "17018")
    names = _pairs(rows["names"], "name", "kind")
    assert ("PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA", "primary") in names
    assert {("SBERBANK ROSSII", "aka"), ("PJSC SBERBANK", "aka")} <= names
    assert {("SBERBANK ROSSII OAO", "fka"), ("SBERBANK OF RSFSR", "fka")} <= names
    # the remarks run on in sdn_comments.csv, which ends with two weak a.k.a.s
    assert {("SBERBANK INDIA", "weak_alias"), ("SBERBANK MUMBAI", "weak_alias")} <= names
    assert rows["names"].height == 13
    entry = rows["entries"].row(0, named=True)
    assert entry["entity_type"] == "organization"
    assert entry["programs"] == ["UKRAINE-EO13662", "RUSSIA-EO14024"]
    ids = _pairs(rows["identifiers"], "id_type", "value")
    assert ("SWIFT/BIC", "SABRRUMM") in ids and ("Website", "www.sberbank.ru") in ids


def test_remark_aka_and_addresses(sdn: ParsedList) -> None:
    rows = _entry(sdn, "306")  # BANCO NACIONAL DE CUBA, remarks "a.k.a. 'BNC'."
    assert _pairs(rows["names"], "name", "kind") == {
        ("BANCO NACIONAL DE CUBA", "primary"),
        ("NATIONAL BANK OF CUBA", "aka"),
        ("BNC", "weak_alias"),
    }
    assert (rows["names"]["script"] == "Latin").all()
    assert ("Zweierstrasse 35, Zurich CH-8022, Switzerland", "Zurich CH-8022", "CH") in _pairs(
        rows["addresses"], "address", "city", "country"
    )
    assert rows["addresses"].height == 4


def test_wallet_addresses(sdn: ParsedList) -> None:
    rows = _entry(sdn, "25308")  # YAN, Xiaobing
    wallets = rows["identifiers"].filter(pl.col("id_type") == "Digital Currency Address - XBT")
    assert "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h" in wallets["value"].to_list()  # first
    assert "1Kuf2Rd8mDyAViwBozGTNYnvWL8uYFrkVo" in wallets["value"].to_list()  # an "alt."
    assert _pairs(rows["nationalities"], "country", "kind") == {("CN", "citizenship")}


# --- Bad input ----------------------------------------------------------------------------


@pytest.fixture
def sdn_copy(watchlist_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(watchlist_dir / "ofac" / "sdn.csv", tmp_path / "sdn.csv"))


def _assert_source_error(path: Path, line: int | None = None) -> SourceError:
    with pytest.raises(SourceError) as caught:
        ofac.parse({"sdn.csv": path})
    error = caught.value
    assert error.path == str(path) and str(path) in str(error)
    assert error.location and error.location.startswith("line ")
    if line is not None:
        assert error.location == f"line {line}"
    return error


def test_truncated_mid_record(sdn_copy: Path) -> None:
    data = sdn_copy.read_bytes()
    cut = data.index(b"\r\n", len(data) // 2) - 10  # ten bytes before a record ends
    sdn_copy.write_bytes(data[:cut])
    _assert_source_error(sdn_copy, line=data[:cut].count(b"\n") + 1)


def test_unterminated_quote(sdn_copy: Path) -> None:
    lines = sdn_copy.read_bytes().split(b"\r\n")
    lines[99] = lines[99].replace(b'"', b"", 1)  # line 100 loses its name's opening quote
    sdn_copy.write_bytes(b"\r\n".join(lines))
    error = _assert_source_error(sdn_copy, line=100)
    assert "quote" in error.message


def test_wrong_column_count(sdn_copy: Path) -> None:
    lines = sdn_copy.read_bytes().split(b"\r\n")
    lines[41] += b",-0- "
    sdn_copy.write_bytes(b"\r\n".join(lines))
    error = _assert_source_error(sdn_copy, line=42)
    assert "expected 12 fields, found 13" in error.message


def test_empty_file(sdn_copy: Path) -> None:
    sdn_copy.write_bytes(b"")
    _assert_source_error(sdn_copy, line=1)
    sdn_copy.write_bytes(b"\x1a")  # nothing but the EOF marker
    _assert_source_error(sdn_copy, line=1)


def test_utf16_file(sdn_copy: Path) -> None:
    text = sdn_copy.read_bytes().decode("latin-1")
    sdn_copy.write_bytes(text.encode("utf-16"))
    _assert_source_error(sdn_copy, line=1)
    sdn_copy.write_bytes(text.encode("utf-16-le"))  # without a byte-order mark
    _assert_source_error(sdn_copy, line=1)


def test_garbage_binary(sdn_copy: Path) -> None:
    sdn_copy.write_bytes(bytes(range(256)) * 64)
    _assert_source_error(sdn_copy, line=1)


def test_bad_alias_file_names_it(watchlist_dir: Path, tmp_path: Path) -> None:
    alt = tmp_path / "alt.csv"
    alt.write_bytes(b'36,12,"aka","AERO-CARIBBEAN",-0- \r\n36,13,"aka\r\n\x1a')
    with pytest.raises(SourceError) as caught:
        ofac.parse({"sdn.csv": watchlist_dir / "ofac" / "sdn.csv", "alt.csv": alt})
    assert caught.value.path == str(alt) and caught.value.location == "line 2"


def test_bad_records_name_their_line(sdn_copy: Path) -> None:
    original = sdn_copy.read_bytes().split(b"\r\n")
    cases = {  # line -> (ent_num, SDN_Type, expected message)
        7: (b"x7", b"-0- ", "bad ent_num"),
        8: (b"36", b"-0- ", "appears twice"),  # ent_num 36 is on line 1
        9: (b"999999", b'"submarine"', "unknown SDN_Type"),
        10: (b"-0- ", b"-0- ", "bad ent_num"),
    }
    for line, (ent_num, sdn_type, message) in cases.items():
        lines = list(original)
        lines[line - 1] = b",".join([ent_num, b'"A NAME"', sdn_type, b'"CUBA"', *[b"-0- "] * 8])
        sdn_copy.write_bytes(b"\r\n".join(lines))
        error = _assert_source_error(sdn_copy, line=line)
        assert message in error.message


def test_eof_marker_inside_the_file(sdn_copy: Path) -> None:
    lines = sdn_copy.read_bytes().split(b"\r\n")
    lines[4] += b"\x1a"
    sdn_copy.write_bytes(b"\r\n".join(lines))
    _assert_source_error(sdn_copy, line=5)


# --- Remarks extraction on OFAC's documented clause forms ------------------------------------


def test_remark_clause_forms() -> None:
    remarks = (
        "DOB 10 Jan 1960; alt. DOB 1962; DOB circa 1955; alt. DOB 1957 to 1958; DOB Feb 1961; "
        "POB Tehran, Iran; nationality Iran; alt. nationality Iraq; citizen Syria; "
        "Passport A1234567 (Iran) expires 2020; National ID No. 123-456 (Iran); "
        "Tax ID No. 7707083893 (Russia); Cedula No. 98765 (Colombia) issued 01 Jan 2000; "
        "Gender Female; Digital Currency Address - XBT 1abcDEF; "
        "alt. Digital Currency Address - ETH 0xAbC123; Vessel Registration Identification "
        "IMO 1234567; MMSI 123456789; SWIFT/BIC SABRRUMM; Email Address a@b.example; "
        "Website www.example.com; Organization Established Date 1990; "
        "a.k.a. 'BNC'; f.k.a. 'OLD NAME'; n.k.a. 'NEW NAME'; Linked To: SOME BANK."
    )
    facts = ofac_remarks.extract(pl.DataFrame({"entry_id": ["1"], "remarks": [remarks]}))
    assert _pairs(facts.birth_dates, "birth_date", "approximate") == {
        ("1960-01-10", False),
        ("1962", False),
        ("1955", True),
        ("1957", True),
        ("1958", True),
        ("1961-02", False),
    }
    assert _pairs(facts.birth_places, "place", "country") == {("Tehran, Iran", "IR")}
    assert _pairs(facts.nationalities, "country", "kind") == {
        ("IR", "nationality"),
        ("IQ", "nationality"),
        ("SY", "citizenship"),
    }
    assert _pairs(facts.identifiers, "id_type", "value", "country") == {
        ("Passport", "A1234567", "IR"),
        ("National ID No.", "123-456", "IR"),
        ("Tax ID No.", "7707083893", "RU"),
        ("Cedula No.", "98765", "CO"),
        ("Digital Currency Address - XBT", "1abcDEF", None),
        ("Digital Currency Address - ETH", "0xAbC123", None),
        ("IMO", "1234567", None),
        ("MMSI", "123456789", None),
        ("SWIFT/BIC", "SABRRUMM", None),
        ("Email Address", "a@b.example", None),
        ("Website", "www.example.com", None),
    }
    assert facts.genders.rows() == [("1", "female")]
    assert _pairs(facts.names, "name", "kind") == {
        ("BNC", "weak_alias"),
        ("OLD NAME", "fka"),
        ("NEW NAME", "nka"),
    }
