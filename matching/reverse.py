"""Reverse screening: which entities of a book could a forward screen pair with some entries?

A rescreen after a list update must cost what the update costs. Instead of screening the
whole book forward and keeping the matches on the entries the update added or changed, the
entries are blocked against an index of the book, in reverse, and only the entities found
are screened forward, with the same screen() call and the full snapshot. Their matches on
those entries are then exactly the full rescreen's, provided the entities found include
every entity that a forward screen would pair with one of the entries. So this module is
recall-first: it reproduces the conditions under which forward blocking (blocking.py) makes
a (query, list name) pair a candidate, from the other side and without its per-query caps
(a cap only removes candidates), and it relaxes every condition it cannot evaluate exactly
into one that lets more through:

- token links: each book token's every key (the query side's, two-deletion keys included,
  which forward blocking uses only for tokens without a closer neighbour) meets the keys of
  the entries' tokens; the links are kept at the same token similarity floor, and a link
  weak in every way it is made adds to a name only beside firm ones, as forward; a book token
  made of two list words is linked to both (blocking.py's joined words), and a book token
  that is list words run together to the list tokens forward screening reads it as
  (segmentation.py);
- rarity and parts: each entity's parts weigh what the snapshot says (part_weight with the
  snapshot's token weights), so the found share and the distinguishing parts of a pair are
  forward blocking's own numbers, from one sparse product over the entries' names only;
- token pairs (names found through two linked tokens, one too common to block on): bounded
  from above by the number of pairs hit and what the entity links to in the name;
- the links only an abjad's reading makes (its long vowel letters, the short vowels it
  leaves out, its letters' other readings): taken, as forward takes them, only by names
  written in an abjad (wholly, for the short vowels), which the book index records;
- names with exactly the entity's parts, names of the same syllables in another
  romanisation (syllable keys, kept in the book index), and identifier values, as forward;
- two neighbouring parts that together are a list word: every entity holding both;
- a book token that is no list token, linked to the entries' tokens it begins (blocking.py's
  words cut short), as a firm link: forward counts it only beside other words found; and
  to the entries' tokens two typing errors off (retyped_links), as a firm link too;
- a long unlisted token that blocking reads as the list words it is made of (segments_of):
  every entity holding one, with any link to the entries' tokens (its words move its
  weights, so its shares are not evaluated).

Forward blocking keeps a transliterated name's one-part candidates only when no list name
at all shares two of its parts, and then only its best three entries, which depends on
every list name: such entities are kept here whenever their one rare part is found, unless
fallback_bar.py proves that three other entries outrank the update's (from the entity's
forward token maps). What sorts the rest is reverse_screen(): the reverse candidates
screened with the real screen() on a view of the snapshot that holds only the entries'
names but the whole snapshot's token statistics. Every (query, name) pair a forward
screen blocks and scores is blocked and scored alike in the view (a name ranks no lower
among fewer names; its score is computed by the same code with the same weights), so an
entity with a forward match on one of the entries has a match in the view. Only those entities need the full forward screen.

The view screen does not redo what reverse blocking and the book index already hold: the
candidates' names come normalised from the index (screen(names=...)), with their syllable
keys (a third of the reverse candidates are names in syllables, and making their keys
again was a tenth of the view screen's CPU), and their tokens come with their links to the
entries' tokens, which is all of forward blocking's token map that counts in the view
(view_token_links, with the proof); only a few tokens whose map depends on the rest of the
vocabulary are mapped against all of it.

book_entries() and book_token_keys() make the book side once (per engine version: they are
its normalisation and keys); reverse_candidates() and reverse_screen() run per list update.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.blocking import (
    PARTS_UNIT,
    VOWEL_TABLES,
    VowelTables,
    cut_word_links,
    map_tokens,
    pair_key,
    pair_numbers,
    segments_of,
    short_vowel_frame,
    vowel_poor_weight,
    with_weak_links,
)
from matching.compare.names import (
    abjad_only_link,
    linked_similarity,
    list_token_features,
    part_weight,
    token_similarity,
)
from matching.compare.syllables import KEY_COLUMNS as SYLLABLE_KEYS
from matching.compare.syllables import name_keys as syllable_name_keys
from matching.fallback_bar import BookParts, UpdateNames, outranked
from matching.frames import IDENTIFIER_FIELDS
from matching.index import WatchlistIndex, blocking_keys, name_key, normalize_identifier
from matching.lookup import sorted_by
from matching.normalize import (
    GENERIC_TOKENS,
    in_abjad_script,
    vowel_poor,
    wholly_in_abjad_script,
)
from matching.retyped_links import index_table, retyped_links, retyped_table
from matching.screen import NORMALIZED_NAME, normalized_names, screen
from matching.screen import SYLLABLE_KEYS as SYLLABLE_KEYS_GIVEN
from matching.segmentation import (
    SEGMENTATION_DERIVED,
    legal_readings,
    phrase_word_readings,
    reading_of,
    segment_words,
    short_words,
    vocabulary,
)
from matching.token_links import SCHEMA as LINK_SCHEMA
from matching.token_links import TokenLinks

# The per-entity columns of a book index (book_entries).
BOOK_ENTRY_SCHEMA = pl.Schema(
    {
        "tokens": pl.List(pl.Utf8),
        "repeated": pl.List(pl.Utf8),  # with tokens and transliterated: screen()'s names
        "transliterated": pl.Boolean,
        # the name written in an abjad (wholly: in no other script), as screen() reads it:
        # only such names take the links an abjad's reading makes (blocking._abjad, _wholly)
        "abjad": pl.Boolean,
        "wholly_abjad": pl.Boolean,
        "id_values": pl.List(pl.Utf8),
        "name_key": pl.Utf8,  # the tokens sorted and joined (index.name_key): same parts
        # the name's keys as Korean or Chinese syllables (compare.syllables.name_keys)
        "syllable_keys": pl.List(pl.Utf8),
    }
)


def book_entries(entities: pl.DataFrame) -> pl.DataFrame:
    """Entity rows (full_name and the identifier fields) -> their normalised name tokens,
    whether the name was transliterated, their identifier values as screen() compares them,
    and their name key: BOOK_ENTRY_SCHEMA, one row per input row, in order."""
    named = normalized_names(entities["full_name"])
    tokens = named["tokens"].fill_null(pl.lit([], dtype=pl.List(pl.Utf8)))
    return pl.DataFrame(
        {
            "tokens": tokens,
            "repeated": named["repeated"],
            "transliterated": named["transliterated"].fill_null(False),
            "abjad": entities.select(
                in_abjad_script(pl.col("full_name")).fill_null(False)
            ).to_series(),
            "wholly_abjad": entities.select(
                wholly_in_abjad_script(pl.col("full_name"))
            ).to_series(),
            "id_values": _identifier_values(entities),
            "name_key": tokens.to_frame().select(name_key(pl.col("tokens"))).to_series(),
            "syllable_keys": _syllable_keys(tokens, named["repeated"]),
        },
        schema=BOOK_ENTRY_SCHEMA,
    )


def _syllable_keys(tokens: pl.Series, repeated: pl.Series) -> pl.Series:
    """Each name's syllable keys (blocking's same-syllables candidates, a part the name
    gives twice written twice, as there): none unless every token is syllables."""
    keys = syllable_name_keys(tokens, repeated)
    return keys.select(
        pl.concat_list(SYLLABLE_KEYS).list.drop_nulls().list.unique().alias("syllable_keys")
    ).to_series()


def _identifier_values(entities: pl.DataFrame) -> pl.Series:
    """Every identifier value of each row, normalised as the index normalises list ones."""
    singles = [pl.col(c) for c in IDENTIFIER_FIELDS if c != "identifiers" and c in entities]
    listed = (
        [pl.col("identifiers").list.eval(pl.element().struct.field("value"))]
        if "identifiers" in entities
        else []
    )
    if not singles and not listed:
        return pl.Series("id_values", [[]] * entities.height, dtype=pl.List(pl.Utf8))
    values = pl.concat_list(
        *[s.cast(pl.Utf8) for s in singles],
        *[v.fill_null(pl.lit([], dtype=pl.List(pl.Utf8))) for v in listed],
    )
    return entities.select(
        values.list.eval(normalize_identifier(pl.element()).drop_nulls())
        .list.eval(pl.element().filter(pl.element().str.len_chars() >= config.MIN_IDENTIFIER_LEN))
        .list.unique(maintain_order=True)
        .alias("id_values")
    ).to_series()


def book_token_keys(tokens: pl.Series) -> pl.DataFrame:
    """token, key: every blocking key of each distinct book token, the query side's
    (one- and two-deletion neighbourhoods, sound and skeleton keys, stems)."""
    distinct = tokens.unique().drop_nulls().to_frame("token")
    return blocking_keys(distinct, query=True).select("token", "key")


class BookIndex:
    """A book as reverse blocking reads it: per entity (its position is its number) the
    columns of book_entries, and the keys of every token of the book. The book's tokens
    numbered and each entity's parts as a sparse matrix are made on first use and kept
    (they do not depend on the snapshot)."""

    def __init__(self, entities: pl.DataFrame, token_keys: pl.DataFrame) -> None:
        self.entities = entities
        self.token_keys = token_keys
        self._parts: tuple[pl.DataFrame, sparse.csr_matrix] | None = None
        self._name_keys: pl.DataFrame | None = None

    @property
    def size(self) -> int:
        return self.entities.height

    def parts(self) -> tuple[pl.DataFrame, sparse.csr_matrix]:
        """(b, token) the book's distinct tokens, and the entity x b incidence matrix."""
        if self._parts is None:
            # A name's tokens are distinct (normalize_names), so each (entity, token) is
            # one row; a token's number is its place among the sorted distinct ones (found
            # by a hash join: a binary search per part costs five times more).
            parts = (
                self.entities.select(pl.col("tokens").alias("token"))
                .with_row_index("ent")
                .explode("token")
                .drop_nulls("token")
            )
            tokens = (
                parts["token"]
                .unique()
                .sort()
                .to_frame()
                .with_row_index("b")
                .with_columns(pl.col("b").cast(pl.Int64))
            )
            numbered = parts.join(tokens, on="token", maintain_order="left")
            matrix = sparse.csr_matrix(
                (
                    np.ones(parts.height, dtype=np.float64),
                    (numbered["ent"].to_numpy(), numbered["b"].to_numpy()),
                ),
                shape=(self.size, tokens.height),
            )
            self._parts = (tokens, matrix)
        return self._parts

    def name_keys(self) -> pl.DataFrame:
        """ent, key: each named entity's parts sorted and joined (index.name_key)."""
        if self._name_keys is None:
            self._name_keys = (
                self.entities.select(pl.col("name_key").alias("key"))
                .with_row_index("ent")
                .with_columns(pl.col("ent").cast(pl.Int64))
                .filter(pl.col("key") != "")
            )
        return self._name_keys


