"""Name comparisons, whole-column: token similarity, part alignment, joined-name similarity.

Each function takes columns (one row per pair) and returns a column; none loops over rows in
Python. The similarity of two tokens is the best of several pieces of evidence, each a
named config constant: edit distance, a transliteration-tolerant phonetic key, a consonant
skeleton, an initial.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA, DamerauLevenshtein, Levenshtein

from matching import config
from matching.compare.entities import is_person
from matching.compare.regroup import (
    FORM_WORDS,
    FOUND_COLUMNS,
    regrouped_matches,
    regrouped_matches_one,
)
from matching.lookup import join_sorted, rows_of
from matching.normalize import (
    COUNTRY_TOKENS,
    GENERIC_SERIES,
    GENERIC_TOKENS,
    NAME_PARTICLES,
    NICKNAME_PAIRS,
    SPELLINGS,
    abjad_readings,
    bare_consonants,
    consonants,
    glide_folded,
    glide_folded_one,
    keys_of,
    long_vowel_spelt,
    long_vowel_spelt_one,
    onset,
    onsets,
    token_keys,
    vowel_poor,
)

# How a token pair matched, best evidence first; kept per part for match_type and details.
# CHANGED: a short part with one letter changed, a typo only when the rest of the name is
# rare enough (algorithm.py's changed_short_part); it counts as a spelling match.
# RETYPED: a part two typing errors off, below MIN_TOKEN_SIM, weighed by the rest of the
# name's evidence (algorithm.py's retyped_part); a spelling match too. RETYPED_FIRST: the
# same with its first letter changed, dropped or added, which asks more of the rest.
EXACT, FUZZY, CHANGED, RETYPED, RETYPED_FIRST, PHONETIC, SKELETON, INITIAL, NONE = (
    "exact",
    "fuzzy",
    "changed",
    "retyped",
    "retyped_first",
    "phonetic",
    "skeleton",
    "initial",
    "none",
)
_SPELT = pl.Series(sorted(SPELLINGS), dtype=pl.Utf8)
# A query part matched by its spelling only, below the similarity that a shared sound key
# gives: it sounds otherwise than its counterpart. Where it is a list word itself and begins
# with another letter, it is another word, not a typo (n_other_words; algorithm.py's
# other_company_word).
_SOUNDS_ALIKE = config.PHONETIC_SIM
# FORM_WORDS (regroup.py): not counted among missing words.
_LEGAL_SERIES = pl.Series(sorted(FORM_WORDS), dtype=pl.Utf8)


@lru_cache(maxsize=200_000)
def spelling_similarity(q_token: str, c_token: str) -> float:
    """Edit similarity of two tokens, each a canonical name part standing for all its
    spellings: "usamo" is one letter from "usama", which normalisation writes "osama". A
    spelling counts when it is one edit away (two are another name: "Ahmed" / "Mohamed")."""
    spelt = max(
        (
            OSA.normalized_similarity(a, b)
            for a in SPELLINGS.get(q_token, (q_token,))
            for b in SPELLINGS.get(c_token, (c_token,))
            if OSA.distance(a, b, score_cutoff=1) <= 1
        ),
        default=0.0,
    )
    return max(spelt, OSA.normalized_similarity(q_token, c_token))


# A query token's abjad_reading keys: as written, its th read s.
_QUERY_READS = ("read", "read_s")


def token_similarity(pairs: pl.DataFrame, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """Distinct (q_token, c_token) pairs (other columns ride along) -> the same with sim
    Float64, how Utf8 and vowel_blind Boolean. known: list_token_features(index), the
    list tokens' features made once (None: every token's are made here).

    Edit similarity (normalised Levenshtein) counts only for tokens of at least
    MIN_FUZZY_TOKEN_LEN letters; equal phonetic keys or consonant skeletons raise it to
    PHONETIC_SIM / SKELETON_SIM; a single letter matches a token starting with it at
    INITIAL_SIM. Anything below MIN_TOKEN_SIM is 0.
    """
    a = pairs["q_token"].to_list()
    b = pairs["c_token"].to_list()
    if not a:
        return pairs.with_columns(
            sim=pl.lit(0.0),
            how=pl.lit(NONE),
            vowel_blind=pl.lit(False),
            vowels_dropped=pl.lit(False),
            matres=pl.lit(False),
            guessed_vowel=pl.lit(False),
            read_alike=pl.lit(False),
        )
    # Optimal string alignment: an adjacent transposition ("Marcon" / "Macron") is one edit.
    edit = process.cpdist(a, b, scorer=OSA.normalized_similarity, workers=-1, dtype=np.float64)
    # A canonical name part is compared in each of its spellings (few pairs: Python).
    spelt = pairs["q_token"].is_in(_SPELT.implode()) | pairs["c_token"].is_in(_SPELT.implode())
    for row in spelt.arg_true().to_list():
        edit[row] = spelling_similarity(a[row], b[row])
    # Sound keys once per distinct token, gathered to the pairs as numbers (a key is
    # compared by its number: integer work, not string work, per pair).
    features = token_features(pl.concat([pairs["q_token"], pairs["c_token"]]), known)
    q_rows = rows_of(features["token"], pairs["q_token"])
    c_rows = rows_of(features["token"], pairs["c_token"])
    frame = pl.concat(
        [
            pairs.with_columns(pl.Series("edit", edit, dtype=pl.Float64)),
            features.select(pl.all().gather(q_rows).name.prefix("q_")).drop("q_token"),
            features.select(pl.all().gather(c_rows).name.prefix("c_")).drop("c_token"),
        ],
        how="horizontal",
    ).with_columns(
        (pl.col("q_phonetic") == pl.col("c_phonetic")).alias("same_phonetic"),
        (pl.col("q_skeleton") == pl.col("c_skeleton")).fill_null(False).alias("same_skeleton"),
        (pl.col("q_shape") == pl.col("c_shape")).fill_null(False).alias("same_shape"),
        (pl.col("q_roman") == pl.col("c_roman")).alias("same_roman"),
        (pl.col("q_vowel_guess") == pl.col("c_vowel_guess")).alias("same_vowel_guess"),
    )
    q_len = pl.col("q_len")
    c_len = pl.col("c_len")
    long_enough = pl.min_horizontal(q_len, c_len) >= config.MIN_FUZZY_TOKEN_LEN
    has_digit = pl.col("q_has_digit") | pl.col("c_has_digit")
    initial = (pl.min_horizontal(q_len, c_len) == 1) & (pl.col("q_first") == pl.col("c_first"))
    # Short tokens take only the typos that keep the name: a doubled or undoubled letter
    # ("Essa" / "Esa") or two neighbours swapped ("Faiz" / "Afiz"); a changed letter
    # ("Tim" / "Tom") is CHANGED, weighed against the rest of the name. A letter repeated
    # far beyond a doubling ("AAAA..." / "AA") is no typo.
    longest = pl.max_horizontal(q_len, c_len)
    # (Signed: an unsigned difference wraps round when the query is the shorter token.)
    doubled = (pl.col("q_squeezed") == pl.col("c_squeezed")) & (
        (q_len.cast(pl.Int64) - c_len.cast(pl.Int64)).abs() <= config.MAX_DOUBLED_LETTERS
    )
    swapped = (pl.col("q_letters") == pl.col("c_letters")) & (
        pl.col("edit") >= 1 - 1 / pl.max_horizontal(q_len, c_len)
    )
    short_typo = (pl.min_horizontal(q_len, c_len) >= 2) & (doubled | swapped) & ~has_digit
    # Far-apart spellings must at least begin alike ("Polozov" / "Morozov" are two names);
    # a sound key may still link them (Yevgeny / Evgeniy).
    same_first = pl.col("q_first") == pl.col("c_first")
    edit_counts = (pl.col("edit") >= config.MIN_OTHER_INITIAL_SIM) | same_first
    one_edit = pl.col("edit") >= 1 - 1 / longest - 1e-9
    # ... and so is a two-letter part doubled ("Le" / "Lee"): a short name more than a typo.
    # A letter added or dropped ("Umr" / "Umer") is a typo; a letter in place of another
    # ("Tim" / "Tom") may be another name: CHANGED.
    short_edit = (
        (pl.min_horizontal(q_len, c_len) >= config.MIN_CHANGED_TOKEN_LEN)
        & ~long_enough
        & one_edit
        & same_first
        & ~has_digit
    )
    changed = (short_edit & (q_len == c_len)) | (
        short_typo & (pl.min_horizontal(q_len, c_len) < config.MIN_CHANGED_TOKEN_LEN)
    )
    # Two typing errors in a part of MIN_RETYPED_LEN+ letters, the first letter kept
    # ("Merkur" / "Merkel"): RETYPED, where nothing closer links the two.
    # Another first letter: from MIN_RETYPED_FIRST_LEN letters ("Ssad" / "Asad"). Never
    # two countries ("Chile" / "China": a national branch, unmatched_country's concern).
    countries = pl.col("q_token").is_in(COUNTRY_SERIES.implode()) & pl.col("c_token").is_in(
        COUNTRY_SERIES.implode()
    )
    retyped = (
        (
            longest
            >= pl.when(same_first)
            .then(config.MIN_RETYPED_LEN)
            .otherwise(config.MIN_RETYPED_FIRST_LEN)
        )
        & (pl.min_horizontal(q_len, c_len) >= config.MIN_CHANGED_TOKEN_LEN)
        & (pl.col("edit") >= 1 - config.RETYPED_MAX_EDITS / longest - 1e-9)
        & ~has_digit
        & ~countries
    )
    fuzzy = (
        pl.when(long_enough & ~has_digit & edit_counts)
        .then(pl.col("edit"))
        .when(short_typo & (pl.min_horizontal(q_len, c_len) >= config.MIN_CHANGED_TOKEN_LEN))
        .then(config.SHORT_TYPO_SIM)
        .when(short_edit & (q_len != c_len))
        .then(config.SHORT_CHANGE_SIM)
        .otherwise(0.0)
    )
    # Sound keys of short or unlike tokens collide by chance (Vita / Fuad): they count only
    # when the spellings are also somewhat alike.
    # Long keys collide less, so they need less spelling agreement (Volodymyr / Vladimir).
    alike = (pl.col("edit") >= config.MIN_KEY_EDIT_SIM) | (
        (pl.col("edit") >= config.MIN_LONG_KEY_EDIT_SIM)
        & (pl.col("q_phonetic_len") >= config.LONG_KEY_LEN)
    )
    # A shared sound key lifts the spelling similarity halfway to PHONETIC_SIM /
    # SKELETON_SIM: it confirms a likely variant, it does not make two names equal.
    edit = pl.col("edit")
    phonetic = pl.when(pl.col("same_phonetic") & long_enough & alike).then(
        pl.max_horizontal(edit, (edit + config.PHONETIC_SIM) / 2)
    )
    # The same name in another romanisation system ("Rabinovich" / "Rabinowitz"): not a
    # typo but one spelling of the same letters, as alike as a nickname.
    # The folds are exact spellings of one letter, not a sound guessed: half the letters
    # alike is enough ("Aleksey" / "Alexei": ks/x and y/i, three edits of seven).
    # A shorter part only one letter off, a j, y or i, or a w or v ("Juri" / "Yuri", "Iwan" /
    # "Ivan"; "Zhao" is no "Shao").
    short_roman = (
        (pl.min_horizontal(q_len, c_len) >= config.MIN_ROMAN_TOKEN_LEN)
        & one_edit
        & (glide_folded(pl.col("q_token")) == glide_folded(pl.col("c_token")))
    )
    roman_alike = (pl.col("edit") >= config.MIN_LONG_KEY_EDIT_SIM) & (
        (pl.col("same_roman") & long_enough) | short_roman
    )
    roman = pl.when(roman_alike).then(pl.max_horizontal(edit, config.ROMAN_SIM))
    skeleton = pl.when(
        ((pl.col("same_skeleton") & alike) | pl.col("same_shape")) & ~has_digit
    ).then(pl.max_horizontal(edit, (edit + config.SKELETON_SIM) / 2))
    # A given name and its nickname ("Theodore" / "Ted"): a variant of the name.
    nickname = (pl.col("q_nick") * len(_NICKNAMES) + pl.col("c_nick")).is_in(
        _NICKNAME_KEYS.implode()
    )
    # Each piece of evidence once, as a column (an eager select would recompute shared
    # sub-expressions).
    frame = frame.with_columns(
        fuzzy.alias("fuzzy"),
        pl.when(changed)
        .then(pl.when(short_typo).then(config.SHORT_TYPO_SIM).otherwise(config.SHORT_CHANGE_SIM))
        .otherwise(0.0)
        .alias("changed"),
        pl.max_horizontal(phonetic, roman).fill_null(0.0).alias("phonetic"),
        skeleton.fill_null(0.0).alias("skeleton"),
        pl.when(nickname).then(config.NICKNAME_SIM).otherwise(0.0).alias("nickname"),
    ).with_columns(
        pl.max_horizontal("fuzzy", "changed", "phonetic", "skeleton", "nickname").alias("best"),
        one_edit.alias("one_edit"),
        retyped.alias("retyped"),
        same_first.alias("same_first"),
    )
    best = pl.col("best")
    same = pl.col("q_id") == pl.col("c_id")
    sim = (
        pl.when(same)
        .then(1.0)
        .when(initial)
        .then(config.INITIAL_SIM)
        .when(best >= config.MIN_TOKEN_SIM)
        .then(best)
        .when(pl.col("retyped"))
        .then(pl.col("edit"))
        .otherwise(0.0)
    )
    how = (
        pl.when(same)
        .then(pl.lit(EXACT))
        .when(initial)
        .then(pl.lit(INITIAL))
        .when((best < config.MIN_TOKEN_SIM) & pl.col("retyped"))
        .then(pl.when(pl.col("same_first")).then(pl.lit(RETYPED)).otherwise(pl.lit(RETYPED_FIRST)))
        .when(best < config.MIN_TOKEN_SIM)
        .then(pl.lit(NONE))
        .when((pl.col("fuzzy") >= best) | (pl.col("nickname") >= best))
        .then(pl.lit(FUZZY))
        .when(pl.col("changed") >= best)
        .then(pl.lit(CHANGED))
        # One edit apart is a spelling match, whichever key also links the two ("Putn" /
        # "Putin"): search_type "fuzzy" (edit distance) takes it.
        .when(pl.col("one_edit"))
        .then(pl.lit(FUZZY))
        .when(pl.col("phonetic") >= best)
        .then(pl.lit(PHONETIC))
        .otherwise(pl.lit(SKELETON))
    )
    # Same consonant skeleton whatever the vowels: evidence only across scripts, where a
    # script written without short vowels (Arabic, Hebrew) leaves them to a guess.
    # The query token is the list token with some vowels left out, as a script without
    # short vowels writes it ("mhmd" / "muhammad", "jfr" / "jafar"): the same consonants.
    dropped = (
        pl.col("q_vowel_poor")
        & (
            (pl.col("q_consonants") == pl.col("c_consonants"))
            | (pl.col("q_consonants") == pl.col("c_bare_consonants"))
        )
        & (pl.col("q_onset") == pl.col("c_onset"))
        & (pl.col("q_vowels") < pl.col("c_vowels"))
        & ~has_digit
    ).fill_null(False)
    # A long vowel letter read as a vowel on one side, a consonant on the other ("tib" /
    # "tayeb", "nur" / "noor"): the same consonants but w and y, across scripts only. The
    # query token is spelt as an abjad reads (a, i, u only: no pinyin "chen" / "chin") and
    # the list spelling writes more vowels or a w or y inside ("riis" / "reyes").
    matres = (
        (pl.col("q_bare_consonants") == pl.col("c_bare_consonants"))
        & (pl.col("q_bare_len") >= config.MIN_MATRES_CONSONANTS)
        & (pl.col("q_onset") == pl.col("c_onset"))
        & ~pl.col("q_has_e_or_o")
        & (
            (pl.col("q_vowels") < pl.col("c_vowels"))
            | (pl.col("c_consonants") != pl.col("c_bare_consonants"))
        )
        & ~has_digit
    ).fill_null(False)
    # The letters of ض ذ ظ ث as another reading of the script sounds them, the vowels as
    # matres reads them but the query token's as many as the list token's (an initial alef
    # or ain carries any vowel: "عصام" asam / Issam): read_alike, for a query written in an
    # abjad only (q_abjad), as matres.
    read_alike = (
        (
            pl.any_horizontal(pl.col(f"q_{query}") == pl.col("c_read") for query in _QUERY_READS)
            | (
                pl.any_horizontal(
                    pl.col(f"q_{query}") == pl.col("c_read_z") for query in _QUERY_READS
                )
                & (pl.col("q_read_len") >= config.MIN_READ_Z_CONSONANTS)
            )
        )
        & (pl.col("q_read_len") >= config.MIN_MATRES_CONSONANTS)
        & ~pl.col("q_has_e_or_o")
        & (pl.col("q_vowels") <= pl.col("c_vowels"))
        & ~has_digit
    ).fill_null(False)
    # matres is kept apart: it holds only for a query written in an abjad (q_abjad).
    vowel_blind = (pl.col("same_skeleton") & ~has_digit) | dropped
    return frame.select(
        *pairs.columns,
        sim.alias("sim"),
        how.alias("how"),
        vowel_blind.alias("vowel_blind"),
        dropped.alias("vowels_dropped"),
        matres.alias("matres"),
        (pl.col("same_vowel_guess") & ~has_digit).alias("guessed_vowel"),
        read_alike.alias("read_alike"),
    )


@lru_cache(maxsize=500_000)
def vowels_dropped_one(q_token: str, c_token: str) -> bool:
    """token_similarity's vowels_dropped for one token pair: the query token is written
    with few vowels (vowel_poor) and is the list token with some of its vowels left out,
    its first sound kept ("mhmd" / "muhammad", "jfr" / "jafar", "amr" / "omar"; not "mjd" /
    "amjad")."""
    fewer = token_vowels(q_token) < token_vowels(c_token)
    q_consonants = consonants(q_token)
    same = q_consonants in (consonants(c_token), bare_consonants(c_token))
    same = same and onset(q_token) == onset(c_token)
    return vowel_poor(q_token) and same and fewer and not _has_digit(c_token)


@lru_cache(maxsize=500_000)
def matres_one(q_token: str, c_token: str) -> bool:
    """token_similarity's matres rule for one token pair: the same consonants with w and y
    left out on both sides (MIN_MATRES_CONSONANTS+), the same first sound, the query token
    spelt with a, i, u only and the list token with more vowels or a w or y inside ("tib" /
    "tayeb", "riis" / "reyes"; not "chen" / "chin")."""
    bare = bare_consonants(q_token)
    return (
        len(bare) >= config.MIN_MATRES_CONSONANTS
        and bare == bare_consonants(c_token)
        and onset(q_token) == onset(c_token)
        and not ("e" in q_token or "o" in q_token)
        and (
            token_vowels(q_token) < token_vowels(c_token)
            or consonants(c_token) != bare_consonants(c_token)
        )
        and not _has_digit(q_token)
        and not _has_digit(c_token)
    )


@lru_cache(maxsize=500_000)
def read_alike_one(q_token: str, c_token: str) -> bool:
    """token_similarity's read_alike for one token pair: an abjad_reading key in common (the
    query token's th read th or s, the list token's z read z or as ض ذ's),
    MIN_MATRES_CONSONANTS+ consonants, the query token
    spelt with a, i, u only and with no more vowels than the list token."""
    q_key, q_th_as_s, _, count = abjad_readings(q_token)
    c_key, _, c_z_as_d, _ = abjad_readings(c_token)
    q_keys = {q_key, q_th_as_s}
    c_keys = {c_key, c_z_as_d} if count >= config.MIN_READ_Z_CONSONANTS else {c_key}
    return (
        not q_keys.isdisjoint(c_keys)
        and count >= config.MIN_MATRES_CONSONANTS
        and not ("e" in q_token or "o" in q_token)
        and token_vowels(q_token) <= token_vowels(c_token)
        and not _has_digit(q_token)
        and not _has_digit(c_token)
    )


# A vowel an abjad does not write as the list spelling does: its waw read u where the list
# writes o or w, its yeh i where the list writes e or y ("ابو" abu / "ABO", "علياء" alya /
# "ALIA"). Spellings alike but for those are the same letters, not a short name with a
# letter changed ("Tim" / "Tom", CHANGED: another name). For a query written in an abjad
# only (q_abjad): Cyrillic writes its o and u apart.
_GUESSED_VOWELS = (["o", "w", "e", "y"], ["u", "u", "i", "i"])


def vowels_guessed(tokens: pl.Expr) -> pl.Expr:
    """Per token: its spelling with the vowels an abjad leaves to a guess folded."""
    return tokens.str.replace_many(*_GUESSED_VOWELS)


_GUESSED_TABLE = str.maketrans(dict(zip(*_GUESSED_VOWELS, strict=True)))


@lru_cache(maxsize=500_000)
def guessed_vowel_one(q_token: str, c_token: str) -> bool:
    """token_similarity's guessed_vowel for one token pair."""
    return (
        q_token.translate(_GUESSED_TABLE) == c_token.translate(_GUESSED_TABLE)
        and not _has_digit(q_token)
        and not _has_digit(c_token)
    )


