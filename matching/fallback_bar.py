"""Reverse screening's bar for the blocking fallback: which book entities found only through
the fallback a forward screen would not pair with the update's entries after all.

Forward blocking (blocking.select_candidates) lets a transliterated query that no list name
shares two parts with keep its best FALLBACK_CANDIDATES entries among the names sharing one
rare part. Which those are depends on every list name, so reverse blocking keeps every such
entity whose rare part links to an entry of the update, and most of them are then screened
in the entries' view for nothing: a transliterated book name's rare part is often a word
that many list names hold a spelling of.

This module proves, per entity, that three other entries outrank the update's: a forward
screen then keeps none of the update's names for it, and it need not be screened at all.

- A rival is a list name holding a token that a rare part of the entity links to firmly
  in its forward token map (blocking.cached_token_map, the same for every query, without
  the links only a query in an abjad takes), of an entry with at most NAMES_PER_ENTRY names
  (so all of them stay among the query's candidates) that is no entry of the update.
- Forward blocking finds in a rival at least that part's weight (a firm link counts the
  part's whole weight, and more links only add), so the rival ranks at least
  ``w / total + 0.5 * min(w / name weight, 1)`` (select_candidates' rank), and is kept as a
  fallback name when ``w / total`` reaches FALLBACK_MIN_BLOCK_SCORE.
- An update name ranks at most what forward blocking's own sum finds in it through the
  entity's token maps restricted to the update's tokens (reverse.view_token_links, which
  the view screen takes too), the links only an abjad query takes counted as well (the
  short-vowel links blocking adds for a name written wholly in an abjad among them).
- Three rival entries ranked strictly above every update name of the entity: forward's
  fallback keeps those three (or the entity is no fallback at all, and keeps no one-part
  name), so none of the update's names is scored for it.
- An update name that forward's sum finds less than FALLBACK_MIN_BLOCK_SCORE of the entity
  in (bounded from above as its rank is) is no fallback name at all: it needs no rival.

Entities this cannot judge keep their candidacy: those screening only some lists, those
with an unlisted token long enough to be read as words run together (its weight is then
the words', blocking.segmented_weight), and those whose update name is found whole enough
to be kept beyond the fallback's places (MAX_WHOLE_QUERY_CANDIDATES).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.blocking import PARTS_UNIT, cached_token_map, short_vowel_frame
from matching.index import WatchlistIndex

# Ranks closer than this are not told apart: select_candidates compares ranks in steps of
# 1.5 / 2**24, ties going by name order.
RANK_MARGIN = 1e-6

# Pairs whose forward sums are made at a time (_update_ranks: each pair a row of its
# entity's parts).
UPDATE_RANK_PAIRS = 1_000_000


@dataclass(frozen=True)
class BookParts:
    """What the bar reads of the book: each entity's parts (entity x book token), the book's
    tokens (b, token, w: a part's weight, encoded: its weight and distinguishing part as
    forward blocking sums them, wholly: a name written wholly in an abjad holds it) and
    each entity's total weight."""

    parts: sparse.csr_matrix
    tokens: pl.DataFrame
    total: np.ndarray


