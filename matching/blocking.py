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

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.compare.names import (
    abjad_only_link,
    linked_similarity,
    linked_similarity_one,
    list_token_features,
    matres_one,
    part_weight,
    part_weight_one,
    read_alike_one,
    token_similarity,
)
from matching.compare.syllables import KEY_COLUMNS as SYLLABLE_KEYS
from matching.compare.syllables import name_keys as syllable_name_keys
from matching.index import WatchlistIndex, blocking_keys, name_key
from matching.lookup import join_sorted, sorted_by
from matching.normalize import (
    LEGAL_PHRASES,
    abjad_readings,
    consonants,
    matres_key,
    short_vowel_key,
    vowel_poor,
)
from matching.retyped_links import index_table, retyped_links

# Candidate values carry two numbers: PARTS_UNIT per distinguishing query part found, plus
# the rarity weight found (always far below PARTS_UNIT). One product then gives both.
PARTS_UNIT = 1000.0


def candidates(queries: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """queries: qid Int64 (0..n-1), tokens List(Utf8), lists List(Utf8) (null = every
    list), optionally abjad Boolean (the name is written in an abjad: without the column,
    every query is) -> qid, name_id, block_score. Names of lists a query excludes never
    compete for its candidate places."""
    n_queries = queries.height
    parts = (
        queries.select("qid", pl.col("tokens").alias("token"), _abjad(queries), _wholly(queries))
        .explode("token")
        .drop_nulls("token")
    )
    if parts.is_empty() or index.size == 0:
        return _empty()
    weights = _query_weights(parts, index).with_columns(
        (PARTS_UNIT * (pl.col("weight") >= config.STRONG_PART_WEIGHT)).alias("parts")
    )
    # Words split in two, and words run together: extra parts to find names by.
    split = pl.concat([_split_words(queries, weights, index), _segment_parts(weights, index)])
    split = split.join(parts.select("qid", "abjad").unique("qid"), on="qid")
    links = cached_token_map(pl.concat([parts["token"], split["token"]]).unique().to_frame(), index)
    vowels = _short_vowel_frame(parts, index)
    # A token with links only a query written in an abjad takes (abjad_only) is, in such
    # a query, a token of its own; every other token is one for all queries. So is a part
    # of a query written wholly in an abjad that the short vowels link (short_vowel_links):
    # the query's own words only, the words split in two of the same query as its parts.
    read = pl.col("abjad") & pl.col("token").is_in(
        links.filter("abjad_only")["token"].unique().implode()
    )
    weights = _with_vowels_flag(weights.with_columns(read), parts, vowels)
    split = _with_vowels_flag(split.with_columns(read), parts, vowels)
    query_vocab = (
        pl.concat([weights.select(VOCAB_KEY), split.select(VOCAB_KEY)]).unique()
        .sort(VOCAB_KEY).with_row_index("q_token_id")
        .with_columns(pl.col("q_token_id").cast(pl.Int64))
    )  # fmt: skip
    token_map = _token_map(query_vocab, links, vowels)
    weights = weights.join(query_vocab, on=VOCAB_KEY)
    shape_q = (n_queries, query_vocab.height)
    shape_t = (query_vocab.height, index.vocab.height)
    q_weight = _matrix(weights, "qid", "q_token_id", "weight", shape_q)
    # The words split in two find names as whole words, but the query's total stays its
    # parts' (select_candidates' shares).
    found_by, q_found_by = weights, q_weight
    if not split.is_empty():
        found_by = pl.concat([weights, split.join(query_vocab, on=VOCAB_KEY)], how="diagonal")
        q_found_by = _matrix(found_by, "qid", "q_token_id", "weight", shape_q)
    found_by = found_by.with_columns((pl.col("weight") + pl.col("parts")).alias("encoded"))
    q_encoded = _matrix(found_by, "qid", "q_token_id", "encoded", shape_q)
    # Token pairs are firm evidence: a link two typing errors off (retyped_links) makes one
    # only beside a firm link, one of the two tokens rare (_pair_hits).
    firm = pl.col("sim") >= config.MIN_TOKEN_SIM
    t_sim = _matrix(token_map.filter(firm), "q_token_id", "token_id", "sim", shape_t)
    t_retyped = _matrix(token_map.filter(~firm), "q_token_id", "token_id", "sim", shape_t)
    pair_hits = _pair_hits(
        (q_found_by @ t_sim).tocsr(), index, n_queries, (q_found_by @ t_retyped).tocsr()
    )
    found = _found(q_encoded, token_map, shape_t, index).maximum(pair_hits).tocsr()
    allowed = _allowed_lists(queries, index)
    # Per query and list token: the weight found through a variant spelling, times how
    # far it is.
    variants = token_map.filter(pl.col("sim") < 1).with_columns((1 - pl.col("sim")).alias("loss"))
    t_loss = _matrix(variants, "q_token_id", "token_id", "loss", shape_t)
    q_loss = (q_found_by @ t_loss).tocsr()
    selected = select_candidates(found, q_weight, allowed, _transliterated(queries), index, q_loss)
    same = [_same_parts(queries, allowed, index), _same_syllables(queries, allowed, index)]
    return pl.concat([selected, *same]).unique(
        ["qid", "name_id"], keep="first", maintain_order=True
    )


# A query token's row in blocking's query vocabulary: the token, whether it takes the
# links only a query in an abjad takes (abjad), and whether the short vowels (vowels).
VOCAB_KEY = ["token", "abjad", "vowels"]


def _short_vowel_frame(parts: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """token, token_id, sim: the short_vowel_links of the parts of queries written wholly
    in an abjad. Queries in other scripts cost a filter."""
    return short_vowel_frame(parts.filter("wholly")["token"], index)


def _with_vowels_flag(
    frame: pl.DataFrame, parts: pl.DataFrame, vowels: pl.DataFrame
) -> pl.DataFrame:
    """frame (qid, token, ...) with ``vowels``: the token is a part of its query, which is
    written wholly in an abjad, and has short-vowel links."""
    linked = vowels["token"].unique().implode()
    flagged = parts.filter("wholly", pl.col("token").is_in(linked)).select("qid", "token").unique()
    return frame.join(
        flagged.with_columns(pl.lit(True).alias("vowels")), on=["qid", "token"], how="left"
    ).with_columns(pl.col("vowels").fill_null(False))


def _token_map(
    query_vocab: pl.DataFrame, links: pl.DataFrame, vowels: pl.DataFrame
) -> pl.DataFrame:
    """q_token_id, token_id, sim: each vocabulary row's links, those only an abjad's
    reading takes for its abjad rows, and the short-vowel links for its vowels rows (a
    link the map already holds keeps its own similarity)."""
    mapped = (
        query_vocab.join(links, on="token")
        .filter(pl.col("abjad") | ~pl.col("abjad_only"))
        .select("q_token_id", "token_id", "sim")
    )
    if vowels.is_empty():
        return mapped
    extra = (
        query_vocab.filter("vowels")
        .join(vowels, on="token")
        .select("q_token_id", "token_id", pl.col("sim").cast(mapped["sim"].dtype))
    )
    return pl.concat([mapped, extra.cast(mapped.schema)]).unique(
        ["q_token_id", "token_id"], keep="first", maintain_order=True
    )


# Where an index keeps its VowelTables (index.derived); a view of it has its own.
VOWEL_TABLES = "blocking.vowel_tables"


def short_vowel_links(token: str, index: WatchlistIndex) -> dict[int, float]:
    """token_id -> sim: the list tokens that a token of a query written in an abjad reads
    as, with the short vowels the script leaves out and its long vowel letters read as
    vowels ("باقری" baqri / "Bagheri", "ابوالقاسم" abwalqasm / "Abolghasem", "عمری" amri /
    "Omari", "معین" main / "Moein"): scoring's long-vowel-letter reading
    (compare/names.matres_one, q_abjad) at CROSS_SCRIPT_SKELETON_SIM at least. The index's
    long-vowel key (normalize.matres_key) holds only list tokens that write a long vowel,
    and links only query tokens the lists do not hold, as blocking cannot tell a token's
    script there: keying every list token so cost every Latin token spelt with a, i and u
    a fifth more CPU in blocking's joins, for links only an abjad query takes. Here the
    query is known to be written in an abjad, so a token the lists also hold ("amri",
    "main") is still a reading; looked up for an abjad query's tokens only, once per token
    and index (a Python loop over a chunk's few distinct such tokens). Public: the single
    check and reverse blocking take the same links."""
    cache = index.derived.setdefault("blocking.short_vowel_links", {})
    found = cache.get(token)
    if found is None:
        found = cache[token] = _short_vowel_links(token, _index_vowel_tables(index))
    return found


@dataclass(frozen=True)
class VowelTables:
    """List tokens (token_id, token) by the keys a query token in an abjad meets them by:
    its long-vowel key (normalize.short_vowel_key, whether or not the list token writes a
    long vowel) and its abjad_reading keys (as written, and its z as ض ذ's)."""

    by_vowels: dict[str, list[tuple[int, str]]]
    by_reading: dict[str, list[tuple[int, str]]]

    @classmethod
    def of(cls, vocab: pl.DataFrame) -> VowelTables:
        """The tables of these list tokens (token_id, token): a Python loop over them."""
        by_vowels: dict[str, list[tuple[int, str]]] = {}
        by_reading: dict[str, list[tuple[int, str]]] = {}
        for token_id, token in vocab.select("token_id", "token").iter_rows():
            if (key := short_vowel_key(token)) is not None:
                by_vowels.setdefault(key, []).append((token_id, token))
            key, _, z_as_d, _ = abjad_readings(token)
            for read in {key, z_as_d}:
                by_reading.setdefault(read, []).append((token_id, token))
        return cls(by_vowels, by_reading)


def _index_vowel_tables(index: WatchlistIndex) -> VowelTables:
    """The whole vocabulary's VowelTables, made once per index."""
    tables = index.derived.get(VOWEL_TABLES)
    if tables is None:
        tables = index.derived[VOWEL_TABLES] = VowelTables.of(index.vocab)
    return tables


def _short_vowel_links(token: str, tables: VowelTables) -> dict[int, float]:
    """short_vowel_links(token) among the list tokens of ``tables``."""
    key = matres_key(token, listed=False)
    if key is None:
        return {}
    found = {}
    for token_id, listed in tables.by_vowels.get(key, ()):
        if matres_one(token, listed):
            found[token_id] = max(
                linked_similarity_one(token, listed), config.CROSS_SCRIPT_SKELETON_SIM
            )
    # ... and those it reads as with ض ذ ظ ث sounded as another reading of the script
    # sounds them, or an initial alef or ain carrying the list token's vowel ("فضل" fdl /
    # Fazal, "عصام" asam / Issam): scoring's read_alike, as vowel-blind as matres.
    for read in reading_keys(token):
        for token_id, listed in tables.by_reading.get(read, ()):
            if token_id not in found and read_alike_one(token, listed):
                found[token_id] = max(
                    linked_similarity_one(token, listed), config.CROSS_SCRIPT_SKELETON_SIM
                )
    return found


def short_vowel_frame(
    tokens: pl.Series, index: WatchlistIndex, only: pl.Series | None = None
) -> pl.DataFrame:
    """token, token_id, sim: short_vowel_links of the distinct tokens (a Python loop over
    the few spelt as an abjad reads, with a, i, u only; cached per index). ``only``: the
    links to these list tokens (token_id) alone, from tables of those alone (reverse
    blocking and its bar, where they are an update's tokens: a cold rescreen would
    otherwise key the whole vocabulary). Forward blocking, the fallback's bar and reverse
    blocking all take their short-vowel links here."""
    distinct = tokens.unique()
    read = distinct.filter(~distinct.str.contains("[eo0-9]")).to_list()
    if only is None:
        found = [(token, short_vowel_links(token, index)) for token in read]
    elif read:
        tables = VowelTables.of(index.vocab.filter(pl.col("token_id").is_in(only.implode())))
        found = [(token, _short_vowel_links(token, tables)) for token in read]
    else:
        found = []
    rows = [(token, token_id, sim) for token, links in found for token_id, sim in links.items()]
    schema = {"token": pl.Utf8, "token_id": pl.Int64, "sim": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def reading_keys(token: str) -> set[str]:
    """A query token's abjad_reading keys (its th read th and s), as VowelTables keys list
    tokens; none where read_alike cannot hold (too few consonants, an e or o)."""
    key, th_as_s, _, count = abjad_readings(token)
    if count < config.MIN_MATRES_CONSONANTS or "e" in token or "o" in token:
        return set()
    return {key, th_as_s}


def _abjad(queries: pl.DataFrame) -> pl.Expr:
    """Per query: is its name written in an abjad (an ``abjad`` column; screen() gives it)?
    Without the column every query is taken as one, as blocking was before it knew."""
    if "abjad" not in queries.columns:
        return pl.lit(True).alias("abjad")
    return pl.col("abjad").fill_null(False)


def _wholly(queries: pl.DataFrame) -> pl.Expr:
    """Per query: is its name written wholly in an abjad, no letter of another script (a
    ``wholly_abjad`` column; screen() gives it)? The short vowels are read only in such a
    name: "David אמיר" writes David as it is read. Without the column, as _abjad."""
    if "wholly_abjad" not in queries.columns:
        return _abjad(queries).alias("wholly")
    return (_abjad(queries) & pl.col("wholly_abjad").fill_null(False)).alias("wholly")


def _found(
    q_encoded: sparse.csr_matrix,
    token_map: pl.DataFrame,
    shape_t: tuple[int, int],
    index: WatchlistIndex,
) -> sparse.csr_matrix:
    """queries x list names: the encoded parts and weight each query finds in each name
    (found_in_names), from the token map's firm and weak links."""
    weak = pl.col("sim") <= config.WEAK_LINK_SIM
    linked = token_map.with_columns(pl.lit(1.0).alias("one"))
    t_firm = _matrix(linked.filter(~weak), "q_token_id", "token_id", "one", shape_t)
    t_weak = _matrix(linked.filter(weak), "q_token_id", "token_id", "one", shape_t)
    return found_in_names(q_encoded, t_firm, t_weak, index)


def found_in_names(
    q_encoded: sparse.csr_matrix,
    t_firm: sparse.csr_matrix,
    t_weak: sparse.csr_matrix,
    index: WatchlistIndex,
) -> sparse.csr_matrix:
    """queries x list names: the encoded parts and weight each query finds in each name.

    A weak link (a short part one letter off, "Tim" / "Tom", "Umr" / "Umer": at most
    WEAK_LINK_SIM) ties a short token to many list tokens, and so a query to thousands of
    names that scoring then rejects: a short part one letter off is a typo only where the
    rest of the name carries the evidence (CHANGED_PART_MIN_REST). So weak links add to a
    name only where the firm links already found WEAK_LINK_MIN_REST of weight in it; they
    never bring a name in alone."""
    found = ((q_encoded @ t_firm) @ index.token_names).tocsr()
    if t_weak.nnz == 0:
        return found
    return with_weak_links(found, ((q_encoded @ t_weak) @ index.token_names).tocsr())


def with_weak_links(found: sparse.csr_matrix, weak_found: sparse.csr_matrix) -> sparse.csr_matrix:
    """found_in_names' sum: what the firm links found, plus what the weak links found
    where the firm ones found WEAK_LINK_MIN_REST of weight, written into found's own values
    (found is changed and returned). A weak link adds only where the firm links found
    something, a few thousand of the millions of values, so found is not copied whole (a
    masked sum wrote arrays of the products' size, a tenth of a chunk's blocking on new
    entities); the values are f + w, their order in a row found's (select_candidates sorts
    them). Public: reverse screening sums its own products of the book alike
    (reverse._found_hits)."""
    both = found.multiply(weak_found).tocsr()  # where the two found something (no zeros)
    if both.nnz == 0:
        return found
    # Each value's place in found.data (from 1, as a zero product is no value), read
    # through a matrix that shares found's index arrays.
    dtype = found.indices.dtype
    places = sparse.csr_matrix(
        (np.arange(1, found.nnz + 1, dtype=dtype), found.indices, found.indptr),
        shape=found.shape,
        copy=False,
    )
    where = sparse.csr_matrix(
        (np.ones(both.nnz, dtype=dtype), both.indices, both.indptr), both.shape
    )
    at = places.multiply(where).tocsr()
    where.data = where.data.astype(np.float64)
    weak = weak_found.multiply(where).tocsr()
    # Both on the same few positions: in one order once sorted.
    at.sort_indices()
    weak.sort_indices()
    at = at.data.astype(np.int64) - 1
    firm = found.data[at]
    rest = (firm - np.floor(firm / PARTS_UNIT) * PARTS_UNIT) >= config.WEAK_LINK_MIN_REST
    found.data[at[rest]] = firm[rest] + weak.data[rest]
    return found


def _split_words(
    queries: pl.DataFrame, weights: pl.DataFrame, index: WatchlistIndex
) -> pl.DataFrame:
    """qid, token, weight, parts: two neighbouring query parts that written together are a
    list word ("Patr ushev" -> "patrushev", "Mor Disco" -> "mordisco": halves that happen
    to be list words too): a word split in two, which blocks as the whole word for the
    weight and the distinguishing parts of its halves. (An exact list word only: looking up the typos of every pair of unknown parts
    halved the throughput, as most names of a book are unknown to the lists.)"""
    listed = index.vocab["token"].implode()
    tokens = pl.col("tokens")
    halves = (
        queries.filter(tokens.list.len() >= 2)
        .select(
            "qid",
            tokens.list.head(tokens.list.len() - 1).alias("left"),
            tokens.list.slice(1).alias("right"),
        )
        .explode("left", "right")
        .filter((pl.col("left") + pl.col("right")).is_in(listed))
    )
    half = weights.select("qid", "token", "weight", "parts")
    return (
        halves.join(half, left_on=["qid", "left"], right_on=["qid", "token"])
        .join(half, left_on=["qid", "right"], right_on=["qid", "token"], suffix="_right")
        .select(
            "qid",
            (pl.col("left") + pl.col("right")).alias("token"),
            pl.col("weight") + pl.col("weight_right"),
            pl.col("parts") + pl.col("parts_right"),
        )
    )


def _same_parts(queries: pl.DataFrame, allowed: np.ndarray, index: WatchlistIndex) -> pl.DataFrame:
    """Names with exactly the query's parts, in any order: always candidates, however
    common their parts ("Muhammad Omar" is one name among thousands sharing its tokens)."""
    keyed = queries.select("qid", name_key(pl.col("tokens")).alias("key"))
    hits = join_sorted(keyed, sorted_by(index, "name_keys", "key"), "key").select("qid", "name_id")
    return _allowed_hits(hits, allowed, index)


def _same_syllables(
    queries: pl.DataFrame, allowed: np.ndarray, index: WatchlistIndex
) -> pl.DataFrame:
    """Names that are the query's Korean or Chinese syllables in another romanisation
    ("Gim Jeong Eun", 김정은 / "KIM Jong Un"): always candidates, as no token key links
    their syllables. A query's keys given in a ``syllable_keys`` column (screen()'s
    SYLLABLE_KEYS; null: not given) are read, not made again."""
    given = pl.DataFrame(schema={"qid": pl.Int64, "key": pl.List(pl.Utf8)})
    if "syllable_keys" in queries.columns:
        given = queries.select("qid", pl.col("syllable_keys").alias("key")).drop_nulls("key")
    made = queries.join(given.select("qid"), on="qid", how="anti")
    repeated = made["repeated"] if "repeated" in made.columns else None
    keys = syllable_name_keys(made["tokens"], repeated).with_columns(made["qid"])
    keyed = pl.concat(
        [given.explode("key"), *[keys.select("qid", key=column) for column in SYLLABLE_KEYS]]
    )
    keyed = keyed.drop_nulls("key").unique()
    if keyed.is_empty():
        return _empty()
    hits = join_sorted(keyed, sorted_by(index, "syllable_keys", "key"), "key")
    return _allowed_hits(hits.select("qid", "name_id").unique(), allowed, index)


def _allowed_hits(hits: pl.DataFrame, allowed: np.ndarray, index: WatchlistIndex) -> pl.DataFrame:
    """qid, name_id hits of the lists each query screens against, block_score 1."""
    if hits.is_empty():
        return _empty()
    rows, cols = hits["qid"].to_numpy(), hits["name_id"].to_numpy()
    listed = (allowed[rows] >> index.name_lists[cols]) & 1 == 1
    return hits.filter(pl.Series(listed)).with_columns(pl.lit(1.0).alias("block_score"))


def _transliterated(queries: pl.DataFrame) -> np.ndarray:
    """Per query: was its name written in another script (transliterated)?"""
    if "transliterated" not in queries.columns:
        return np.zeros(queries.height, dtype=bool)
    return queries["transliterated"].fill_null(False).to_numpy()


def _allowed_lists(queries: pl.DataFrame, index: WatchlistIndex) -> np.ndarray:
    """Per query a bit mask of the lists it screens against (bit = index.list_codes order)."""
    every = (1 << len(index.list_codes)) - 1
    if "lists" not in queries.columns:
        return np.full(queries.height, every, dtype=np.int64)
    bits = {code: 1 << i for i, code in enumerate(index.list_codes)}
    mask = queries.select(
        pl.col("lists")
        .list.eval(pl.element().replace_strict(bits, default=0, return_dtype=pl.Int64))
        .list.sum()
        .fill_null(every)
    ).to_series()
    return mask.to_numpy().astype(np.int64)


def select_candidates(
    found: sparse.csr_matrix,
    q_weight: sparse.csr_matrix,
    allowed: np.ndarray,
    transliterated: np.ndarray,
    index: WatchlistIndex,
    q_loss: sparse.csr_matrix,
) -> pl.DataFrame:
    """Decode, filter and rank the product with numpy: per query the best MAX_CANDIDATES
    names whose found share reaches MIN_BLOCKING_SCORE and that hold two distinguishing
    parts (one for a one-part query, or a few for a transliterated query no name shares two
    parts with). A name sharing one part with a longer query is otherwise capped as weak
    evidence by scoring. q_loss: queries x list tokens, the weight found through variant
    spellings times how far they are (1 - similarity): within an entry, its names in the
    query's own spellings come first."""
    total = np.asarray(q_weight.sum(axis=1)).ravel()
    strong = np.asarray((q_weight >= config.STRONG_PART_WEIGHT).sum(axis=1)).ravel()
    # Most of the product is below MIN_BLOCKING_SCORE: the few values that may be kept are
    # picked with as few passes over the millions as can be, and decoded alone.
    usable, two_parts = _usable(found, total, index)
    # A transliterated query no name shares two parts with keeps its best one-part names
    # as a fallback: its other part may be a spelling no key links ("Bhladimir" /
    # "Vladimir"), which scoring still recognises. Only transliterated names, where
    # spellings vary most: for every query it would cost a third of the throughput.
    fallback = ~_has_two(found, usable & two_parts, allowed, index) & (strong >= 2) & transliterated
    # Of the usable values only those of two parts, of a query of one distinguishing part
    # or of a fallback may be kept (a tenth of them): decoded alone.
    loose = np.repeat((strong <= 1) | fallback, np.diff(found.indptr))
    at = np.flatnonzero(usable & (loose | two_parts))
    rows = np.searchsorted(found.indptr, at, side="right") - 1
    cols = found.indices[at].astype(np.int64)
    # Ties are ranked by position: the names in name_id order in every row, whatever
    # order the sparse sums left them in, so a query gets its candidates alone as in a chunk
    # (the values taken sorted, not the whole product).
    by_name = np.argsort(rows * found.shape[1] + cols, kind="stable")  # sorted runs: fast
    at, rows, cols = at[by_name], rows[by_name], cols[by_name]
    count, matched, query_total = _decoded(found.data[at], total[rows])
    listed = _listed(allowed, rows, cols, index)
    if listed is not None:
        rows, cols, count, matched, query_total = (
            a[listed] for a in (rows, cols, count, matched, query_total)
        )
    block = matched / np.maximum(query_total, 1e-9)
    two_parts = count >= 2
    rare_part = block >= config.FALLBACK_MIN_BLOCK_SCORE
    keep = two_parts | (strong[rows] <= 1) | (fallback[rows] & rare_part)
    limit = np.where(fallback, config.FALLBACK_CANDIDATES, config.MAX_CANDIDATES)
    rows, cols, block, matched, query_total = (
        a[keep] for a in (rows, cols, block, matched, query_total)
    )
    # Ranked by the share of the query found, then of the list name covered (a short name
    # fully covered beats a long one sharing a part).
    rank = block + 0.5 * np.clip(matched / np.maximum(index.name_weights[cols], 1e-9), 0, 1)
    # At most NAMES_PER_ENTRY names of one entry per query: an entry with many aliases
    # must not crowd the others out of the MAX_CANDIDATES. Within an entry, names the
    # query covers whole, with most of the query found, come first: a short alias
    # ("Hamed Al-'Ali") is otherwise outranked by its entry's longer names, which a query
    # part linked to several of their parts overrates.
    entry = index.name_entries[cols]
    covered = np.where(
        (matched >= index.name_weights[cols]) & (block >= config.WHOLE_NAME_BLOCK_SHARE), 1.0, 0.0
    )
    within_entry = covered + rank / 3  # covered first, then by rank
    max_entry = int(index.name_entries.max())
    order = _ranked(rows, entry, within_entry, max_entry)
    # In an entry with more names found than are kept, each part counts at its spelling
    # similarity: the names in the query's own spelling ("Sovfrakht") before the entry's
    # other spellings ("Sovfracht"), which tie on rank. (Only there: it costs a product.)
    crowded = order[_group_sizes((rows * (max_entry + 1) + entry)[order]) > config.NAMES_PER_ENTRY]
    if crowded.size:
        loss = _loss(q_loss, rows[crowded], cols[crowded], index) / query_total[crowded]
        within_entry[crowded] = covered[crowded] + np.clip(rank[crowded] - loss, 0, 1.5) / 3
        order = _ranked(rows, entry, within_entry, max_entry)
    rows, cols, block, rank, entry = (a[order] for a in (rows, cols, block, rank, entry))
    first = _position_in_group(rows * (int(index.name_entries.max()) + 1) + entry)
    kept = first < config.NAMES_PER_ENTRY
    rows, cols, block, rank, entry = (a[kept] for a in (rows, cols, block, rank, entry))
    order = _ranked(rows, np.zeros_like(rows), rank, 0)
    rows, cols, block, entry = rows[order], cols[order], block[order], entry[order]
    # A query found whole in more names than the limit ("Design Bureau", "Abdul Rehman" /
    # "Abd al-Rahman") may match them all: those names are kept, up to
    # MAX_WHOLE_QUERY_CANDIDATES.
    position = _position_in_group(rows)
    # A fallback keeps its best FALLBACK_CANDIDATES entries, each with its names kept above:
    # an entry's names in several spellings tie on one rare part, and its best-scoring one
    # ("SADUDDIN SAYYED" for "سعد الدين سيد") is not always first among them.
    in_fallback = np.flatnonzero(fallback[rows])
    position[in_fallback] = _entry_positions(rows[in_fallback], entry[in_fallback], max_entry)
    top = (position < limit[rows]) | (
        (block >= config.WHOLE_NAME_BLOCK_SHARE) & (position < config.MAX_WHOLE_QUERY_CANDIDATES)
    )
    return pl.DataFrame(
        {"qid": rows[top].astype(np.int64), "name_id": cols[top], "block_score": block[top]}
    )


def _has_two(
    found: sparse.csr_matrix, two: np.ndarray, allowed: np.ndarray, index: WatchlistIndex
) -> np.ndarray:
    """Per query: does a name of a list it screens against hold two of its parts (two: per
    value of found.data, usable and of two parts)?"""
    at = np.flatnonzero(two)
    rows = np.searchsorted(found.indptr, at, side="right") - 1
    listed = _listed(allowed, rows, found.indices[at].astype(np.int64), index)
    if listed is not None:
        rows = rows[listed]
    return np.bincount(rows, minlength=found.shape[0]) > 0


def _listed(
    allowed: np.ndarray, rows: np.ndarray, cols: np.ndarray, index: WatchlistIndex
) -> np.ndarray | None:
    """Per value: is its name in a list its query screens against? None: every query
    screens against every list."""
    if (allowed == (1 << len(index.list_codes)) - 1).all():
        return None
    return (allowed[rows] >> index.name_lists[cols]) & 1 == 1


def _decoded(values: np.ndarray, query_total: np.ndarray) -> tuple[np.ndarray, ...]:
    """Product values -> the parts counted, the weight found (at most the query's total),
    and the query's total."""
    count = np.floor(values / PARTS_UNIT)
    return count, np.minimum(values - count * PARTS_UNIT, query_total), query_total


def _usable(
    found: sparse.csr_matrix, total: np.ndarray, index: WatchlistIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Per value of found.data: may it be ranked, and does it count two parts or more?
    Ranked: enough of the query found, or a list name of two parts or more found whole,
    its parts allowing variant spellings (a short alias inside a long query: "Ali Omar" in
    "Moussa ben Omar ben Ali Essaadi", "Ahmad Hasan" in "Al-Baydi Ahmad Hassan Kaka"). The
    list name's weight is read only where the share falls short.

    _decoded's numbers, in as few arrays of the product's size as can be (each is new
    memory, millions of values a chunk): min(weight, total) >= share * total is weight >=
    share * total, as share * total is at most the total."""
    count = np.floor(found.data / PARTS_UNIT)
    weight = np.multiply(count, PARTS_UNIT)
    np.subtract(found.data, weight, out=weight)  # found.data - count * PARTS_UNIT
    per_row = np.diff(found.indptr)
    usable = weight >= np.repeat(config.MIN_BLOCKING_SCORE * total, per_row)
    maybe_whole = np.flatnonzero(~usable & (count >= 2))
    rows = np.searchsorted(found.indptr, maybe_whole, side="right") - 1
    matched = np.minimum(weight[maybe_whole], total[rows])
    usable[maybe_whole] = matched >= (
        config.WHOLE_NAME_BLOCK_SHARE * index.name_weights[found.indices[maybe_whole]]
    )
    return usable, count >= 2


def _group_sizes(keys: np.ndarray) -> np.ndarray:
    """Per element of sorted keys: how many elements share its key."""
    group = np.cumsum(_starts(keys)) - 1
    return np.bincount(group)[group]


def _loss(
    q_loss: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray, index: WatchlistIndex
) -> np.ndarray:
    """Per (query row, name col): q_loss summed over the name's tokens."""
    name_tokens = index.derived.get("blocking.name_tokens")
    if name_tokens is None:
        name_tokens = index.derived["blocking.name_tokens"] = index.token_names.T.tocsr()
    return np.asarray(q_loss[rows].multiply(name_tokens[cols]).sum(axis=1)).ravel()


# Ranks (0-1.5) are compared in steps of 1.5 / 2**RANK_BITS (about 1e-7), the same in
# every batch, so a query ranks its candidates alike alone and in a chunk.
RANK_BITS = 24


def _ranked(rows: np.ndarray, group: np.ndarray, rank: np.ndarray, max_group: int) -> np.ndarray:
    """The order by query, then group, then rank descending (ties by position): one integer
    argsort on a packed key, several times faster than a lexsort over floats."""
    descending = np.round((1.0 - np.clip(rank, 0.0, 1.5) / 1.5) * ((1 << RANK_BITS) - 1))
    row_bits = int(rows.max(initial=0)).bit_length()
    group_bits = max_group.bit_length()
    if row_bits + group_bits + RANK_BITS > 63:  # a huge chunk: the general, slower sort
        return np.lexsort((descending, group, rows))
    key = (rows.astype(np.int64) << (group_bits + RANK_BITS)) | (
        group.astype(np.int64) << RANK_BITS
    )
    return np.argsort(key | descending.astype(np.int64), kind="stable")


def _entry_positions(rows: np.ndarray, entry: np.ndarray, max_entry: int) -> np.ndarray:
    """Per name (rows sorted, each query's names best first): the place of its entry among
    the query's entries, in the order of their best names (0, 1, 2 ...)."""
    if rows.size == 0:
        return rows
    at = np.arange(rows.size)
    # Each name's entry's best name: the first of its (query, entry) group in a stable sort.
    by_entry = np.argsort(rows * (max_entry + 1) + entry, kind="stable")
    best = np.empty_like(at)
    best[by_entry] = by_entry[_group_firsts(rows[by_entry] * (max_entry + 1) + entry[by_entry])]
    is_best = best == at
    # Entries met so far, counted from each query's first name.
    met = np.cumsum(is_best)
    row_start = np.maximum.accumulate(np.where(_starts(rows), at, 0))
    return met[best] - met[row_start] + is_best[row_start] - 1


def _group_firsts(keys: np.ndarray) -> np.ndarray:
    """Per element of sorted keys: the index of the first element with its key."""
    return np.maximum.accumulate(np.where(_starts(keys), np.arange(keys.size), 0))


def _starts(keys: np.ndarray) -> np.ndarray:
    """Per element of sorted keys: does a run of equal keys start there?"""
    starts = np.empty(keys.size, dtype=bool)
    starts[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=starts[1:])
    return starts


def _position_in_group(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal keys (keys sorted): linear, no search."""
    return np.arange(keys.size) - _group_firsts(keys)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"qid": pl.Int64, "name_id": pl.Int64, "block_score": pl.Float64})


def _query_weights(parts: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """qid, token, weight: list rarity where the token is listed, else 1 (generic words
    less); an unlisted token that is list words run together weighs what they weigh, so
    that the names holding all of them rank first; an unlisted token written with few
    vowels, what the commonest list token with its consonants weighs (vowel_poor_weight)
    (Python, for the few such tokens)."""
    weights = join_sorted(parts, sorted_by(index, "token_weights", "token"), "token", how="left")
    long = weights.filter(
        pl.col("weight").is_null() & (pl.col("token").str.len_chars() >= config.MIN_SEGMENTED_LEN)
    )["token"].unique()
    poor = weights.filter(
        pl.col("weight").is_null() & (pl.col("token").str.len_chars() < config.MIN_SEGMENTED_LEN)
    )["token"].unique()
    poor = (
        poor.filter(poor.map_elements(vowel_poor, return_dtype=pl.Boolean)) if len(poor) else poor
    )
    weights = weights.with_columns(part_weight(pl.col("token"), pl.col("weight")).alias("weight"))
    if not poor.is_empty():
        found = pl.Series([vowel_poor_weight(t, index) for t in poor.to_list()], dtype=pl.Float64)
        weights = weights.with_columns(
            pl.col("token").replace_strict(poor, found, default=pl.col("weight")).alias("weight")
        )
    if not long.is_empty():
        found = pl.Series([segmented_weight(t, index) for t in long.to_list()], dtype=pl.Float64)
        weights = weights.with_columns(
            pl.col("token").replace_strict(long, found, default=pl.col("weight")).alias("weight")
        )
    return weights.unique(["qid", "token"])


def vowel_poor_weight(token: str, index: WatchlistIndex) -> float:
    """An unlisted token written with few vowels ("mhmd", as Arabic writes Muhammad): the
    weight of the commonest list token with its consonants ("muhammad"), which it stands
    for; 1 where no list token has them. Weighed 1, as a rare part, it would fill the
    query's candidate places with every name holding any spelling of that common name."""
    table = index.derived.get("blocking.consonant_weights")
    if table is None:
        table = index.derived["blocking.consonant_weights"] = _consonant_weights(index)
    return min(table.get(consonants(token), 1.0), 1.0)


def _consonant_weights(index: WatchlistIndex) -> dict[str, float]:
    """consonants -> the lowest rarity weight of the list tokens with them (once per index,
    from the snapshot's token weights, which a reverse view shares)."""
    weights = index.token_weights
    letters = pl.Series([consonants(token) for token in weights["token"].to_list()], dtype=pl.Utf8)
    table = (
        weights.with_columns(letters.alias("consonants"))
        .filter(pl.col("consonants").str.len_chars() >= 2)
        .group_by("consonants")
        .agg(pl.col("weight").min())
    )
    return dict(table.iter_rows())


def segmented_weight(token: str, index: WatchlistIndex) -> float:
    """An unlisted token's blocking weight: 1, or the weights of the list words it is made
    of (segment)."""
    words = segments_of(token, index)
    if not words:
        return 1.0
    weights = index.derived.get("blocking.weights")
    if weights is None:
        weights = index.derived["blocking.weights"] = dict(index.token_weights.iter_rows())
    return sum(part_weight_one(word, weights.get(word)) for word in words)


def cached_token_map(tokens: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """token (distinct) -> token, token_id, sim, abjad_only: each query token's similar
    list tokens. Tokens seen in an earlier chunk come from the index's cache (a book
    repeats its names a lot). Public: reverse screening's fallback bar (fallback_bar.py)
    reads the same maps."""
    cache = index.token_cache
    unknown = tokens.filter(~cache.known(tokens["token"]))
    if not unknown.is_empty():
        cache.add(map_tokens(unknown, index), config.MAX_CACHED_TOKEN_LINKS)
    mapped = cache.find(tokens)
    return mapped.filter(pl.col("token_id") >= 0).select("token", "token_id", "sim", "abjad_only")


def map_tokens(tokens: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """token, token_id, sim, abjad_only for new tokens: first through the cheap keys; tokens with no
    neighbour then through two-deletion keys and as two joined words; unlisted tokens also
    to the list tokens two typing errors off (retyped_links). (Splitting every unlisted
    token too would find "epicf" / "EP-ICF" beside its neighbour "epic", but
    splits most unlisted words into two short listed ones: 12% more pairs to score.) A
    token that maps to nothing gets a row with token_id -1, so the cache remembers it.
    Public: reverse screening (reverse.view_token_links) maps the tokens it cannot decide
    alone with this very function, so that both ways map a token alike."""
    mapped = _linked(tokens, blocking_keys(tokens), index)
    lonely = tokens.join(mapped, on="token", how="anti")
    if not lonely.is_empty():
        mapped = pl.concat(
            [
                mapped,
                _linked(lonely, blocking_keys(lonely, query=True), index),
                _split_joined(lonely, index),
            ],
            how="diagonal_relaxed",
        ).unique(["token", "token_id"])
    # A split's links (whole words) come first: they outrank the weak link to a half.
    mapped = pl.concat(
        [_joined_name(tokens, mapped, index), mapped], how="diagonal_relaxed"
    ).unique(["token", "token_id"], keep="first", maintain_order=True)
    cut = cut_word_links(
        tokens.filter(~pl.col("token").is_in(index.vocab["token"].implode())), index
    )
    if not cut.is_empty():
        mapped = pl.concat([mapped, cut], how="diagonal_relaxed").unique(
            ["token", "token_id"], keep="first", maintain_order=True
        )
    # An unlisted word may be two typing errors off a list token no key reaches.
    unlisted = tokens.filter(~pl.col("token").is_in(index.vocab["token"].implode()))
    if not unlisted.is_empty():
        retyped = retyped_links(unlisted["token"].to_list(), index_table(index))
        mapped = pl.concat([mapped, retyped], how="diagonal_relaxed").unique(
            ["token", "token_id"], keep="first", maintain_order=True
        )
    nothing = tokens.join(mapped, on="token", how="anti").with_columns(
        pl.lit(-1, pl.Int64).alias("token_id"), pl.lit(0.0).alias("sim")
    )
    # abjad_only: a link for a query written in an abjad only (compare.names.abjad_only_link).
    return pl.concat([mapped, nothing], how="diagonal_relaxed").with_columns(
        pl.col("abjad_only").fill_null(False)
    )


def cut_word_links(tokens: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """token, token_id, sim: a word possibly cut short ("insu") linked to the list tokens
    it begins ("insurance"), ABBREVIATION_MIN_CUT letters longer at least, as a weak link
    (found_in_names: only beside the query's other words). A cut beginning more than
    MAX_CUT_WORD_LINKS list tokens links none. One binary search per token in the sorted
    vocabulary."""
    words = (
        tokens.select("token")
        .unique()
        .filter(
            pl.col("token").str.len_chars() >= config.MIN_CUT_WORD_LEN,
            pl.col("token").str.contains("^[a-z]+$"),
        )
    )
    if words.is_empty():
        return pl.DataFrame(schema={"token": pl.Utf8, "token_id": pl.Int64, "sim": pl.Float64})
    vocab = sorted_by(index, "vocab", "token")
    listed = vocab["token"]
    # Tokens are [a-z0-9]: every token that begins with w sorts between w and w + "{".
    start = listed.search_sorted(words["token"], side="left")
    end = listed.search_sorted(words["token"] + "{", side="left")
    ranges = words.with_columns(start.alias("start"), end.alias("end")).filter(
        (pl.col("end") > pl.col("start"))
        & (pl.col("end") - pl.col("start") <= config.MAX_CUT_WORD_LINKS)
    )
    rows = ranges.select("token", pl.int_ranges("start", "end").alias("at")).explode("at")
    return (
        rows.with_columns(
            vocab["token"].gather(rows["at"]).alias("c_token"),
            vocab["token_id"].gather(rows["at"]).cast(pl.Int64).alias("token_id"),
        )
        .filter(
            pl.col("c_token").str.len_chars()
            >= pl.col("token").str.len_chars() + config.ABBREVIATION_MIN_CUT
        )
        .select("token", "token_id", pl.lit(config.WEAK_LINK_SIM).alias("sim"))
    )


def cut_word_links_one(token: str, index: WatchlistIndex) -> dict[int, float]:
    """cut_word_links for one token: token_id -> sim."""
    if len(token) < config.MIN_CUT_WORD_LEN or not token.isalpha() or not token.isascii():
        return {}
    vocab = index.derived.get("blocking.sorted_vocab")
    if vocab is None:
        table = sorted_by(index, "vocab", "token")
        vocab = index.derived["blocking.sorted_vocab"] = (
            table["token"].to_list(),
            table["token_id"].to_list(),
        )
    listed, ids = vocab
    start, end = bisect_left(listed, token), bisect_left(listed, token + "{")
    if not 0 < end - start <= config.MAX_CUT_WORD_LINKS:
        return {}
    return {
        ids[at]: config.WEAK_LINK_SIM
        for at in range(start, end)
        if len(listed[at]) >= len(token) + config.ABBREVIATION_MIN_CUT
    }


def _linked(tokens: pl.DataFrame, keys: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    vocab = sorted_by(index, "vocab", "token_id").select("token_id", c_token="token")
    hits = (
        join_sorted(keys.select("token", "key"), sorted_by(index, "token_keys", "key"), "key")
        .select("token", "token_id")
        .unique()
        .pipe(join_sorted, vocab, "token_id")
        .rename({"token": "q_token"})
    )
    sims = token_similarity(hits.select("q_token", "c_token").unique(), list_token_features(index))
    listed = pl.col("q_token").is_in(index.token_weights["token"].implode())
    sims = sims.with_columns(
        linked_similarity(sims, listed), abjad_only_link(sims, listed).alias("abjad_only")
    )
    return (
        hits.join(sims, on=["q_token", "c_token"])
        .filter(pl.col("sim") >= config.MIN_TOKEN_SIM)
        .select(pl.col("q_token").alias("token"), "token_id", "sim", "abjad_only")
    )


def segment(token: str, vocab: frozenset[str]) -> list[str]:
    """A long token as the fewest words of `vocab` that written together make it
    ("maronderamapleleaffarm" -> marondera maple leaf farm), at least three of them (two
    are _split_joined's), at most MAX_SEGMENTS; [] if none."""
    if len(token) < config.MIN_SEGMENTED_LEN:
        return []
    # Fewest words spelling token[:end], and where the last of them starts.
    fewest = [0] + [config.MAX_SEGMENTS + 1] * len(token)
    start_of = [0] * (len(token) + 1)
    for end in range(2, len(token) + 1):
        for start in range(end - 1):
            if fewest[start] < fewest[end] - 1 and token[start:end] in vocab:
                fewest[end], start_of[end] = fewest[start] + 1, start
    if not 3 <= fewest[-1] <= config.MAX_SEGMENTS:
        return []
    words, end = [], len(token)
    while end:
        words.append(token[start_of[end] : end])
        end = start_of[end]
    return words[::-1]


# Words a name run together holds that no list token is: the links of names, and the words
# of legal forms (which normalisation writes as one token).
_JOINING_WORDS = frozenset({"of", "in", "de", "al", "el", "la", "and", "the", "for"}) | frozenset(
    word for phrases in LEGAL_PHRASES.values() for p in phrases for word in p.split()
    if word.isalpha() and len(word) >= config.MIN_SEGMENT_LEN
)  # fmt: skip


def list_words(index: WatchlistIndex) -> frozenset[str]:
    """The words segment() may cut a token into: list tokens of MIN_SEGMENT_LEN+ letters and
    _JOINING_WORDS, made once per index."""
    words = index.derived.get("blocking.list_words")
    if words is None:
        listed = index.vocab.filter(pl.col("token").str.len_chars() >= config.MIN_SEGMENT_LEN)
        words = frozenset(listed["token"]) | _JOINING_WORDS
        index.derived["blocking.list_words"] = words
    return words


def _segment_parts(weights: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """qid, token, weight, parts: the list words an unlisted long query token is made of
    (segments_of: a company name written without spaces), each a part of its own with its
    own weight. A name holding all of them is found with the whole token's weight; one
    holding one of them, with that word's share only (linking the token to each word at
    full weight made every name with "yuan" a candidate for "xinchengzhiyuanchuanmei")."""
    long = weights.filter(
        pl.col("token").str.len_chars() >= config.MIN_SEGMENTED_LEN,
        ~pl.col("token").is_in(index.vocab["token"].implode()),
    ).select("qid", "token")
    found = [(token, word) for token in long["token"].unique().to_list()
             for word in segments_of(token, index)]  # fmt: skip
    words = pl.DataFrame(found, schema={"whole": pl.Utf8, "token": pl.Utf8}, orient="row")
    listed = sorted_by(index, "token_weights", "token")
    return (
        long.rename({"token": "whole"})
        .join(words, on="whole")
        .pipe(join_sorted, listed, "token")
        .select(
            "qid",
            "token",
            part_weight(pl.col("token"), pl.col("weight")).alias("weight"),
        )
        .with_columns((PARTS_UNIT * (pl.col("weight") >= config.STRONG_PART_WEIGHT)).alias("parts"))
        .unique(["qid", "token"])
    )


def segments_of(token: str, index: WatchlistIndex) -> list[str]:
    """segment() of a token against the list words, remembered per token in the index."""
    remembered = index.derived.setdefault("blocking.segments", {})
    words = remembered.get(token)
    if words is None:
        if len(remembered) >= config.MAX_REMEMBERED_SEGMENTS:
            remembered.clear()
        words = remembered[token] = segment(token, list_words(index))
    return words


def _joined_name(tokens: pl.DataFrame, mapped: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """token, token_id, sim: an unlisted long token whose closest list token is far
    (JOINED_NAME_BEST_SIM), tried as two list words of MIN_JOINED_HALF_LEN+ letters run
    together ("plysheuskiihar": a given name run into the family name). Two common halves
    ("andreinikolaevich") count too: they find their names as a token pair."""
    best = mapped.group_by("token").agg(pl.col("sim").max().alias("best"))
    far = (
        tokens.select("token")
        .join(best, on="token", how="left")
        .filter(
            pl.col("token").str.len_chars() >= config.MIN_JOINED_NAME_LEN,
            pl.col("best").fill_null(0.0) < config.JOINED_NAME_BEST_SIM,
            ~pl.col("token").is_in(index.vocab["token"].implode()),
        )
    )
    return _split_joined(far.select("token"), index, config.MIN_JOINED_HALF_LEN, rare_half=False)


def _split_joined(
    tokens: pl.DataFrame, index: WatchlistIndex, min_half: int = 2, rare_half: bool = True
) -> pl.DataFrame:
    """A token matching nothing, tried as two list words run together ("vladimirputin"),
    each at least min_half letters long, one of them rare enough to block on alone if
    rare_half (else two common halves find their names as a token pair)."""
    length = pl.col("token").str.len_chars()
    vocab = index.vocab.select("token", "token_id", "blocking")
    halves = (
        tokens.filter(length >= 2 * min_half)
        .select("token", pl.int_ranges(min_half, length - min_half + 1).alias("cut"))
        .explode("cut")
        .drop_nulls("cut")
        .with_columns(
            pl.col("token").str.slice(0, pl.col("cut")).alias("left"),
            pl.col("token").str.slice(pl.col("cut")).alias("right"),
        )
        .join(vocab.rename({"token": "left", "token_id": "left_id", "blocking": "b1"}), on="left")
        .join(
            vocab.rename({"token": "right", "token_id": "right_id", "blocking": "b2"}), on="right"
        )
        .filter(pl.col("b1") | pl.col("b2") | (not rare_half))
    )
    return pl.concat(
        [
            halves.select("token", pl.col("left_id").alias("token_id")),
            halves.select("token", pl.col("right_id").alias("token_id")),
        ]
    ).with_columns(pl.col("token_id").cast(pl.Int64), pl.lit(1.0).alias("sim"))


def _pair_hits(
    mapped: sparse.csr_matrix,
    index: WatchlistIndex,
    n_queries: int,
    retyped: sparse.csr_matrix | None = None,
) -> sparse.csr_matrix:
    """Names holding two list tokens the query maps to, one of them too common to block on
    alone ("muhammad ali"), valued by the two tokens' weights found. retyped: the list
    tokens linked two typing errors off (retyped_links), a pair's token only beside a firm
    one and with a rare token in the pair: "Pavlov Adneri" finds "PAVLOV, Andrei" (Andrei
    too common to block on, Pavlov found alone but as one part), "Mohammad Gaxuhi" finds
    "Mohammad GACHI"; two common tokens ("Mohammad Hassw" / every "Muhammad Hassan") are
    too little evidence for the names they would bring in."""
    shape = (n_queries, index.names.height)
    is_common = ~index.vocab["blocking"].to_numpy()

    # Tokens by number (token_id, the vocabulary's row): a pair is found by one integer,
    # not by a string made and joined per pair (hundreds of thousands a chunk).
    def linked(matrix: sparse.csr_matrix | None) -> pl.DataFrame:
        coo = (matrix if matrix is not None else sparse.csr_matrix((n_queries, 0))).tocoo()
        return pl.DataFrame(
            {
                "qid": coo.row.astype(np.int64),
                "token": coo.col.astype(np.int64),
                "value": coo.data.astype(np.float64),
                "common": is_common[coo.col],
            }
        )

    firm, typed = linked(mapped), linked(retyped)
    common = pl.col("common")
    firm_common = firm.filter(common)
    if index.pair_ids.is_empty() or (firm_common.is_empty() and typed.is_empty()):
        return sparse.csr_matrix(shape, dtype=np.float64)
    # The first token of a pair is common; a retyped link pairs only with a firm link,
    # one of the two rare: three joins, each no larger than it must be.
    joined = [firm_common.join(firm, on="qid", suffix="_b")]
    if not typed.is_empty():
        joined += [
            typed.filter(common).join(firm.filter(~common), on="qid", suffix="_b"),
            firm_common.join(typed.filter(~common), on="qid", suffix="_b"),
        ]
    pairs = (
        pl.concat(joined)
        .filter(pl.col("token") != pl.col("token_b"))
        .select(
            "qid",
            pair_key(pl.col("token"), pl.col("token_b"), index.vocab.height),
            (2 * PARTS_UNIT + pl.col("value") + pl.col("value_b")).alias("weight"),
        )
        .pipe(join_sorted, pair_numbers(index), "pair_key")
    )
    if pairs.is_empty():
        return sparse.csr_matrix(shape, dtype=np.float64)
    q_pairs = _matrix(pairs, "qid", "pair_id", "weight", (n_queries, index.pair_ids.height))
    return counted_once((q_pairs @ index.pair_names).tocsr())


def pair_numbers(index: WatchlistIndex) -> pl.DataFrame:
    """pair_key, pair_id: index.pair_ids keyed by its two tokens' numbers (pair_key),
    sorted by the key; made once per index."""
    numbers = index.derived.get("blocking.pair_numbers")
    if numbers is None:
        ids = index.vocab.select("token", "token_id")
        halves = index.pair_ids.select(
            pl.col("pair").str.split_exact(" ", 1).struct.rename_fields(["a", "b"]), "pair_id"
        ).unnest("pair")
        numbered = halves.join(ids.rename({"token": "a", "token_id": "id_a"}), on="a").join(
            ids.rename({"token": "b", "token_id": "id_b"}), on="b"
        )
        numbers = index.derived["blocking.pair_numbers"] = numbered.select(
            pair_key(pl.col("id_a"), pl.col("id_b"), index.vocab.height), "pair_id"
        ).sort("pair_key")
    return numbers


def pair_key(a: pl.Expr, b: pl.Expr, n_vocab: int) -> pl.Expr:
    """One int64 per unordered pair of token numbers: the smaller times the vocabulary
    size plus the larger."""
    return (
        pl.min_horizontal(a, b).cast(pl.Int64) * n_vocab + pl.max_horizontal(a, b).cast(pl.Int64)
    ).alias("pair_key")


def counted_once(hits: sparse.csr_matrix) -> sparse.csr_matrix:
    """Pair hits per name with each token counted once. A name holding k of the query's
    tokens is hit by up to k(k-1)/2 pairs, and their sum counts every token k-1 times:
    "Ansar al-Sharia in Darnah" would outrank "Ansar al-Sharia Brigade in Darnah" for the
    query "Ansar al-Sharia Brigade Darnah", and names of common parts would crowd out the
    rest. k comes back from the number of pairs, and the weight found is divided by k-1."""
    n_pairs = np.floor(hits.data / PARTS_UNIT) / 2
    weight = hits.data - 2 * PARTS_UNIT * n_pairs
    parts = (1 + np.sqrt(1 + 8 * n_pairs)) / 2
    hits.data = PARTS_UNIT * np.floor(parts + 1e-9) + weight / (parts - 1)
    return hits


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
