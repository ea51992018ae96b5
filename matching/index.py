"""build_index: everything screening needs from one watchlist snapshot, prepared once.

The watchlist is any object with the seven Polars frames of the common schema (entries,
names, birth_dates, birth_places, nationalities, identifiers, addresses). The index holds:
- names: one row per list name, normalised tokens, its entry;
- entries: per entry the qualifiers (birth dates, nationalities, type) and match_data;
- token rarity weights; the token vocabulary with blocking keys (the token, its one-deletion
  neighbourhood, phonetic and skeleton keys);
- sparse incidence matrices token -> names and token pair -> names for blocking;
- identifiers, normalised (upper-case, non-alphanumerics stripped).
Callers cache it per snapshot version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.compare.syllables import KEY_COLUMNS as SYLLABLE_KEYS
from matching.compare.syllables import name_keys as syllable_name_keys
from matching.lookup import INDEX_LOOKUPS, sorted_by
from matching.normalize import (
    EAST_SLAVIC_GROUPS,
    GENERIC_SERIES,
    SPELLINGS,
    consonants,
    keys_of,
    matres_key,
    normalize_names,
    token_keys,
    vowel_poor,
)
from matching.token_links import TokenLinks


@dataclass
class WatchlistIndex:
    names: pl.DataFrame  # name_id, entity_id, list_code, name, tokens, transliterated
    name_weights: np.ndarray  # per name_id: the rarity weight of all its tokens
    name_entries: np.ndarray  # per name_id: an integer code of its entry
    name_lists: np.ndarray  # per name_id: the position of its list in list_codes
    entries: pl.DataFrame  # entity_id, list_code, entity_type, programs, birth_dates, ...
    token_weights: pl.DataFrame  # token, weight
    vocab: pl.DataFrame  # token, token_id, df, blocking (df small enough to block on)
    token_keys: pl.DataFrame  # key, token_id: every blocking key of every list token
    token_names: sparse.csr_matrix  # token_id x name_id, 1 where the name has the token
    pair_ids: pl.DataFrame  # pair ("a b", sorted token pair), pair_id
    name_keys: pl.DataFrame  # key (the name's tokens sorted), name_id
    # key (Korean or Chinese syllables folded, as given or family name moved), name_id
    syllable_keys: pl.DataFrame
    pair_names: sparse.csr_matrix  # pair id x name_id
    identifiers: pl.DataFrame  # value_key, entity_id, id_type, value
    list_codes: list[str]
    # Query token -> similar list tokens, filled as chunks are screened (token, token_id,
    # sim; token_id -1 = no neighbour). A cache only: losing it costs time, not results.
    token_cache: TokenLinks = field(default_factory=TokenLinks)
    # Tables above sorted by a key, made on first use: joins by binary search (lookup.py).
    lookups: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict, repr=False)
    # Views that other modules make of the index on first use, by name (the one-entity
    # path's Python tables: one_entity.tables). A cache only, like the two above.
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return self.names.height


def name_key(tokens: pl.Expr) -> pl.Expr:
    """A name's parts sorted and joined without spaces: equal for the same parts in any
    order, and for most words split at another place ("A-Lid" / "Al-Id")."""
    return tokens.list.eval(pl.element().sort()).list.join("")  # list.sort() is far slower


def name_key_one(tokens: list[str]) -> str:
    """name_key for one name."""
    return "".join(sorted(tokens))


# What an identifier value loses before comparison (after upper-casing).
NOT_IN_IDENTIFIER = r"[^0-9A-Z]"


def normalize_identifier(expr: pl.Expr) -> pl.Expr:
    """Identifier values compared value-first: upper-case, only letters and digits."""
    return expr.str.to_uppercase().str.replace_all(NOT_IN_IDENTIFIER, "")


def build_index(watchlist: object) -> WatchlistIndex:
    """Prepare a snapshot for screening (seconds for ~60,000 names)."""
    entity_id = (pl.col("list_code") + "-" + pl.col("entry_id")).alias("entity_id")
    raw = watchlist.names.select(entity_id, "list_code", "name", "kind").filter(
        pl.col("name").is_not_null()
    )
    normalized = normalize_names(raw["name"])
    names = (
        raw.join(normalized, on="name", how="left")
        .filter(pl.col("tokens").list.len() > 0)
        .unique(["entity_id", "tokens"], keep="first", maintain_order=True)
        .with_row_index("name_id")
        .with_columns(pl.col("name_id").cast(pl.Int64))
    )
    vocab = _vocab(names)
    weights = vocab.select("token", "weight")
    keys = _token_keys(vocab)
    token_names = _token_names(names, vocab)
    pair_ids, pair_names = _pair_names(names)
    list_codes = sorted(names["list_code"].unique().to_list())
    name_weights = (
        names.select("name_id", pl.col("tokens").alias("token"))
        .explode("token")
        .join(weights, on="token", how="left")
        .group_by("name_id")
        .agg(pl.col("weight").sum())
        .sort("name_id")
    )
    index = WatchlistIndex(
        names=names.select(
            "name_id", "entity_id", "list_code", "name", "tokens", "repeated", "transliterated"
        ),
        name_weights=name_weights["weight"].to_numpy(),
        name_entries=names["entity_id"].rank("dense").cast(pl.Int64).to_numpy(),
        name_lists=names["list_code"]
        .replace_strict(list_codes, list(range(len(list_codes))), return_dtype=pl.Int64)
        .to_numpy(),
        entries=_entries(watchlist, entity_id),
        token_weights=weights,
        vocab=vocab,
        token_keys=keys,
        token_names=token_names,
        pair_ids=pair_ids,
        name_keys=names.select(name_key(pl.col("tokens")).alias("key"), "name_id"),
        syllable_keys=_syllable_keys(names),
        pair_names=pair_names,
        identifiers=_identifiers(watchlist, entity_id),
        list_codes=list_codes,
    )
    # The sorted tables every screen joins by binary search, made with the index rather
    # than by the first screen after a refresh (a second of a rescreen, a first single
    # check's latency).
    for table, key in INDEX_LOOKUPS:
        sorted_by(index, table, key)
    return index


def _vocab(names: pl.DataFrame) -> pl.DataFrame:
    """Every list token with its document frequency (names containing it) and rarity weight."""
    n_names = max(names.height, 2)
    top = math.log(n_names / config.RARE_TOKEN_DF)
    rarity = (pl.lit(n_names) / pl.col("df")).log() / top
    return (
        names.select(pl.col("tokens").alias("token"))
        .explode("token")
        .group_by("token")
        .agg(pl.len().alias("df"))
        .sort("token")
        .with_row_index("token_id")
        .with_columns(
            pl.col("token_id").cast(pl.Int64),
            pl.when(pl.col("token").is_in(GENERIC_SERIES.implode()))
            .then(config.GENERIC_TOKEN_WEIGHT)
            .otherwise(rarity.clip(config.MIN_TOKEN_WEIGHT, 1.0))
            .alias("weight"),
            (pl.col("df") <= config.MAX_BLOCKING_DF).alias("blocking"),
        )
    )


def _deletions(frame: pl.DataFrame, min_length: int) -> pl.DataFrame:
    """token, base -> token, base with one more letter deleted (every position)."""
    length = pl.col("base").str.len_chars()
    return (
        frame.filter(length >= min_length)
        .with_columns(pl.int_ranges(0, length).alias("cut"))
        .explode("cut")
        .select(
            "token",
            (pl.col("base").str.slice(0, pl.col("cut"))
             + pl.col("base").str.slice(pl.col("cut") + 1)).alias("base"),
        )
    )  # fmt: skip


_SLAVIC_FROM = list(EAST_SLAVIC_GROUPS)
_SLAVIC_TO = list(EAST_SLAVIC_GROUPS.values())


def blocking_keys(
    tokens: pl.DataFrame, *, query: bool = False, listed: bool = False
) -> pl.DataFrame:
    """token (+ any columns) -> token, key: the exact token, its deletion neighbourhood
    (one deletion; a second one on the query side for long tokens, so list d1 x query d2
    meet across up to three edits), the phonetic and romanisation keys, the consonant
    skeleton, a stem, and the consonants (doubled letters once): every list token's
    (listed), a query token's only when it is written with few vowels (vowel_poor), as a
    script without short vowels writes names ("mhmd" / "muhammad", "jfr" / "jafar"); and
    the long-vowel-letter key (normalize.matres_key: "thrut" / "tharwat", "abidi" /
    "ubaydi"), a list token's where it writes a long vowel, a query token's where it is
    spelt with a, i and u only, as an abjad reads.
    listed: the list side's keys (the index's), with the two-deletion neighbourhood of long
    tokens that query=True keys meet."""
    keyed = tokens.select("token").unique().join(token_keys(tokens["token"]), on="token")
    length = pl.col("token").str.len_chars()
    distinct = keyed["token"].to_list()
    keyed = keyed.with_columns(
        pl.Series("consonants", [consonants(token) for token in distinct], dtype=pl.Utf8),
        pl.Series("vowel_poor", [vowel_poor(token) for token in distinct], dtype=pl.Boolean),
        pl.Series("matres", [matres_key(token, listed) for token in distinct], dtype=pl.Utf8),
    )
    has_consonants = (pl.col("consonants").str.len_chars() >= 2) & ~pl.col("token").str.contains(
        r"\d"
    )
    with_consonant_key = pl.col("vowel_poor") | (pl.lit(listed) & has_consonants)
    one = _deletions(
        keyed.select("token", pl.col("token").alias("base")), config.MIN_DELETION_KEY_LEN
    )
    neighbourhood = [one]
    if query:
        two = _deletions(
            one.filter(pl.col("base").str.len_chars() >= config.MIN_DOUBLE_DELETION_LEN - 1),
            config.MIN_DOUBLE_DELETION_LEN - 1,
        )
        neighbourhood.append(two)
    deletions = pl.concat(neighbourhood).select("token", ("d:" + pl.col("base")).alias("key"))
    # Two typing errors in one long word ("Sacvhneko" / "Savchenko"): the list token's
    # two-deletion neighbourhood against the query's own, one- and two-deletion ones (the
    # query's "d:" keys), under their own prefix so that only the tokens looked up with
    # query=True (those with no closer neighbour) meet them.
    two_errors = keyed.select("token", pl.lit("").alias("key")).clear()
    if query:
        two_errors = (
            pl.concat([keyed.select("token", pl.col("token").alias("key")), deletions])
            .filter(pl.col("token").str.len_chars() >= config.MIN_TWO_ERROR_QUERY_LEN)
            .select("token", ("e:" + pl.col("key").str.replace(r"^d:", "")).alias("key"))
        )
    elif listed:
        two_errors = _deletions(
            one.filter(pl.col("base").str.len_chars() >= config.MIN_TWO_ERROR_LIST_LEN - 1),
            config.MIN_TWO_ERROR_LIST_LEN - 1,
        ).select("token", ("e:" + pl.col("base")).alias("key"))
    return pl.concat(
        [
            keyed.select("token", ("d:" + pl.col("token")).alias("key")),
            deletions,
            two_errors,
            keyed.select("token", ("p:" + pl.col("phonetic")).alias("key")),
            # Another romanisation system's spelling ("Werchnjaja" / "Verkhnyaya").
            keyed.filter(length >= config.MIN_FUZZY_TOKEN_LEN).select(
                "token", ("r:" + pl.col("roman")).alias("key")
            ),
            keyed.filter(pl.col("skeleton").str.len_chars() >= config.MIN_SKELETON_LEN).select(
                "token", ("s:" + pl.col("skeleton")).alias("key")
            ),
            # Tokens too short for deletion keys: swapped or doubled letters ("YK-TAD" /
            # "YK-ATD", "Yyu" / "Yu"), the typos scoring accepts in them.
            *[
                keyed.filter((length >= 2) & (length < config.MIN_DELETION_KEY_LEN)).select(
                    "token", (prefix + pl.col(column)).alias("key")
                )
                for prefix, column in (("l:", "letters"), ("q:", "squeezed"))
            ],
            # A stem: inflected and suffixed forms (Putinas, Putina) meet their base.
            keyed.filter(length >= config.STEM_KEY_LEN).select(
                "token", ("x:" + pl.col("token").str.slice(0, config.STEM_KEY_LEN)).alias("key")
            ),
            keyed.filter(with_consonant_key).select(
                "token", ("c:" + pl.col("consonants")).alias("key")
            ),
            keyed.filter(pl.col("matres").is_not_null()).select(
                "token", ("m:" + pl.col("matres")).alias("key")
            ),
            # One name in its Russian, Ukrainian and Belarusian forms ("Uladzimir" /
            # "Vladimir", "Yevhen" / "Yevgeny"): the same key on both sides.
            keyed.select(
                "token",
                (
                    "n:" + pl.col("token").replace_strict(_SLAVIC_FROM, _SLAVIC_TO, default=None)
                ).alias("key"),
            ).drop_nulls("key"),
        ]
    ).unique()


def blocking_keys_one(token: str, *, query: bool = False) -> set[str]:
    """blocking_keys for one token, in plain Python (the one-entity path's twin)."""
    phonetic, skeleton, _, squeezed, letters, roman = keys_of(token)
    one = _deletions_one({token}, config.MIN_DELETION_KEY_LEN)
    deleted = one
    if query:
        deleted = one | _deletions_one(
            {base for base in one if len(base) >= config.MIN_DOUBLE_DELETION_LEN - 1},
            config.MIN_DOUBLE_DELETION_LEN - 1,
        )
    keys = {f"d:{token}", f"p:{phonetic}", *(f"d:{base}" for base in deleted)}
    if query and len(token) >= config.MIN_TWO_ERROR_QUERY_LEN:
        keys |= {f"e:{token}", *(f"e:{base}" for base in deleted)}
    if 2 <= len(token) < config.MIN_DELETION_KEY_LEN:
        keys |= {f"l:{letters}", f"q:{squeezed}"}
    if len(token) >= config.MIN_FUZZY_TOKEN_LEN:
        keys.add(f"r:{roman}")
    if len(skeleton) >= config.MIN_SKELETON_LEN:
        keys.add(f"s:{skeleton}")
    if len(token) >= config.STEM_KEY_LEN:
        keys.add(f"x:{token[: config.STEM_KEY_LEN]}")
    if vowel_poor(token):
        keys.add(f"c:{consonants(token)}")
    if (matres := matres_key(token, listed=False)) is not None:
        keys.add(f"m:{matres}")
    if (group := EAST_SLAVIC_GROUPS.get(token)) is not None:
        keys.add(f"n:{group}")
    return keys


def _deletions_one(bases: set[str], min_length: int) -> set[str]:
    return {
        base[:cut] + base[cut + 1 :]
        for base in bases
        if len(base) >= min_length
        for cut in range(len(base))
    }


def _token_keys(vocab: pl.DataFrame) -> pl.DataFrame:
    """Keys of every list token: common ones too (they block in pairs, not alone). A
    canonical name part also has the keys of each spelling it stands for: a typo of
    "Mohammad" ("Moammad") must find the list's "muhammad"."""
    spelt = pl.DataFrame(
        [
            (spelling, canonical)
            for canonical, spellings in SPELLINGS.items()
            for spelling in spellings
        ],
        schema={"token": pl.Utf8, "canonical": pl.Utf8},
        orient="row",
    ).join(vocab.select(pl.col("token").alias("canonical"), "token_id"), on="canonical")
    return (
        pl.concat(
            [
                blocking_keys(vocab, listed=True).join(
                    vocab.select("token", "token_id"), on="token"
                ),
                blocking_keys(spelt, listed=True).join(
                    spelt.select("token", "token_id"), on="token"
                ),
            ],
            how="diagonal",
        )
        .select("key", "token_id")
        .unique(maintain_order=True)
    )


def _syllable_keys(names: pl.DataFrame) -> pl.DataFrame:
    """key, name_id: each syllable name's folded keys (compare/syllables.py), both orders,
    as written and read as Wade-Giles."""
    keys = syllable_name_keys(names["tokens"], names["repeated"]).with_columns(names["name_id"])
    return (
        pl.concat([keys.select(key=column, name_id="name_id") for column in SYLLABLE_KEYS])
        .drop_nulls("key")
        .unique()
    )


def _token_names(names: pl.DataFrame, vocab: pl.DataFrame) -> sparse.csr_matrix:
    pairs = (
        names.select("name_id", pl.col("tokens").alias("token"))
        .explode("token")
        .join(vocab.filter(pl.col("blocking")).select("token", "token_id"), on="token")
    )
    ones = np.ones(pairs.height, dtype=np.float32)
    shape = (vocab.height, names.height)
    matrix = sparse.csr_matrix(
        (ones, (pairs["token_id"].to_numpy(), pairs["name_id"].to_numpy())), shape=shape
    )
    matrix.data[:] = 1.0
    return matrix


def token_pairs(frame: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """id, tokens -> id, pair: every sorted pair of distinct tokens among the first six."""
    parts = (
        frame.select(id_column, pl.col("tokens").list.head(6).alias("a"))
        .with_columns(pl.col("a").alias("b"))
        .explode("a")
        .explode("b")
        .filter(pl.col("a") < pl.col("b"))
    )
    return parts.select(id_column, (pl.col("a") + " " + pl.col("b")).alias("pair"))


def _pair_names(names: pl.DataFrame) -> tuple[pl.DataFrame, sparse.csr_matrix]:
    pairs = token_pairs(names, "name_id").unique()
    counts = pairs.group_by("pair").agg(pl.len().alias("n"))
    kept = counts.filter(pl.col("n") <= config.MAX_PAIR_DF).sort("pair").with_row_index("pair_id")
    pairs = pairs.join(kept.select("pair", pl.col("pair_id").cast(pl.Int64)), on="pair")
    ones = np.ones(pairs.height, dtype=np.float32)
    matrix = sparse.csr_matrix(
        (ones, (pairs["pair_id"].to_numpy(), pairs["name_id"].to_numpy())),
        shape=(kept.height, names.height),
    )
    return kept.select("pair", pl.col("pair_id").cast(pl.Int64)), matrix


def _identifiers(watchlist: object, entity_id: pl.Expr) -> pl.DataFrame:
    return (
        watchlist.identifiers.select(
            normalize_identifier(pl.col("value")).alias("value_key"),
            entity_id,
            pl.col("id_type"),
            pl.col("value"),
        )
        .filter(pl.col("value_key").str.len_chars() >= config.MIN_IDENTIFIER_LEN)
        .unique(["value_key", "entity_id"])
    )


def _by_entry(frame: pl.DataFrame, entity_id: pl.Expr, value: pl.Expr, alias: str) -> pl.DataFrame:
    return (
        frame.select(entity_id, value.alias(alias))
        .drop_nulls(alias)
        .group_by("entity_id")
        .agg(pl.col(alias).unique(maintain_order=True))
    )


def _entries(watchlist: object, entity_id: pl.Expr) -> pl.DataFrame:
    """One row per entry: qualifiers for scoring and the match_data struct for results."""
    aliases = _by_entry(watchlist.names, entity_id, pl.col("name"), "aliases")
    births = _by_entry(watchlist.birth_dates, entity_id, pl.col("birth_date"), "birth_dates")
    nats = _by_entry(watchlist.nationalities, entity_id, pl.col("country"), "nationalities")
    addresses = _by_entry(watchlist.addresses, entity_id, pl.col("address"), "addresses")
    ids = (
        watchlist.identifiers.select(
            entity_id, pl.struct(pl.col("id_type").alias("type"), "value").alias("identifiers")
        )
        .group_by("entity_id")
        .agg("identifiers")
    )
    empty = pl.lit([], dtype=pl.List(pl.Utf8))
    entries = (
        watchlist.entries.select(
            entity_id, "list_code", "entity_type", "primary_name", "programs", "remarks"
        )
        .join(aliases, on="entity_id", how="left")
        .join(births, on="entity_id", how="left")
        .join(nats, on="entity_id", how="left")
        .join(addresses, on="entity_id", how="left")
        .join(ids, on="entity_id", how="left")
        .with_columns(
            pl.col("aliases", "birth_dates", "nationalities", "addresses").fill_null(empty),
            pl.col("programs").fill_null(empty),
            pl.col("identifiers").fill_null(
                pl.lit([], dtype=pl.List(pl.Struct({"type": pl.Utf8, "value": pl.Utf8})))
            ),
        )
    )
    match_data = pl.struct(
        pl.col("primary_name").alias("name"),
        pl.col("aliases").list.set_difference(pl.concat_list("primary_name")).alias("aliases"),
        "entity_type",
        pl.col("nationalities").alias("nationality"),
        "birth_dates",
        "identifiers",
        "addresses",
        "remarks",
    ).alias("match_data")
    return entries.select(
        "entity_id",
        "list_code",
        "entity_type",
        "programs",
        "birth_dates",
        "nationalities",
        match_data,
    )