def token_vowels(token: str) -> int:
    return sum(token.count(vowel) for vowel in "aeiou")


@lru_cache(maxsize=500_000)
def pair_similarity(q_token: str, c_token: str) -> tuple[float, str, bool]:
    """token_similarity for one token pair, in plain Python: (sim, how, vowel_blind).

    The one-entity path's twin of the column version above, rule for rule; the tests
    compare the two on every token pair a few hundred screenings make."""
    if q_token in SPELLINGS or c_token in SPELLINGS:
        edit = spelling_similarity(q_token, c_token)
    else:
        edit = OSA.normalized_similarity(q_token, c_token)
    q_keys, c_keys = keys_of(q_token), keys_of(c_token)
    (q_phonetic, q_skeleton, q_shape, q_squeezed, q_letters, q_roman) = q_keys
    (c_phonetic, c_skeleton, c_shape, c_squeezed, c_letters, c_roman) = c_keys
    q_len, c_len = len(q_token), len(c_token)
    shortest, longest = min(q_len, c_len), max(q_len, c_len)
    long_enough = shortest >= config.MIN_FUZZY_TOKEN_LEN
    has_digit = _has_digit(q_token) or _has_digit(c_token)
    initial = shortest == 1 and q_token[:1] == c_token[:1]
    # A key shorter than its minimum is null in the column version: it equals nothing.
    same_skeleton = q_skeleton == c_skeleton and len(q_skeleton) >= config.MIN_SKELETON_LEN
    same_shape = q_shape == c_shape and len(q_shape) >= config.MIN_SHAPE_LEN
    swapped = q_letters == c_letters and edit >= 1 - 1 / longest
    doubled = q_squeezed == c_squeezed and longest - shortest <= config.MAX_DOUBLED_LETTERS
    short_typo = shortest >= 2 and (doubled or swapped) and not has_digit
    same_first = q_token[:1] == c_token[:1]
    one_edit = edit >= 1 - 1 / longest - 1e-9
    short_edit = (
        shortest >= config.MIN_CHANGED_TOKEN_LEN
        and not long_enough
        and one_edit
        and same_first
        and not has_digit
    )
    typo = 0.0
    if short_typo and shortest >= config.MIN_CHANGED_TOKEN_LEN:
        typo = config.SHORT_TYPO_SIM
    elif short_edit and q_len != c_len:
        typo = config.SHORT_CHANGE_SIM
    edit_counts = edit >= config.MIN_OTHER_INITIAL_SIM or same_first
    fuzzy = edit if long_enough and not has_digit and edit_counts else typo
    changed = config.SHORT_CHANGE_SIM if short_edit and q_len == c_len else 0.0
    if short_typo and shortest < config.MIN_CHANGED_TOKEN_LEN:
        changed = config.SHORT_TYPO_SIM
    alike = edit >= config.MIN_KEY_EDIT_SIM or (
        edit >= config.MIN_LONG_KEY_EDIT_SIM and len(q_phonetic) >= config.LONG_KEY_LEN
    )
    phonetic = 0.0
    if q_phonetic == c_phonetic and long_enough and alike:
        phonetic = max(edit, (edit + config.PHONETIC_SIM) / 2)
    short_roman = (
        shortest >= config.MIN_ROMAN_TOKEN_LEN
        and one_edit
        and glide_folded_one(q_token) == glide_folded_one(c_token)
    )
    roman = (q_roman == c_roman and long_enough) or short_roman
    if roman and edit >= config.MIN_LONG_KEY_EDIT_SIM:
        phonetic = max(phonetic, edit, config.ROMAN_SIM)
    skeleton = 0.0
    if ((same_skeleton and alike) or same_shape) and not has_digit:
        skeleton = max(edit, (edit + config.SKELETON_SIM) / 2)
    nickname = config.NICKNAME_SIM if (q_token, c_token) in NICKNAME_PAIRS else 0.0
    best = max(fuzzy, changed, phonetic, skeleton, nickname)
    vowel_blind = (same_skeleton and not has_digit) or vowels_dropped_one(q_token, c_token)
    if q_token == c_token:
        return 1.0, EXACT, vowel_blind
    if initial:
        return config.INITIAL_SIM, INITIAL, vowel_blind
    if best < config.MIN_TOKEN_SIM:
        min_len = config.MIN_RETYPED_LEN if same_first else config.MIN_RETYPED_FIRST_LEN
        retyped = (
            longest >= min_len
            and shortest >= config.MIN_CHANGED_TOKEN_LEN
            and edit >= 1 - config.RETYPED_MAX_EDITS / longest - 1e-9
            and not has_digit
            and not (q_token in COUNTRY_TOKENS and c_token in COUNTRY_TOKENS)
        )
        if not retyped:
            return 0.0, NONE, vowel_blind
        return edit, RETYPED if same_first else RETYPED_FIRST, vowel_blind
    if max(fuzzy, nickname) >= best:
        how = FUZZY
    elif changed >= best:
        how = CHANGED
    elif one_edit:
        how = FUZZY
    else:
        how = PHONETIC if phonetic >= best else SKELETON
    return best, how, vowel_blind


