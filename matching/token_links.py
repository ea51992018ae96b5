"""The index's memory of query tokens already mapped to similar list tokens.

Blocking maps each new query token to its similar list tokens once (keys, edit distance);
a book repeats its names, so the links are remembered across chunks and calls. A hash join
against the whole memory (millions of rows after a big job) costs milliseconds per call, so
the links live in two parts: a large part sorted by token, answered by binary search, and a
small recent part, merged into the sorted one (a linear merge) once it grows.
"""

from __future__ import annotations

import polars as pl

from matching.lookup import join_sorted

# abjad_only: a link for a query written in an abjad only (compare.names.abjad_only_link).
SCHEMA = {"token": pl.Utf8, "token_id": pl.Int64, "sim": pl.Float64, "abjad_only": pl.Boolean}

# Recent links kept unsorted before a merge: small enough to hash per call.
RECENT_ROWS = 20_000


class TokenLinks:
    """token -> (token_id, sim, abjad_only) rows; token_id -1 records a token with no
    neighbour."""

    def __init__(self) -> None:
        self.sorted = pl.DataFrame(schema=SCHEMA)
        self.recent = pl.DataFrame(schema=SCHEMA)

    def clear(self) -> None:
        self.sorted = self.sorted.clear()
        self.recent = self.recent.clear()

    @property
    def height(self) -> int:
        return self.sorted.height + self.recent.height

    def known(self, tokens: pl.Series) -> pl.Series:
        """Per token: whether its links are remembered."""
        keys = self.sorted["token"]
        at = keys.search_sorted(tokens, side="left").clip(0, max(keys.len() - 1, 0))
        in_sorted = keys.gather(at) == tokens if keys.len() else tokens.is_null()
        return in_sorted.fill_null(False) | tokens.is_in(self.recent["token"].implode())

    def add(self, links: pl.DataFrame, max_rows: int) -> None:
        """Remember new links (of tokens not known yet); forget everything past max_rows."""
        if self.height + links.height > max_rows:
            self.clear()
        if "abjad_only" not in links.columns:
            links = links.with_columns(pl.lit(False).alias("abjad_only"))
        self.recent = pl.concat([self.recent, links.select(SCHEMA.keys()).cast(SCHEMA)])
        if self.recent.height > RECENT_ROWS:
            self.sorted = self.sorted.merge_sorted(self.recent.sort("token"), "token").rechunk()
            self.recent = pl.DataFrame(schema=SCHEMA)

    def find(self, tokens: pl.DataFrame) -> pl.DataFrame:
        """tokens: token (+ columns) -> one row per remembered link: those columns and
        token_id, sim (the join of `tokens` with the links on token)."""
        return pl.concat(
            [
                join_sorted(tokens, self.sorted, "token"),
                tokens.join(self.recent, on="token"),
            ],
            how="vertical",
        )
