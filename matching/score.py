"""Score candidate pairs, all of a chunk at once: name alignment, then the qualifiers.

Input: one row per (query, list name) pair with both token lists and the qualifier columns.
Output per pair: score (0-1), name_score, match_type and details (JSON: every feature's
contribution, so the score can be re-added by hand). See algorithm.py for the formula.
"""

from __future__ import annotations

from collections.abc import Container

import numpy as np
import polars as pl
from rapidfuzz.distance import Levenshtein

from matching import config
from matching.algorithm import (
    CONTRADICTIONS,
    NAME_FEATURES,
    QUALIFIERS,
    QUALIFIERS_MOST,
    OnePair,
)
from matching.compare.entities import (
    is_person,
    names_of_people,
    names_of_people_one,
    person_one,
)
from matching.compare.names import (
    Alignment,
    align_parts,
    joined_similarity,
    typed_similarity,
    typed_similarity_one,
)
from matching.compare.syllables import same_syllables, same_syllables_one
from matching.normalize import LEGAL_FORMS, NAME_PARTICLES

_LEGAL_FORMS = pl.Series(sorted(LEGAL_FORMS), dtype=pl.Utf8)

# Columns a pair frame may lack (a name-only benchmark, a query without them): the
# qualifiers, and normalisation's per-name flags. A missing one is unknown, or none: no
# repeated part, no other script. Callers that have them must pass them (screen, the
# bench's exhaustive scoring), or their scores differ from screen()'s.
OPTIONAL_PAIR_COLUMNS = {
    "q_transliterated": pl.Boolean,
    "c_transliterated": pl.Boolean,
    "q_syllabic": pl.Boolean,
    "q_abjad": pl.Boolean,
    "q_repeated": pl.List(pl.Utf8),
    "c_repeated": pl.List(pl.Utf8),
    "q_birth_date": pl.Utf8,
    "c_birth_dates": pl.List(pl.Utf8),
    "q_nationality": pl.Utf8,
    "c_nationalities": pl.List(pl.Utf8),
    "q_entity_type": pl.Utf8,
    "c_entity_type": pl.Utf8,
}


