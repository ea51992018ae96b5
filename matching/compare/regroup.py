"""Parts grouped differently in the two names: a word split in two ("Patr ushev" /
"Patrushev", "Andrang Heta" / "'Ndrangheta"), initials standing for words ("JC" /
"Jean-Claude", "U.S." / "United States") and a word cut short ("Revol." / "Revolutionary").

Part alignment compares one part with one part, so it finds neither. These rules look only
at the parts it left without a counterpart (both names must have one) and add the token
matches they find, in alignment's own terms: both halves of a split word match the whole
word as a spelling; an initialism and each word it stands for match as initials.
Whole-column, with the one-pair twin below.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matching import config
from matching.normalize import LEGAL_FORMS

FOUND_COLUMNS = ["pair", "q_pos", "c_pos", "sim", "how"]
# What a company name says of its kind rather than its name: legal forms, "organization"
# ("'Ndrangheta Organization" is the 'Ndrangheta).
FORM_WORDS = LEGAL_FORMS | {"organization", "organisation"}
SPLIT, INITIALS = "fuzzy", "initial"  # how alignment reports them
_RUN_LENGTHS = range(2, config.MAX_INITIALISM_LEN + 1)
_LETTERS_ONLY = re.compile(r"^[a-z]+$")
# A part's place as one integer with its pair: pair * _POSITIONS + position.
_POSITIONS = 16
assert config.MAX_NAME_TOKENS <= _POSITIONS
# Initials as one integer: each letter a digit 1-26 in base 27, and the count on top.
_BASE = 27


def regrouped_matches(
    q: pl.DataFrame,
    c: pl.DataFrame,
    found: pl.DataFrame,
    vocab: pl.DataFrame,
    persons: pl.Series,
) -> pl.DataFrame:
    """q, c: each side's parts in order (pair, <side>_pos, <side>_id); found: the token
    matches (FOUND_COLUMNS); vocab: token, weight by id; persons: the pairs in which
    either name is known to be a person's -> the matches of regrouped parts, in
    FOUND_COLUMNS (how as Utf8). A person's name part is not cut short: "Noor" and
    "Noorzai", "Ahmad" and "Ahmadian" are two names, so no word cut short in those pairs.
    Nor is a word cut short in a pair that has no part in common otherwise: an
    abbreviation is read beside the words written out ("Revol. Guard" / "Revolutionary
    Guard"), while "Cho Yon" / "CHONGSONG YONHAP" is each word's first syllable only."""
    q, c = _flag_alone(q, found, "q"), _flag_alone(c, found, "c")
    # Both names must have a part left over: a regrouping pairs them.
    both = q.filter("alone")["pair"].unique().implode()
    both = c.filter(pl.col("alone") & pl.col("pair").is_in(both))["pair"].unique().implode()
    q, c = q.filter(pl.col("pair").is_in(both)), c.filter(pl.col("pair").is_in(both))
    words = _word_features(vocab)
    may_cut = ~pl.col("pair").is_in(persons.implode()) & pl.col("pair").is_in(
        found["pair"].unique().implode()
    )
    companies = (q.filter(may_cut), c.filter(may_cut))
    return pl.concat(
        [
            _split_words(q, c, vocab["token"], words),
            _swapped(_split_words(c, q, vocab["token"], words)),
            _initials(q, c, words, persons),
            _swapped(_initials(c, q, words, persons)),
            _cut_short(*companies, vocab["token"], words),
            _swapped(_cut_short(*companies[::-1], vocab["token"], words)),
        ]
    )


def _flag_alone(parts: pl.DataFrame, found: pl.DataFrame, side: str) -> pl.DataFrame:
    """pair, pos, id and alone (no token match on the other side) of one side's parts."""
    pos = f"{side}_pos"
    matched = (found["pair"].cast(pl.Int64) * _POSITIONS + found[pos]).unique().implode()
    key = pl.col("pair").cast(pl.Int64) * _POSITIONS + pl.col(pos)
    return parts.select(
        "pair",
        pl.col(pos).alias("pos"),
        pl.col(f"{side}_id").alias("id"),
        ~key.is_in(matched).alias("alone"),
    )


def _letter(token: pl.Expr, at: int) -> pl.Expr:
    """The letter at `at` as a number 1-26; 0 for anything else."""
    code = token.str.slice(at, 1).str.to_integer(base=36, strict=False) - 9
    return pl.when(code >= 1).then(code).otherwise(0)


def _word_features(vocab: pl.DataFrame) -> pl.DataFrame:
    """Per token id: its length; its first and last characters as numbers (tokens are
    ASCII letters and digits); for a rare token of 2 to MAX_INITIALISM_LEN letters, the
    number its letters make as initials (else null). A token frequent in the lists ("li",
    "an": a syllable of names) is a name, not initials."""
    token = pl.col("token")
    length = token.str.len_chars().cast(pl.Int64)
    words = vocab.select(
        length.alias("len"),
        pl.col("legal").cast(pl.Boolean).alias("legal"),
        token.str.slice(0, 1).str.to_integer(base=36, strict=False).alias("first"),
        token.str.slice(-1, 1).str.to_integer(base=36, strict=False).alias("last"),
    )
    short = vocab.select(
        (
            length.is_between(2, config.MAX_INITIALISM_LEN)
            & token.str.contains(_LETTERS_ONLY.pattern)
            & (pl.col("weight") >= config.MIN_INITIALISM_WEIGHT)
        ).alias("short")
    )["short"].arg_true()
    initials = pl.lit(0, pl.Int64)
    for at in range(config.MAX_INITIALISM_LEN):
        initials = (
            pl.when(at < length).then(initials * _BASE + _letter(token, at)).otherwise(initials)
        )
    found = vocab[short].select(length * _BASE**config.MAX_INITIALISM_LEN + initials)
    return words.with_columns(
        # The first letter as _letter numbers it (digits are no initials).
        pl.when(pl.col("first") >= 10).then(pl.col("first") - 9).otherwise(0).alias("initial"),
        pl.Series("initials", [None] * vocab.height, pl.Int64).scatter(short, found.to_series()),
    )


def _swapped(matches: pl.DataFrame) -> pl.DataFrame:
    """Matches found from the list name's side: its positions are c_pos."""
    return matches.rename({"q_pos": "c_pos", "c_pos": "q_pos"}).select(FOUND_COLUMNS)


def _matches(frame: pl.DataFrame, other_pos: pl.Expr, sim: pl.Expr, how: str) -> pl.DataFrame:
    """frame's pos and other_pos as token matches (FOUND_COLUMNS), from side q's view."""
    return frame.select(
        "pair",
        pl.col("pos").cast(pl.Int64).alias("q_pos"),
        other_pos.cast(pl.Int64).alias("c_pos"),
        sim.cast(pl.Float64).alias("sim"),
        pl.lit(how).alias("how"),
    )


def _split_words(
    parts: pl.DataFrame, other: pl.DataFrame, tokens: pl.Series, words: pl.DataFrame
) -> pl.DataFrame:
    """Two neighbouring parts, both left over, that written together are (nearly) a
    left-over part of the other name, and begin or end like it: both halves match it at
    their joined spelling similarity, at most SPLIT_WORD_SIM (a space is a small
    difference, not none)."""
    same_name = pl.col("pair").shift(-1) == pl.col("pair")
    neighbours = (
        parts.with_columns(
            pl.col("id").shift(-1).alias("right"),
            (same_name & pl.col("alone") & pl.col("alone").shift(-1)).alias("keep"),
        )
        .filter("keep")
        .select("pair", "pos", pl.col("id").alias("left"), "right")
    )
    word = {name: pl.lit(words[name]) for name in ("len", "first", "last")}
    neighbours = neighbours.with_columns(
        word["first"].gather(pl.col("left")).alias("first"),
        word["last"].gather(pl.col("right")).alias("last"),
        (word["len"].gather(pl.col("left")) + word["len"].gather(pl.col("right"))).alias(
            "joined_len"
        ),
    )
    wholes = other.filter("alone").select(
        "pair",
        pl.col("pos").alias("other_pos"),
        pl.col("id").alias("whole"),
        word["first"].gather(pl.col("id")).alias("whole_first"),
        word["last"].gather(pl.col("id")).alias("whole_last"),
        word["len"].gather(pl.col("id")).alias("whole_len"),
    )
    # Lengths this far apart cannot reach MIN_SPLIT_WORD_SIM; and the halves begin or
    # end like the whole word. Only the rest costs string work.
    longest = pl.max_horizontal("joined_len", "whole_len")
    candidates = neighbours.join(wholes, on="pair").filter(
        (pl.col("joined_len") - pl.col("whole_len")).abs()
        <= (1 - config.MIN_SPLIT_WORD_SIM) * longest,
        (pl.col("first") == pl.col("whole_first")) | (pl.col("last") == pl.col("whole_last")),
    )
    joined = (tokens.gather(candidates["left"]) + tokens.gather(candidates["right"])).to_list()
    whole = tokens.gather(candidates["whole"]).to_list()
    sim = process.cpdist(joined, whole, scorer=OSA.normalized_similarity, dtype=np.float64)
    hits = candidates.with_columns(pl.Series("sim", sim, dtype=pl.Float64)).filter(
        pl.col("sim") >= config.MIN_SPLIT_WORD_SIM
    )
    halves = pl.concat([hits, hits.with_columns(pl.col("pos") + 1)])
    capped = pl.min_horizontal(pl.col("sim"), config.SPLIT_WORD_SIM)
    return _matches(halves, pl.col("other_pos"), capped, SPLIT)


def _cut_short(
    parts: pl.DataFrame, other: pl.DataFrame, tokens: pl.Series, words: pl.DataFrame
) -> pl.DataFrame:
    """A left-over part of MIN_ABBREVIATION_LEN+ letters with which a left-over part of
    the other name, longer by ABBREVIATION_MIN_CUT letters at least, begins: a word cut
    short ("Revol." / "Revolutionary", "Agro." / "Agropecuaria"), at ABBREVIATION_SIM."""
    length = pl.lit(words["len"])
    short = parts.filter("alone").with_columns(length.gather(pl.col("id")).alias("short_len"))
    short = short.filter(pl.col("short_len") >= config.MIN_ABBREVIATION_LEN)
    long = other.filter("alone").select(
        "pair", pl.col("pos").alias("other_pos"), pl.col("id").alias("long"),
        length.gather(pl.col("id")).alias("long_len"),
    )  # fmt: skip
    candidates = short.join(long, on="pair").filter(
        pl.col("long_len") >= pl.col("short_len") + config.ABBREVIATION_MIN_CUT
    )
    if candidates.is_empty():
        return _matches(candidates, pl.col("other_pos"), pl.lit(0.0), SPLIT)
    begins = tokens.gather(candidates["long"]).str.starts_with(tokens.gather(candidates["id"]))
    letters = tokens.gather(candidates["id"]).str.contains(_LETTERS_ONLY.pattern)
    hits = candidates.filter(begins & letters)
    return _matches(hits, pl.col("other_pos"), pl.lit(config.ABBREVIATION_SIM), SPLIT)


def _initials(
    parts: pl.DataFrame, other: pl.DataFrame, words: pl.DataFrame, persons: pl.Series
) -> pl.DataFrame:
    """A left-over part that spells the initials of as many neighbouring words (of two
    letters or more) of the other name: it and each of the words match as initials, at
    INITIAL_SIM; at ACRONYM_SIM where the words are the whole other name and the part its
    own name's only word (legal forms aside), ACRONYM_MIN_LEN words or more, in a pair not
    known to be of persons: the organisation's acronym ("PLA" / "People's Liberation
    Army"; not the "MHM" of the registration "EP-MHM" for "Muhammed Hakim Mazar")."""
    acronyms = (
        parts.filter("alone")
        .with_columns(pl.lit(words["initials"]).gather(pl.col("id")).alias("initials"))
        .drop_nulls("initials")
    )
    other = other.filter(pl.col("pair").is_in(acronyms["pair"].unique().implode())).with_columns(
        pl.lit(words["initial"]).gather(pl.col("id")).alias("first"),
        (pl.lit(words["len"]).gather(pl.col("id")) >= 2).alias("word"),
    )
    runs = pl.concat(
        [
            other.select(
                "pair",
                pl.col("pos").alias("start"),
                pl.lit(k, pl.Int64).alias("k"),
                (
                    k * _BASE**config.MAX_INITIALISM_LEN
                    + pl.sum_horizontal(
                        pl.col("first").shift(-j) * _BASE ** (k - 1 - j) for j in range(k)
                    )
                ).alias("initials"),
                pl.all_horizontal(
                    *[pl.col("pair").shift(-j) == pl.col("pair") for j in range(1, k)],
                    *[pl.col("word").shift(-j) for j in range(k)],
                )
                .fill_null(False)
                .alias("run"),
            ).filter(pl.col("run"))
            for k in _RUN_LENGTHS
        ]
    )
    hits = acronyms.join(runs, on=["pair", "initials"])
    named = _named_words(other, words, "named_words").join(
        _named_words(parts, words, "own_words"), on="pair", how="left"
    )
    whole = (
        (pl.col("k") == pl.col("named_words"))
        & (pl.col("own_words") == 1)
        & (pl.col("k") >= config.ACRONYM_MIN_LEN)
        & ~pl.col("pair").is_in(persons.implode())
    )
    each_word = (
        hits.join(named, on="pair", how="left")
        .with_columns(
            pl.int_ranges(0, pl.col("k")).alias("offset"),
            pl.when(whole).then(config.ACRONYM_SIM).otherwise(config.INITIAL_SIM).alias("isim"),
        )
        .explode("offset")
    )
    return _matches(each_word, pl.col("start") + pl.col("offset"), pl.col("isim"), INITIALS)


def _named_words(parts: pl.DataFrame, words: pl.DataFrame, alias: str) -> pl.DataFrame:
    """pair, alias: how many words of 2+ letters, legal forms aside, each name has."""
    named = ((words["len"] >= 2) & ~words["legal"]).gather(parts["id"]).alias(alias)
    return parts.select("pair").with_columns(named).group_by("pair").agg(pl.col(alias).sum())


def regrouped_matches_one(
    q_tokens: list[str],
    c_tokens: list[str],
    q_weights: list[float],
    c_weights: list[float],
    found: list[tuple[int, int, float, str]],
    persons: bool,
) -> list[tuple[int, int, float, str]]:
    """regrouped_matches for one pair: found and the result are (q_pos, c_pos, sim, how);
    persons: either name is known to be a person's."""
    may_cut = bool(found) and not persons
    q_alone = set(range(len(q_tokens))) - {q for q, *_ in found}
    c_alone = set(range(len(c_tokens))) - {c for _, c, *_ in found}
    if not (q_alone and c_alone):
        return []
    swap = [
        (c, q, sim, how)
        for q, c, sim, how in _one_side(
            c_tokens, q_tokens, c_weights, c_alone, q_alone, may_cut, persons
        )
    ]
    return _one_side(q_tokens, c_tokens, q_weights, q_alone, c_alone, may_cut, persons) + swap


def _named_words_one(tokens: list[str]) -> int:
    return sum(len(word) >= 2 and word not in FORM_WORDS for word in tokens)


def _one_side(
    tokens: list[str],
    other: list[str],
    weights: list[float],
    alone: set[int],
    other_alone: set[int],
    may_cut: bool,
    persons: bool,
) -> list[tuple[int, int, float, str]]:
    """_split_words, _cut_short (where may_cut) and _initials from one side of one pair:
    (pos, other_pos, sim, how)."""
    found = []
    for pos in range(len(tokens) - 1):
        if pos not in alone or pos + 1 not in alone:
            continue
        joined = tokens[pos] + tokens[pos + 1]
        for other_pos in other_alone:
            whole = other[other_pos]
            if joined[0] != whole[0] and joined[-1] != whole[-1]:
                continue
            longest = max(len(joined), len(whole))
            if abs(len(joined) - len(whole)) > (1 - config.MIN_SPLIT_WORD_SIM) * longest:
                continue
            sim = OSA.normalized_similarity(joined, whole)
            if sim >= config.MIN_SPLIT_WORD_SIM:
                capped = min(sim, config.SPLIT_WORD_SIM)
                found += [(pos, other_pos, capped, SPLIT), (pos + 1, other_pos, capped, SPLIT)]
    for pos in alone if may_cut else ():
        found += [
            (pos, other_pos, config.ABBREVIATION_SIM, SPLIT)
            for other_pos in other_alone
            if len(tokens[pos]) >= config.MIN_ABBREVIATION_LEN
            and len(other[other_pos]) >= len(tokens[pos]) + config.ABBREVIATION_MIN_CUT
            and other[other_pos].startswith(tokens[pos])
            and _LETTERS_ONLY.match(tokens[pos])
        ]
    for pos in alone:
        text = tokens[pos]
        if not (
            2 <= len(text) <= config.MAX_INITIALISM_LEN
            and _LETTERS_ONLY.match(text)
            and weights[pos] >= config.MIN_INITIALISM_WEIGHT
        ):
            continue
        k = len(text)
        whole = (
            k == _named_words_one(other)
            and _named_words_one(tokens) == 1
            and k >= config.ACRONYM_MIN_LEN
            and not persons
        )
        sim = config.ACRONYM_SIM if whole else config.INITIAL_SIM
        for start in range(len(other) - k + 1):
            run = other[start : start + k]
            if all(len(word) >= 2 for word in run) and "".join(w[0] for w in run) == text:
                found += [(pos, start + j, sim, INITIALS) for j in range(k)]
    return found