_DIGIT = re.compile(r"\d")


def _has_digit(token: str) -> bool:
    return _DIGIT.search(token) is not None


def list_token_features(index: object) -> pl.DataFrame:
    """_token_features of every list token, made once per index and kept in index.derived:
    a batch's pairs are mostly list tokens, whose keys need not be made again each time."""
    derived: dict[str, pl.DataFrame] = index.derived
    if "names.token_features" not in derived:
        derived["names.token_features"] = _token_features(index.vocab["token"]).rechunk()
    return derived["names.token_features"]


def token_features(tokens: pl.Series, known: pl.DataFrame | None) -> pl.DataFrame:
    """_token_features of the distinct tokens, sorted: those in `known` (sorted by token)
    gathered from it, the others made."""
    distinct = tokens.unique().drop_nulls().sort()
    if known is None or known.is_empty():
        return _token_features(distinct)
    rows = known["token"].search_sorted(distinct).clip(0, known.height - 1)
    listed = known["token"].gather(rows) == distinct
    made = _token_features(distinct.filter(~listed), query_only=True)
    return pl.concat([known[rows.filter(listed)], made]).sort("token")


def _token_features(tokens: pl.Series, query_only: bool = False) -> pl.DataFrame:
    """Distinct tokens, sorted, with what token_similarity compares: lengths, digits, the
    first letter, and each key as a number (the same key, the same number, in any batch:
    so the list tokens' features are made once). A skeleton or shape too short to count
    is null: it never equals anything. query_only: tokens no list holds, only ever on the
    query side of a pair (their abjad reading keys made only where read_alike may hold)."""
    keys = token_keys(tokens).sort("token")
    distinct = keys["token"].to_list()
    keys = keys.with_columns(
        pl.Series("consonants", [consonants(token) for token in distinct], dtype=pl.Utf8),
        pl.Series("bare", [bare_consonants(token) for token in distinct], dtype=pl.Utf8),
        pl.Series("vowel_poor", [vowel_poor(token) for token in distinct], dtype=pl.Boolean),
        *_reading_columns(distinct, query_only),
    )
    return keys.select(
        "token",
        _number(pl.col("token")).alias("id"),
        pl.col("token").str.len_chars().alias("len"),
        pl.col("token").str.contains(r"\d").alias("has_digit"),
        _number(pl.col("token").str.slice(0, 1)).alias("first"),
        _number(onsets(pl.col("token"))).alias("onset"),
        _number(pl.col("phonetic")).alias("phonetic"),
        pl.col("phonetic").str.len_chars().alias("phonetic_len"),
        pl.when(pl.col("skeleton").str.len_chars() >= config.MIN_SKELETON_LEN)
        .then(_number(pl.col("skeleton")))
        .alias("skeleton"),
        pl.when(pl.col("shape").str.len_chars() >= config.MIN_SHAPE_LEN)
        .then(_number(pl.col("shape")))
        .alias("shape"),
        _number(pl.col("squeezed")).alias("squeezed"),
        _number(pl.col("consonants")).alias("consonants"),
        _number(pl.col("bare")).alias("bare_consonants"),
        pl.col("bare").str.len_chars().alias("bare_len"),
        pl.col("token").str.contains("[eo]").alias("has_e_or_o"),
        pl.col("token").str.count_matches("[aeiou]").alias("vowels"),
        "vowel_poor",
        _number(pl.col("read")).alias("read"),
        _number(pl.col("read_s")).alias("read_s"),
        _number(pl.col("read_z")).alias("read_z"),
        "read_len",
        _number(pl.col("letters")).alias("letters"),
        _number(pl.col("roman")).alias("roman"),
        _number(vowels_guessed(pl.col("token"))).alias("vowel_guess"),
        pl.col("token").replace_strict(_NICKNAMES, _NICKNAME_IDS, default=None).alias("nick"),
    )


