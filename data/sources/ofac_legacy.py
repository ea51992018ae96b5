"""OFAC's legacy CSV set (SDN and consolidated non-SDN) -> the common schema.

Both lists ship the same four files: a primary file (sdn.csv / cons_prim.csv), aliases
(alt.csv), addresses (add.csv) and a remarks overflow (sdn_comments.csv). Their quirks, from
OFAC's dat_spec.txt and SOURCES.md: no header row, CRLF line ends, a 0x1A (Ctrl-Z) byte on a
line of its own at the end, nulls written as ``-0- `` and Latin-1/ASCII text. No field spans
lines, so a physical line is a record and errors can name it.

A file is checked whole before it is parsed (encoding, truncation, quotes, field counts) and
any defect raises SourceError naming the file and the line. Alias, address and comment rows
whose ent_num is not in the primary file are orphans (the files were published on different
days): they are dropped, counted and logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data.schema import ParsedList, SourceError
from data.sources import ofac_remarks
from data.sources.common import script_expr

log = logging.getLogger(__name__)

PRIMARY_COLUMNS = (
    "ent_num",
    "name",
    "sdn_type",
    "program",
    "title",
    "call_sign",
    "vessel_type",
    "tonnage",
    "grt",
    "vessel_flag",
    "vessel_owner",
    "remarks",
)
ALIAS_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
ADDRESS_COLUMNS = ("ent_num", "add_num", "address", "city", "country", "add_remarks")
COMMENT_COLUMNS = ("ent_num", "remarks_extended")

NULL = "-0-"  # OFAC's null, written "-0- " with a trailing space
EOF_MARKER = "\x1a"
ENTITY_TYPES = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}
ALIAS_KINDS = {"aka": "aka", "fka": "fka", "nka": "nka"}

# Bytes no text file of this kind holds: C0 controls other than tab/CR/LF, and DEL. The EOF
# marker 0x1A is allowed only at the very end.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUOTED_FIELD = r'"(?:[^"]|"")*"'
# A well-formed record: fields that are either wholly quoted or hold no quote at all.
_FIELD = rf'(?:{_QUOTED_FIELD}|[^,"]*)'
_RECORD = rf"^{_FIELD}(?:,{_FIELD})*$"
# Vessel columns that have no table of their own: kept as remarks clauses, in OFAC's style.
VESSEL_CLAUSES = {
    "vessel_type": "Vessel Type",
    "vessel_flag": "Vessel Flag",
    "vessel_owner": "Vessel Owner",
    "tonnage": "Tonnage",
    "grt": "Gross Registered Tonnage",
}


@dataclass
class LegacyFiles:
    """Where one list's four files are; only the primary file is required."""

    primary: Path
    aliases: Path | None = None
    addresses: Path | None = None
    comments: Path | None = None


@dataclass
class LegacySet:
    """The four files read and joined on ent_num, orphans dropped."""

    primary: pl.DataFrame  # PRIMARY_COLUMNS + line, remarks extended by the comments
    aliases: pl.DataFrame  # ALIAS_COLUMNS + line
    addresses: pl.DataFrame  # ADDRESS_COLUMNS + line
    orphans: dict[str, int] = field(default_factory=dict)  # file name -> rows dropped


# --- Reading one file -------------------------------------------------------------------------


