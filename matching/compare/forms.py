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


def linked_parts(q_tokens: pl.Series, c_tokens: pl.Series, key: Key) -> pl.Series:
    """Per pair: the query parts the list name lacks as written whose key is the key of a
    list part the query lacks as written. Keys are made once per distinct token; a null
    key links nothing."""
    distinct = pl.concat([q_tokens.explode(), c_tokens.explode()]).drop_nulls().unique()
    words = distinct.to_list()
    keys = pl.Series([key(token) for token in words], dtype=pl.Utf8)

    def parts(tokens: pl.Series) -> pl.DataFrame:
        return (
            tokens.rename("token")
            .to_frame()
            .with_row_index("row")
            .explode("token")
            .drop_nulls("token")
            .with_columns(pl.col("token").replace_strict(distinct, keys).alias("key"))
        )

    q, c = parts(q_tokens), parts(c_tokens)
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


def linked_parts_one(q_tokens: list[str], c_tokens: list[str], key: Key) -> int:
    """linked_parts for one pair."""
    q_only = [token for token in q_tokens if token not in c_tokens]
    listed = {key(token) for token in c_tokens if token not in q_tokens} - {None}
    return sum(key(token) in listed for token in q_only)