@dataclass(frozen=True)
class ReverseCandidates:
    """Book positions of the entities to screen forward, and how they were found."""

    positions: np.ndarray  # sorted, distinct
    pairs: int  # (entity, list name) pairs reverse blocking let through
    # token, token_id, sim, abjad_only: the candidates' tokens mapped as forward blocking
    # maps them,
    # restricted to the entries' tokens (token_id -1: nothing there); see view_token_links
    token_links: pl.DataFrame = dataclasses.field(
        default_factory=lambda: pl.DataFrame(schema=LINK_SCHEMA)
    )


def reverse_candidates(
    book: BookIndex,
    index: WatchlistIndex,
    entries: pl.Series,
    every_list: np.ndarray | None = None,
) -> ReverseCandidates:
    """The book entities (positions) a forward screen against ``index`` could pair with one
    of ``entries`` (engine entity ids, "<list_code>-<entry_id>"): a superset of them.
    every_list: per entity, does it screen against every list (its ``lists`` null)? Only
    those may be left out by the fallback's bar (fallback_bar; None: none may)."""
    names = index.names.filter(pl.col("entity_id").is_in(entries.implode()))
    hits = [_identifier_hits(book, index, entries)]
    links = pl.DataFrame(schema=LINK_SCHEMA)
    if not names.is_empty() and book.size:
        side = _BookSide.of(book, index)
        columns = names["name_id"].to_numpy()
        linked = _links(side, index, names)
        found_hits, fallen = _found_hits(side, index, names, columns, linked)
        hits += [
            found_hits,
            _pair_hits(side, index, names, columns, linked),
            _same_parts(book, index, names),
            _same_syllables(book, index, names),
            _split_words(book, side, index, names),
            _segmented_words(side, index, names, linked),
        ]
        found = _marked(book.size, [hit["ent"] for hit in hits])
        judged = np.zeros(book.size, dtype=bool) if every_list is None else every_list & ~found
        # The view screen's token links, for every entity found (the bar reads them too).
        found |= _marked(book.size, [fallen["ent"]])
        links = view_token_links(side, index, names, linked, np.flatnonzero(found))
        hits.append(_fallback_kept(side, index, names, fallen, judged, links))
        del fallen, linked
    # Distinct (entity, name) pairs counted on one int64 key per pair (a name is a column
    # number, -1 for identifier and split-word hits), sorted in place: a frame-wide
    # unique() of millions of pairs, or copies of them, was the plan's peak of memory.
    width = names.height + 1
    keys = np.concatenate(
        [np.zeros(0, np.int64)]
        + [hit["ent"].to_numpy() * width + (hit["name"].to_numpy() + 1) for hit in hits]
    )
    del hits
    keys.sort()
    pairs = int((keys[1:] != keys[:-1]).sum()) + 1 if keys.size else 0
    ent = np.floor_divide(keys, width, out=keys)  # in place; sorted as the keys were
    positions = ent[np.concatenate([[True], ent[1:] != ent[:-1]])] if ent.size else ent
    return ReverseCandidates(positions=positions, pairs=pairs, token_links=links)


def _marked(size: int, columns: list[pl.Series]) -> np.ndarray:
    """Per entity (of ``size``): is it in one of these columns of entity positions?"""
    marked = np.zeros(size, dtype=bool)
    for column in columns:
        marked[column.to_numpy()] = True
    return marked


def _fallback_kept(
    side: _BookSide,
    index: WatchlistIndex,
    names: pl.DataFrame,
    fallen: pl.DataFrame,
    judged: np.ndarray,
    links: pl.DataFrame,
) -> pl.DataFrame:
    """ent, name: the pairs found only as a fallback (_found_hits) whose entity the
    fallback's bar cannot rule out (fallback_bar.outranked). judged: per entity, may the bar
    rule it out (it screens every list and is found in no other way); an entity holding an
    unlisted token that blocking weighs as the words run together in it may not (_as_words).
    links: the entities' tokens' forward maps on the entries' tokens (view_token_links)."""
    beaten = outranked(
        fallen,
        BookParts(side.parts, side.tokens, side.total),
        judged & ~_holding(side, _as_words(side, index)),
        index,
        UpdateNames(_in_names(index, names), names["name_id"].to_numpy(), links),
    )
    return fallen.filter(~pl.Series(beaten)).select(list(_HITS)).cast(_HITS)


