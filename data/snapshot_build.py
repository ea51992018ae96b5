"""Writing one snapshot file: the seven tables, `lists`, `meta`, entry hashes and the diff.

A snapshot is a DuckDB file. Besides the seven common tables (data/schema.py) it holds:
- ``lists``: one row per list (where it came from, its date, counts, file hashes);
- ``meta``: one row (version, created_at, parser_version, previous_version);
- ``entry_hashes``: one content hash per entry over all its rows in all seven tables;
- ``entry_part_hashes``: the same per part of an entry (each column of its ``entries`` row,
  each other table), so a change can say what changed;
- ``diff``: entries added, removed or changed since the previous snapshot, found by
  comparing the two snapshots' entry hashes in SQL; a changed entry's ``parts`` name what
  changed in it (null when the previous snapshot predates part hashes).
Lists that were not re-read in this refresh are copied unchanged from the previous snapshot.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from data.schema import TABLES, ParsedList, empty

FILES_DTYPE = pl.List(pl.Struct({"file": pl.Utf8, "sha256": pl.Utf8}))

LISTS_SCHEMA = pl.Schema(
    {
        "list_code": pl.Utf8,
        "name": pl.Utf8,
        "source": pl.Utf8,  # the folder it was read from, or its main official URL
        # The list's publication date (ISO) and what says so: "list" (its own file states it:
        # UN dateGenerated, EU generationDate, UK "Last Updated") or "last_modified" (the
        # publisher's server, for a download of a list whose files carry no date). None when
        # neither is known: an offline copy of OFAC's legacy CSVs or of the CSL.
        "publication_date": pl.Utf8,
        "publication_date_from": pl.Utf8,
        "fetched_at": pl.Utf8,  # ISO UTC time of the refresh that read it (the refresh time)
        "entries": pl.Int64,
        "names": pl.Int64,
        "identifiers": pl.Int64,
        "parser_version": pl.Utf8,
        "files": FILES_DTYPE,  # every input file and its sha256
    }
)


def write_snapshot(
    path: Path,
    parsed: list[ParsedList],
    list_rows: pl.DataFrame,
    meta: dict[str, str | None],
    previous: Path | None,
    carried: list[str],
) -> None:
    """Write a complete snapshot to ``path`` (which must not be read by anyone yet).

    ``previous`` is the current snapshot file, if any: the rows of the ``carried`` lists
    are copied from it, and the diff is computed against it.
    """
    con = duckdb.connect(str(path))
    try:
        if previous is not None:
            con.execute(f"ATTACH {_quote(previous)} AS prev (READ_ONLY)")
        _write_tables(con, parsed, carried)
        _write_frame(con, "lists", list_rows.cast(LISTS_SCHEMA))  # type: ignore[arg-type]
        if carried:
            _carry_list_rows(con, carried)
        _write_frame(con, "meta", pl.DataFrame([meta], schema=dict.fromkeys(meta, pl.Utf8)))
        _write_entry_hashes(con)
        _write_part_hashes(con)
        _write_diff(con, meta["previous_version"] if previous is not None else None)
        if previous is not None:
            con.execute("DETACH prev")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _carry_list_rows(con: duckdb.DuckDBPyConnection, carried: list[str]) -> None:
    """Copy the carried lists' rows of `lists` from the previous snapshot, by column name.

    A snapshot written before a column existed has none: the carried row gets NULL there
    (a publication date that was never recorded stays unknown, never guessed)."""
    previous = {row[0] for row in con.execute("DESCRIBE prev.lists").fetchall()}
    columns = ", ".join(c for c in LISTS_SCHEMA.names() if c in previous)
    con.execute(
        f"INSERT INTO lists BY NAME SELECT {columns} FROM prev.lists WHERE list_code IN ?",
        [carried],
    )


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create a table from a Polars frame through Arrow, without row-by-row inserts."""
    con.register("_frame", frame.to_arrow())
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM _frame")
    con.unregister("_frame")


def _write_tables(
    con: duckdb.DuckDBPyConnection, parsed: list[ParsedList], carried: list[str]
) -> None:
    tables = [p.tables() for p in parsed]
    for name in TABLES:
        frames = [t[name] for t in tables] or [empty(name)]
        _write_frame(con, name, pl.concat(frames, how="vertical"))
        if carried:
            con.execute(
                f"INSERT INTO {name} BY NAME SELECT * FROM prev.{name} WHERE list_code IN ?",
                [carried],
            )