def _reading_columns(tokens: list[str], query_only: bool) -> list[pl.Series]:
    """read, read_s, read_z, read_len: the tokens' abjad_reading keys (as written; th as
    s, a query's reading; z as d, a list's) and their consonants' count. A query token
    spelt with an e or an o is read alike with nothing (token_similarity's read_alike):
    for query_only tokens, its keys are null and its count 0 (a Python call per new token
    the most of a batch's new tokens need not pay)."""
    unread = (None, None, None, 0)
    readings = [
        unread if query_only and ("e" in token or "o" in token) else abjad_readings(token)
        for token in tokens
    ]
    columns = list(zip(*readings, strict=True)) or [()] * 4
    read, read_s, read_z, count = columns
    return [
        pl.Series("read", read, dtype=pl.Utf8),
        pl.Series("read_s", read_s, dtype=pl.Utf8),
        pl.Series("read_z", read_z, dtype=pl.Utf8),
        pl.Series("read_len", count, dtype=pl.Int64),
    ]


# Nickname pairs as numbers: each name its place in _NICKNAMES, a pair one integer.
_NICKNAMES = sorted({name for name, _ in NICKNAME_PAIRS})
_NICKNAME_IDS = list(range(len(_NICKNAMES)))


def _nickname_keys() -> pl.Series:
    """Every nickname pair as one integer: place of the one * len(_NICKNAMES) + the other."""
    place = dict(zip(_NICKNAMES, _NICKNAME_IDS, strict=True))
    keys = [place[a] * len(_NICKNAMES) + place[b] for a, b in NICKNAME_PAIRS]
    return pl.Series(keys, dtype=pl.Int64)


_NICKNAME_KEYS = _nickname_keys()


def _number(key: pl.Expr) -> pl.Expr:
    """A key as a 64-bit hash: equal keys, equal numbers, whatever else is in the batch
    (two keys colliding: about one chance in 2**64 per pair)."""
    return key.hash()


# The evidence names as a categorical: group-bys and comparisons on it stay integer work.
HOW = pl.Enum([EXACT, FUZZY, CHANGED, RETYPED, RETYPED_FIRST, PHONETIC, SKELETON, INITIAL, NONE])

COUNTS = [
    "matched_weight",
    "q_found_names",
    "n_exact",
    "n_fuzzy",
    "n_changed",
    "changed_weight",
    "retyped_found",
    "n_phonetic",
    "n_skeleton",
    "n_initial",
    "n_other_words",
    "n_rare_found",
    "other_word_rest",
    "n_typo_words",
]


# The columns of each side's parts the cross product of two names' parts needs (the token
# matches, _cross_script_skeleton, _letters_used_once, _other_word, _typo_word).
_CROSS_Q = ["pair", "q_pos", "q_id", "q_script", "q_abjad"]
_CROSS_C = ["pair", "c_pos", "c_id", "c_script"]