def _as_words(side: _BookSide, index: WatchlistIndex) -> np.ndarray:
    """The book tokens (b) whose forward weight is not the bar's: an unlisted token long
    enough to be list words run together, that is (segments_of; forward weighs it as its
    words, blocking.segmented_weight) or that is a generic word (forward weighs it 1, as a
    token without words; part_weight, less). Any other long unlisted token weighs 1 both
    ways. (A Python loop over the book's few long unlisted tokens, their words remembered
    per index.)"""
    long = side.tokens.filter(
        ~pl.col("listed"), pl.col("token").str.len_chars() >= config.MIN_SEGMENTED_LEN
    )
    read = [segments_of(token, index) != [] or token in GENERIC_TOKENS
            for token in long["token"].to_list()]  # fmt: skip
    return long["b"].filter(pl.Series(read, dtype=pl.Boolean)).to_numpy()


# --- the book side ------------------------------------------------------------------------

_HITS = {"ent": pl.Int64, "name": pl.Int64}

# Book entities whose (entity, entry name) products are made at a time (_found_hits).
FOUND_BLOCK = 100_000


@dataclass(frozen=True)
class _BookSide:
    """The book's tokens numbered, each entity's parts as a sparse matrix, and what the
    snapshot says of them: weights (part_weight), distinguishing parts, totals."""

    # b, token, w, encoded, listed, and whether an entity written in an abjad holds it
    # (abjad; wholly: one written wholly in an abjad)
    tokens: pl.DataFrame
    keys: pl.DataFrame  # token, key (BookIndex.token_keys)
    parts: sparse.csr_matrix  # entity x book token, 1 where the entity has the token
    total: np.ndarray  # per entity: the rarity weight of all its parts
    strong: np.ndarray  # per entity: its distinguishing parts
    transliterated: np.ndarray
    script: np.ndarray  # per entity: ANY_SCRIPT, ABJAD or WHOLLY_ABJAD (_script_of)

    @classmethod
    def of(cls, book: BookIndex, index: WatchlistIndex) -> _BookSide:
        numbered, matrix = book.parts()
        tokens = (
            numbered.join(index.token_weights, on="token", how="left", maintain_order="left")
            .with_columns(
                part_weight(pl.col("token"), _vowel_poor_weights(numbered, index)).alias("w"),
                pl.col("weight").is_not_null().alias("listed"),
            )
            .with_columns(
                (pl.col("w") + PARTS_UNIT * (pl.col("w") >= config.STRONG_PART_WEIGHT)).alias(
                    "encoded"
                )
            )
            .select("b", "token", "w", "encoded", "listed")
            .with_columns(
                pl.Series("abjad", _held_by(matrix, book.entities["abjad"])),
                pl.Series("wholly", _held_by(matrix, book.entities["wholly_abjad"])),
            )
        )
        w = tokens["w"].to_numpy()
        return cls(
            tokens=tokens,
            keys=book.token_keys,
            parts=matrix,
            total=matrix @ w,
            strong=matrix @ (w >= config.STRONG_PART_WEIGHT).astype(np.float64),
            transliterated=book.entities["transliterated"].to_numpy(),
            script=_script_of(book.entities),
        )


# The script a book name must be written in to take a link (a link's ``level``): forward
# blocking gives the links only an abjad's reading makes (abjad_only) to names written in
# an abjad, and the short-vowel links to names written wholly in one.
ANY_SCRIPT, ABJAD, WHOLLY_ABJAD = 0, 1, 2
# A link's firm_level where no way makes it firm.
NEVER_FIRM = 3


def _script_of(entities: pl.DataFrame) -> np.ndarray:
    """Per entity: the most its name's script allows (WHOLLY_ABJAD, ABJAD, ANY_SCRIPT)."""
    abjad = entities["abjad"].fill_null(False).to_numpy()
    wholly = entities["wholly_abjad"].fill_null(False).to_numpy()
    return np.where(wholly, WHOLLY_ABJAD, np.where(abjad, ABJAD, ANY_SCRIPT)).astype(np.int8)


def _held_by(parts: sparse.csr_matrix, flag: pl.Series) -> np.ndarray:
    """Per book token: does an entity with the flag hold it?"""
    held = np.zeros(parts.shape[1], dtype=bool)
    held[parts[flag.fill_null(False).to_numpy()].indices] = True
    return held


def _links(side: _BookSide, index: WatchlistIndex, names: pl.DataFrame) -> pl.DataFrame:
    """b, token_id, sim, cheap, firm: book tokens linked to a token of the entries' names,
    by any key they share (at the forward floor of similarity), as two list words joined,
    as a word cut short or two typing errors off; cheap: through a first-pass key
    (view_token_links); firm: above WEAK_LINK_SIM in one of those ways (_found_hits);
    level and firm_level: the script a name must be written in to take the link, and to
    take it firmly (ANY_SCRIPT, ABJAD, WHOLLY_ABJAD; NEVER_FIRM). A link only a query
    written in an abjad takes (abjad_only) is kept for the tokens of such names alone."""
    wanted = _name_tokens(index, names).select("token_id").unique()
    keys = index.token_keys.join(wanted, on="token_id")
    by_key = (
        side.tokens.select("b", "token")
        .join(side.keys, on="token")
        .join(keys, on="key")
        .group_by("b", "token", "token_id")
        .agg(_cheap_key(pl.col("key"), pl.col("token")).any().alias("cheap"))
        .join(index.vocab.select("token_id", pl.col("token").alias("c_token")), on="token_id")
    )
    sims = token_similarity(by_key.select(pl.col("token").alias("q_token"), "c_token").unique())
    listed = pl.col("q_token").is_in(index.token_weights["token"].implode())
    sims = sims.with_columns(
        linked_similarity(sims, listed), abjad_only_link(sims, listed).alias("abjad_only")
    ).select(pl.col("q_token").alias("token"), "c_token", "sim", "abjad_only")
    in_abjad = side.tokens.filter("abjad")["b"].implode()
    linked = by_key.join(sims, on=["token", "c_token"]).filter(
        pl.col("sim") >= config.MIN_TOKEN_SIM, ~pl.col("abjad_only") | pl.col("b").is_in(in_abjad)
    )
    joined = pl.concat([_joined_words(side, index), _read_words(side, index)]).join(
        wanted, on="token_id"
    )
    unlisted = side.tokens.filter(~pl.col("token").is_in(index.vocab["token"].implode()))
    cut = (
        cut_word_links(unlisted.select("token"), index)
        .join(wanted, on="token_id")
        .join(unlisted.select("b", "token"), on="token")
        .select("b", "token_id", "sim")
    )
    # Two typing errors off an entry's token (retyped_links against the entries' tokens
    # alone: every link forward makes to them, and more where forward's cap drops some).
    table = retyped_table(index.vocab.join(wanted, on="token_id"))
    retyped = (
        retyped_links(unlisted["token"].to_list(), table)
        .join(unlisted.select("b", "token"), on="token")
        .select("b", "token_id", "sim")
    )
    by_script = pl.when("abjad_only").then(ABJAD).otherwise(ANY_SCRIPT)
    every = pl.concat(
        [
            linked.select("b", "token_id", "sim", "cheap", "abjad_only", by_script.alias("level")),
            _short_vowel_words(side, index, wanted).with_columns(
                pl.lit(WHOLLY_ABJAD).alias("level")
            ),
            *[
                other.with_columns(
                    pl.lit(False).alias("cheap"),
                    pl.lit(False).alias("abjad_only"),
                    pl.lit(ANY_SCRIPT).alias("level"),
                )
                for other in (joined, cut, retyped)
            ],
        ],
        how="vertical_relaxed",
    )
    # Firm where a way the name's script allows links the two above WEAK_LINK_SIM:
    # forward blocking's link is one of these ways, at no higher a similarity, so a link
    # weak here is weak there too.
    firm_level = pl.when(pl.col("sim") > config.WEAK_LINK_SIM).then(pl.col("level"))
    levels = every.group_by("b", "token_id").agg(
        pl.col("level").min(), firm_level.min().fill_null(NEVER_FIRM).alias("firm_level")
    )
    return (
        every.drop("level")
        .unique(["b", "token_id"], keep="first", maintain_order=True)
        .join(levels, on=["b", "token_id"], how="left", maintain_order="left")
        .with_columns((pl.col("firm_level") < NEVER_FIRM).alias("firm"))
    )


