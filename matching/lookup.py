"""Joins against the index's big tables by binary search: the cost follows the query side.

A hash join of a one-row query against a 90,000-row index table hashes all 90,000 keys on
every call (milliseconds, most of a single check's budget). A copy of the table sorted by
its key, made once per index, answers the same join with a binary search per query key
(microseconds). A big chunk of queries still takes a hash join (one pass over each side).

    entries = sorted_by(index, "entries", "entity_id")   # once, then cached on the index
    rows = join_sorted(pairs, entries, "entity_id", how="left")
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

# Binary search while the probes number less than table rows / this (log2 of 100,000 rows,
# about the cost of one probe in string comparisons); a hash join beyond.
BINARY_SEARCH_RATIO = 16

# (table, key): the index's tables that screens join by binary search, sorted when the
# index is built (index.build_index); any other is sorted on first use.
INDEX_LOOKUPS = (
    ("names", "name_id"),
    ("entries", "entity_id"),
    ("identifiers", "value_key"),
    ("token_weights", "token"),
    ("token_keys", "key"),
    ("vocab", "token"),
    ("vocab", "token_id"),
    ("name_keys", "key"),
    ("syllable_keys", "key"),
    ("pair_ids", "pair"),
)


def sorted_by(index: object, table: str, key: str) -> pl.DataFrame:
    """index.<table> sorted by `key`, null keys dropped (they never join): made once and
    kept in index.lookups."""
    cache: dict[tuple[str, str], pl.DataFrame] = index.lookups
    if (table, key) not in cache:
        frame = getattr(index, table)
        cache[(table, key)] = frame.drop_nulls(key).sort(key).rechunk()
    return cache[(table, key)]


def join_sorted(
    frame: pl.DataFrame,
    table: pl.DataFrame,
    on: str,
    how: Literal["inner", "left"] = "inner",
) -> pl.DataFrame:
    """frame.join(table, on=on, how=how) for a `table` sorted by `on` without null keys
    (a table not flagged sorted, e.g. not from sorted_by, takes the hash join).

    Rows come in frame order, each frame row's matches in table order; a left join keeps a
    frame row without match once, its table columns null. Columns other than `on` must not
    clash (as in a hash join without suffix).
    """
    unsorted = not table[on].flags["SORTED_ASC"]
    if unsorted or frame.height * BINARY_SEARCH_RATIO > table.height:
        # Many probes: one hash join is cheaper than a binary search per probe.
        return frame.join(table, on=on, how=how, maintain_order="left")
    probe = frame[on]
    keys = table[on]
    if probe.dtype != keys.dtype:
        probe = probe.cast(keys.dtype)
    low = keys.search_sorted(probe, side="left").to_numpy().astype(np.int64)
    high = keys.search_sorted(probe, side="right").to_numpy().astype(np.int64)
    found = np.where(probe.is_null().to_numpy(), 0, high - low)
    kept = found if how == "inner" else np.maximum(found, 1)
    frame_rows = np.repeat(np.arange(frame.height, dtype=np.int64), kept)
    # Position of each output row within its frame row's run of matches.
    within = np.arange(frame_rows.size, dtype=np.int64) - np.repeat(np.cumsum(kept) - kept, kept)
    table_rows = pl.Series(np.repeat(low, kept) + within, dtype=pl.Int64)
    if how == "left":
        table_rows = table_rows.scatter(np.flatnonzero(np.repeat(found, kept) == 0), None)
    return pl.concat(
        [
            frame.select(pl.all().gather(pl.Series(frame_rows, dtype=pl.Int64))),
            table.drop(on).select(pl.all().gather(table_rows)),
        ],
        how="horizontal",
    )


def rows_of(keys: pl.Series, probes: pl.Series) -> pl.Series:
    """keys.search_sorted(probes) for sorted distinct string `keys` that hold every probe:
    each probe's row in keys. Many probes take a hash lookup instead (a cast to the Enum of
    the keys, whose codes are the rows): a third of the cost of a binary search in strings
    per probe."""
    if probes.null_count() or probes.len() * BINARY_SEARCH_RATIO <= keys.len():
        return keys.search_sorted(probes)
    return probes.cast(pl.Enum(keys)).to_physical().cast(pl.get_index_type())