def align_parts(
    pairs: pl.DataFrame, weights: pl.DataFrame | None, known: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Name-part alignment of every pair at once.

    pairs: pair UInt32/Int64, q_tokens List(Utf8), c_tokens List(Utf8).
    weights: token, weight (rarity; tokens absent weigh 1.0, generic words less), or None.
    known: the list tokens' features (list_token_features), or None.
    Each part of either name takes its best counterpart on the other side; the result per
    pair: q_unmatched and c_unmatched (rarity-weighted share of each name left unmatched),
    matched_weight (rarity weight of the query parts matched), and the evidence counts.

    Tokens are numbered once per call, so the cross product of parts (about ten rows per
    pair) joins and deduplicates integers, not strings.
    """
    q = _parts(pairs, "q")
    c = _parts(pairs, "c")
    vocab = _part_vocab(q, c, weights)
    q = _numbered(q, vocab, "q")
    c = _numbered(c, vocab, "c")
    # The cross product (about ten rows per pair, most of them no match) carries only what
    # the token matches read: the parts' weights and kinds are read per part later
    # (_best_counterparts), and copying them into every row was a tenth of a chunk's CPU.
    cross = (
        q.select(_CROSS_Q)
        .join(c.select(_CROSS_C), on="pair", how="inner")
        .with_columns((pl.col("q_id") * vocab.height + pl.col("c_id")).alias("token_pair"))
    )
    token_pairs = cross.select("token_pair").unique()
    tokens = vocab["token"]
    sims = token_similarity(
        token_pairs.select(
            "token_pair",
            tokens.gather(token_pairs["token_pair"] // vocab.height).alias("q_token"),
            tokens.gather(token_pairs["token_pair"] % vocab.height).alias("c_token"),
        ),
        known,
    ).select(
        "token_pair",
        "sim",
        pl.col("how").cast(HOW),
        "vowel_blind",
        "vowels_dropped",
        "matres",
        "guessed_vowel",
        "read_alike",
    )
    # Only token pairs that match at all (or may, across scripts) compete for a part's
    # best counterpart; a part with none is then found unmatched in its side's part list.
    maybe = sims.filter(
        (pl.col("sim") > 0)
        | pl.col("vowel_blind")
        | pl.col("matres")
        | pl.col("guessed_vowel")
        | pl.col("read_alike")
    )
    found = (
        cross.join(maybe, on="token_pair", how="inner")
        .with_columns(_cross_script_skeleton())
        .filter(pl.col("sim") > 0)
        .pipe(_letters_used_once)
        .select(*FOUND_COLUMNS, _other_word(vocab), _typo_word(vocab))
    )
    # A part two typing errors off is still left over for regrouping: a word cut short
    # ("Abiy" / "Abiyot") or split in two says more than two letters changed.
    regrouped = regrouped_matches(
        q, c, found.filter(~pl.col("how").is_in(_RETYPED)), vocab, _person_pairs(pairs)
    ).with_columns(
        pl.col("how").cast(HOW), pl.lit(False).alias("other_word"), pl.lit(False).alias("typo_word")
    )
    found = pl.concat([found, regrouped])
    q_best = _best(_best_counterparts(q, found, "q", pairs), "q")
    c_best = _best(_best_counterparts(c, found, "c", pairs), "c")
    return (
        pairs.select("pair")
        .join(q_best, on="pair", how="left")
        .join(c_best, on="pair", how="left")
        .with_columns(
            pl.col("q_unmatched", "c_unmatched", "q_missing", "c_missing").fill_null(1.0),
            pl.col("q_deficit", "c_deficit", "q_weight", "c_weight").fill_null(0.0),
            pl.col("q_missing_parts", "c_missing_parts").fill_null(1),
            pl.col("q_missing_names", "c_missing_names").fill_null(1),
            pl.col("q_missing_patronymics", "c_missing_patronymics").fill_null(0),
            pl.col("q_missing_countries", "c_missing_countries").fill_null(0),
            pl.col("q_missing_initials", "c_missing_initials").fill_null(0),
            pl.col("q_missing_numbers", "c_missing_numbers").fill_null(0),
            pl.col("q_missing_words", "c_missing_words").fill_null(1),
            pl.col(COUNTS).fill_null(0),
        )
        # Distinguishing parts in common: counted on both sides, as two query parts may
        # lean on one list part ("Hussein Hassan" / "Hassan").
        .with_columns(
            pl.min_horizontal("q_found_parts", "c_found_parts").fill_null(0).alias("n_matched"),
            # A part two typing errors off, on either side: a list part may be the
            # counterpart of a query part that found a closer one.
            pl.max_horizontal("q_retyped", "c_retyped").fill_null(0).alias("n_retyped"),
            pl.max_horizontal("q_retyped_first", "c_retyped_first")
            .fill_null(0)
            .alias("n_retyped_first"),
        )
    )


@dataclass(slots=True)
class Alignment:
    """align_parts' columns for one pair (see there)."""

    q_weight: float
    c_weight: float
    q_unmatched: float
    c_unmatched: float
    q_missing: float
    c_missing: float
    q_deficit: float
    c_deficit: float
    q_missing_parts: int
    c_missing_parts: int
    q_missing_patronymics: int
    c_missing_patronymics: int
    q_missing_names: int
    c_missing_names: int
    q_missing_countries: int
    c_missing_countries: int
    q_missing_initials: int
    c_missing_initials: int
    q_missing_numbers: int
    c_missing_numbers: int
    q_missing_words: int
    c_missing_words: int
    q_found_names: int
    matched_weight: float
    n_exact: int
    n_fuzzy: int
    n_changed: int
    changed_weight: float
    n_retyped: int
    n_retyped_first: int
    retyped_found: float
    n_phonetic: int
    n_skeleton: int
    n_initial: int
    n_other_words: int
    n_rare_found: int
    other_word_rest: float  # the weight the distinguishing parts but those found
    n_typo_words: int
    n_matched: int


def _person_pairs(pairs: pl.DataFrame) -> pl.Series:
    """The pairs in which either name is known to be a person's (entity types)."""
    columns = [col for col in ("q_entity_type", "c_entity_type") if col in pairs.columns]
    if not columns:
        return pairs["pair"].clear()
    # The few distinct type combinations are read, not every pair's strings.
    combos = pairs.select(columns).unique()
    persons = combos.filter(pl.any_horizontal(is_person(col) for col in columns).fill_null(False))
    return pairs.join(persons, on=columns, how="semi", nulls_equal=True)["pair"]


def align_one(
    q_tokens: list[str],
    c_tokens: list[str],
    q_weights: list[float],
    c_weights: list[float],
    cross_script: bool,
    persons: bool = False,
    q_listed: list[bool] | None = None,
    abjad: bool = False,
) -> Alignment:
    """align_parts for one pair, in plain Python (the one-entity path's twin, rule for
    rule: matching token pairs, the cross-script skeleton, letters used once, each part's
    best counterpart, the weighted shares). q_listed: per query part, is it a list token
    (None: none is); abjad: the query is written in an abjad (in_abjad_script)."""
    found = []
    for q_pos, q_token in enumerate(q_tokens):
        for c_pos, c_token in enumerate(c_tokens):
            sim, how, vowel_blind = pair_similarity(q_token, c_token)
            lift = config.CROSS_SCRIPT_SKELETON_SIM
            if vowels_dropped_one(q_token, c_token):
                lift = config.VOWELS_DROPPED_SIM
            guessed = (
                matres_one(q_token, c_token)
                or guessed_vowel_one(q_token, c_token)
                or read_alike_one(q_token, c_token)
            )
            vowel_blind = vowel_blind or (abjad and guessed)
            if cross_script and vowel_blind and (sim < lift or how in _RETYPED):
                sim, how = max(sim, lift), SKELETON
            if sim > 0:
                found.append((q_pos, c_pos, sim, how))
    if any(how in _USED_ONCE for *_, how in found):
        exact_q = {q for q, _, _, how in found if how == EXACT}
        exact_c = {c for _, c, _, how in found if how == EXACT}
        found = [
            row
            for row in found
            if row[3] not in _USED_ONCE or (row[0] not in exact_q and row[1] not in exact_c)
        ]
    token_matches = len(found)
    firm = [row for row in found if row[3] not in _RETYPED]
    found += regrouped_matches_one(q_tokens, c_tokens, q_weights, c_weights, firm, persons)
    listed = q_listed or [False] * len(q_tokens)
    q_best: dict[int, tuple[float, str]] = {}
    c_best: dict[int, tuple[float, str]] = {}
    other_word: dict[int, bool] = {}
    typo_word: dict[int, bool] = {}
    for at, (q_pos, c_pos, sim, how) in enumerate(found):
        if sim > q_best.get(q_pos, (0.0, NONE))[0]:
            q_best[q_pos] = (sim, how)
            other_word[q_pos] = (
                at < token_matches
                and how in (FUZZY, CHANGED, RETYPED_FIRST)
                and listed[q_pos]
                and c_tokens[c_pos] not in GENERIC_TOKENS
                and c_tokens[c_pos] not in COUNTRY_TOKENS
                and c_weights[c_pos] <= config.KNOWN_WORD_MAX_WEIGHT
                and len(q_tokens[q_pos]) == len(c_tokens[c_pos])
                and _VOWELS.sub("", q_tokens[q_pos]) != _VOWELS.sub("", c_tokens[c_pos])
            )
            typo_word[q_pos] = (
                at < token_matches
                and how in (FUZZY, RETYPED)
                and not listed[q_pos]
                and q_tokens[q_pos][:1] == c_tokens[c_pos][:1]
                and max(len(q_tokens[q_pos]), len(c_tokens[c_pos])) >= config.MIN_TYPO_WORD_LEN
            )
        if sim > c_best.get(c_pos, (0.0, NONE))[0]:
            c_best[c_pos] = (sim, how)
    q = _side_shares(q_tokens, q_weights, q_best)
    c = _side_shares(c_tokens, c_weights, c_best)
    strong = config.STRONG_PART_WEIGHT
    q_hows = [q_best.get(pos, (0.0, NONE))[1] for pos in range(len(q_weights))]
    others = [
        other_word.get(pos, False) and w >= strong and q_best[pos][0] < _SOUNDS_ALIKE
        for pos, w in enumerate(q_weights)
    ]
    c_hows = [c_best.get(pos, (0.0, NONE))[1] for pos in range(len(c_weights))]
    return Alignment(
        q_weight=q.weight,
        c_weight=c.weight,
        q_unmatched=q.unmatched,
        c_unmatched=c.unmatched,
        q_missing=q.missing,
        c_missing=c.missing,
        q_deficit=q.deficit,
        c_deficit=c.deficit,
        q_missing_parts=q.missing_parts,
        c_missing_parts=c.missing_parts,
        q_missing_patronymics=q.missing_patronymics,
        c_missing_patronymics=c.missing_patronymics,
        q_missing_names=q.missing_names,
        c_missing_names=c.missing_names,
        q_missing_countries=q.missing_countries,
        c_missing_countries=c.missing_countries,
        q_missing_initials=q.missing_initials,
        c_missing_initials=c.missing_initials,
        q_missing_numbers=q.missing_numbers,
        c_missing_numbers=c.missing_numbers,
        q_missing_words=q.missing_words,
        c_missing_words=c.missing_words,
        q_found_names=q.found_names,
        matched_weight=sum(w * q_best.get(pos, (0.0, NONE))[0] for pos, w in enumerate(q_weights)),
        n_exact=sum(how == EXACT and w >= strong for how, w in zip(q_hows, q_weights, strict=True)),
        n_fuzzy=sum(how in (FUZZY, CHANGED, *_RETYPED) for how in q_hows),
        n_changed=q_hows.count(CHANGED),
        changed_weight=sum(w for how, w in zip(q_hows, q_weights, strict=True) if how == CHANGED),
        n_retyped=max(sum(how in _RETYPED for how in hows) for hows in (q_hows, c_hows)),
        n_retyped_first=max(hows.count(RETYPED_FIRST) for hows in (q_hows, c_hows)),
        retyped_found=sum(
            w * q_best[pos][0]
            for pos, w in enumerate(q_weights)
            if q_best.get(pos, (0.0, NONE))[1] in _RETYPED
        ),
        n_phonetic=q_hows.count(PHONETIC),
        n_skeleton=q_hows.count(SKELETON),
        n_initial=q_hows.count(INITIAL),
        n_other_words=sum(others),
        other_word_rest=sum(
            w * q_best.get(pos, (0.0, NONE))[0]
            for pos, (w, other) in enumerate(zip(q_weights, others, strict=True))
            if w >= strong and not other and q_tokens[pos] not in COUNTRY_TOKENS
        ),
        n_rare_found=sum(
            q_best.get(pos, (0.0, NONE))[0] > 0 and w >= config.IDENTITY_RARE_PART_WEIGHT
            for pos, w in enumerate(q_weights)
        ),
        n_typo_words=sum(
            typo_word.get(pos, False) and w >= strong for pos, w in enumerate(q_weights)
        ),
        n_matched=min(q.found_parts, c.found_parts),
    )


@dataclass(slots=True)
class _Side:
    """_best's columns for one side of one pair."""

    weight: float = 0.0
    unmatched: float = 0.0
    missing: float = 0.0
    deficit: float = 0.0
    missing_parts: int = 0
    missing_patronymics: int = 0
    missing_names: int = 0
    missing_countries: int = 0
    missing_initials: int = 0
    missing_numbers: int = 0
    missing_words: int = 0
    found_parts: int = 0
    found_names: int = 0


def _side_shares(
    tokens: list[str], weights: list[float], best: dict[int, tuple[float, str]]
) -> _Side:
    """_best for one side of one pair: unmatched, missing and deficit shares of its weight;
    missing parts, patronymics, names, countries and initials; found distinguishing parts."""
    side = _Side()
    total = 0.0
    for pos, (token, w) in enumerate(zip(tokens, weights, strict=True)):
        sim, how = best.get(pos, (0.0, NONE))
        total += w
        side.unmatched += w * (1.0 - sim)
        strong = w >= config.STRONG_PART_WEIGHT
        if sim <= 0:
            side.missing += w
            side.missing_parts += strong
            side.missing_patronymics += strong and PATRONYMIC.search(token) is not None
            side.missing_names += is_name_part_one(token)
            side.missing_countries += token in COUNTRY_TOKENS
            side.missing_initials += len(token) == 1 and token.isalpha()
            side.missing_numbers += token.isdigit()
            side.missing_words += token not in FORM_WORDS
        else:
            side.deficit += w * (1.0 - sim)
            side.found_parts += strong and how != INITIAL
            side.found_names += is_name_part_one(token)
    side.weight = total
    side.unmatched /= total
    side.missing /= total
    side.deficit /= total
    return side


# Evidence that a part found exactly elsewhere may not give again: an initial, a short
# part one letter off.
_RETYPED = (RETYPED, RETYPED_FIRST)
_USED_ONCE = (INITIAL, CHANGED, *_RETYPED)


# The vowel letters: a word with one in place of another is the same word in another
# romanisation ("Qaeda" / "Qaida"), not another word (_other_word).
_VOWEL = "[aeiou]"
_VOWELS = re.compile(_VOWEL)


def _other_word(vocab: pl.DataFrame) -> pl.Expr:
    """Per token match: a query part that is a list word matched by its spelling to a part
    of its length ("mining" / "dining"; "bars" / "pars", RETYPED with its first letter
    changed, too), not regrouped, in place of a word the lists use in three names or more
    (KNOWN_WORD_MAX_WEIGHT: not a one-off brand), neither a generic company word
    ("tekhnology" is a spelling of "technology", not another company's name) nor a country
    (a place, not the company's own word: "Bank of Chima" misspells China); a consonant
    changed, as a vowel in place of another is another romanisation ("Qaeda" / "Qaida").
    n_other_words weighs it where it sounds otherwise, algorithm.py where it is
    distinctive."""
    length = pl.lit(vocab["token"].str.len_chars())
    listed = pl.lit(vocab["listed"])
    letters = pl.lit(vocab["token"].str.replace_all(_VOWEL, ""))
    word = pl.lit(
        ~vocab["token"].is_in(GENERIC_SERIES.implode())
        & ~vocab["country"]
        & (vocab["weight"] <= config.KNOWN_WORD_MAX_WEIGHT)
    )
    return (
        pl.col("how").is_in([FUZZY, CHANGED, RETYPED_FIRST])
        & listed.gather(pl.col("q_id"))
        & word.gather(pl.col("c_id"))
        & (length.gather(pl.col("q_id")) == length.gather(pl.col("c_id")))
        & (letters.gather(pl.col("q_id")) != letters.gather(pl.col("c_id")))
    ).alias("other_word")


def _typo_word(vocab: pl.DataFrame) -> pl.Expr:
    """Per token match: a query part that no list holds, matched by its spelling (one or two
    typing errors, RETYPED included) to a part with its first letter, the longer of
    MIN_TYPO_WORD_LEN+ letters: a word typed wrong ("Fulhjmen" / "Fulmen"), not another
    name (lone_fuzzy_part's concern; algorithm.py's lone typo)."""
    length = pl.lit(vocab["token"].str.len_chars())
    listed = pl.lit(vocab["listed"])
    first = pl.lit(vocab["token"].str.slice(0, 1))
    return (
        pl.col("how").is_in([FUZZY, RETYPED])
        & ~listed.gather(pl.col("q_id"))
        & (first.gather(pl.col("q_id")) == first.gather(pl.col("c_id")))
        & (
            pl.max_horizontal(length.gather(pl.col("q_id")), length.gather(pl.col("c_id")))
            >= config.MIN_TYPO_WORD_LEN
        )
    ).alias("typo_word")


def _letters_used_once(found: pl.DataFrame) -> pl.DataFrame:
    """found (matching token pairs) without the initials and changed short parts that
    reuse a part: a single letter equal to a letter of the other name is that letter, not
    also the initial of another part (the "s" of "obshchestvo s ..." (Russian "with")
    found in both names must not stand for "Signum" as well); "Mun" found in both names is
    not also "Min" one letter off ("Mun Chong Min" / "Mun Chong Chol")."""
    letters = found.filter(pl.col("how").is_in(_USED_ONCE))
    if letters.is_empty():
        return found
    exact = found.filter(pl.col("how") == EXACT)
    reused = pl.concat(
        [
            letters.join(exact.select("pair", "q_pos"), on=["pair", "q_pos"], how="semi"),
            letters.join(exact.select("pair", "c_pos"), on=["pair", "c_pos"], how="semi"),
        ]
    ).select("pair", "q_pos", "c_pos")
    return found.join(reused, on=["pair", "q_pos", "c_pos"], how="anti")


def linked_similarity(
    sims: pl.DataFrame, q_listed: pl.Expr | None = None, *, matres: bool = True
) -> pl.Expr:
    """Blocking's similarity of a query token to a list token (token_similarity's columns).

    At CROSS_SCRIPT_SKELETON_SIM at least, as scoring grants it across scripts: a token
    with vowels left out; and, where the lists do not hold the query token (q_listed
    false: a reading of another script, not a Latin spelling, or every Latin "maria" would
    link to "mayor"), a long vowel letter read as a vowel where the list token writes a
    long vowel ("thrut" / "tharwat": matres_one, long_vowel_spelt). Not at all: a part two
    typing errors off (RETYPED), which completes a name the other parts found and finds
    none ("Masr" / "Nasr"). matres=False: without the long vowel letter's reading, as a
    query not written in an abjad links (abjad_only_link)."""
    unlisted = pl.lit(matres) if q_listed is None else ~q_listed & matres
    vowel_letters = pl.col("vowels_dropped") | (
        pl.col("matres") & long_vowel_spelt(pl.col("c_token")) & unlisted
    )
    lifted = vowel_letters & (pl.col("sim") < config.CROSS_SCRIPT_SKELETON_SIM)
    return (
        pl.when(lifted)
        .then(config.CROSS_SCRIPT_SKELETON_SIM)
        .when(pl.col("how").cast(pl.Utf8).is_in(_RETYPED))
        .then(0.0)
        .otherwise("sim")
        .alias("sim")
    )


def linked_similarity_one(
    q_token: str, c_token: str, q_listed: bool = False, *, matres: bool = True
) -> float:
    """linked_similarity for one token pair."""
    sim, how, _ = pair_similarity(q_token, c_token)
    matres = (
        matres and not q_listed and matres_one(q_token, c_token) and long_vowel_spelt_one(c_token)
    )
    if vowels_dropped_one(q_token, c_token) or matres:
        return max(sim, config.CROSS_SCRIPT_SKELETON_SIM)
    return 0.0 if how in _RETYPED else sim


def abjad_only_link(sims: pl.DataFrame, q_listed: pl.Expr | None = None) -> pl.Expr:
    """Per token pair (token_similarity's columns): linked (MIN_TOKEN_SIM) only through the
    long vowel letter's reading (matres), which scoring grants a query written in an abjad
    alone (_cross_script_skeleton's q_abjad). Blocking gives such a link to those queries
    only: the Latin "savina" or "sul" of a customer's book linked to every "Sivan" or
    "Silva" the lists hold brings thousands of names that scoring can only reject."""
    floor = config.MIN_TOKEN_SIM
    return (linked_similarity(sims, q_listed) >= floor) & (
        linked_similarity(sims, q_listed, matres=False) < floor
    )


def _cross_script_skeleton() -> list[pl.Expr]:
    """A name transliterated from another script against a Latin one: tokens with the same
    consonant skeleton match at CROSS_SCRIPT_SKELETON_SIM at least ("biriz" from Arabic
    script / "Perez"), as the transliteration had to guess the vowels; at
    VOWELS_DROPPED_SIM where the query token is the list token without some of its vowels
    ("mhmd" / "muhammad"), as a script without short vowels writes it. A long vowel letter
    read as a vowel (matres_one: "tib" / "tayeb") only for a query written in an abjad
    (q_abjad): "Тимур" is no "Tamara"."""
    cross_script = pl.col("q_script") != pl.col("c_script")
    lift = (
        pl.when(pl.col("vowels_dropped"))
        .then(config.VOWELS_DROPPED_SIM)
        .otherwise(config.CROSS_SCRIPT_SKELETON_SIM)
    )
    guessed = pl.col("matres") | pl.col("guessed_vowel") | pl.col("read_alike")
    vowel_blind = pl.col("vowel_blind") | (guessed & pl.col("q_abjad"))
    # A part the script writes so is no part typed twice wrong (RETYPED: "عصام" asam /
    # "Isam", its initial ain's vowel): guessed vowels are no typing.
    retyped = pl.col("how").is_in(_RETYPED)
    lifted = cross_script & vowel_blind & ((pl.col("sim") < lift) | retyped)
    return [
        pl.when(lifted).then(pl.max_horizontal("sim", lift)).otherwise(pl.col("sim")).alias("sim"),
        pl.when(lifted).then(pl.lit(SKELETON, HOW)).otherwise(pl.col("how")).alias("how"),
    ]


def _parts(pairs: pl.DataFrame, side: str) -> pl.DataFrame:
    """pair, <side>_token, <side>_script, <side>_pos: one row per part of one side; the
    query side's also q_abjad (in_abjad_script)."""
    script = (
        pl.col(f"{side}_transliterated").fill_null(False)
        if f"{side}_transliterated" in pairs.columns
        else pl.lit(False)
    )
    abjad = (
        [(pl.col("q_abjad").fill_null(False) if "q_abjad" in pairs.columns else pl.lit(False))]
        if side == "q"
        else []
    )
    tokens = pl.col(f"{side}_tokens")
    return (
        pairs.select(
            "pair",
            tokens.alias(f"{side}_token"),
            pl.int_ranges(0, tokens.list.len(), dtype=pl.Int64).alias(f"{side}_pos"),
            script.alias(f"{side}_script"),
            *abjad,
        )
        .explode(f"{side}_token", f"{side}_pos")
        .drop_nulls(f"{side}_token")
    )


# A patronymic (Russian, Ukrainian, Belarusian: "Viktorovich", "Oleksandrovych",
# "Ivanovna"): lists give it, customers' records often leave it out.
PATRONYMIC = re.compile(r"(?:ov|ev|iev|yev|av)(?:ich|ych|na)$|(?:ichna|ivna)$")
# Particles that only link names ("al", "bin"); "abdul", "abu" and "umm" are elements of a
# name ("servant of", "father of"): one in place of another part is another name.
_LINKS = [p for p in NAME_PARTICLES if p not in ("abdul", "abd", "abu", "umm")]
_PARTICLES = pl.Series(_LINKS, dtype=pl.Utf8)
COUNTRY_SERIES = pl.Series(sorted(COUNTRY_TOKENS), dtype=pl.Utf8)


def is_name_part(token: pl.Expr) -> pl.Expr:
    """A part that names a person or company: not a particle ("bin", "al"), a generic or
    legal word, an initial or a number."""
    return (
        ~token.is_in(_PARTICLES.implode())
        & ~token.is_in(GENERIC_SERIES.implode())
        & (token.str.len_chars() >= 2)
        & ~token.str.contains(r"^\d+$")
    )


def is_name_part_one(token: str) -> bool:
    """is_name_part for one token."""
    return (
        token not in _LINKS
        and token not in GENERIC_TOKENS
        and len(token) >= 2
        and not token.isdigit()
    )


def _part_vocab(q: pl.DataFrame, c: pl.DataFrame, weights: pl.DataFrame | None) -> pl.DataFrame:
    """Every distinct token of both sides, numbered (token_id = row), with its weight."""
    vocab = (
        pl.concat([q["q_token"].unique(), c["c_token"].unique()]).unique().sort().to_frame("token")
    )
    vocab = vocab.with_columns(
        is_name_part(pl.col("token")).alias("name_part"),
        pl.col("token").str.contains(PATRONYMIC.pattern).alias("patronymic"),
        pl.col("token").is_in(COUNTRY_SERIES.implode()).alias("country"),
        pl.col("token").str.contains(r"^[a-z]$").alias("initial"),
        pl.col("token").str.contains(r"^\d+$").alias("number"),
        pl.col("token").is_in(_LEGAL_SERIES.implode()).alias("legal"),
    )
    if weights is None:
        return vocab.with_columns(
            part_weight(pl.col("token"), None).alias("weight"), pl.lit(False).alias("listed")
        )
    # A binary search in the (sorted) weights: a few parts need not hash the whole table.
    return join_sorted(vocab, weights, "token", "left").with_columns(
        part_weight(pl.col("token"), pl.col("weight")).alias("weight"),
        pl.col("weight").is_not_null().alias("listed"),
    )


def _numbered(parts: pl.DataFrame, vocab: pl.DataFrame, side: str) -> pl.DataFrame:
    """A side's parts with their token number and weight in place of the token."""
    ids = rows_of(vocab["token"], parts[f"{side}_token"]).cast(pl.Int64)
    return parts.drop(f"{side}_token").with_columns(
        ids.alias(f"{side}_id"),
        vocab["weight"].gather(ids).alias(f"{side}_weight"),
        vocab["name_part"].gather(ids).alias(f"{side}_name_part"),
        vocab["patronymic"].gather(ids).alias(f"{side}_patronymic"),
        vocab["country"].gather(ids).alias(f"{side}_country"),
        vocab["initial"].gather(ids).alias(f"{side}_initial"),
        vocab["number"].gather(ids).alias(f"{side}_number"),
        vocab["legal"].gather(ids).alias(f"{side}_legal"),
    )


def part_weight(token: pl.Expr, listed: pl.Expr | None) -> pl.Expr:
    """A part's weight: its list rarity where known, else 1 (generic words less); an
    initial weighs at most INITIAL_WEIGHT whatever its rarity."""
    fallback = (
        pl.when(token.is_in(GENERIC_SERIES.implode()))
        .then(config.GENERIC_TOKEN_WEIGHT)
        .otherwise(1.0)
    )
    weight = fallback if listed is None else listed.fill_null(fallback)
    return (
        pl.when(token.str.len_chars() == 1)
        .then(pl.min_horizontal(weight, config.INITIAL_WEIGHT))
        .otherwise(weight)
    )


def part_weight_one(token: str, listed: float | None) -> float:
    """part_weight for one token (listed: its list rarity weight, None if unlisted)."""
    weight = listed
    if weight is None:
        weight = config.GENERIC_TOKEN_WEIGHT if token in GENERIC_TOKENS else 1.0
    return min(weight, config.INITIAL_WEIGHT) if len(token) == 1 else weight


def _best_counterparts(
    parts: pl.DataFrame, found: pl.DataFrame, side: str, pairs: pl.DataFrame
) -> pl.DataFrame:
    """Every part of one side (of pairs whose names both have parts): pair, w, its best
    similarity on the other side (0 for none) and how."""
    pos = f"{side}_pos"
    # A part told by one integer (its pair, then its place): grouping and joining on one
    # key, not two.
    part = (pl.col("pair").cast(pl.Int64) * (1 << 32) + pl.col(pos)).alias("part")
    best = found.group_by(part).agg(
        pl.col("sim").max(),
        pl.col("how").get(pl.col("sim").arg_max()),
        pl.col("other_word").get(pl.col("sim").arg_max()),
        pl.col("typo_word").get(pl.col("sim").arg_max()),
    )
    both_named = (pl.col("q_tokens").list.len() > 0) & (pl.col("c_tokens").list.len() > 0)
    named = pairs.filter(both_named).select("pair")
    if named.height < pairs.height:  # a pair with an empty name aligns nothing
        parts = parts.join(named, on="pair", how="semi")
    return (
        parts.select(
            "pair",
            pos,
            pl.col(f"{side}_weight").alias("w"),
            pl.col(f"{side}_name_part").alias("name_part"),
            pl.col(f"{side}_patronymic").alias("patronymic"),
            pl.col(f"{side}_country").alias("country"),
            pl.col(f"{side}_initial").alias("initial"),
            pl.col(f"{side}_number").alias("number"),
            pl.col(f"{side}_legal").alias("legal"),
            part,
        )
        .join(best, on="part", how="left")
        .drop("part")
        .with_columns(
            pl.col("sim").fill_null(0.0),
            pl.col("how").fill_null(NONE),
            pl.col("other_word").fill_null(False),
            pl.col("typo_word").fill_null(False),
        )
    )


def _best(best: pl.DataFrame, side: str) -> pl.DataFrame:
    """best: per part, w, sim and how -> per pair: the unmatched share of this side's
    weight and the evidence counts. Each per-part term is a column first and the group-by
    only sums (its fast path): filters and products inside an aggregation cost a third
    of the alignment."""
    w, sim, how = pl.col("w"), pl.col("sim"), pl.col("how")
    missing = sim <= 0
    # Parts that tell names apart (not legal forms, "al", "bin"), found on the other side.
    strong = w >= config.STRONG_PART_WEIGHT
    terms = [
        w.alias(f"{side}_weight"),
        (w * (1.0 - sim)).alias("_unmatched"),
        pl.when(missing).then(w).otherwise(0.0).alias("_missing"),
        (missing & strong).alias(f"{side}_missing_parts"),
        (missing & strong & pl.col("patronymic")).alias(f"{side}_missing_patronymics"),
        (missing & pl.col("name_part")).alias(f"{side}_missing_names"),
        (missing & pl.col("country")).alias(f"{side}_missing_countries"),
        (missing & pl.col("initial")).alias(f"{side}_missing_initials"),
        (missing & pl.col("number")).alias(f"{side}_missing_numbers"),
        (missing & ~pl.col("legal")).alias(f"{side}_missing_words"),
        how.is_in(_RETYPED).alias(f"{side}_retyped"),
        (how == RETYPED_FIRST).alias(f"{side}_retyped_first"),
        ((sim > 0) & strong & (how != INITIAL)).alias(f"{side}_found_parts"),
        pl.when(missing).then(0.0).otherwise(w * (1.0 - sim)).alias("_deficit"),
    ]
    if side == "q":
        other_word = pl.col("other_word") & strong & (sim < _SOUNDS_ALIKE)
        terms += [
            (w * sim).alias("matched_weight"),
            (~missing & pl.col("name_part")).alias("q_found_names"),
            ((how == EXACT) & strong).alias("n_exact"),
            how.is_in([FUZZY, CHANGED, *_RETYPED]).alias("n_fuzzy"),
            (how == CHANGED).alias("n_changed"),
            pl.when(how == CHANGED).then(w).otherwise(0.0).alias("changed_weight"),
            pl.when(how.is_in(_RETYPED)).then(w * sim).otherwise(0.0).alias("retyped_found"),
            *[(how == kind).alias(f"n_{kind}") for kind in (PHONETIC, SKELETON, INITIAL)],
            other_word.alias("n_other_words"),
            pl.when(strong & ~other_word & ~pl.col("country"))
            .then(w * sim)
            .otherwise(0.0)
            .alias("other_word_rest"),
            (~missing & (w >= config.IDENTITY_RARE_PART_WEIGHT)).alias("n_rare_found"),
            (pl.col("typo_word") & strong).alias("n_typo_words"),
        ]
    total = pl.col(f"{side}_weight")
    return (
        summed_per_pair(best.select("pair", *terms))
        .with_columns(
            (pl.col("_unmatched") / total).alias(f"{side}_unmatched"),
            (pl.col("_missing") / total).alias(f"{side}_missing"),
            (pl.col("_deficit") / total).alias(f"{side}_deficit"),
        )
        .drop("_unmatched", "_missing", "_deficit")
    )


# Polars sums the group of a sorted key as a slice, one value after the other, up to this
# many values, and longer slices pairwise (a name has at most MAX_NAME_CHARS / 2 parts).
SEQUENTIAL_SUM_LIMIT = 128


def summed_per_pair(terms: pl.DataFrame) -> pl.DataFrame:
    """terms.group_by("pair").agg(pl.all().sum()), bit for bit, in a few numpy passes where
    the pairs come sorted (align_parts numbers them in order). Polars then sums each pair's
    slice on its own: a third of the alignment's time. Floats are added in row order as
    polars adds them (pass k adds every pair's k-th part); counts with reduceat. Any other
    input (unsorted, nulls, a slice too long) takes polars' own path."""
    pair = terms["pair"]
    nulls = terms.null_count().sum_horizontal().item() if terms.width else 0
    if terms.is_empty() or not pair.flags["SORTED_ASC"] or nulls:
        return terms.group_by("pair").agg(pl.all().sum())
    keys = pair.to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, keys.size])
    if sizes.max() >= SEQUENTIAL_SUM_LIMIT:
        return terms.group_by("pair").agg(pl.all().sum())
    schema = terms.head(0).group_by("pair").agg(pl.all().sum()).schema
    # Pairs by size, largest first: the pairs with a k-th part are a prefix.
    by_size = np.argsort(-sizes, kind="stable")
    first = starts[by_size]
    with_part = np.searchsorted(-sizes[by_size], -np.arange(1, sizes.max()), side="left")
    columns = {"pair": pair.gather(starts)}
    for name in terms.columns[1:]:
        values = terms[name].to_numpy()
        if values.dtype.kind == "f":
            running = values[first]
            for k, count in enumerate(with_part, start=1):
                running[:count] += values[first[:count] + k]
            total = np.empty_like(running)
            total[by_size] = running
        else:
            total = np.add.reduceat(values.astype(np.int64), starts)
        columns[name] = pl.Series(name, total).cast(schema[name])
    return pl.DataFrame(columns)


