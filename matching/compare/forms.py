"""Name parts one name writes in another form of the other's part (the same letters in
another romanisation system: roman_key).

linked_parts counts, per pair, the query parts the list name lacks as written but has in
that form; each key is made once per distinct token, and the pairing is a join over the
exploded parts of the (few) pairs a rule asks about, with its one-pair twin.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

Key = Callable[[str], str | None]


def linked_parts(
    q_tokens: pl.Series, c_tokens: pl.Series, q_key: Key, c_key: Key | None = None
) -> pl.Series:
    """Per pair: the query parts the list name lacks as written, whose q_key is the c_key
    (default: the same function) of a list part the query lacks as written. Keys are made
    once per distinct token; a null key links nothing."""
    c_key = c_key or q_key
    distinct = pl.concat([q_tokens.explode(), c_tokens.explode()]).drop_nulls().unique()
    words = distinct.to_list()
    keys = {
        side: pl.Series([key(token) for token in words], dtype=pl.Utf8)
        for side, key in (("q", q_key), ("c", c_key))
    }

    def parts(tokens: pl.Series, side: str) -> pl.DataFrame:
        return (
            tokens.rename("token")
            .to_frame()
            .with_row_index("row")
            .explode("token")
            .drop_nulls("token")
            .with_columns(pl.col("token").replace_strict(distinct, keys[side]).alias("key"))
        )

    q, c = parts(q_tokens, "q"), parts(c_tokens, "c")
    q_only = q.join(c.select("row", "token"), on=["row", "token"], how="anti")
    c_only = c.join(q.select("row", "token"), on=["row", "token"], how="anti")
    found = (
        q_only.drop_nulls("key")
        .join(c_only.select("row", "key").drop_nulls("key").unique(), on=["row", "key"], how="semi")
        .group_by("row")
        .len()
    )
    every = pl.DataFrame({"row": pl.Series(range(q_tokens.len()), dtype=pl.UInt32)})
    joined = every.join(found, on="row", how="left", maintain_order="left")
    return joined["len"].fill_null(0).rename("linked_parts")


def linked_parts_one(
    q_tokens: list[str], c_tokens: list[str], q_key: Key, c_key: Key | None = None
) -> int:
    """linked_parts for one pair."""
    c_key = c_key or q_key
    q_only = [token for token in q_tokens if token not in c_tokens]
    listed = {c_key(token) for token in c_tokens if token not in q_tokens} - {None}
    return sum(q_key(token) in listed for token in q_only)