def _short_vowel_words(
    side: _BookSide, index: WatchlistIndex, wanted: pl.DataFrame
) -> pl.DataFrame:
    """b, token_id, sim, cheap, abjad_only: the tokens of book names written wholly in an
    abjad that a forward screen links to the entries' tokens (blocking.short_vowel_links:
    the short vowels the script leaves out, "baqri" / "Bagheri", and its letters' other
    readings, "fdl" / "Fazal"); not a first-pass key's link (cheap false:
    view_token_links maps such a token itself)."""
    wholly = side.tokens.filter("wholly").select("b", "token")
    vowels = short_vowel_frame(wholly["token"], index, wanted["token_id"])
    return wholly.join(vowels, on="token").select(
        "b", "token_id", "sim", pl.lit(False).alias("cheap"), pl.lit(True).alias("abjad_only")
    )


def _cheap_key(key: pl.Expr, token: pl.Expr) -> pl.Expr:
    """Is this query-side key of the token one of forward blocking's first pass (every key
    but those index.blocking_keys adds with ``query``)? Those are the second deletions, "d:"
    and the token less two letters (the only "d:" key as long as its token), and the
    two-typing-error keys, "e:"."""
    second_deletion = key.str.starts_with("d:") & (key.str.len_chars() == token.str.len_chars())
    return ~(second_deletion | key.str.starts_with("e:"))


def _joined_words(side: _BookSide, index: WatchlistIndex) -> pl.DataFrame:
    """b, token_id, sim 1.0: a book token that is two list words written together
    ("vladimirputin"), one of them rare enough to block on, linked to both words."""
    vocab = index.vocab.select("token", "token_id", "blocking")
    length = pl.col("token").str.len_chars()
    halves = (
        side.tokens.filter(length >= 4)
        .select("b", "token", pl.int_ranges(2, length - 1).alias("cut"))
        .explode("cut")
        .drop_nulls("cut")
        .select(
            "b",
            pl.col("token").str.slice(0, pl.col("cut")).alias("left"),
            pl.col("token").str.slice(pl.col("cut")).alias("right"),
        )
        .join(vocab.rename({"token": "left", "token_id": "left_id", "blocking": "b1"}), on="left")
        .join(
            vocab.rename({"token": "right", "token_id": "right_id", "blocking": "b2"}), on="right"
        )
        # One half rare, or (blocking._joined_name) two halves of MIN_JOINED_HALF_LEN+.
        .filter(
            pl.col("b1")
            | pl.col("b2")
            | (
                (pl.col("left").str.len_chars() >= config.MIN_JOINED_HALF_LEN)
                & (pl.col("right").str.len_chars() >= config.MIN_JOINED_HALF_LEN)
            )
        )
    )
    return pl.concat(
        [
            halves.select("b", pl.col("left_id").alias("token_id")),
            halves.select("b", pl.col("right_id").alias("token_id")),
        ]
    ).with_columns(pl.col("token_id").cast(pl.Int64), pl.lit(1.0).alias("sim"))


def _read_words(side: _BookSide, index: WatchlistIndex) -> pl.DataFrame:
    """b, token_id, sim 1.0: a book token that is list words run together, or a legal-form
    or legal phrase word typed twice, linked to the list tokens a forward screen reads it
    as (segmentation.py; whether or not a close list token keeps the forward screen from
    reading it so, wherever the token stands in the name, and every reading of a token: a
    superset)."""
    unlisted = side.tokens.filter(
        ~pl.col("listed"),
        pl.col("token").str.len_chars() >= config.MIN_RETYPED_LEGAL_LEN,
        pl.col("token").str.contains("^[a-z]+$"),
    ).select("b", "token")
    distinct = unlisted["token"].unique()
    long = distinct.filter(distinct.str.len_chars() >= config.MIN_RESEGMENT_LEN)
    read = [(token, word) for token in long.to_list()
            for word in reading_of(token, index)]  # fmt: skip
    read += _legal_words(distinct.to_list(), index)
    words = pl.DataFrame(read, schema={"token": pl.Utf8, "word": pl.Utf8}, orient="row")
    return (
        unlisted.join(words, on="token")
        .join(index.vocab.select(pl.col("token").alias("word"), "token_id"), on="word")
        .select("b", pl.col("token_id").cast(pl.Int64), pl.lit(1.0).alias("sim"))
    )


def _legal_words(tokens: list[str], index: WatchlistIndex) -> list[tuple[str, str]]:
    """(token, legal word): the unlisted tokens a forward screen may read as a legal form's
    or legal phrase's word typed twice (segmentation.py), wherever they stand."""
    words = []
    for legal in (legal_readings, phrase_word_readings):
        readings = legal(tokens, vocabulary(index))
        words += [(token, word) for token, read in readings.items() for word in read]
    return words


def _name_tokens(index: WatchlistIndex, names: pl.DataFrame) -> pl.DataFrame:
    """name (column number), name_id, token, token_id, blocking, first6 (among the first
    six tokens: the ones token pairs are made of)."""
    return (
        names.select("name_id", pl.col("tokens").alias("token"))
        .with_row_index("name")
        .with_columns(pl.col("name").cast(pl.Int64))
        .explode("token")
        .with_columns((pl.int_range(pl.len()).over("name") < 6).alias("first6"))
        .join(index.vocab.select("token", "token_id", "blocking"), on="token")
    )