def score_pairs(
    pairs: pl.DataFrame,
    weights: pl.DataFrame | None,
    min_score: float = 0.0,
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """pairs: pair, q_tokens, c_tokens (+ optional qualifier columns) -> the same rows with
    score, name_score, match_type, details; rows scoring below min_score are left out
    before their details are written (most pairs of a batch are not matches). known: the
    list tokens' comparison features (compare.names.list_token_features), or None."""
    pairs = pairs.with_columns(
        pl.lit(None, dtype).alias(col)
        for col, dtype in OPTIONAL_PAIR_COLUMNS.items()
        if col not in pairs.columns
    )
    aligned = _with_alignment(pairs, align_parts(pairs, weights, known))
    parts = {f.name: f.func(aligned)["value"] * f.weight for f in NAME_FEATURES}
    token_score = (1.0 + pl.sum_horizontal(list(parts.values())).fill_null(0.0)).alias("t")
    aligned = aligned.with_columns(
        token_score.clip(0.0, 1.0).alias("token_score"),
        *[(value * 1.0).alias(f"_part_{name}") for name, value in parts.items()],
    )
    aligned = _with_typed(_with_syllables(_with_joined(aligned)), weights)
    # The names written together, as the same syllables in another romanisation, or with
    # a few typing errors: each may stand in for the part by part score.
    joined = pl.max_horizontal("joined", "syllable_name", "typed_name")
    uses_joined = joined > pl.col("token_score")
    # Weak evidence: a single part in common while the names differ otherwise ("Ake
    # Karlsson" / "AKI"). Exception: the whole query is one rare part found (nearly)
    # exactly ("Putin", "Putyin"), a legitimate alert on a listed surname. A query known
    # to be an organisation needs the list name to have no other distinguishing part
    # ("Acme Ltd" / "ACME"): one word of a company name ("Nelson Inc" / "Kal Nelson
    # Aviation Inc") is not the company.
    something_missing = (pl.col("q_missing_parts") + pl.col("c_missing_parts")) > 0
    lone_rare_query = (
        (pl.col("q_missing") == 0)
        & (pl.col("q_deficit") <= 1 - config.LONE_PART_MIN_SIM)
        & (pl.col("matched_weight") >= config.MIN_MATCHED_WEIGHT)
        & ((pl.col("c_missing_parts") == 0) | is_person("q_entity_type").fill_null(True))
    )
    # A single part in common that is frequent in the lists, beside query parts the list
    # name lacks ("John Le" / the alias "JOHN"), is weak even when those parts are minor:
    # a short alias needs more evidence than its one word.
    common_lone_part = (pl.col("matched_weight") < config.MIN_MATCHED_WEIGHT) & (
        pl.col("q_missing") > 0
    )
    # Nothing in common but legal forms, particles and generic words, the names otherwise
    # apart ("Limited Liability Company" / "LLC I T C"): no name at all.
    no_name_in_common = (pl.col("q_found_names") == 0) & (
        (pl.col("q_unmatched") > 0) | (pl.col("c_unmatched") > 0)
    )
    weak = (
        (
            (pl.col("n_matched") <= 1)
            & (something_missing | common_lone_part)
            & ~lone_rare_query
            & ~_whole_list_name(aligned)
        )
        | no_name_in_common
        | _one_word_company(aligned)
    )
    name_score = pl.max_horizontal("token_score", joined)
    name_score = (
        pl.when(weak & ~uses_joined)
        .then(pl.min_horizontal(name_score, config.WEAK_EVIDENCE_CAP))
        .otherwise(name_score)
    )
    aligned = aligned.with_columns(
        name_score.alias("name_score"),
        uses_joined.alias("uses_joined"),
        _stand_in().alias("stand_in"),
        weak.alias("weak"),
    )
    # A pair that cannot reach min_score whatever the qualifiers add is dropped below:
    # drop it before their work (_lowest_name_score).
    aligned = aligned.filter(pl.col("name_score") >= _lowest_name_score(min_score))
    qualifiers = {f.name: f.func(aligned) for f in QUALIFIERS}
    applies = pl.col("name_score") >= config.QUALIFIER_MIN_NAME_SCORE
    qualifier_sum = pl.sum_horizontal(
        [qualifiers[f.name]["value"] * f.weight for f in QUALIFIERS]
    ).fill_null(0.0)
    scored = aligned.with_columns(
        *[q["value"].alias(f"_q_{name}") for name, q in qualifiers.items()],
        *[q["verdict"].alias(f"_v_{name}") for name, q in qualifiers.items()],
    ).with_columns(
        pl.when(applies).then(qualifier_sum).otherwise(0.0).alias("_qualifiers"),
    )
    scored = scored.with_columns(
        (pl.col("name_score") + pl.col("_qualifiers")).clip(0.0, 1.0).round(4).alias("score"),
        _match_type().alias("match_type"),
    )
    scored = scored.filter(pl.col("score") >= min_score)
    return scored.with_columns(_details(list(parts), list(qualifiers)).alias("details")).drop(
        pl.selectors.starts_with("_")
    )


# Scores are rounded to 4 decimals before the threshold: a margin well above that rounding.
_ROUNDING_MARGIN = 1e-3


def _lowest_name_score(min_score: float) -> float:
    """The lowest name score of a pair that may still score min_score: one below the
    qualifiers' floor keeps its name score; one above gains QUALIFIERS_MOST at most (most
    pairs of a chunk, a part in common capped as weak evidence, are below either)."""
    floor = min(config.QUALIFIER_MIN_NAME_SCORE, min_score)
    return max(floor, min_score - QUALIFIERS_MOST - _ROUNDING_MARGIN)


def _with_alignment(pairs: pl.DataFrame, aligned: pl.DataFrame) -> pl.DataFrame:
    """pairs.join(aligned, on="pair", how="left"): side by side where align_parts gave the
    pairs in their own order (one row each, as it does), sparing a join of every column of
    a chunk's pairs (their token lists and qualifiers)."""
    same_rows = aligned.height == pairs.height and aligned["pair"].equals(pairs["pair"])
    if same_rows and not set(aligned.columns[1:]) & set(pairs.columns):
        return pairs.hstack(aligned.drop("pair"))
    return pairs.join(aligned, on="pair", how="left")


def _whole_list_name(aligned: pl.DataFrame) -> pl.Series:
    """Per pair: every part of a person's list name of two names or more found exactly,
    with enough rarity weight ("Mohammad Yaqoub Haqqani" / the alias "MOHAMMAD YAQOUB"):
    the query adds a part to the listed name, it does not share one word with it. A name
    with its particle ("Abdul Baqi", "al-Nimr") is one name. The list work runs only on
    the few pairs the cheap conditions leave."""
    cheap = (
        (pl.col("n_matched") <= 1)
        & (pl.col("c_missing") == 0)
        & (pl.col("matched_weight") >= config.WHOLE_NAME_MIN_WEIGHT)
        & (pl.col("q_deficit") + pl.col("c_deficit") == 0)
    )
    rows = aligned.select(cheap.fill_null(False)).to_series().arg_true()
    names = pl.Series("whole_list_name", [False] * aligned.height, dtype=pl.Boolean)
    if rows.is_empty():
        return names
    two_names = pl.col("c_tokens").list.eval(~pl.element().is_in(NAME_PARTICLES)).list.sum() >= 2
    found = aligned[rows].select((names_of_people() & two_names).fill_null(False)).to_series()
    return names.scatter(rows, found)


def _one_word_company(aligned: pl.DataFrame) -> pl.Series:
    """Per pair: a company query of one name word (and legal forms, generic words) found in
    a listed name that has other words ("Green LLC" / "GREEN SHIPPING LTD."): one word of
    a company name is not the company. The query says it is a company, by its type or a
    legal form of its own (a bare "Faberlic" is a lone rare part, as "Putin" is). The list
    work runs only where the cheap conditions hold."""
    cheap = (
        (pl.col("q_found_names") == 1)
        & (pl.col("n_matched") <= 1)
        & (pl.col("q_missing") == 0)
        & (pl.col("c_missing_words") > 0)
    )
    rows = aligned.select(cheap.fill_null(False)).to_series().arg_true()
    found = pl.Series("one_word_company", [False] * aligned.height, dtype=pl.Boolean)
    if rows.is_empty():
        return found
    legal = pl.col("q_tokens").list.eval(pl.element().is_in(_LEGAL_FORMS.implode())).list.any()
    company = (~is_person("q_entity_type")).fill_null(legal)
    return found.scatter(rows, aligned[rows].select(company.fill_null(False)).to_series())


def one_word_company_one(pair: OnePair) -> bool:
    """_one_word_company for one pair."""
    a = pair.align
    cheap = a.q_found_names == 1 and a.n_matched <= 1 and a.q_missing == 0
    if not (cheap and a.c_missing_words > 0):
        return False
    person = person_one(pair.q_entity_type)
    if person is None:
        return any(token in LEGAL_FORMS for token in pair.q_tokens)
    return not person


def whole_list_name_one(pair: OnePair) -> bool:
    """_whole_list_name for one pair."""
    a = pair.align
    if not (
        a.c_missing == 0
        and a.matched_weight >= config.WHOLE_NAME_MIN_WEIGHT
        and a.q_deficit + a.c_deficit == 0
    ):
        return False
    people = names_of_people_one(
        pair.q_entity_type, pair.c_entity_type, pair.q_tokens, pair.c_tokens
    )
    return people and sum(t not in NAME_PARTICLES for t in pair.c_tokens) >= 2


def _with_joined(aligned: pl.DataFrame) -> pl.DataFrame:
    """Joined-name similarity, computed only where it can change the outcome: the token
    score falls short and the letters add up to about the same length (words split, run
    together or cut at another place). Never against a contradiction (algorithm.py): a
    reversed lineage is what tells two people apart, and comparing the letters alone
    would undo it."""
    # Tokens are ASCII after normalisation: bytes are letters. (Signed: an unsigned
    # difference would wrap round whenever the query is the shorter name.)
    # (The tokens' lengths summed: the length of the name written together, without
    # writing every pair's two names out.)
    q_len = pl.col("q_tokens").list.eval(pl.element().str.len_bytes()).list.sum().cast(pl.Int64)
    c_len = pl.col("c_tokens").list.eval(pl.element().str.len_bytes()).list.sum().cast(pl.Int64)
    could_help = (
        (pl.col("token_score") < config.MIN_JOINED_SIM)
        & ((q_len - c_len).abs() <= (1 - config.MIN_JOINED_SIM) * pl.max_horizontal(q_len, c_len))
        & _uncontradicted()
    )
    mask = aligned.select(could_help.fill_null(False)).to_series()
    joined = np.zeros(aligned.height)
    if mask.any():
        subset = aligned.select("q_tokens", "c_tokens").filter(mask)  # not every column
        joined[mask.to_numpy()] = joined_similarity(subset["q_tokens"], subset["c_tokens"])
    joined[joined < config.MIN_JOINED_SIM] = 0.0  # too far to stand in for the token score
    return aligned.with_columns(pl.Series("joined", joined))


def _stand_in() -> pl.Expr:
    """Which whole-name similarity stands in for the token score where one does (the
    highest; on a tie, joined before syllable_name before typed_name)."""
    return (
        pl.when(pl.col("joined") >= pl.max_horizontal("syllable_name", "typed_name"))
        .then(pl.lit("joined"))
        .when(pl.col("syllable_name") >= pl.col("typed_name"))
        .then(pl.lit("syllable_name"))
        .otherwise(pl.lit("typed_name"))
    )


def stand_in_one(joined: float, syllables: float, typed: float) -> str:
    """_stand_in for one pair."""
    if joined >= max(syllables, typed):
        return "joined"
    return "syllable_name" if syllables >= typed else "typed_name"


def _uncontradicted() -> pl.Expr:
    return pl.sum_horizontal(pl.col(f"_part_{name}") for name in CONTRADICTIONS) == 0


def _typed_could_help() -> pl.Expr:
    """Where typed_name may count (config.MIN_TYPED_NAME_LEN): names of as many parts and
    enough letters, the token score below what the typing errors leave, the query typed in
    Latin letters, no contradiction and no changed short part."""
    # Signed: an unsigned difference would wrap round where the query is the shorter name.
    q_len = pl.col("q_tokens").list.eval(pl.element().str.len_bytes()).list.sum().cast(pl.Int64)
    c_len = pl.col("c_tokens").list.eval(pl.element().str.len_bytes()).list.sum().cast(pl.Int64)
    letters = pl.max_horizontal(q_len, c_len)
    return (
        (pl.col("q_tokens").list.len() == pl.col("c_tokens").list.len())
        & (letters >= config.MIN_TYPED_NAME_LEN)
        & ((q_len - c_len).abs() <= config.TYPED_NAME_MAX_EDITS)
        & (pl.col("token_score") < 1 - 1 / letters)
        & ~pl.col("q_transliterated").fill_null(False)
        & _uncontradicted()
        & (pl.col("_part_changed_short_part") == 0)
    )


def _with_typed(aligned: pl.DataFrame, weights: pl.DataFrame | None) -> pl.DataFrame:
    """typed_name: the names' similarity when they differ by a few typing errors
    (typed_similarity; weights: the list tokens' weights, None: no list tokens), computed
    only where it may count (_typed_could_help)."""
    rows = aligned.select(_typed_could_help().fill_null(False)).to_series().arg_true()
    value = pl.Series("typed_name", [0.0] * aligned.height, dtype=pl.Float64)
    if not rows.is_empty():
        subset = aligned.select("q_tokens", "c_tokens")[rows]  # not every column
        listed = pl.Series([], dtype=pl.Utf8) if weights is None else weights["token"]
        typed = typed_similarity(subset["q_tokens"], subset["c_tokens"], listed)
        value = value.scatter(rows, pl.Series(typed, dtype=pl.Float64))
    return aligned.with_columns(value)


def typed_name_one(
    tokens: list[str],
    c_tokens: list[str],
    token_score: float,
    q_transliterated: bool,
    changed_short_part: float,
    listed: Container[str],
) -> float:
    """_with_typed for one pair (the caller leaves out contradicted pairs; listed: the list
    tokens)."""
    q_len, c_len = sum(map(len, tokens)), sum(map(len, c_tokens))
    letters = max(q_len, c_len)
    could_help = (
        len(tokens) == len(c_tokens)
        and letters >= config.MIN_TYPED_NAME_LEN
        and abs(q_len - c_len) <= config.TYPED_NAME_MAX_EDITS
        and token_score < 1 - 1 / letters
        and not q_transliterated
        and changed_short_part == 0
    )
    return typed_similarity_one(tokens, c_tokens, listed) if could_help else 0.0


def _with_syllables(aligned: pl.DataFrame) -> pl.DataFrame:
    """syllable_name: SYLLABLE_NAME_SIM where the two names are the same Korean or Chinese
    syllables in another romanisation (compare/syllables.py), the token score falls short
    and the list name is rare enough (SYLLABLE_NAME_MIN_WEIGHT), or the query is written in
    Latin letters in two parts or more against a list name of two or more ("Gim Yeongchol"
    / "KIM Yong Chol": held to what its exact spelling scores; one word, "Joseph" / "SEP
    CO.", is no name in syllables); never against a contradiction (as _with_joined)."""
    latin_parts = (
        ~pl.col("q_transliterated").fill_null(False)
        & (pl.col("q_tokens").list.len() >= 2)
        & (pl.col("c_tokens").list.len() >= 2)
    )
    rare_enough = latin_parts | (pl.col("c_weight") >= config.SYLLABLE_NAME_MIN_WEIGHT)
    could_help = (
        (pl.col("token_score") < config.SYLLABLE_NAME_SIM) & rare_enough & _uncontradicted()
    )
    rows = aligned.select(could_help.fill_null(False)).to_series().arg_true()
    value = pl.Series("syllable_name", [0.0] * aligned.height, dtype=pl.Float64)
    if not rows.is_empty():
        columns = ["q_tokens", "c_tokens", "q_repeated", "c_repeated"]
        subset = aligned.select(columns)[rows]  # not every column
        same = same_syllables(*(subset[column] for column in columns))
        value = value.scatter(rows, same.cast(pl.Float64) * config.SYLLABLE_NAME_SIM)
    return aligned.with_columns(value)


def syllable_name_one(
    tokens: list[str],
    c_tokens: list[str],
    token_score: float,
    c_weight: float,
    q_transliterated: bool,
    q_repeated: list[str] | None = None,
    c_repeated: list[str] | None = None,
) -> float:
    """_with_syllables for one pair (the caller leaves out contradicted pairs)."""
    latin_parts = not q_transliterated and len(tokens) >= 2 and len(c_tokens) >= 2
    rare_enough = latin_parts or c_weight >= config.SYLLABLE_NAME_MIN_WEIGHT
    could_help = token_score < config.SYLLABLE_NAME_SIM and rare_enough
    if could_help and same_syllables_one(tokens, c_tokens, q_repeated, c_repeated):
        return config.SYLLABLE_NAME_SIM
    return 0.0


def joined_one(tokens: list[str], c_tokens: list[str], token_score: float) -> float:
    """_with_joined for one pair: the joined-name similarity where it may count (the
    caller leaves out contradicted pairs)."""
    q_len, c_len = sum(map(len, tokens)), sum(map(len, c_tokens))
    could_help = token_score < config.MIN_JOINED_SIM and abs(q_len - c_len) <= (
        1 - config.MIN_JOINED_SIM
    ) * max(q_len, c_len)
    if not could_help:
        return 0.0
    joined = max(
        Levenshtein.normalized_similarity("".join(tokens), "".join(c_tokens)),
        Levenshtein.normalized_similarity("".join(sorted(tokens)), "".join(sorted(c_tokens))),
    )
    return joined if joined >= config.MIN_JOINED_SIM else 0.0


def weak_one(pair: OnePair) -> bool:
    """score_pairs' weak evidence for one pair: no name in common, or one part in common,
    the names otherwise apart, not a lone rare query part and not a whole listed name."""
    a = pair.align
    if a.q_found_names == 0 and (a.q_unmatched > 0 or a.c_unmatched > 0):
        return True
    if one_word_company_one(pair):
        return True
    if a.n_matched > 1:
        return False
    something_missing = a.q_missing_parts + a.c_missing_parts > 0
    query_person = person_one(pair.q_entity_type)
    lone_rare_query = (
        a.q_missing == 0
        and a.q_deficit <= 1 - config.LONE_PART_MIN_SIM
        and a.matched_weight >= config.MIN_MATCHED_WEIGHT
        and (a.c_missing_parts == 0 or query_person is not False)
    )
    common_lone_part = a.matched_weight < config.MIN_MATCHED_WEIGHT and a.q_missing > 0
    return (
        (something_missing or common_lone_part)
        and not lone_rare_query
        and not whole_list_name_one(pair)
    )


def _match_type() -> pl.Expr:
    exact = (pl.col("q_unmatched") == 0) & (pl.col("c_unmatched") == 0)
    translit = pl.col("q_transliterated").fill_null(False) | pl.col("c_transliterated").fill_null(
        False
    )
    phonetic = (pl.col("n_phonetic") + pl.col("n_skeleton")) > 0
    fuzzy = (pl.col("n_fuzzy") > 0) | pl.col("uses_joined")
    return (
        pl.when(translit)
        .then(pl.lit("name_transliterated"))
        .when(exact & (pl.col("n_initial") == 0))
        .then(pl.lit("name_exact"))
        .when(phonetic)
        .then(pl.lit("name_phonetic"))
        .when(fuzzy)
        .then(pl.lit("name_fuzzy"))
        .otherwise(pl.lit("name_token"))
    )


def match_type_one(align: Alignment, uses_joined: bool, transliterated: bool) -> str:
    """_match_type for one pair."""
    exact = align.q_unmatched == 0 and align.c_unmatched == 0
    if transliterated:
        return "name_transliterated"
    if exact and align.n_initial == 0:
        return "name_exact"
    if align.n_phonetic + align.n_skeleton > 0:
        return "name_phonetic"
    if align.n_fuzzy > 0 or uses_joined:
        return "name_fuzzy"
    return "name_token"


def _details(parts: list[str], qualifiers: list[str]) -> pl.Expr:
    """The JSON object of every contribution: base + name parts (+ joined, cap) + qualifiers."""
    applies = pl.col("name_score") >= config.QUALIFIER_MIN_NAME_SCORE
    fields = [
        pl.lit(1.0).alias("base"),
        *[_unsigned_zero(pl.col(f"_part_{p}").round(4)).alias(p) for p in parts],
        pl.col("token_score").round(4),
        pl.when(pl.col("uses_joined") & (pl.col("stand_in") == "joined"))
        .then(pl.col("joined").round(4))
        .alias("joined_name"),
        pl.when(pl.col("uses_joined") & (pl.col("stand_in") == "syllable_name"))
        .then(pl.col("syllable_name"))
        .alias("syllable_name"),
        pl.when(pl.col("uses_joined") & (pl.col("stand_in") == "typed_name"))
        .then(pl.col("typed_name").round(4))
        .alias("typed_name"),
        pl.when(pl.col("weak")).then(pl.lit(config.WEAK_EVIDENCE_CAP)).alias("weak_evidence_cap"),
        pl.col("name_score").round(4),
        *[
            pl.struct(
                pl.col(f"_v_{q}").alias("verdict"),
                pl.when(applies)
                .then(pl.col(f"_q_{q}"))
                .otherwise(0.0)
                .round(4)
                .alias("contribution"),
            ).alias(q)
            for q in qualifiers
        ],
        pl.col("score").alias("total"),
    ]
    return pl.struct(fields).struct.json_encode()


def _unsigned_zero(value: pl.Expr) -> pl.Expr:
    """An unused penalty is 0.0 for the reader, not the -0.0 that weight x 0 gives."""
    return pl.when(value == 0).then(0.0).otherwise(value)