def joined_similarity(q_tokens: pl.Series, c_tokens: pl.Series) -> np.ndarray:
    """Similarity of the two names written without spaces, in their given order and with
    the parts sorted: "abdulrahman" / "abdul rahman", "vladimirputin" / "putin vladimir"."""
    q_join = q_tokens.list.join("").to_list()
    c_join = c_tokens.list.join("").to_list()
    # list.eval(sort) rather than list.sort(): the latter takes a slow path (20x here).
    q_sort = q_tokens.list.eval(pl.element().sort()).list.join("").to_list()
    c_sort = c_tokens.list.eval(pl.element().sort()).list.join("").to_list()
    as_given = process.cpdist(
        q_join, c_join, scorer=Levenshtein.normalized_similarity, workers=-1, dtype=np.float64
    )
    sorted_ = process.cpdist(
        q_sort, c_sort, scorer=Levenshtein.normalized_similarity, workers=-1, dtype=np.float64
    )
    return np.maximum(as_given, sorted_)


def typed_similarity(q_tokens: pl.Series, c_tokens: pl.Series, listed: pl.Series) -> np.ndarray:
    """Per pair of names of as many parts: 1 - typing errors / letters of the longer name,
    where the parts pair one to one (as given, or both sorted) and the errors (Damerau: a
    swap of two letters is one, even beside another error) are at most TYPED_NAME_MAX_EDITS
    in all; else 0. "Ibrhwaim Mohammed Hassan" / "Ibrahim Mohammed Hassan": 1 - 2 / 22.
    A pair of parts is equal or a typo of a word: without digits, its first letter kept
    (people rarely mistype it; "Randy" / "Wendy" are two names), two errors only in a part
    of MIN_RETYPED_LEN letters ("BWI" / "BAE Industries" are two words), and the query's
    part no list word (listed: the list tokens; "Omar Mohamed" / "Mohamed Osman" are two
    names)."""
    rows = pl.DataFrame({"q": q_tokens, "c": c_tokens}).with_row_index("row")
    letters = np.maximum(
        q_tokens.list.eval(pl.element().str.len_bytes()).list.sum().to_numpy(),
        c_tokens.list.eval(pl.element().str.len_bytes()).list.sum().to_numpy(),
    )
    edits = np.minimum(
        _typing_errors(rows, listed),
        _typing_errors(rows.with_columns(pl.col("q", "c").list.eval(pl.element().sort())), listed),
    )
    typed = (edits > 0) & (edits <= config.TYPED_NAME_MAX_EDITS)
    return np.where(typed, 1.0 - edits / np.maximum(letters, 1), 0.0)