def view_token_links(
    side: _BookSide,
    index: WatchlistIndex,
    names: pl.DataFrame,
    linked: pl.DataFrame,
    positions: np.ndarray,
) -> pl.DataFrame:
    """token, token_id, sim: each token of the entities at ``positions`` mapped to list
    tokens as forward blocking maps it (blocking.map_tokens against the whole vocabulary),
    then restricted to the tokens of the entries' names (V); token_id -1 where nothing of V
    is left. The view screen takes these links instead of mapping the tokens again. (A link
    only a query written in an abjad takes is there for the tokens of such book names: no
    other query takes it.)

    Why a link outside V changes nothing in the view: the view's names hold only V tokens,
    so such a link meets an empty row of every view matrix it is multiplied by (token x
    name, pair x name: a pair with a token outside V is in no view name; the variant
    losses are summed over a name's tokens). So only map(t) ∩ V matters, and it comes
    from reverse blocking's own links of t to V (``linked``: every query-side key and the
    joined words, at the same similarity floor, by the same token_similarity):

    - t has a link to V through a first-pass key (``cheap``) of at least
      JOINED_NAME_BEST_SIM: t has a first-pass neighbour at all, so map_tokens takes no
      second pass, and its closest list token is near, so it is not split as a joined
      name; its map is its first-pass links, then (an unlisted t) its cut-word links, the
      first kept where both link one token, then (unlisted) its links two typing errors
      off (retyped_links, against the whole vocabulary: its cap counts every list token):
      map(t) ∩ V is its cheap links to V, then its cut-word links to V, then its retyped
      links to V, with the same similarities;
    - t has no link to V at all: map(t) ∩ V is empty, whichever pass map_tokens takes
      (each of its passes is among the links that ``linked`` holds);
    - else (weaker first-pass links, or second-deletion, joined-word or cut-word links to V
      only): whether map_tokens takes its second pass or splits t depends on the whole
      vocabulary (has t a closer neighbour outside V?), so these few tokens are mapped by
      map_tokens itself, and restricted to V."""
    held = _distinct(side.parts[positions].indices.astype(np.int64))
    tokens = side.tokens.select("b", "token").filter(pl.col("b").is_in(held))
    per_token = tokens.join(linked, on="b")
    wanted = _name_tokens(index, names).select("token_id").unique()
    cheap = per_token.filter(pl.col("cheap"))
    near = (
        cheap.group_by("token")
        .agg(pl.col("sim").max().alias("best"))
        .filter(pl.col("best") >= config.JOINED_NAME_BEST_SIM)
        .select("token")
    )
    cut = cut_word_links(
        near.filter(~pl.col("token").is_in(index.vocab["token"].implode())), index
    ).join(wanted, on="token_id")
    unlisted_near = near.filter(~pl.col("token").is_in(index.vocab["token"].implode()))
    retyped = retyped_links(unlisted_near["token"].to_list(), index_table(index)).join(
        wanted, on="token_id"
    )
    firm = pl.concat(
        [
            cheap.join(near, on="token").select("token", "token_id", "sim", "abjad_only"),
            cut.with_columns(pl.lit(False).alias("abjad_only")),
            retyped.with_columns(pl.lit(False).alias("abjad_only")),
        ],
        how="vertical_relaxed",
    ).unique(["token", "token_id"], keep="first", maintain_order=True)
    undecided = per_token.join(near, on="token", how="anti").select("token")
    mapped = pl.concat(
        [
            firm,
            map_tokens(undecided.unique(), index)
            .join(wanted, on="token_id")
            .select("token", "token_id", "sim", "abjad_only"),
        ],
        how="vertical_relaxed",
    )
    nothing = tokens.join(mapped, on="token", how="anti").select(
        "token",
        pl.lit(-1, pl.Int64).alias("token_id"),
        pl.lit(0.0).alias("sim"),
        pl.lit(False).alias("abjad_only"),
    )
    return pl.concat([mapped, nothing], how="vertical_relaxed").cast(LINK_SCHEMA)


# --- the ways a forward screen finds a list name ------------------------------------------