def read_legacy_csv(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """One legacy CSV as string columns (nulls as null) plus its 1-based ``line``.

    Raises SourceError for an empty, binary, wrongly encoded, truncated or malformed file.
    """
    lines = _lines(path, _decode(path))
    _check_structure(path, lines, len(columns))
    body = "\n".join(lines).encode("utf-8")
    frame = pl.read_csv(
        body,
        has_header=False,
        new_columns=list(columns),
        schema=dict.fromkeys(columns, pl.Utf8),
        quote_char='"',
    )
    frame = frame.with_columns(_field(column) for column in columns).with_row_index(
        "line", offset=1
    )
    _check_ent_nums(path, frame)
    return frame


def _field(column: str) -> pl.Expr:
    """A column with OFAC's nulls as null and surrounding spaces stripped. Remarks keep their
    spaces: OFAC cuts long remarks mid-text and continues them in the comments file, so a
    trailing space can be the one between two words."""
    stripped = pl.col(column).str.strip_chars()
    value = pl.col(column) if column.startswith("remarks") else stripped
    return pl.when(stripped.is_in([NULL, ""]).not_()).then(value).alias(column)


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(str(path), None, f"cannot read: {error.strerror}") from error
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(str(path), "line 1", "UTF-16 text; OFAC's CSVs are Latin-1/ASCII")
    if not data.strip(b"\x1a \t\r\n"):
        raise SourceError(str(path), "line 1", "the file is empty")
    body = data.rstrip(b" \t\r\n")
    body = body.removesuffix(b"\x1a")
    if bad := _CONTROL_BYTES.search(body):
        line = data.count(b"\n", 0, bad.start()) + 1
        raise SourceError(
            str(path),
            f"line {line}",
            f"binary data or a wrong encoding (byte 0x{data[bad.start()]:02x});"
            " expected Latin-1/ASCII text",
        )
    # ASCII in practice. UTF-8 (with or without a BOM) is tried first so a re-encoded copy is
    # not garbled; Latin-1 accepts every remaining byte.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _lines(path: Path, text: str) -> list[str]:
    """The records' lines, without line ends or the EOF marker; truncation is an error."""
    stripped = text.rstrip(" \t\r\n")
    if stripped.endswith(EOF_MARKER):
        text = stripped.removesuffix(EOF_MARKER)
    elif not text.endswith("\n"):
        line = text.count("\n") + 1
        raise SourceError(
            str(path),
            f"line {line}",
            "truncated: the last record has no line end and the file no end-of-file marker",
        )
    return text.rstrip("\r\n").replace("\r\n", "\n").split("\n")


def _check_structure(path: Path, lines: list[str], width: int) -> None:
    """Every line one whole record: quotes closed and exactly `width` fields."""
    unquoted = pl.col("text").str.replace_all(_QUOTED_FIELD, "")
    checks = (
        pl.DataFrame({"text": lines}, schema={"text": pl.Utf8})
        .with_row_index("line", offset=1)
        .select(
            "line",
            malformed=pl.col("text").str.contains(_RECORD).not_(),
            fields=unquoted.str.count_matches(",") + 1,
        )
    )
    bad = checks.filter(pl.col("malformed") | (pl.col("fields") != width)).head(1)
    if bad.height:
        line, malformed, fields = bad.row(0)
        if malformed:
            message = "malformed record: an unterminated or stray quote"
        else:
            message = f"expected {width} fields, found {fields}"
        raise SourceError(str(path), f"line {line}", message)


def _check_ent_nums(path: Path, frame: pl.DataFrame) -> None:
    bad = frame.filter(~pl.col("ent_num").str.contains(r"^\d+$").fill_null(False)).head(1)
    if bad.height:
        value = bad["ent_num"][0]
        raise SourceError(str(path), f"line {bad['line'][0]}", f"bad ent_num {value!r}")


def _fail_on(path: Path, frame: pl.DataFrame, condition: pl.Expr, message: str) -> None:
    """SourceError at the first line where condition holds; `message` may use {row}."""
    bad = frame.filter(condition).head(1)
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceError(str(path), f"line {row['line']}", message.format(row=row))


# --- Reading and joining the set ----------------------------------------------------------


def read_legacy_set(files: LegacyFiles) -> LegacySet:
    """The four files read, checked and joined on ent_num; orphan rows dropped and counted."""
    primary = read_legacy_csv(files.primary, PRIMARY_COLUMNS)
    _fail_on(files.primary, primary, pl.col("name").is_null(), "a record without a name")
    _fail_on(
        files.primary,
        primary,
        pl.col("ent_num").is_first_distinct().not_(),
        "ent_num {row[ent_num]} appears twice",
    )
    known = primary["ent_num"]
    orphans: dict[str, int] = {}

    def joined(path: Path | None, columns: tuple[str, ...]) -> pl.DataFrame:
        if path is None:
            return pl.DataFrame(schema={**dict.fromkeys(columns, pl.Utf8), "line": pl.UInt32})
        frame = read_legacy_csv(path, columns)
        kept = frame.filter(pl.col("ent_num").is_in(known.implode()))
        if dropped := frame.height - kept.height:
            orphans[path.name] = dropped
        return kept

    aliases = joined(files.aliases, ALIAS_COLUMNS)
    addresses = joined(files.addresses, ADDRESS_COLUMNS)
    comments = joined(files.comments, COMMENT_COLUMNS)
    if orphans:
        log.warning(
            "%s: dropped rows whose ent_num is not in %s: %s",
            files.primary.parent,
            files.primary.name,
            ", ".join(f"{name} {count}" for name, count in orphans.items()),
        )
    return LegacySet(_with_comments(primary, comments), aliases, addresses, orphans)


def _with_comments(primary: pl.DataFrame, comments: pl.DataFrame) -> pl.DataFrame:
    """Remarks extended by sdn_comments.csv: OFAC cuts long remarks and continues them there,
    mid-word, so the pieces are joined as they are."""
    extension = comments.group_by("ent_num", maintain_order=True).agg(
        pl.col("remarks_extended").str.join("")
    )
    return (
        primary.join(extension, on="ent_num", how="left", maintain_order="left")
        .with_columns(
            remarks=pl.concat_str("remarks", "remarks_extended", ignore_nulls=True)
            .str.strip_chars()
            .replace("", None)
        )
        .drop("remarks_extended")
    )


# --- The common schema ----------------------------------------------------------------------


def parse_legacy_set(list_code: str, files: LegacyFiles) -> ParsedList:
    """One OFAC list in the common schema."""
    legacy = read_legacy_set(files)
    primary = _check_types(files.primary, legacy.primary).with_columns(
        entry_id=pl.col("ent_num"), remarks=_remarks_with_vessel_facts()
    )
    facts = ofac_remarks.extract(primary.select("entry_id", "remarks"))
    tag = pl.lit(list_code).alias("list_code")
    entries = primary.join(facts.genders, on="entry_id", how="left", maintain_order="left")
    return ParsedList(
        list_code=list_code,
        # The legacy CSVs carry no date: a download's Last-Modified stands in (data/store.py).
        publication_date=None,
        entries=entries.select(
            tag,
            "entry_id",
            "entity_type",
            primary_name="name",
            programs=_programs(pl.col("program")),
            remarks="remarks",
            listed_on=pl.lit(None, pl.Utf8),
            gender="gender",
            title="title",
        ),
        names=_names(primary, legacy.aliases, facts.names).select(tag, pl.all()),
        birth_dates=facts.birth_dates.select(tag, pl.all()),
        birth_places=facts.birth_places.select(tag, pl.all()),
        nationalities=facts.nationalities.select(tag, pl.all()),
        identifiers=_identifiers(primary, facts.identifiers).select(tag, pl.all()),
        addresses=_addresses(legacy.addresses).select(tag, pl.all()),
    )


def _check_types(path: Path, primary: pl.DataFrame) -> pl.DataFrame:
    """entity_type from SDN_Type (null = an entity, i.e. an organization); unknown types fail."""
    kind = pl.col("sdn_type").str.to_lowercase()
    _fail_on(
        path,
        primary,
        pl.col("sdn_type").is_not_null() & ~kind.is_in(list(ENTITY_TYPES)),
        "unknown SDN_Type {row[sdn_type]!r}",
    )
    return primary.with_columns(
        entity_type=kind.replace_strict(ENTITY_TYPES, default="organization", return_dtype=pl.Utf8)
    )


def _remarks_with_vessel_facts() -> pl.Expr:
    clauses = [
        pl.when(pl.col(column).is_not_null()).then(pl.lit(f"{label} ") + pl.col(column))
        for column, label in VESSEL_CLAUSES.items()
    ]
    return pl.concat_str([pl.col("remarks"), *clauses], separator="; ", ignore_nulls=True).replace(
        "", None
    )


def _programs(program: pl.Expr) -> pl.Expr:
    """ "SDGT] [IFSR" (OFAC's legacy form of "[SDGT] [IFSR]") -> ["SDGT", "IFSR"]."""
    parts = program.str.split("]").list.eval(pl.element().str.strip_chars("[] "))
    return parts.list.filter(pl.element().str.len_chars() > 0).fill_null(
        pl.lit([], pl.List(pl.Utf8))
    )


def _names(
    primary: pl.DataFrame, aliases: pl.DataFrame, remark_names: pl.DataFrame
) -> pl.DataFrame:
    """Primary names, then alt.csv aliases, then remark a.k.a.s; a name once per entry."""
    alias_kind = pl.col("alt_type").str.to_lowercase().str.replace_all(r"[^a-z]", "")
    names = pl.concat(
        [
            primary.select("entry_id", "name", kind=pl.lit("primary")),
            aliases.select(
                entry_id="ent_num",
                name="alt_name",
                kind=alias_kind.replace_strict(ALIAS_KINDS, default="aka", return_dtype=pl.Utf8),
            ).filter(pl.col("name").is_not_null()),
            remark_names.select("entry_id", "name", "kind"),
        ]
    )
    return names.unique(["entry_id", "name"], keep="first", maintain_order=True).with_columns(
        script=script_expr(pl.col("name"))
    )


def _identifiers(primary: pl.DataFrame, remark_ids: pl.DataFrame) -> pl.DataFrame:
    call_signs = primary.filter(pl.col("call_sign").is_not_null()).select(
        "entry_id", id_type=pl.lit("Call Sign"), value="call_sign", country=pl.lit(None, pl.Utf8)
    )
    return pl.concat([remark_ids, call_signs]).unique(maintain_order=True)


def _addresses(addresses: pl.DataFrame) -> pl.DataFrame:
    """One line per address: street, city/state/postal code, country as written; ISO country."""
    line = pl.concat_str(["address", "city", "country"], separator=", ", ignore_nulls=True)
    return addresses.select(
        entry_id="ent_num",
        address=line.replace("", None),
        city="city",
        country=ofac_remarks.iso2_expr(pl.col("country")),
    ).filter(pl.col("address").is_not_null())
