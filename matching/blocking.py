"""Candidate generation for a whole chunk of queries at once: one sparse matrix product.

    Q (queries x query tokens, rarity weights)
      @ T (query tokens x list tokens, token similarity, found through shared keys)
      @ N (list tokens x list names, incidence)
    = S (queries x list names): the rarity weight of each query's parts found in each name.

Each distinct query token is mapped once to similar list tokens through shared keys (the
token, one-deletion neighbours, phonetic key, consonant skeleton). Tokens too common to
block on (MAX_BLOCKING_DF) are covered by token-pair keys. A token that matches nothing is
tried as two joined list words ("vladimirputin"). Per query, the best MAX_CANDIDATES names
at or above MIN_BLOCKING_SCORE go on to scoring.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.compare.names import part_weight, token_similarity
from matching.index import WatchlistIndex, blocking_keys


def candidates(queries: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """queries: qid Int64 (0..n-1), tokens List(Utf8) -> qid, name_id, block_score."""
    n_queries = queries.height
    parts = (
        queries.select("qid", pl.col("tokens").alias("token")).explode("token").drop_nulls("token")
    )
    if parts.is_empty() or index.size == 0:
        return _empty()
    query_vocab = (
        parts.select("token").unique().sort("token").with_row_index("q_token_id")
        .with_columns(pl.col("q_token_id").cast(pl.Int64))
    )  # fmt: skip
    token_map = _token_map(query_vocab, index)
    weights = _query_weights(parts, index).join(query_vocab, on="token")
    q_matrix = _matrix(weights, "qid", "q_token_id", "weight", (n_queries, query_vocab.height))
    t_matrix = _matrix(
        token_map, "q_token_id", "token_id", "sim", (query_vocab.height, index.vocab.height)
    )
    mapped = (q_matrix @ t_matrix).tocsr()
    pair_hits = _pair_hits(mapped, index, n_queries)
    found = (mapped @ index.token_names).maximum(pair_hits).tocoo()
    frame = pl.DataFrame(
        {
            "qid": found.row.astype(np.int64),
            "name_id": found.col.astype(np.int64),
            "matched": found.data.astype(np.float64),
        }
    )
    parts_found = _parts_found(q_matrix, t_matrix, pair_hits, index)
    strong = np.asarray((q_matrix >= config.STRONG_PART_WEIGHT).sum(axis=1)).ravel()
    total = np.asarray(q_matrix.sum(axis=1)).ravel()
    # Ranked by the share of the query found, then of the list name covered (a short name
    # fully covered beats a long one sharing a part).
    frame = frame.join(parts_found, on=["qid", "name_id"], how="left").with_columns(
        (pl.col("matched") / np.maximum(total[found.row], 1e-9)).alias("block_score"),
        (pl.col("matched") / np.maximum(index.name_weights[found.col], 1e-9))
        .clip(0, 1)
        .alias("rank"),
        pl.Series("strong", strong[found.row]),
    )
    # Scoring caps a name sharing one distinguishing part with a longer query (weak
    # evidence), so such candidates are not scored at all; a one-part query needs one.
    enough = (pl.col("block_score") >= config.MIN_BLOCKING_SCORE) & (
        (pl.col("parts").fill_null(0) >= 2) | (pl.col("strong") <= 1)
    )
    return (
        frame.filter(enough)
        .with_columns((pl.col("block_score") + 0.5 * pl.col("rank")).alias("rank"))
        .sort(["qid", "rank"], descending=[False, True])
        .select("qid", "name_id", "block_score")
        .filter(pl.int_range(pl.len()).over("qid") < config.MAX_CANDIDATES)
    )


def _parts_found(
    q_matrix: sparse.csr_matrix,
    t_matrix: sparse.csr_matrix,
    pair_hits: sparse.csr_matrix,
    index: WatchlistIndex,
) -> pl.DataFrame:
    """qid, name_id, parts: how many distinguishing query parts each name holds (a pair hit
    counts two)."""
    strong = (q_matrix >= config.STRONG_PART_WEIGHT).astype(np.float64)
    linked = t_matrix.copy()
    linked.data[:] = 1.0
    counts = ((strong @ linked) @ index.token_names).maximum((pair_hits > 0) * 2.0).tocoo()
    return pl.DataFrame(
        {
            "qid": counts.row.astype(np.int64),
            "name_id": counts.col.astype(np.int64),
            "parts": counts.data.astype(np.float64),
        }
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"qid": pl.Int64, "name_id": pl.Int64, "block_score": pl.Float64})


def _query_weights(parts: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """qid, token, weight: list rarity where the token is listed, else 1 (generic words less)."""
    return (
        parts.join(index.token_weights, on="token", how="left")
        .with_columns(part_weight(pl.col("token"), pl.col("weight")).alias("weight"))
        .unique(["qid", "token"])
    )


def _token_map(query_vocab: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """q_token_id, token_id, sim: each query token's similar list tokens (sim >= MIN_TOKEN_SIM)."""
    keys = blocking_keys(query_vocab, query=True)
    hits = (
        keys.join(index.token_keys, on="key")
        .select("token", "token_id")
        .unique()
        .join(index.vocab.select("token_id", pl.col("token").alias("c_token")), on="token_id")
        .rename({"token": "q_token"})
    )
    sims = token_similarity(hits.select("q_token", "c_token").unique())
    mapped = (
        hits.join(sims, on=["q_token", "c_token"])
        .filter(pl.col("sim") >= config.MIN_TOKEN_SIM)
        .select(pl.col("q_token").alias("token"), "token_id", "sim")
    )
    unmatched = query_vocab.join(mapped, on="token", how="anti")
    mapped = pl.concat([mapped, _split_joined(unmatched, index)])
    return mapped.join(query_vocab, on="token").select("q_token_id", "token_id", "sim")