def outranked(
    fallen: pl.DataFrame,
    book: BookParts,
    judged: np.ndarray,
    index: WatchlistIndex,
    update: UpdateNames,
) -> np.ndarray:
    """Per fallback pair (fallen: ent, name (a column of the update's names), whole (found
    whole enough to be kept beyond the fallback's places) and rank, the rank reverse
    blocking found at most): is its entity one a forward screen surely keeps no update name
    for? judged: per entity, may it be judged here at all. The bars first, then the update
    names' ranks: reverse's own where they clear the bar, forward's sums (_update_ranks,
    and the shares they find) only for the entities they do not."""
    # Per pair only what must be (a large update has tens of millions of fallback pairs):
    # the frame's own int32 and float32 columns, masks, and bounds for the pairs computed.
    ent = fallen["ent"].to_numpy()
    may = judged[ent] & ~_any_per_entity(ent, fallen["whole"].to_numpy(), judged.size)
    entities = np.unique(ent[may])
    bar = np.full(judged.size, -np.inf)
    bar[entities] = _bars(entities, book, index, np.unique(index.name_entries[update.name_ids]))
    rank = fallen["rank"].to_numpy()
    reverse_best = _best_per_entity(ent[may], rank[may], judged.size)
    # Entities whose update names reverse already ranks below the bar are out; the others'
    # names are bounded by forward's own sums.
    closer = may & (reverse_best + RANK_MARGIN >= bar)[ent]
    best = np.where(reverse_best + RANK_MARGIN >= bar, -np.inf, reverse_best)
    at = np.flatnonzero(closer)
    del closer
    linked = _linked_names(np.unique(ent[at]), book, index, update)
    name = fallen["name"].to_numpy()
    for part in np.array_split(at, 1 + at.size // UPDATE_RANK_PAIRS):
        pairs = ent[part].astype(np.int64)
        share, ranks = _update_ranks(
            pairs, name[part].astype(np.int64), book, index, update, linked
        )
        # Forward's fallback keeps a name only where FALLBACK_MIN_BLOCK_SCORE of the entity
        # is found in it (select_candidates' rare_part): a name short of it takes no place
        # at all, whether or not three rivals exist.
        placed = share + RANK_MARGIN >= config.FALLBACK_MIN_BLOCK_SCORE
        np.maximum.at(best, pairs[placed], ranks[placed])
    out = np.isneginf(best) | (bar > best + RANK_MARGIN)
    return may & out[ent]


def _best_per_entity(ent: np.ndarray, rank: np.ndarray, size: int) -> np.ndarray:
    """Per entity (of ``size``): the highest rank of its pairs (-inf: none)."""
    best = np.full(size, -np.inf)
    np.maximum.at(best, ent, rank)
    return best


@dataclass(frozen=True)
class UpdateNames:
    """The update's names as the bar reads them: in_names, list token x name column (1 where
    the name holds the token, blocking tokens only); name_ids, each column's name_id; and
    links (token, token_id, sim, abjad_only): the book tokens' forward token maps
    restricted to the update's tokens (reverse.view_token_links, the view screen's own)."""

    in_names: sparse.csr_matrix
    name_ids: np.ndarray
    links: pl.DataFrame


def _any_per_entity(ent: np.ndarray, flag: np.ndarray, size: int) -> np.ndarray:
    """Per pair: does any pair of its entity have the flag?"""
    marked = np.zeros(size, dtype=bool)
    marked[ent[flag]] = True
    return marked[ent]


def _linked_names(
    entities: np.ndarray, book: BookParts, index: WatchlistIndex, update: UpdateNames
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Book token x update name column, firm and weak: how many of the name's tokens the
    book token links to (the token maps of the entities' parts, view_token_links), the
    links only a query in an abjad takes counted too (and the short-vowel links forward
    blocking adds for a name written wholly in an abjad: a link the map holds keeps its
    similarity, as there). Made once for every pair _update_ranks sums."""
    held = np.unique(book.parts[entities].indices)
    tokens = book.tokens.filter(pl.col("b").is_in(held)).select("b", "token")
    mapped = (
        update.links.filter(pl.col("token_id") >= 0)
        .join(tokens, on="token")
        .select("b", pl.col("token_id").cast(pl.Int64), "sim")
    )
    # Only the tokens of names written wholly in an abjad, and only to the update's tokens:
    # a link to another list token meets empty rows of in_names.
    wholly = book.tokens.filter(pl.col("b").is_in(held), "wholly")["token"]
    update_tokens = pl.Series(np.flatnonzero(np.diff(update.in_names.indptr)))
    vowels = tokens.join(short_vowel_frame(wholly, index, update_tokens), on="token")
    links = pl.concat([mapped, vowels.select(mapped.columns)], how="vertical_relaxed").unique(
        ["b", "token_id"], keep="first", maintain_order=True
    )
    shape = (book.tokens.height, index.vocab.height)
    weak = pl.col("sim") <= config.WEAK_LINK_SIM
    firm_names = (_ones(links.filter(~weak), shape) @ update.in_names).tocsr()
    weak_names = (_ones(links.filter(weak), shape) @ update.in_names).tocsr()
    return firm_names, weak_names


def _update_ranks(
    ent: np.ndarray,
    name: np.ndarray,
    book: BookParts,
    index: WatchlistIndex,
    update: UpdateNames,
    linked: tuple[sparse.csr_matrix, sparse.csr_matrix],
) -> tuple[np.ndarray, np.ndarray]:
    """Per (entity, update name) pair: the share of the entity found in the name and the
    rank select_candidates gives it, each at most, from forward blocking's own sum over the
    entity's parts' links (_linked_names; found_in_names: each part's weight per linked
    token of the name, a weak link's only beside WEAK_LINK_MIN_REST found firmly): an
    upper bound. Summed per pair over its entity's parts, not as an entity x name product
    (gigabytes for a large update)."""
    held = book.parts[ent]  # one row per pair: its entity's parts
    pair = np.repeat(np.arange(ent.size), np.diff(held.indptr))
    encoded = book.tokens["encoded"].to_numpy()[held.indices]

    def found(per_name: sparse.csr_matrix) -> np.ndarray:
        sums = np.asarray(per_name[held.indices, name[pair]]).ravel() * encoded
        return np.bincount(pair, weights=sums, minlength=ent.size)

    firm = found(linked[0])
    firm_weight = firm - np.floor(firm / PARTS_UNIT) * PARTS_UNIT
    value = firm + found(linked[1]) * (firm_weight >= config.WEAK_LINK_MIN_REST)
    total = book.total[ent]
    matched = np.minimum(value - np.floor(value / PARTS_UNIT) * PARTS_UNIT, total)
    covered = matched / np.maximum(index.name_weights[update.name_ids[name]], 1e-9)
    share = matched / np.maximum(total, 1e-9)
    return share, share + 0.5 * np.clip(covered, 0, 1)


def _bars(
    entities: np.ndarray, book: BookParts, index: WatchlistIndex, update_entries: np.ndarray
) -> np.ndarray:
    """Per entity: the rank its third-best rival entry surely reaches (-inf: fewer than
    three rivals)."""
    held = book.parts[entities].tocoo()
    holdings = pl.DataFrame(
        {
            "ent": entities[held.row].astype(np.int64),
            "b": held.col.astype(np.int64),
            "total": book.total[entities[held.row]],
        }
    ).join(book.tokens.select("b", "w"), on="b")
    share = pl.col("w") / pl.col("total")
    # Only a part carrying FALLBACK_MIN_BLOCK_SCORE of its entity alone makes a rival.
    rare = holdings.filter(share >= max(config.FALLBACK_MIN_BLOCK_SCORE, config.MIN_BLOCKING_SCORE))
    found = (
        rare.join(_rivals(rare["b"].unique(), book, index, update_entries), on="b")
        .select(
            "ent",
            "entry",
            (share + 0.5 * (pl.col("w") / pl.col("name_weight")).clip(upper_bound=1.0)).alias(
                "rank"
            ),
        )
        .group_by("ent", "entry")
        .agg(pl.col("rank").max())
        .group_by("ent")
        .agg(pl.col("rank").top_k(config.FALLBACK_CANDIDATES).min().alias("bar"), pl.len())
        .filter(pl.col("len") >= config.FALLBACK_CANDIDATES)
    )
    bars = np.full(entities.size, -np.inf)
    bars[np.searchsorted(entities, found["ent"].to_numpy())] = found["bar"].to_numpy()
    return bars


def _rivals(
    held: pl.Series, book: BookParts, index: WatchlistIndex, update_entries: np.ndarray
) -> pl.DataFrame:
    """b, entry, name_weight: per book token (held: their numbers b), the
    FALLBACK_CANDIDATES lightest rival entries (their lightest names) among the names
    holding a list token it links to firmly (a link every query takes) in its forward
    token map (cached on the index, as forward blocking keeps them)."""
    tokens = book.tokens.filter(pl.col("b").is_in(held.implode())).select("b", "token")
    links = (
        cached_token_map(tokens.select("token"), index)
        .filter(pl.col("sim") > config.WEAK_LINK_SIM, ~pl.col("abjad_only"))
        .join(tokens, on="token")
        .select("b", pl.col("token_id").cast(pl.Int64))
    )
    per_token = _rivals_per_token(links["token_id"].unique().to_numpy(), index, update_entries)
    return (
        links.join(per_token, on="token_id")
        .group_by("b", "entry")
        .agg(pl.col("name_weight").min())
        .sort("name_weight", "entry")
        .group_by("b", maintain_order=True)
        .head(config.FALLBACK_CANDIDATES)
    )


def _rivals_per_token(
    token_ids: np.ndarray, index: WatchlistIndex, update_entries: np.ndarray
) -> pl.DataFrame:
    """token_id, entry, name_weight: per list token, its FALLBACK_CANDIDATES lightest rival
    entries. A book token's best three entries are among its list tokens' best three."""
    held = index.token_names[token_ids].tocoo()
    names = held.col
    entry = index.name_entries[names]
    sizes = np.bincount(index.name_entries)
    rival = (sizes[entry] <= config.NAMES_PER_ENTRY) & ~np.isin(entry, update_entries)
    return (
        pl.DataFrame(
            {
                "token_id": token_ids[held.row[rival]].astype(np.int64),
                "entry": entry[rival].astype(np.int64),
                "name_weight": index.name_weights[names[rival]].astype(np.float64),
            }
        )
        .group_by("token_id", "entry")
        .agg(pl.col("name_weight").min())
        .sort("name_weight", "entry")
        .group_by("token_id", maintain_order=True)
        .head(config.FALLBACK_CANDIDATES)
    )


def _ones(links: pl.DataFrame, shape: tuple[int, int]) -> sparse.csr_matrix:
    """b x token_id, 1 where linked."""
    return sparse.csr_matrix(
        (np.ones(links.height), (links["b"].to_numpy(), links["token_id"].to_numpy())),
        shape=shape,
    )