def _typing_errors(rows: pl.DataFrame, listed: pl.Series) -> np.ndarray:
    """Per row (q, c: lists of as many parts): the parts' typing errors summed, part by part
    in the given order, or more than TYPED_NAME_MAX_EDITS where a pair of parts is no typo
    of a word (typed_similarity). A canonical list part is typed as any of its spellings
    ("Mhoammed" is one swap from "Mohammed", which normalisation writes "muhammad")."""
    parts = (
        rows.explode("q", "c")
        .with_row_index("part")
        .join(_SPELLING_PAIRS, on="c", how="left", maintain_order="left")
        .with_columns(pl.col("spelling").fill_null(pl.col("c")))
    )
    distance = process.cpdist(
        parts["q"].to_list(),
        parts["spelling"].to_list(),
        scorer=DamerauLevenshtein.distance,
        workers=-1,
    )
    q, spelling = pl.col("q"), pl.col("spelling")
    longer = pl.max_horizontal(q.str.len_bytes(), spelling.str.len_bytes())
    no_typo = (
        (q.str.slice(0, 1) != spelling.str.slice(0, 1))
        | q.str.contains(r"\d")
        | spelling.str.contains(r"\d")
        | ((pl.col("d") > 1) & (longer < config.MIN_RETYPED_LEN))
        | q.is_in(listed.implode())
    )
    too_many = config.TYPED_NAME_MAX_EDITS + 1
    errors = pl.when(q == pl.col("c")).then(0).when(no_typo).then(too_many).otherwise("d")
    per_part = (
        parts.with_columns(pl.Series("d", distance, dtype=pl.Int64))
        .with_columns(errors.alias("d"))
        .group_by("part", maintain_order=True)
        .agg(pl.col("row").first(), pl.col("d").min())
    )
    return per_part.group_by("row", maintain_order=True).agg(pl.col("d").sum())["d"].to_numpy()