def _split_joined(tokens: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """A token matching nothing, tried as two list words run together ("vladimirputin")."""
    length = pl.col("token").str.len_chars()
    vocab = index.vocab.filter(pl.col("blocking")).select("token", "token_id")
    halves = (
        tokens.filter(length >= 6)
        .select("token", pl.int_ranges(3, length - 2).alias("cut"))
        .explode("cut")
        .drop_nulls("cut")
        .with_columns(
            pl.col("token").str.slice(0, pl.col("cut")).alias("left"),
            pl.col("token").str.slice(pl.col("cut")).alias("right"),
        )
        .join(vocab.rename({"token": "left", "token_id": "left_id"}), on="left")
        .join(vocab.rename({"token": "right", "token_id": "right_id"}), on="right")
    )
    return pl.concat(
        [
            halves.select("token", pl.col("left_id").alias("token_id")),
            halves.select("token", pl.col("right_id").alias("token_id")),
        ]
    ).with_columns(pl.lit(1.0).alias("sim"))


def _pair_hits(
    mapped: sparse.csr_matrix, index: WatchlistIndex, n_queries: int
) -> sparse.csr_matrix:
    """Names holding two list tokens the query maps to, one of them too common to block on
    alone ("muhammad ali"), valued by the two tokens' weights found."""
    shape = (n_queries, index.names.height)
    coo = mapped.tocoo()
    common = ~index.vocab["blocking"].to_numpy()[coo.col]
    if not index.pair_ids or not common.any():
        return sparse.csr_matrix(shape, dtype=np.float64)
    tokens = index.vocab["token"]
    found = pl.DataFrame(
        {
            "qid": coo.row.astype(np.int64),
            "token": tokens.gather(coo.col),
            "value": coo.data.astype(np.float64),
            "common": common,
        }
    )
    pairs = (
        found.filter(pl.col("common"))
        .join(found, on="qid", suffix="_b")
        .filter(pl.col("token") != pl.col("token_b"))
        .select(
            "qid",
            pl.when(pl.col("token") < pl.col("token_b"))
            .then(pl.col("token") + " " + pl.col("token_b"))
            .otherwise(pl.col("token_b") + " " + pl.col("token"))
            .alias("pair"),
            (pl.col("value") + pl.col("value_b")).alias("weight"),
        )
        .with_columns(
            pl.col("pair")
            .replace_strict(index.pair_ids, default=None, return_dtype=pl.Int64)
            .alias("pair_id")
        )
        .drop_nulls("pair_id")
    )
    if pairs.is_empty():
        return sparse.csr_matrix(shape, dtype=np.float64)
    q_pairs = _matrix(pairs, "qid", "pair_id", "weight", (n_queries, len(index.pair_ids)))
    return (q_pairs @ index.pair_names).tocsr()


def _matrix(
    frame: pl.DataFrame, rows: str, cols: str, values: str, shape: tuple[int, int]
) -> sparse.csr_matrix:
    """A CSR matrix from three columns; duplicates keep their largest value."""
    frame = frame.group_by(rows, cols).agg(pl.col(values).max())
    return sparse.csr_matrix(
        (
            frame[values].to_numpy().astype(np.float64),
            (frame[rows].to_numpy(), frame[cols].to_numpy()),
        ),
        shape=shape,
    )