def _found_hits(
    side: _BookSide,
    index: WatchlistIndex,
    names: pl.DataFrame,
    columns: np.ndarray,
    linked: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Forward blocking's sparse product, restricted to the entries' names: per (entity,
    name) the distinguishing parts found and the rarity weight found, through tokens rare
    enough to block on, a weak link counting only beside WEAK_LINK_MIN_REST found firmly
    (blocking.with_weak_links); then its share and parts conditions, without the caps.

    Returns the hits (ent, name), and apart the pairs found only as a transliterated name's
    fallback (one rare part in common: _FALLEN). Forward blocking keeps such names only when no list name
    shares two parts with the query, and only its best three entries: fallback_bar rules
    out the entities it keeps none of them for, and the view screen sorts out the rest
    (reverse_screen)."""
    in_names = _in_names(index, names)
    shape = (side.tokens.height, index.vocab.height)
    # Per script a name is written in, book token x name: list tokens linked, firmly and
    # weakly (forward blocking's sums), by the links that script takes.
    by_script = {}
    for script in np.unique(side.script).tolist():
        taken = linked.filter(pl.col("level") <= script)
        firmly = pl.col("firm_level") <= script
        by_script[script] = (
            (_matrix(taken.filter(firmly), "b", "token_id", shape) @ in_names).tocsr(),
            (_matrix(taken.filter(~firmly), "b", "token_id", shape) @ in_names).tocsr(),
        )
    encoded = (side.parts @ sparse.diags(side.tokens["encoded"].to_numpy())).tocsr()
    # The product has a value for every (entity, name) sharing a linked token, most of them
    # dropped by the conditions: made a block of entities at a time, so that only the kept
    # pairs of the whole book are held at once (the whole product is gigabytes at 1M).
    hits, fallen = [pl.DataFrame(schema=_HITS)], [pl.DataFrame(schema=_FALLEN)]
    for script, at in _blocks_by_script(side.script, FOUND_BLOCK):
        firm, weak = by_script[script]
        block = encoded[at]
        found = with_weak_links((block @ firm).tocsr(), (block @ weak).tocsr())
        rows = at[np.repeat(np.arange(found.shape[0]), np.diff(found.indptr))]
        count = np.floor(found.data / PARTS_UNIT)
        matched = np.minimum(found.data - count * PARTS_UNIT, side.total[rows])
        name_ids = columns[found.indices]
        usable, parts_ok, fallback = _conditions(side, index, rows, name_ids, count, matched)
        kept = usable & parts_ok
        hits.append(_hits(rows[kept], found.indices[kept]))
        alone = usable & ~parts_ok & fallback
        share = matched[alone] / np.maximum(side.total[rows[alone]], 1e-9)
        covered = matched[alone] / np.maximum(index.name_weights[name_ids[alone]], 1e-9)
        # Millions of pairs for a large update, held while the other hits are made: kept
        # small (a rank rounded up to float32 is still an upper bound).
        rank = share + 0.5 * np.clip(covered, 0, 1) + FLOAT32_STEP
        fallen.append(
            pl.DataFrame(
                {
                    "ent": rows[alone].astype(np.int32),
                    "name": found.indices[alone].astype(np.int32),
                    "whole": share >= config.WHOLE_NAME_BLOCK_SHARE,
                    "rank": rank.astype(np.float32),
                },
                schema=_FALLEN,
            )
        )
    return pl.concat(hits), pl.concat(fallen)


def _blocks_by_script(script: np.ndarray, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(script, positions): the entities whose names are written in each script (ANY_SCRIPT,
    ABJAD, WHOLLY_ABJAD), a block of at most ``size`` at a time."""
    for each in np.unique(script).tolist():
        positions = np.flatnonzero(script == each)
        for start in range(0, positions.size, size):
            yield each, positions[start : start + size]


def _in_names(index: WatchlistIndex, names: pl.DataFrame) -> sparse.csr_matrix:
    """list token x name (column number): 1 where the name holds the token, blocking
    tokens only (index.token_names for the entries' names)."""
    name_tokens = _name_tokens(index, names).filter(pl.col("blocking"))
    return _matrix(name_tokens, "token_id", "name", (index.vocab.height, names.height))


# Pairs found only as a fallback (_found_hits): their entity, name, whether the share of
# the entity found in the name reaches WHOLE_NAME_BLOCK_SHARE, and the rank
# select_candidates gives the pair (at most: reverse's links are a superset of forward's).
_FALLEN = {"ent": pl.Int32, "name": pl.Int32, "whole": pl.Boolean, "rank": pl.Float32}
# More than float32's rounding of a rank (at most 1.5): added before it is rounded.
FLOAT32_STEP = 2e-7


def _pair_hits(
    side: _BookSide,
    index: WatchlistIndex,
    names: pl.DataFrame,
    columns: np.ndarray,
    linked: pl.DataFrame,
) -> pl.DataFrame:
    """Names found through a pair of linked tokens, one too common to block on alone, the
    pair rare enough (blocking.py's token pairs). Forward blocking values such a hit at the
    weight of the pairs found divided by (parts - 1), parts coming from the number of
    pairs P (P = parts (parts - 1) / 2). A pair's weight is its two tokens' linked values,
    at most the two best of the name's, so the hit is at most P (v1 + v2) / (parts - 1) =
    parts / 2 x (v1 + v2): never more than parts / 2 x what the entity links to in the
    name, nor than parts x its best linked value, which is what is checked here.

    An entity's pairs are every two of its linked list tokens: millions of rows for a
    large update, so they are made a block of entities at a time (PAIR_BLOCK), links
    included, as token numbers rather than strings."""
    common = index.vocab.filter(~pl.col("blocking")).select("token_id")
    if common.is_empty() or index.pair_ids.is_empty():
        return pl.DataFrame(schema=_HITS)
    weighted = {
        script: _weighted_links(side, linked.filter(pl.col("level") <= script), index.vocab.height)
        for script in np.unique(side.script).tolist()
    }
    in_names = index.pair_names.tocsc()[:, columns].tocsr()
    held = _name_tokens(index, names).select("name", "token_id")  # common tokens too
    numbers = pair_numbers(index)  # forward blocking's own, shared with the view
    found = [pl.DataFrame(schema=_HITS)]
    for script, at in _blocks_by_script(side.script, PAIR_BLOCK):
        links = _entity_links(side.parts[at], weighted[script], at)
        with_common = links.join(common, on="token_id").select("ent").unique()
        if not with_common.is_empty():
            mine = links.join(with_common, on="ent")
            found.append(
                _pairs_found(side, index, mine, common, numbers, (in_names, held), columns)
            )
    return pl.concat(found)


# Book entities whose token pairs are made at a time (_pair_hits).
PAIR_BLOCK = 50_000


def _pairs_found(
    side: _BookSide,
    index: WatchlistIndex,
    mine: pl.DataFrame,
    common: pl.DataFrame,
    numbers: pl.DataFrame,
    in_names: tuple[sparse.csr_matrix, pl.DataFrame],
    columns: np.ndarray,
) -> pl.DataFrame:
    """_pair_hits for a block of entities: mine holds their links (ent, token_id, value);
    in_names: the names' token pairs (pair_id x name) and tokens (name, token_id)."""
    pair_names, name_tokens = in_names
    pairs = (
        mine.join(common, on="token_id")
        .join(mine.select("ent", pl.col("token_id").alias("token_b")), on="ent")
        .filter(pl.col("token_id") != pl.col("token_b"))
        .select("ent", pair_key(pl.col("token_id"), pl.col("token_b"), index.vocab.height))
        .unique()
        .join(numbers, on="pair_key")
    )
    if pairs.is_empty():
        return pl.DataFrame(schema=_HITS)
    entities = pairs["ent"].unique().sort()
    local = pairs.join(entities.to_frame().with_row_index("row"), on="ent")
    hit = sparse.csr_matrix(
        (np.ones(local.height), (local["row"].to_numpy(), local["pair_id"].to_numpy())),
        shape=(entities.len(), index.pair_ids.height),
    )
    per_name = (hit @ pair_names).tocsr()  # pairs of each name hit
    rows = np.repeat(np.arange(per_name.shape[0]), np.diff(per_name.indptr))
    parts = (1 + np.sqrt(1 + 8 * per_name.data)) / 2
    best = (
        entities.to_frame()
        .join(mine.group_by("ent").agg(pl.col("value").max()), on="ent", how="left")
        .sort("ent")["value"]
        .to_numpy()
    )
    ent = entities.to_numpy()[rows]
    name = per_name.indices
    count = np.floor(parts + 1e-9)
    matched = np.minimum(parts * best[rows], side.total[ent])
    usable, parts_ok, _ = _conditions(side, index, ent, columns[name], count, matched)
    keep = usable & parts_ok  # two parts or more: a pair hit never needs the fallback
    # The hits that the best link's bound keeps, bounded by the links into the name too.
    # (Forward sums the same values in another order: a relative hair of slack.)
    at = np.flatnonzero(keep)
    in_name = _linked_in_names(rows[at], name[at], local, mine, name_tokens)
    matched = np.minimum(matched[at], parts[at] / 2 * in_name * (1 + 1e-9))
    usable, parts_ok, _ = _conditions(side, index, ent[at], columns[name[at]], count[at], matched)
    keep[at] = usable & parts_ok
    return _hits(ent[keep], per_name.indices[keep])


def _linked_in_names(
    rows: np.ndarray,
    names: np.ndarray,
    local: pl.DataFrame,
    mine: pl.DataFrame,
    name_tokens: pl.DataFrame,
) -> np.ndarray:
    """Per (row, name) hit: the sum of the entity's link values to the name's tokens (local:
    row, ent; mine: ent, token_id, value; name_tokens: name, token_id)."""
    values = local.select("row", "ent").unique().join(mine, on="ent").drop("ent")
    summed = (
        pl.DataFrame({"row": rows.astype(np.int64), "name": names.astype(np.int64)})
        .with_row_index("hit")
        .join(name_tokens, on="name")
        .join(values, on=["row", "token_id"])
        .group_by("hit")
        .agg(pl.col("value").sum())
    )
    in_name = np.zeros(rows.size)
    in_name[summed["hit"].to_numpy()] = summed["value"].to_numpy()
    return in_name


def _weighted_links(side: _BookSide, linked: pl.DataFrame, n_vocab: int) -> sparse.csr_matrix:
    """book token x list token: the token's weight times the link's similarity."""
    values = _matrix(linked, "b", "token_id", (side.tokens.height, n_vocab), "sim")
    return (sparse.diags(side.tokens["w"].to_numpy()) @ values).tocsr()


def _entity_links(
    parts: sparse.csr_matrix, weighted: sparse.csr_matrix, positions: np.ndarray
) -> pl.DataFrame:
    """ent, token_id, value: the list tokens each entity of a block (its parts; their
    positions) links to, valued as forward blocking values them (its parts' weights times
    their similarity, summed)."""
    mapped = (parts @ weighted).tocoo()
    return pl.DataFrame(
        {
            "ent": positions[mapped.row].astype(np.int64),
            "token_id": mapped.col.astype(np.int64),
            "value": mapped.data,
        }
    )


def _conditions(
    side: _BookSide,
    index: WatchlistIndex,
    ent: np.ndarray,
    name_ids: np.ndarray,
    count: np.ndarray,
    matched: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """blocking.select_candidates' conditions before its caps, per (entity, name): enough
    of the query found (or a list name found whole); two distinguishing parts (or a query
    with at most one); and, apart, a transliterated query's rare part (its fallback)."""
    total = side.total[ent]
    whole_name = (count >= 2) & (
        matched >= config.WHOLE_NAME_BLOCK_SHARE * index.name_weights[name_ids]
    )
    usable = (matched >= config.MIN_BLOCKING_SCORE * total) | whole_name
    parts_ok = (count >= 2) | (side.strong[ent] <= 1)
    fallback = side.transliterated[ent] & (
        matched >= config.FALLBACK_MIN_BLOCK_SCORE * np.maximum(total, 1e-9)
    )
    return usable, parts_ok, fallback


def _same_parts(book: BookIndex, index: WatchlistIndex, names: pl.DataFrame) -> pl.DataFrame:
    """Names with exactly an entity's parts, in any order: always candidates."""
    keyed = names.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("name"),
        name_key(pl.col("tokens")).alias("key"),
    )
    return book.name_keys().join(keyed, on="key").select(list(_HITS))


def _same_syllables(book: BookIndex, index: WatchlistIndex, names: pl.DataFrame) -> pl.DataFrame:
    """Names that are an entity's Korean or Chinese syllables in another romanisation (a
    syllable key in common, "Kim Chong Un" / "KIM Jong Un"): always candidates, however
    few of their tokens a key links."""
    name_ids = names["name_id"].cast(index.syllable_keys.schema["name_id"]).implode()
    keyed = index.syllable_keys.filter(pl.col("name_id").is_in(name_ids)).select("key").unique()
    return (
        book.entities.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("ent"),
            pl.col("syllable_keys").alias("key"),
        )
        .explode("key")
        .join(keyed, on="key")
        .select("ent", pl.lit(-1, dtype=pl.Int64).alias("name"))
    )