# The parts of an entry a diff names: each column of its entries row, then each other table.
ENTRY_COLUMNS = (
    "entity_type",
    "primary_name",
    "programs",
    "remarks",
    "listed_on",
    "gender",
    "title",
)


def _write_part_hashes(con: duckdb.DuckDBPyConnection) -> None:
    """One md5 per part of each entry: its entries columns one by one, the other tables'
    rows together (order-independent)."""
    columns = " UNION ALL ".join(
        f"SELECT list_code, entry_id, '{column}' AS part, md5(CAST({column} AS VARCHAR)) AS h"
        " FROM entries"
        for column in ENTRY_COLUMNS
    )
    tables = " UNION ALL ".join(
        f"SELECT list_code, entry_id, '{name}' AS part, md5(string_agg(md5(CAST(t AS VARCHAR)), ''"
        f" ORDER BY md5(CAST(t AS VARCHAR)))) AS h FROM {name} t GROUP BY ALL"
        for name in TABLES
        if name != "entries"
    )
    con.execute(f"CREATE TABLE entry_part_hashes AS {columns} UNION ALL {tables}")


def _write_entry_hashes(con: duckdb.DuckDBPyConnection) -> None:
    """One md5 per entry over every row it has in the seven tables, order-independent."""
    row_hashes = " UNION ALL ".join(
        f"SELECT '{name}' AS tbl, list_code, entry_id, md5(CAST(t AS VARCHAR)) AS h FROM {name} t"
        for name in TABLES
    )
    con.execute(
        f"""
        CREATE TABLE entry_hashes AS
        WITH row_hashes AS ({row_hashes}),
        table_hashes AS (
            SELECT tbl, list_code, entry_id, md5(string_agg(h, '' ORDER BY h)) AS h
            FROM row_hashes GROUP BY ALL
        )
        SELECT list_code, entry_id,
               md5(string_agg(tbl || ':' || h, ';' ORDER BY tbl)) AS content_hash
        FROM table_hashes
        WHERE (list_code, entry_id) IN (SELECT list_code, entry_id FROM entries)
        GROUP BY ALL
        """
    )


def _write_diff(con: duckdb.DuckDBPyConnection, previous_version: str | None) -> None:
    con.execute(
        "CREATE TABLE diff (list_code VARCHAR, entry_id VARCHAR, change VARCHAR,"
        " previous_version VARCHAR, parts VARCHAR[])"
    )
    if previous_version is None:
        return
    con.execute(
        """
        INSERT INTO diff
        SELECT coalesce(new.list_code, old.list_code), coalesce(new.entry_id, old.entry_id),
               CASE WHEN old.entry_id IS NULL THEN 'added'
                    WHEN new.entry_id IS NULL THEN 'removed'
                    ELSE 'changed' END,
               ?, NULL
        FROM entry_hashes new
        FULL OUTER JOIN prev.entry_hashes old
          ON new.list_code = old.list_code AND new.entry_id = old.entry_id
        WHERE new.content_hash IS DISTINCT FROM old.content_hash
        ORDER BY 1, 3, 2
        """,
        [previous_version],
    )
    has_parts = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev'"
        " AND table_name = 'entry_part_hashes'"
    ).fetchall()[0][0]
    if not has_parts:
        return
    con.execute(
        """
        UPDATE diff SET parts = changed.parts
        FROM (
            SELECT coalesce(new.list_code, old.list_code) AS list_code,
                   coalesce(new.entry_id, old.entry_id) AS entry_id,
                   list_sort(list(DISTINCT coalesce(new.part, old.part))) AS parts
            FROM entry_part_hashes new
            FULL OUTER JOIN prev.entry_part_hashes old
              ON new.list_code = old.list_code AND new.entry_id = old.entry_id
             AND new.part = old.part
            WHERE new.h IS DISTINCT FROM old.h
            GROUP BY ALL
        ) changed
        WHERE diff.change = 'changed' AND diff.list_code = changed.list_code
          AND diff.entry_id = changed.entry_id
        """
    )
