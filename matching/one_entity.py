"""check(): one entity screened in plain Python, screen()'s answer for it in a few ms.

A single check (POST /kyc) is one query. The chunk path spends ~150 Polars operations on
it, each with 60-150 µs of fixed cost whatever the rows: ~35 ms. Here the same steps run
on Python values, numpy and the index's sparse matrices:

    normalize_one -> blocking (the chunk path's matrix products and select_candidates) ->
    align_one, each feature's `one` twin (algorithm.py) and score.py's *_one rules ->
    the chunk path's ordering rules

Every rule is the chunk path's, written once more for one pair where Polars cannot be
cheap, and the twin sits beside its column version (compare/, algorithm.py, score.py,
screen.py, index.py, normalize.py) so that a change to one shows the other;
tests/test_matching_latency.py holds the two paths to identical results.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from matching import config
from matching.algorithm import CONTRADICTIONS, NAME_FEATURES, QUALIFIERS, OnePair
from matching.blocking import (
    PARTS_UNIT,
    counted_once,
    cut_word_links_one,
    found_in_names,
    segmented_weight,
    segments_of,
    select_candidates,
    short_vowel_links,
    vowel_poor_weight,
)
from matching.compare.entities import person_one
from matching.compare.names import (
    align_one,
    linked_similarity_one,
    part_weight_one,
)
from matching.compare.syllables import in_syllable_script_one
from matching.compare.syllables import name_keys_one as syllable_name_keys_one
from matching.frames import (
    IDENTIFIER_VALUES,
    NO_NAME,
    NO_NAME_LEFT,
    QUERY_COLUMNS,
    RESULT,
    SEARCH_TYPES,
    require_search_type,
)
from matching.index import NOT_IN_IDENTIFIER, WatchlistIndex, blocking_keys_one, name_key_one
from matching.normalize import (
    in_abjad_script_one,
    normalize_one,
    repeated_one,
    vowel_poor,
    wholly_in_abjad_script_one,
)
from matching.retyped_links import index_table, retyped_links
from matching.score import (
    joined_one,
    match_type_one,
    stand_in_one,
    syllable_name_one,
    typed_name_one,
    weak_one,
)
from matching.screen import search_type_allows_one
from matching.segmentation import resegmented_one
from matching.version import ENGINE_VERSION

# Query tokens whose list links are kept in memory; past this the memory starts afresh.
MAX_REMEMBERED_TOKENS = 200_000

_NOT_IN_IDENTIFIER = re.compile(NOT_IN_IDENTIFIER)


@dataclass
class OneEntityTables:
    """The index as Python values, made once per index on the first one-entity call."""

    token_weight: dict[str, float]
    vocab_tokens: list[str]  # by token_id
    vocab_id: dict[str, int]
    tokens_by_key: dict[str, list[int]]  # blocking key -> list token ids
    blocking: np.ndarray  # per token_id: rare enough to block on alone
    pair_id: dict[str, int]
    names_by_key: dict[str, list[int]]
    names_by_syllables: dict[str, list[int]]
    name_tokens: list[list[str]]  # by name_id
    name_repeated: list[list[str]]
    name_text: list[str]
    name_entity: list[str]
    name_list: list[str]
    name_transliterated: list[bool]
    entries: dict[str, dict[str, Any]]  # entity_id -> the entries row
    identifiers: dict[str, list[tuple[str, str, str]]]  # value_key -> entity, type, value
    # query token -> token_ids, sims, abjad_only
    links: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


_TABLES = "one_entity.tables"  # their key among the index's derived views


def tables(index: WatchlistIndex) -> OneEntityTables:
    """The index's one-entity tables, made on first use (a few seconds; the API does it
    at start-up) and kept with the index. Two threads may both make them: the same
    tables, one of them kept."""
    made = index.derived.get(_TABLES)
    if made is None:
        names = index.names
        keys = index.name_keys.group_by("key").agg(pl.col("name_id").sort())
        syllables = index.syllable_keys.group_by("key").agg(pl.col("name_id").sort())
        token_keys = index.token_keys.group_by("key").agg("token_id")
        ids = index.identifiers.group_by("value_key", maintain_order=True).agg(
            "entity_id", "id_type", "value"
        )
        made = index.derived[_TABLES] = OneEntityTables(
            token_weight=dict(zip(*index.token_weights.get_columns(), strict=True)),
            vocab_tokens=index.vocab.sort("token_id")["token"].to_list(),
            vocab_id=dict(zip(index.vocab["token"], index.vocab["token_id"], strict=True)),
            tokens_by_key=dict(
                zip(token_keys["key"], token_keys["token_id"].to_list(), strict=True)
            ),
            blocking=index.vocab.sort("token_id")["blocking"].to_numpy(),
            pair_id=dict(zip(index.pair_ids["pair"], index.pair_ids["pair_id"], strict=True)),
            names_by_key=dict(zip(keys["key"], keys["name_id"].to_list(), strict=True)),
            names_by_syllables=dict(
                zip(syllables["key"], syllables["name_id"].to_list(), strict=True)
            ),
            name_tokens=names["tokens"].to_list(),
            name_repeated=names["repeated"].to_list(),
            name_text=names["name"].to_list(),
            name_entity=names["entity_id"].to_list(),
            name_list=names["list_code"].to_list(),
            name_transliterated=names["transliterated"].fill_null(False).to_list(),
            entries={row["entity_id"]: row for row in index.entries.iter_rows(named=True)},
            identifiers={
                key: list(zip(entity, kind, value, strict=True))
                for key, entity, kind, value in ids.iter_rows()
            },
            links={},
        )
    return made


def check(
    subject: pl.DataFrame,
    index: WatchlistIndex,
    *,
    threshold: float,
    max_matches: int,
    lists: list[str] | None = None,
    search_type: str = "composite",
) -> pl.DataFrame:
    """A single check: screen() of a one-row frame, the same result row, in a few ms.

    The index's one-entity tables are made by the first call (a few seconds): a service
    answering single checks makes them at start-up; a batch never needs them."""
    if subject.height != 1:
        raise ValueError(f"check() takes one row, not {subject.height}: screen() takes chunks")
    require_search_type(search_type)
    given = [col for col in QUERY_COLUMNS if col in subject.columns]
    query = subject.select(pl.col(col).cast(QUERY_COLUMNS[col]) for col in given).row(0, named=True)
    options = {"threshold": threshold, "max_matches": max_matches, "lists": lists}
    return pl.DataFrame(
        [_screen_row(query, index, search_type=search_type, **options)], schema=RESULT
    )


def _screen_row(
    query: dict[str, Any],
    index: WatchlistIndex,
    *,
    threshold: float,
    max_matches: int,
    lists: list[str] | None,
    search_type: str,
) -> dict[str, Any]:
    """One query row (QUERY_COLUMNS' fields; missing ones are null) -> its result row."""
    own = tables(index)
    tokens, transliterated = normalize_one(query.get("full_name"))
    tokens = resegmented_one(
        tokens,
        index,
        lambda token: max(_linked(own, token, blocking_keys_one(token)).values(), default=0.0),
        transliterated,
    )
    threshold = query.get("threshold") if query.get("threshold") is not None else threshold
    kind = (query.get("search_type") or search_type).lower()
    lists = query.get("lists") if query.get("lists") is not None else lists
    id_values = _identifier_values(query)
    error = _error(query, kind, tokens, id_values)
    result = {"row": query.get("row"), "error": error, "engine_version": ENGINE_VERSION}
    if error is not None:
        return result | {"status": "failed", "is_match": None, "match_count": None, "matches": []}
    scored = _name_matches(own, index, query, tokens, transliterated, lists, kind, threshold)
    scored += _identifier_matches(own, id_values, lists)
    matches = _select_matches(own, scored, threshold, max_matches)
    return result | {
        "status": "completed",
        "is_match": bool(matches),
        "match_count": len(matches),
        "matches": matches,
    }


def _error(query: dict[str, Any], kind: str, tokens: list[str], ids: list[str]) -> str | None:
    """screen._prepare's errors, in the same order."""
    if kind not in SEARCH_TYPES:
        return f"unknown search_type {kind}"
    if not tokens and not ids:
        return NO_NAME if query.get("full_name") is None else NO_NAME_LEFT
    return None


def _identifier_values(query: dict[str, Any]) -> list[str]:
    """screen._query_identifiers for one row: normalised, long enough, first of each."""
    values = [query.get(field) for field in IDENTIFIER_VALUES]
    values += [item.get("value") for item in query.get("identifiers") or []]
    keys = (_identifier_key(value) for value in values if value is not None)
    return list(dict.fromkeys(k for k in keys if len(k) >= config.MIN_IDENTIFIER_LEN))


def _identifier_key(value: str) -> str:
    return _NOT_IN_IDENTIFIER.sub("", value.upper())


# --- Candidates: blocking.candidates for one query -----------------------------------------


def _candidates(
    own: OneEntityTables,
    index: WatchlistIndex,
    tokens: list[str],
    transliterated: bool,
    lists: list[str] | None,
    repeated: list[str],
    script: tuple[bool, bool],
) -> list[int]:
    """Name ids, in the chunk path's order: the same matrices, one row each. script: the
    query is written in an abjad, and wholly in one (blocking's abjad and wholly_abjad
    columns)."""
    abjad, wholly = script
    own_weight = {token: _query_weight(own, index, token) for token in tokens}
    split = _split_words(own, tokens, own_weight) | _segment_parts(own, index, tokens)
    vocab = sorted(set(tokens) | set(split))
    weights = np.array([own_weight.get(token, 0.0) for token in vocab])
    # Words split in two find names as whole words; the query's total stays its parts'.
    found_by = np.array([max(own_weight.get(t, 0.0), split.get(t, (0.0, 0))[0]) for t in vocab])
    strong_parts = [
        max(int(own_weight.get(t, 0.0) >= config.STRONG_PART_WEIGHT), split.get(t, (0.0, 0))[1])
        for t in vocab
    ]
    encoded = found_by + PARTS_UNIT * np.array(strong_parts)
    links = [_links(own, index, token) for token in vocab]
    if not abjad:  # the links of an abjad's reading are for a query written in one only
        links = [(ids[~only], sims[~only]) for ids, sims, only in links]
    else:  # and, for its own words, the short vowels it leaves out (blocking._token_map)
        own_words = set(tokens) if wholly else set()
        links = [
            _with_short_vowels(index, t, ids, sims) if t in own_words else (ids, sims)
            for t, (ids, sims, _) in zip(vocab, links, strict=True)
        ]
    # The links are sorted by token_id without repeats: the CSR arrays as they stand.
    indptr = np.cumsum([0, *(ids.size for ids, _ in links)])
    cols = np.concatenate([ids for ids, _ in links])
    sims = np.concatenate([sims for _, sims in links])
    t_shape = (len(vocab), index.vocab.height)
    retyped = sims < config.MIN_TOKEN_SIM  # only retyped_links link below
    # Token pairs are firm evidence; a link two typing errors off only beside a firm one.
    t_sim = sparse.csr_matrix((np.where(retyped, 0.0, sims), cols, indptr), shape=t_shape)
    t_sim.eliminate_zeros()
    t_retyped = sparse.csr_matrix((np.where(retyped, sims, 0.0), cols, indptr), shape=t_shape)
    t_retyped.eliminate_zeros()
    weak = sims <= config.WEAK_LINK_SIM
    t_firm = sparse.csr_matrix((np.where(weak, 0.0, 1.0), cols, indptr), shape=t_shape)
    t_weak = sparse.csr_matrix((np.where(weak, 1.0, 0.0), cols, indptr), shape=t_shape)
    t_firm.eliminate_zeros()
    t_weak.eliminate_zeros()
    one_row = (np.arange(len(vocab)), np.array([0, len(vocab)]))
    q_weight = sparse.csr_matrix((weights, *one_row), shape=(1, len(vocab)))
    q_found_by = sparse.csr_matrix((found_by, *one_row), shape=(1, len(vocab)))
    q_encoded = sparse.csr_matrix((encoded, *one_row), shape=(1, len(vocab)))
    pair_hits = _pair_hits(
        own, index, (q_found_by @ t_sim).tocoo(), (q_found_by @ t_retyped).tocoo()
    )
    found = found_in_names(q_encoded, t_firm, t_weak, index).maximum(pair_hits).tocsr()
    allowed = _allowed(index, lists)
    t_loss = sparse.csr_matrix((1.0 - sims, cols, indptr), shape=t_shape)
    t_loss.eliminate_zeros()
    q_loss = (q_found_by @ t_loss).tocsr()
    selected = select_candidates(
        found, q_weight, np.array([allowed]), np.array([transliterated]), index, q_loss
    )
    same = own.names_by_key.get(name_key_one(tokens), [])
    keys = syllable_name_keys_one(tokens, repeated)
    syllables = sorted({i for key in keys or () for i in own.names_by_syllables.get(key, [])})
    listed = [i for i in same + syllables if (allowed >> int(index.name_lists[i])) & 1]
    return list(dict.fromkeys(selected["name_id"].to_list() + listed))


def _with_short_vowels(
    index: WatchlistIndex, token: str, ids: np.ndarray, sims: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A token's links (sorted token_ids, sims) and its short_vowel_links where it has no
    link to that list token already, sorted by token_id."""
    extra = short_vowel_links(token, index)
    if not extra:
        return ids, sims
    links = dict(zip(ids.tolist(), sims.tolist(), strict=True))
    for token_id, sim in extra.items():
        links.setdefault(token_id, sim)
    merged = np.array(sorted(links), dtype=np.int64)
    return merged, np.array([links[i] for i in merged.tolist()], dtype=np.float64)


def _query_weight(own: OneEntityTables, index: WatchlistIndex, token: str) -> float:
    """blocking._query_weights for one token."""
    listed = own.token_weight.get(token)
    if listed is None and len(token) >= config.MIN_SEGMENTED_LEN:
        return segmented_weight(token, index)
    if listed is None and vowel_poor(token):
        return vowel_poor_weight(token, index)
    return part_weight_one(token, listed)


def _split_words(
    own: OneEntityTables, tokens: list[str], weights: dict[str, float]
) -> dict[str, tuple[float, int]]:
    """blocking._split_words for one query: joined token -> (weight, distinguishing parts)."""
    split = {}
    for left, right in itertools.pairwise(tokens):
        if left + right in own.vocab_id:
            strong = sum(weights[t] >= config.STRONG_PART_WEIGHT for t in (left, right))
            split[left + right] = (weights[left] + weights[right], strong)
    return split


def _segment_parts(
    own: OneEntityTables, index: WatchlistIndex, tokens: list[str]
) -> dict[str, tuple[float, int]]:
    """blocking._segment_parts for one query: list word -> (weight, distinguishing parts)."""
    found = {}
    for token in tokens:
        if len(token) < config.MIN_SEGMENTED_LEN or token in own.vocab_id:
            continue
        for word in segments_of(token, index):
            if word in own.vocab_id:
                weight = part_weight_one(word, own.token_weight.get(word))
                found[word] = (weight, int(weight >= config.STRONG_PART_WEIGHT))
    return found


def _links(
    own: OneEntityTables, index: WatchlistIndex, token: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """blocking.map_tokens for one query token: its similar list tokens (token_ids, sims
    and abjad_only, by token_id), through shared keys; a token with none through
    two-deletion keys and as two list words run together; an unlisted token also to the
    list tokens two typing errors off (retyped_links). Remembered per token."""
    remembered = own.links.get(token)
    if remembered is not None:
        return remembered
    links = _linked(own, token, blocking_keys_one(token))
    lonely = not links
    if lonely:
        links = _linked(own, token, blocking_keys_one(token, query=True))
    only = _abjad_only(own, token, links)
    if lonely:
        for token_id in _split_joined(own, token):
            links[token_id] = 1.0
            only.discard(token_id)
    if (  # a given name run into the family name: two list words
        len(token) >= config.MIN_JOINED_NAME_LEN
        and max(links.values(), default=0.0) < config.JOINED_NAME_BEST_SIM
        and token not in own.vocab_id
    ):
        for token_id in _split_joined(own, token, config.MIN_JOINED_HALF_LEN, rare_half=False):
            links[token_id] = 1.0
            only.discard(token_id)
    if token not in own.vocab_id:  # a word cut short: the list tokens it begins
        for token_id, sim in cut_word_links_one(token, index).items():
            links.setdefault(token_id, sim)
    if token not in own.vocab_id:  # two typing errors no key reaches
        retyped = retyped_links([token], index_table(index))
        for token_id, sim in zip(retyped["token_id"], retyped["sim"], strict=True):
            links.setdefault(token_id, sim)
    ids = np.array(sorted(links), dtype=np.int64)
    found = (
        ids,
        np.array([links[i] for i in ids.tolist()], dtype=np.float64),
        np.array([i in only for i in ids.tolist()], dtype=bool),
    )
    if len(own.links) >= MAX_REMEMBERED_TOKENS:
        own.links.clear()
    own.links[token] = found
    return found


def _linked(own: OneEntityTables, token: str, keys: set[str]) -> dict[int, float]:
    """List tokens sharing a key with `token` and similar enough: token_id -> sim."""
    linked = {}
    for key in keys:
        for token_id in own.tokens_by_key.get(key, ()):
            if token_id not in linked:
                linked[token_id] = linked_similarity_one(
                    token, own.vocab_tokens[token_id], token in own.token_weight
                )
    return {i: sim for i, sim in linked.items() if sim >= config.MIN_TOKEN_SIM}


def _abjad_only(own: OneEntityTables, token: str, linked: dict[int, float]) -> set[int]:
    """The token_ids of `linked` (_linked's) that only a query written in an abjad takes
    (compare.names.abjad_only_link): the long vowel letter's reading, for an unlisted
    token spelt with a, i and u only."""
    listed = token in own.token_weight
    if listed or "e" in token or "o" in token:
        return set()
    return {
        token_id
        for token_id in linked
        if linked_similarity_one(token, own.vocab_tokens[token_id], listed, matres=False)
        < config.MIN_TOKEN_SIM
    }


def _split_joined(
    own: OneEntityTables, token: str, min_half: int = 2, rare_half: bool = True
) -> list[int]:
    """blocking._split_joined for one token: the halves that are list tokens, each at
    least min_half letters long, one of them rare enough to block on if rare_half."""
    found = []
    for cut in range(min_half, len(token) - min_half + 1):
        left, right = own.vocab_id.get(token[:cut]), own.vocab_id.get(token[cut:])
        if left is None or right is None:
            continue
        if own.blocking[left] or own.blocking[right] or not rare_half:
            found += [left, right]
    return found


def _allowed(index: WatchlistIndex, lists: list[str] | None) -> int:
    """blocking._allowed_lists for one query: a bit per list it screens against."""
    if lists is None:
        return (1 << len(index.list_codes)) - 1
    bits = {code: 1 << i for i, code in enumerate(index.list_codes)}
    return sum(bits.get(code, 0) for code in lists)


def _pair_hits(
    own: OneEntityTables,
    index: WatchlistIndex,
    mapped: sparse.coo_matrix,
    retyped: sparse.coo_matrix,
) -> sparse.csr_matrix:
    """blocking._pair_hits for one query: names holding two mapped list tokens, one of
    them too common to block on alone; a token linked two typing errors off (retyped) only
    beside a firm one, one of the two rare."""
    shape = (1, index.names.height)
    found = [
        (own.vocab_tokens[col], value, not own.blocking[col], is_retyped)
        for matrix, is_retyped in ((mapped, False), (retyped, True))
        for col, value in zip(matrix.col, matrix.data, strict=True)
    ]
    best: dict[int, float] = {}
    for token, value, common, token_retyped in found:
        if not common:
            continue
        for other, other_value, other_common, other_retyped in found:
            if other == token or (token_retyped and other_retyped):
                continue
            if (token_retyped or other_retyped) and other_common:
                continue
            pair = f"{token} {other}" if token < other else f"{other} {token}"
            pair_id = own.pair_id.get(pair)
            if pair_id is not None:
                weight = 2 * PARTS_UNIT + value + other_value
                best[pair_id] = max(weight, best.get(pair_id, weight))
    if not best:
        return sparse.csr_matrix(shape, dtype=np.float64)
    ids = np.fromiter(best, dtype=np.int64, count=len(best))
    values = np.fromiter(best.values(), dtype=np.float64, count=len(best))
    q_pairs = sparse.csr_matrix(
        (values, (np.zeros(ids.size, dtype=np.int64), ids)), shape=(1, index.pair_ids.height)
    )
    return counted_once((q_pairs @ index.pair_names).tocsr())


# --- Scoring: score.score_pairs for the pairs of one query --------------------------------


def _name_matches(
    own: OneEntityTables,
    index: WatchlistIndex,
    query: dict[str, Any],
    tokens: list[str],
    transliterated: bool,
    lists: list[str] | None,
    kind: str,
    threshold: float,
) -> list[dict[str, Any]]:
    """Per entry the best-scoring list name (ties: the first name in sort order)."""
    if not tokens:
        return []
    q_weights = [part_weight_one(token, own.token_weight.get(token)) for token in tokens]
    best: dict[str, dict[str, Any]] = {}
    repeated = repeated_one(query.get("full_name"))
    syllabic = in_syllable_script_one(query.get("full_name"))
    abjad = in_abjad_script_one(query.get("full_name"))
    script = (abjad, wholly_in_abjad_script_one(query.get("full_name")))
    for name_id in _candidates(own, index, tokens, transliterated, lists, repeated, script):
        if lists is not None and own.name_list[name_id] not in lists:
            continue
        hit = _score(
            own, query, tokens, q_weights, (transliterated, syllabic, abjad), name_id, threshold
        )
        if hit is None or not search_type_allows_one(kind, hit.pop("align")):
            continue
        held = best.get(hit["entity_id"])
        if held is None or _better(hit, held):
            best[hit["entity_id"]] = hit
    return list(best.values())


def _better(hit: dict[str, Any], held: dict[str, Any]) -> bool:
    """A higher score, or the same score with a name first in sort order."""
    if hit["score"] != held["score"]:
        return hit["score"] > held["score"]
    return hit["matched_name"] < held["matched_name"]


def _score(
    own: OneEntityTables,
    query: dict[str, Any],
    tokens: list[str],
    q_weights: list[float],
    q_script: tuple[bool, bool, bool],
    name_id: int,
    min_score: float,
) -> dict[str, Any] | None:
    """score_pairs for one pair: None below min_score, else its scored match. q_script:
    the query is transliterated, written in Han or Hangul, and written in an abjad."""
    q_transliterated, q_syllabic, q_abjad = q_script
    c_tokens = own.name_tokens[name_id]
    c_transliterated = own.name_transliterated[name_id]
    entry = own.entries[own.name_entity[name_id]]
    align = align_one(
        tokens,
        c_tokens,
        q_weights,
        [part_weight_one(token, own.token_weight.get(token)) for token in c_tokens],
        q_transliterated != c_transliterated,
        persons=bool(person_one(query.get("entity_type")) or person_one(entry["entity_type"])),
        q_listed=[token in own.token_weight for token in tokens],
        abjad=q_abjad,
    )
    pair = OnePair(
        align,
        tokens,
        c_tokens,
        query.get("birth_date"),
        entry["birth_dates"],
        query.get("nationality"),
        entry["nationalities"],
        query.get("entity_type"),
        entry["entity_type"],
        repeated_one(query.get("full_name")),
        own.name_repeated[name_id],
        q_transliterated,
        c_transliterated,
        q_syllabic,
        q_abjad,
    )
    parts = {f.name: f.one(pair)[0] * f.weight for f in NAME_FEATURES}
    token_score = min(max(1.0 + sum(parts.values()), 0.0), 1.0)
    contradicted = any(parts[name] != 0 for name in CONTRADICTIONS)
    joined = 0.0 if contradicted else joined_one(tokens, c_tokens, token_score)
    syllables = (
        0.0
        if contradicted
        else syllable_name_one(
            tokens,
            c_tokens,
            token_score,
            align.c_weight,
            q_transliterated,
            repeated_one(query.get("full_name")),
            own.name_repeated[name_id],
        )
    )
    typed = (
        0.0
        if contradicted
        else typed_name_one(
            tokens,
            c_tokens,
            token_score,
            q_transliterated,
            parts["changed_short_part"],
            own.token_weight,
        )
    )
    uses_joined = max(joined, syllables, typed) > token_score
    weak = weak_one(pair)
    name_score = max(token_score, joined, syllables, typed)
    if weak and not uses_joined:
        name_score = min(name_score, config.WEAK_EVIDENCE_CAP)
    if name_score < min(config.QUALIFIER_MIN_NAME_SCORE, min_score):
        return None
    applies = name_score >= config.QUALIFIER_MIN_NAME_SCORE
    qualifiers = {f.name: f.one(pair) for f in QUALIFIERS}
    qualifier_sum = sum(qualifiers[f.name][0] * f.weight for f in QUALIFIERS)
    score = round(min(max(name_score + (qualifier_sum if applies else 0.0), 0.0), 1.0), 4)
    if score < min_score:
        return None
    stand_in = stand_in_one(joined, syllables, typed) if uses_joined else None
    details = {
        "base": 1.0,
        **{name: _unsigned_zero(round(value, 4)) for name, value in parts.items()},
        "token_score": round(token_score, 4),
        "joined_name": round(joined, 4) if stand_in == "joined" else None,
        "syllable_name": syllables if stand_in == "syllable_name" else None,
        "typed_name": round(typed, 4) if stand_in == "typed_name" else None,
        "weak_evidence_cap": config.WEAK_EVIDENCE_CAP if weak else None,
        "name_score": round(name_score, 4),
        **{
            name: {"verdict": verdict, "contribution": round(value if applies else 0.0, 4)}
            for name, (value, verdict) in qualifiers.items()
        },
        "total": score,
    }
    return {
        "entity_id": own.name_entity[name_id],
        "score": score,
        "match_type": match_type_one(align, uses_joined, q_transliterated or c_transliterated),
        "matched_name": own.name_text[name_id],
        "details": json.dumps(details, separators=(",", ":")),
        "align": align,
    }


def _unsigned_zero(value: float) -> float:
    return 0.0 if value == 0 else value


# --- Identifiers and the reported matches ---------------------------------------------------


def _identifier_matches(
    own: OneEntityTables, id_values: list[str], lists: list[str] | None
) -> list[dict[str, Any]]:
    """screen._identifier_matches for one query: the first hit per entry."""
    hits: dict[str, dict[str, Any]] = {}
    for key in id_values:
        for entity_id, id_type, value in own.identifiers.get(key, []):
            if entity_id in hits or (lists is not None and _list_of(entity_id) not in lists):
                continue
            details = {"identifier": {"type": id_type, "value": value}, "total": 1.0}
            hits[entity_id] = {
                "entity_id": entity_id,
                "score": 1.0,
                "match_type": "identifier",
                "matched_name": None,
                "details": json.dumps(details, separators=(",", ":")),
            }
    return list(hits.values())


def _list_of(entity_id: str) -> str | None:
    return entity_id.rpartition("-")[0] or None


def _select_matches(
    own: OneEntityTables, scored: list[dict[str, Any]], threshold: float, max_matches: int
) -> list[dict[str, Any]]:
    """screen._select_matches for one query: best first, one per entry, at most max_matches."""
    kept = sorted(
        (hit for hit in scored if hit["score"] >= threshold),
        key=lambda hit: (-hit["score"], hit["match_type"], hit["entity_id"]),
    )
    matches: dict[str, dict[str, Any]] = {}
    for hit in kept:
        if hit["entity_id"] in matches:
            continue
        if len(matches) == max_matches:
            break
        entry = own.entries[hit["entity_id"]]
        matches[hit["entity_id"]] = {
            "entity_id": hit["entity_id"],
            "list_name": entry["list_code"],
            "confidence_score": hit["score"],
            "match_type": hit["match_type"],
            "matched_name": hit["matched_name"] or entry["match_data"]["name"],
            "programs": entry["programs"],
            "match_data": entry["match_data"],
            "details": hit["details"],
        }
    return list(matches.values())