def _identifier_hits(book: BookIndex, index: WatchlistIndex, entries: pl.Series) -> pl.DataFrame:
    """Entities with an identifier value equal to one of the entries' (value first)."""
    listed = index.identifiers.filter(pl.col("entity_id").is_in(entries.implode()))
    return (
        book.entities.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("ent"),
            pl.col("id_values").alias("value_key"),
        )
        .explode("value_key")
        .join(listed.select("value_key"), on="value_key")
        .select("ent", pl.lit(-1, dtype=pl.Int64).alias("name"))
    )


def _split_words(
    book: BookIndex, side: _BookSide, index: WatchlistIndex, names: pl.DataFrame
) -> pl.DataFrame:
    """Entities with two neighbouring parts that, written together, are a list word sharing
    a key with the entries' tokens ("Patr ushev", "Mor Disco"), as forward blocking looks
    that word up (blocking._split_words: the name's parts in order, left then right)."""
    wanted = _name_tokens(index, names).select("token_id").unique()
    keys = index.token_keys.join(wanted, on="token_id").select("key").unique()
    words = (
        index.token_keys.join(keys, on="key")
        .select("token_id")
        .unique()
        .join(index.vocab.select("token_id", "token"), on="token_id")
        .filter(pl.col("token").str.len_chars() >= 2)
    )
    unknown = side.tokens.select("b", "token")  # listed or not, as forward
    if unknown.is_empty() or words.is_empty():
        return pl.DataFrame(schema=_HITS)
    length = pl.col("token").str.len_chars()
    cuts = (
        words.select("token", pl.int_ranges(1, length).alias("cut"))
        .explode("cut")
        .select(
            pl.col("token").str.slice(0, pl.col("cut")).alias("left"),
            pl.col("token").str.slice(pl.col("cut")).alias("right"),
        )
        .join(unknown.rename({"token": "left", "b": "b_left"}), on="left")
        .join(unknown.rename({"token": "right", "b": "b_right"}), on="right")
    )
    if cuts.is_empty():
        return pl.DataFrame(schema=_HITS)
    holders = side.parts.tocsc()
    both = holders[:, cuts["b_left"].to_numpy()].multiply(holders[:, cuts["b_right"].to_numpy()])
    # The entities holding both halves; of those, the ones holding them side by side.
    held = _distinct(both.tocoo().row).astype(np.int64)
    tokens = pl.col("tokens")
    neighbours = (
        pl.DataFrame({"ent": held, "tokens": book.entities["tokens"].gather(held)})
        .filter(tokens.list.len() >= 2)
        .select(
            "ent",
            tokens.list.head(tokens.list.len() - 1).alias("left"),
            tokens.list.slice(1).alias("right"),
        )
        .explode("left", "right")
        .filter((pl.col("left") + pl.col("right")).is_in(words["token"].implode()))
    )
    ent = neighbours["ent"].unique().sort().to_numpy()
    return pl.DataFrame({"ent": ent.astype(np.int64), "name": np.full(ent.size, -1, np.int64)})


def _vowel_poor_weights(numbered: pl.DataFrame, index: WatchlistIndex) -> pl.Expr:
    """The weight column as forward blocking weighs a query token: an unlisted token
    written with few vowels as the commonest list token with its consonants
    (blocking.vowel_poor_weight), short of the length blocking reads as words run together
    (its own weight, segmented_weight, is not evaluated here)."""
    poor = [
        token
        for token in numbered.join(index.token_weights, on="token", how="anti")["token"].to_list()
        if len(token) < config.MIN_SEGMENTED_LEN and vowel_poor(token)
    ]
    if not poor:
        return pl.col("weight")
    found = [vowel_poor_weight(token, index) for token in poor]
    return pl.col("weight").fill_null(
        pl.col("token").replace_strict(poor, found, default=None, return_dtype=pl.Float64)
    )


def _segmented_words(
    side: _BookSide, index: WatchlistIndex, names: pl.DataFrame, linked: pl.DataFrame
) -> pl.DataFrame:
    """Entities holding a long unlisted token that forward blocking reads as the list words
    it is made of (blocking.segments_of: "maronderamapleleaffarm"), or a token a forward
    screen may read as a legal word typed twice ("Amber Campano": Amber Co., _legal_words),
    and linked to the entries' tokens at all: through one of those words (forward
    blocking's own map of the word, map_tokens) or through another of their parts
    (``linked``).

    Forward blocking makes each such word a part of the query, and weighs the whole token
    as its words (blocking.segmented_weight, not 1; a legal word weighs next to nothing),
    which moves the entity's total, its distinguishing parts and so every share it compares:
    its conditions are not evaluated here, any link will do. An entity with no link to the
    entries' tokens, through its parts, its words or two of its parts written together
    (_split_words), finds none of their names."""
    unlisted = side.tokens.filter(
        ~pl.col("listed"),
        pl.col("token").str.len_chars() >= config.MIN_RETYPED_LEGAL_LEN,
    ).select("b", "token")
    long = unlisted.filter(pl.col("token").str.len_chars() >= config.MIN_SEGMENTED_LEN)
    made_of = [(token, word) for token in long["token"].to_list()
               for word in segments_of(token, index)]  # fmt: skip
    letters = unlisted.filter(pl.col("token").str.contains("^[a-z]+$"))["token"].unique()
    made_of += _legal_words(letters.to_list(), index)
    words = pl.DataFrame(made_of, schema={"token": pl.Utf8, "word": pl.Utf8}, orient="row")
    if words.is_empty():
        return pl.DataFrame(schema=_HITS)
    wanted = _name_tokens(index, names).select("token_id").unique()
    mapped = map_tokens(words.select(pl.col("word").alias("token")).unique(), index)
    linked_words = mapped.join(wanted, on="token_id").select(pl.col("token").alias("word"))
    segmented = unlisted.join(words.select("token").unique(), on="token")["b"].to_numpy()
    via_words = unlisted.join(words.join(linked_words.unique(), on="word"), on="token")["b"]
    holds = _holding(side, segmented)
    keep = _holding(side, via_words.unique().to_numpy()) | (
        holds & _holding(side, linked["b"].unique().to_numpy())
    )
    ent = np.flatnonzero(keep)
    return pl.DataFrame({"ent": ent.astype(np.int64), "name": np.full(ent.size, -1, np.int64)})