# Each canonical name part and its spellings (itself among them), for _typing_errors.
_SPELLING_PAIRS = pl.DataFrame(
    [(canonical, spelling) for canonical, spellings in SPELLINGS.items() for spelling in spellings],
    schema={"c": pl.Utf8, "spelling": pl.Utf8},
    orient="row",
)


def typed_similarity_one(tokens: list[str], c_tokens: list[str], listed: Container[str]) -> float:
    """typed_similarity for one pair of names (as many parts)."""
    if len(tokens) != len(c_tokens):
        return 0.0
    edits = min(
        _typing_errors_one(tokens, c_tokens, listed),
        _typing_errors_one(sorted(tokens), sorted(c_tokens), listed),
    )
    letters = max(sum(map(len, tokens)), sum(map(len, c_tokens)), 1)
    return 1.0 - edits / letters if 0 < edits <= config.TYPED_NAME_MAX_EDITS else 0.0


def _typing_errors_one(tokens: list[str], c_tokens: list[str], listed: Container[str]) -> int:
    edits = 0
    for token, c_token in zip(tokens, c_tokens, strict=True):
        if token != c_token:
            edits += min(
                _part_errors_one(token, spelling, listed)
                for spelling in SPELLINGS.get(c_token, (c_token,))
            )
    return edits


def _part_errors_one(token: str, spelling: str, listed: Container[str]) -> int:
    distance = DamerauLevenshtein.distance(token, spelling)
    if (
        token[:1] != spelling[:1]
        or _has_digit(token)
        or _has_digit(spelling)
        or (distance > 1 and max(len(token), len(spelling)) < config.MIN_RETYPED_LEN)
        or token in listed
    ):
        return config.TYPED_NAME_MAX_EDITS + 1
    return distance
