"""How much of what OFAC writes in its remarks the parsers turn into structured facts.

    uv run python bench/parse_coverage.py [WATCHLIST_DIR]

Prints, for OFAC SDN individuals: the share with at least one parsed birth date, the share
of those whose remarks mention a DOB that got one (target >= 95%), the share with a
nationality or citizenship and the share with any identifier; the parse time of each list;
and the most common remark clauses no extractor reads (by their leading words).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from data.schema import ParsedList
from data.sources import ofac, ofac_cons, ofac_remarks
from data.sources.ofac_legacy import VESSEL_CLAUSES

WATCHLISTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "watchlists"
TOP_UNPARSED = 30


def _parse(module, folder: Path) -> tuple[ParsedList, float]:
    files = {name: folder / name for name in module.FILES if (folder / name).exists()}
    start = time.perf_counter()
    parsed = module.parse(files)
    return parsed, time.perf_counter() - start


def _share(part: int, whole: int) -> str:
    return f"{part:,} / {whole:,} = {100 * part / whole:.1f}%" if whole else "-"


def coverage(parsed: ParsedList) -> list[tuple[str, str]]:
    people = parsed.entries.filter(pl.col("entity_type") == "individual")
    ids = people["entry_id"].implode()

    def having(table: pl.DataFrame) -> pl.Series:
        return table.filter(pl.col("entry_id").is_in(ids))["entry_id"].unique()

    dated = having(parsed.birth_dates)
    says_dob = people.filter(pl.col("remarks").str.contains(r"\bDOB\b").fill_null(False))
    said_and_dated = says_dob.filter(pl.col("entry_id").is_in(dated.implode())).height
    total = people.height
    return [
        ("individuals", f"{total:,}"),
        (">= 1 parsed birth date", _share(dated.len(), total)),
        ("remarks say DOB -> parsed one", _share(said_and_dated, says_dob.height)),
        ("nationality or citizenship", _share(having(parsed.nationalities).len(), total)),
        ("place of birth", _share(having(parsed.birth_places).len(), total)),
        ("any identifier", _share(having(parsed.identifiers).len(), total)),
        ("gender", _share(people["gender"].is_not_null().sum(), total)),
    ]


def unparsed_clauses(parsed: ParsedList) -> pl.DataFrame:
    """The most common unread clauses, grouped by up to four words before any digit or colon.

    The vessel clauses the parser itself adds from the vessel columns are left out."""
    parts = ofac_remarks.clauses(parsed.entries.select("entry_id", "remarks").drop_nulls())
    ours = pl.lit(False)
    for label in VESSEL_CLAUSES.values():
        ours = ours | pl.col("body").str.starts_with(label + " ")
    unread = parts.filter(~ofac_remarks.parsed_mask(parts)).filter(~ours)
    head = (
        pl.col("body")
        .str.extract(r"^([^0-9:'(]*)")
        .str.strip_chars(" -,.")
        .str.split(" ")
        .list.head(4)
        .list.join(" ")
    )
    return (
        unread.group_by(head.alias("clause starts with"))
        .agg(pl.len().alias("clauses"), pl.col("clause").first().str.slice(0, 70).alias("example"))
        .sort("clauses", descending=True)
        .head(TOP_UNPARSED)
    )


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else WATCHLISTS
    console = Console(width=160)
    sdn, sdn_seconds = _parse(ofac, folder / ofac.FOLDER)
    cons, cons_seconds = _parse(ofac_cons, folder / ofac_cons.FOLDER)

    table = Table(title="OFAC SDN individuals: facts parsed from remarks")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in coverage(sdn):
        table.add_row(*row)
    console.print(table)

    timing = Table(title="Parse time")
    for column in ("list", "entries", "names", "birth dates", "identifiers", "seconds"):
        timing.add_column(column, justify="right")
    for code, parsed, seconds in (("ofac", sdn, sdn_seconds), ("ofac_cons", cons, cons_seconds)):
        timing.add_row(
            code,
            f"{parsed.entries.height:,}",
            f"{parsed.names.height:,}",
            f"{parsed.birth_dates.height:,}",
            f"{parsed.identifiers.height:,}",
            f"{seconds:.2f}",
        )
    console.print(timing)

    unread = Table(title=f"SDN remark clauses no extractor reads (top {TOP_UNPARSED})")
    for column in ("clause starts with", "clauses", "example"):
        unread.add_column(column)
    for start, count, example in unparsed_clauses(sdn).iter_rows():
        unread.add_row(start, f"{count:,}", example)
    console.print(unread)


if __name__ == "__main__":
    main()