def _holding(side: _BookSide, tokens: np.ndarray) -> np.ndarray:
    """Per entity: does it hold one of these book tokens (numbers b)?"""
    marked = np.zeros(side.tokens.height, dtype=np.float64)
    marked[tokens.astype(np.int64)] = 1.0
    return (side.parts @ marked) > 0


# --- the view screen ----------------------------------------------------------------------

# Reverse candidates screened against the view at a time (bounds the memory of one call).
VIEW_SCREEN_CHUNK = 50_000


def entries_view(
    index: WatchlistIndex, entries: pl.Series, token_links: pl.DataFrame | None = None
) -> WatchlistIndex:
    """The index as it would be with only these entries' names, identifiers and rows, and
    with everything that is a statistic of the whole snapshot kept as it is: token weights,
    the vocabulary with its document frequencies and blocking flags, token keys, token pairs
    (and their sorted copies and the list tokens' features, made once on the index).

    It shares the index's memory of token links (same vocabulary), or, given
    ``token_links`` (view_token_links), has a memory of its own holding them: links that
    hold only what matters in the view, which the index must not remember."""
    cache = index.token_cache
    if token_links is not None:
        cache = TokenLinks()
        cache.add(token_links, config.MAX_CACHED_TOKEN_LINKS)
    keep = index.names["entity_id"].is_in(entries.implode())
    kept_ids = index.names.filter(keep)["name_id"].to_numpy()
    names = index.names.filter(keep).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("name_id")
    )
    # The words a run-together token is cut into come from every list name's spelling,
    # not the view's few: made on the whole index, then shared (and the token pairs'
    # numbers, the same in the view). The short vowels' tables are the view's own, of its
    # names' tokens: a link to a token in no view name meets only empty rows of the view's
    # matrices (view_token_links), and a cold rescreen need not key the whole vocabulary.
    segment_words(index), short_words(index), pair_numbers(index)
    view_vocab = index.vocab.join(
        names.select(pl.col("tokens").explode().alias("token")).unique(), on="token"
    )
    return dataclasses.replace(
        index,
        names=names,
        name_weights=index.name_weights[kept_ids],
        name_entries=index.name_entries[kept_ids],
        name_lists=index.name_lists[kept_ids],
        entries=index.entries.filter(pl.col("entity_id").is_in(entries.implode())),
        token_names=index.token_names[:, kept_ids].tocsr(),
        name_keys=names.select(name_key(pl.col("tokens")).alias("key"), "name_id"),
        syllable_keys=_renumbered(index.syllable_keys, kept_ids),
        pair_names=index.pair_names[:, kept_ids].tocsr(),
        identifiers=index.identifiers.filter(pl.col("entity_id").is_in(entries.implode())),
        token_cache=cache,
        lookups={key: sorted_by(index, *key) for key in _SHARED_LOOKUPS},
        derived={
            "names.token_features": list_token_features(index),
            VOWEL_TABLES: VowelTables.of(view_vocab),
        }
        | {key: index.derived[key] for key in _SHARED_DERIVED if key in index.derived},
    )


# Sorted tables (lookup.sorted_by) the view shares with the index: the snapshot-wide ones.
_SHARED_LOOKUPS = (
    ("token_weights", "token"),
    ("token_keys", "key"),
    ("vocab", "token_id"),
    ("pair_ids", "pair"),
)
# What blocking derives from the vocabulary and weights alone (blocking.py).
_SHARED_DERIVED = (
    "blocking.pair_numbers",  # the view keeps the index's vocabulary and token pairs
    "blocking.weights",
    "blocking.list_words",
    "blocking.segments",
    *SEGMENTATION_DERIVED,
)


def _renumbered(table: pl.DataFrame, kept_ids: np.ndarray) -> pl.DataFrame:
    """A table keyed by name_id, restricted to the kept names, in the view's numbering."""
    dtype = table.schema["name_id"]
    view_ids = pl.DataFrame(
        {"name_id": pl.Series(kept_ids).cast(dtype), "view_id": range(kept_ids.size)}
    )
    return (
        table.join(view_ids, on="name_id")
        .drop("name_id")
        .rename({"view_id": "name_id"})
        .with_columns(pl.col("name_id").cast(dtype))
        .select(table.columns)
    )


@dataclass(frozen=True)
class ReverseScreen:
    """What reverse screening found for a list update."""

    positions: np.ndarray  # book positions with a match on the entries: screen them forward
    candidates: int  # entities reverse blocking let through
    pairs: int  # (entity, list name) pairs reverse blocking let through


def reverse_screen(
    queries: pl.DataFrame,
    book: BookIndex,
    index: WatchlistIndex,
    entries: pl.Series,
    *,
    threshold: float,
    max_matches: int,
) -> ReverseScreen:
    """The book entities that a forward screen of ``queries`` (screen()'s rows, one per
    book position, with their own threshold, lists and search type) against ``index`` could
    match with one of ``entries``: the reverse candidates that match in the entries' view.

    A superset of the entities whose forward screen has a match on one of the entries, and
    their forward screens are what a full rescreen's would be: screening only them, with the
    full index, gives exactly the full rescreen's matches on the entries."""
    every_list = (
        queries["lists"].is_null().to_numpy()
        if "lists" in queries.columns
        else np.ones(book.size, dtype=bool)
    )
    found = reverse_candidates(book, index, entries, every_list)
    view = entries_view(index, entries, found.token_links)
    matched = [np.zeros(0, dtype=np.int64)]
    for start in range(0, found.positions.size, VIEW_SCREEN_CHUNK):
        chunk = found.positions[start : start + VIEW_SCREEN_CHUNK]
        results = screen(
            queries[chunk],
            view,
            threshold=threshold,
            max_matches=max_matches,
            names=book.entities[chunk].select(*NORMALIZED_NAME.names(), SYLLABLE_KEYS_GIVEN),
        )
        matched.append(chunk[results["is_match"].fill_null(False).to_numpy()])
    return ReverseScreen(np.concatenate(matched), found.positions.size, found.pairs)


# --- helpers ------------------------------------------------------------------------------


def _matrix(
    frame: pl.DataFrame, rows: str, cols: str, shape: tuple[int, int], values: str | None = None
) -> sparse.csr_matrix:
    """A CSR matrix from two columns (ones, or a value column); duplicates keep the largest."""
    if values is None:
        frame = frame.select(rows, cols).unique().with_columns(pl.lit(1.0).alias("_v"))
        values = "_v"
    else:
        frame = frame.group_by(rows, cols).agg(pl.col(values).max())
    return sparse.csr_matrix(
        (
            frame[values].to_numpy().astype(np.float64),
            (frame[rows].to_numpy(), frame[cols].to_numpy()),
        ),
        shape=shape,
    )


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted. A sort and a comparison of neighbours: np.unique
    (numpy 2.4) takes seconds on millions of unsorted int64 where this takes 0.1 s."""
    ordered = np.sort(values)
    return (
        ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if values.size else ordered
    )


def _hits(ent: np.ndarray, name: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"ent": ent.astype(np.int64), "name": name.astype(np.int64)})
