"""The scoring algorithm, declared as data: which features, their weights, and their roles.

    score = 1.0 + sum(weight * feature(pair) for name features)      -> name_score
    name_score = max(name_score, joined-name similarity), capped when the evidence is weak
                 (no joined similarity against a feature that `contradicts`)
    score = name_score + sum(weight * feature(pair) for qualifiers)  (name_score high enough)

Every term is reported in `details` under its feature name, so an auditor can re-add the
score by hand. Name features are unmatched shares in [0, 1] or counts of parts (negative
weights); qualifier features return their contribution directly (the constants in config
are the steps).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from matching import config
from matching.compare.dates import VERDICT_VALUE, birth_date_contribution, birth_date_one
from matching.compare.entities import (
    entity_type_contribution,
    entity_type_one,
    names_of_companies,
    names_of_companies_one,
    nationality_contribution,
    nationality_one,
)
from matching.compare.forms import linked_parts, linked_parts_one
from matching.compare.lineage import lineage_swapped, lineage_swapped_one
from matching.compare.names import Alignment
from matching.compare.syllables import syllable_names, syllable_pair_one, syllable_pairs
from matching.normalize import roman_key


@dataclass(slots=True)
class OnePair:
    """One (query, list name) pair as the one-entity path scores it."""

    align: Alignment
    q_tokens: list[str]
    c_tokens: list[str]
    q_birth_date: str | None
    c_birth_dates: list[str] | None
    q_nationality: str | None
    c_nationalities: list[str] | None
    q_entity_type: str | None
    c_entity_type: str | None
    q_repeated: list[str]
    c_repeated: list[str]
    q_transliterated: bool = False
    c_transliterated: bool = False
    q_syllabic: bool = False  # the query is written in Han or Hangul (in_syllable_script)
    q_abjad: bool = False  # the query is written in an abjad (in_abjad_script)


Verdict = tuple[float, str | None]  # a feature's value and, for qualifiers, its verdict


@dataclass(frozen=True)
class Feature:
    name: str
    func: Callable[[pl.DataFrame], pl.DataFrame]  # pair frame -> value Float64, verdict Utf8
    weight: float
    qualifier: bool  # True: refines a name match, never creates one
    description: str
    # The same feature for one pair in plain Python (the one-entity path); the tests hold
    # the two to the same answers.
    one: Callable[[OnePair], Verdict]
    # Evidence of two parties whatever the letters say (a reversed lineage): the
    # joined-name comparison, blind to the order of the parts, may not override it.
    contradicts: bool = False
    # A qualifier's highest value (its weight non-negative): what it can add to a name
    # score at most. score_pairs leaves out, before the qualifiers' work, the pairs whose
    # name score falls short of the lowest threshold by more than all of them can add.
    most: float | None = None


def _share(expr: pl.Expr) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def func(pairs: pl.DataFrame) -> pl.DataFrame:
        return pairs.select(expr.alias("value"), pl.lit(None, pl.Utf8).alias("verdict"))

    return func


def _share_one(func: Callable[[Alignment, OnePair], float]) -> Callable[[OnePair], Verdict]:
    return lambda pair: (func(pair.align, pair), None)


# Parts missing on BOTH sides (no counterpart at all): the smaller missing share.
both_sides_unmatched = _share(pl.min_horizontal("q_missing", "c_missing"))
both_sides_unmatched_one = _share_one(lambda a, _: min(a.q_missing, a.c_missing))

# Parts missing beyond what both sides share: extra or dropped parts on one side only.
one_side_unmatched = _share(
    pl.max_horizontal("q_missing", "c_missing") - pl.min_horizontal("q_missing", "c_missing")
)
one_side_unmatched_one = _share_one(
    lambda a, _: max(a.q_missing, a.c_missing) - min(a.q_missing, a.c_missing)
)

# Matched parts that are not equal: the weighted similarity shortfall, both sides averaged.
fuzzy_deficit = _share((pl.col("q_deficit") + pl.col("c_deficit")) / 2)
fuzzy_deficit_one = _share_one(lambda a, _: (a.q_deficit + a.c_deficit) / 2)

# The same shortfall again when the match rests on a single distinguishing part: one
# misspelt word ("Bazin" / "Barzin") is much weaker evidence than a misspelt part among
# several that agree.
# Not, between companies, where that part is a word no list holds typed with its first
# letter and MIN_TYPO_WORD_LEN+ letters, and every other part of both names is found (their
# legal forms: "Fulhjmen Company" / "Fulmen Company", "Touriskjm Bank" / "Tourism Bank"): a
# typo makes a word no list holds, another company's name is a real word (other_company_word
# weighs those), and a long word with its first letter keeps most of itself; the shortfall
# still costs fuzzy_parts.
# Nor in a name written in an abjad (Arabic, Persian or Hebrew script: q_abjad) of two parts
# or more whose parts are all found on both sides, each equal or the list spelling without
# the vowels the script leaves unwritten (SKELETON): "محمد کرمی" / "Mohammad KARAMI" is the
# name as that script writes it, no misspelt word; the shortfall still costs fuzzy_parts. A
# part found by its spelling or sound ("abdalli" / "Abdallah"), an initial, or a part of
# either name not found keeps the penalty.
_as_abjad_writes = (
    pl.col("q_abjad").fill_null(False)
    & (pl.col("q_tokens").list.len() >= 2)
    & (pl.col("q_missing") <= 0)
    & (pl.col("c_missing") <= 0)
    & (pl.col("n_fuzzy") + pl.col("n_phonetic") + pl.col("n_initial") == 0)
)
_lone = (
    (pl.col("n_matched") <= 1) & (pl.col("q_deficit") + pl.col("c_deficit") > 0) & ~_as_abjad_writes
)
_typed_whole = (
    (pl.col("n_typo_words") >= 1) & (pl.col("q_missing") <= 0) & (pl.col("c_missing") <= 0)
)


def lone_part_deficit(pairs: pl.DataFrame) -> pl.DataFrame:
    flags = pairs.select(
        pl.when(_lone).then((pl.col("q_deficit") + pl.col("c_deficit")) / 2).otherwise(0.0),
        (_lone & _typed_whole).alias("typed"),
    )
    value = flags.to_series(0).alias("value")
    # Telling companies apart is list work: only where such a typo is the lone part.
    rows = flags["typed"].arg_true()
    if not rows.is_empty():
        companies = pairs[rows].select(names_of_companies().fill_null(False)).to_series()
        value = value.scatter(rows.filter(companies), 0.0)
    return pl.DataFrame([value, pl.Series("verdict", [None] * pairs.height, pl.Utf8)])


def _as_abjad_writes_one(pair: OnePair) -> bool:
    a = pair.align
    return (
        pair.q_abjad
        and len(pair.q_tokens) >= 2
        and a.q_missing <= 0
        and a.c_missing <= 0
        and a.n_fuzzy + a.n_phonetic + a.n_initial == 0
    )


def lone_part_deficit_one(pair: OnePair) -> Verdict:
    a = pair.align
    if a.n_matched > 1 or _as_abjad_writes_one(pair):
        return 0.0, None
    typed_whole = a.n_typo_words >= 1 and a.q_missing <= 0 and a.c_missing <= 0
    if typed_whole and names_of_companies_one(
        pair.q_entity_type, pair.c_entity_type, pair.q_tokens, pair.c_tokens
    ):
        return 0.0, None
    return (a.q_deficit + a.c_deficit) / 2, None


# The same shortfall again when the list name also has distinguishing parts the query
# lacks: a variant spelling plus an unexplained list part ("Mario Hernandez" / "Hernandez
# Salazar, Maria") is two doubts at once. (A query's own extra parts, a patronymic the
# list omits, are normal; a match on one part is lone_fuzzy_part's concern.)
fuzzy_with_missing = _share(
    pl.when(
        (pl.col("c_missing_parts") > pl.col("c_missing_patronymics")) & (pl.col("n_matched") >= 2)
    )
    .then((pl.col("q_deficit") + pl.col("c_deficit")) / 2)
    .otherwise(0.0)
)
fuzzy_with_missing_one = _share_one(
    lambda a, _: (
        (a.q_deficit + a.c_deficit) / 2
        if a.c_missing_parts > a.c_missing_patronymics and a.n_matched >= 2
        else 0.0
    )
)

# Parts in place of each other: both names have a part the other lacks, counted whatever
# their rarity ("Habib ben Mohamed" / "Habib ben Ahmed": another father, another person,
# although both names are common and so weigh little in both_sides_unmatched).
substituted_parts = _share(pl.min_horizontal("q_missing_names", "c_missing_names"))
substituted_parts_one = _share_one(lambda a, _: min(a.q_missing_names, a.c_missing_names))


# Each name has an initial (a letter; numbers are no initials) the other lacks ("William
# G. Frost" / "William W. Frost"): another middle name, another person. The names written
# together differ by one letter only, so the joined-name comparison may not override it.
other_initials = _share(pl.min_horizontal("q_missing_initials", "c_missing_initials"))
other_initials_one = _share_one(lambda a, _: min(a.q_missing_initials, a.c_missing_initials))


# A short part with one letter changed ("Tim Cook" / "Tom Cook") is a typo when the rest of
# the name carries the identity (a rare family name: its matched weight reaches
# CHANGED_PART_MIN_REST), another person beside a common one ("Tim Smith" / "Tom Smith").
# Never in a name from another script: without its short vowels a short part is a root,
# and one letter makes another name ("Arif" / "Asif").
_rest = pl.col("matched_weight") - pl.col("changed_weight") * config.SHORT_CHANGE_SIM
_scripted = pl.col("q_transliterated").fill_null(False) | pl.col("c_transliterated").fill_null(
    False
)
_syllable_script = pl.col("q_syllabic").fill_null(False)
changed_short_parts = _share(
    pl.when((_rest < config.CHANGED_PART_MIN_REST) | _scripted)
    .then(pl.col("n_changed"))
    .otherwise(0)
)


def changed_short_parts_one(pair: OnePair) -> Verdict:
    a = pair.align
    rest = a.matched_weight - a.changed_weight * config.SHORT_CHANGE_SIM
    typo = rest >= config.CHANGED_PART_MIN_REST and not (
        pair.q_transliterated or pair.c_transliterated
    )
    return float(0 if typo else a.n_changed), None


# Between company names, a distinctive part matched by its spelling only, which is a list
# word itself in place of a word the lists use in three names or more, and sounds otherwise
# than it ("Kings" / "Nings LLC", "Mining" / "Dining Supplies", "Islamic Cagl Committee" /
# "Islamic Call Committee"): another real word, not a typo (a typing error makes a word
# the lists hold in well under 1 % of cases). Another company, where that word carries
# the name's identity: the other distinguishing parts found weigh less than
# OTHER_WORD_MAX_REST. Beside a rare word in common ("Cardinal Wealth" / "Cardinal
# Health", which cases.csv calls one company) it may be a typo of the same company's
# word. (Between people, one letter of a name is weighed by changed_short_part and the
# rest of the name.)
def other_company_words(pairs: pl.DataFrame) -> pl.DataFrame:
    value = pl.Series("value", [0.0] * pairs.height, pl.Float64)
    # Telling companies apart is list work: it runs only where such a part is found.
    rows = pairs.select((pl.col("n_other_words") > 0).fill_null(False)).to_series().arg_true()
    if not rows.is_empty():
        found = pairs[rows].select(
            pl.when(
                names_of_companies().fill_null(False)
                & (pl.col("other_word_rest") < config.OTHER_WORD_MAX_REST)
            )
            .then(pl.col("n_other_words"))
            .otherwise(0)
        )
        value = value.scatter(rows, found.to_series().cast(pl.Float64))
    return pl.DataFrame([value, pl.Series("verdict", [None] * pairs.height, pl.Utf8)])


def other_company_words_one(pair: OnePair) -> Verdict:
    words = pair.align.n_other_words
    if (
        words
        and pair.align.other_word_rest < config.OTHER_WORD_MAX_REST
        and names_of_companies_one(
            pair.q_entity_type, pair.c_entity_type, pair.q_tokens, pair.c_tokens
        )
    ):
        return float(words), None
    return 0.0, None


# A part two typing errors off ("Angela Merkur" / "Merkel") is a typo as far as the rest of
# the name carries the identity: each unit of weight the other parts found falls short of
# RETYPED_FULL_REST costs RETYPED_PART_PENALTY, per such part. Its own length already
# counts in its similarity (1 - 2 / length). "Igor Sechev" / "Igor Sechin" or "John Doe" /
# "John Down" rest on one common given name: a namesake's family more often than a typo.
# A part whose first letter changed ("Ssad Khan Zarkari" / "Asad Khan Zarkari", "Niels
# Oscar Rost" / "Troost") also counts its shortfall from RETYPED_FIRST_FULL_REST: typing
# rarely misses the first letter, so only a rich rest makes it a typo.
# In a name from another script, the whole RETYPED_FULL_REST: a transliteration's guessed
# vowels are no typing ("Sharif" / "Shia" in Arabic script are two names).
_retyped_rest = pl.col("matched_weight") - pl.col("retyped_found")
retyped_parts = _share(
    pl.when(pl.col("n_retyped") == 0)
    .then(0.0)
    .when(_scripted)
    .then(pl.col("n_retyped") * config.RETYPED_FULL_REST)
    .otherwise(
        pl.col("n_retyped") * (config.RETYPED_FULL_REST - _retyped_rest).clip(lower_bound=0.0)
        + pl.col("n_retyped_first")
        * (config.RETYPED_FIRST_FULL_REST - _retyped_rest).clip(lower_bound=0.0)
    )
)


def retyped_parts_one(pair: OnePair) -> Verdict:
    a = pair.align
    if not a.n_retyped:
        return 0.0, None
    if pair.q_transliterated or pair.c_transliterated:
        return a.n_retyped * config.RETYPED_FULL_REST, None
    rest = a.matched_weight - a.retyped_found
    shortfall = a.n_retyped * max(config.RETYPED_FULL_REST - rest, 0.0)
    shortfall += a.n_retyped_first * max(config.RETYPED_FIRST_FULL_REST - rest, 0.0)
    return shortfall, None


# Each name has a number the other lacks ("Leasing 3" / "Leasing 6", "Maru No. 8" / "No.
# 6"): another vessel, another special-purpose company. (A number in one name only is
# left alone: lists and customers drop it, "Victory" / "Victory 3".) The names written
# together, one character apart, may not override it.
other_numbers = _share(pl.min_horizontal("q_missing_numbers", "c_missing_numbers"))
other_numbers_one = _share_one(lambda a, _: min(a.q_missing_numbers, a.c_missing_numbers))


# A country in one company name only: a national branch, another legal entity ("Banco
# Santander Chile" / "Banco Santander"). Between companies only: "Israel" and "Jordan" are
# given names too.
def unmatched_countries(pairs: pl.DataFrame) -> pl.DataFrame:
    countries = pl.col("q_missing_countries") + pl.col("c_missing_countries")
    value = pl.Series("value", [0.0] * pairs.height, pl.Float64)
    # Telling companies apart is list work: it runs only where a country is unmatched.
    rows = pairs.select((countries > 0).fill_null(False)).to_series().arg_true()
    if not rows.is_empty():
        found = pairs[rows].select(
            pl.when(names_of_companies().fill_null(False)).then(countries).otherwise(0)
        )
        value = value.scatter(rows, found.to_series().cast(pl.Float64))
    return pl.DataFrame([value, pl.Series("verdict", [None] * pairs.height, pl.Utf8)])


def unmatched_countries_one(pair: OnePair) -> Verdict:
    a = pair.align
    countries = a.q_missing_countries + a.c_missing_countries
    if countries and names_of_companies_one(
        pair.q_entity_type, pair.c_entity_type, pair.q_tokens, pair.c_tokens
    ):
        return float(countries), None
    return 0.0, None


# A part one name gives twice and the other once, while the other has a name part of its
# own: the second "Abdul" of "Abdul Kabir Abdul Jan" stands where "Mohammad" stands in
# "Abdul Kabir Mohammad Jan". (Token lists hold each part once; normalisation lists the
# repeated ones.)
def repeated_parts(pairs: pl.DataFrame) -> pl.DataFrame:
    value = pl.Series("value", [0.0] * pairs.height, pl.Float64)
    repeats = pl.col("q_repeated").list.len() + pl.col("c_repeated").list.len()
    rows = pairs.select((repeats > 0).fill_null(False)).to_series().arg_true()
    if not rows.is_empty():
        found = pairs[rows].select(
            pl.min_horizontal(_surplus("q", "c"), "c_missing_names")
            + pl.min_horizontal(_surplus("c", "q"), "q_missing_names")
        )
        value = value.scatter(rows, found.to_series().cast(pl.Float64))
    return pl.DataFrame([value, pl.Series("verdict", [None] * pairs.height, pl.Utf8)])


def _surplus(side: str, other: str) -> pl.Expr:
    """Parts `side` repeats that `other` gives once."""
    none = pl.lit([], dtype=pl.List(pl.Utf8))
    return (
        pl.col(f"{side}_repeated")
        .fill_null(none)
        .list.set_intersection(pl.col(f"{other}_tokens"))
        .list.set_difference(pl.col(f"{other}_repeated").fill_null(none))
        .list.len()
    )


def repeated_parts_one(pair: OnePair) -> Verdict:
    a = pair.align
    q_surplus = sum(t in pair.c_tokens and t not in pair.c_repeated for t in pair.q_repeated)
    c_surplus = sum(t in pair.q_tokens and t not in pair.q_repeated for t in pair.c_repeated)
    return float(min(q_surplus, a.c_missing_names) + min(c_surplus, a.q_missing_names)), None


# Names written in short syllables (Chinese, Korean, Vietnamese: "Wang Ying" / "Wang Guo
# Ying") lose a part of the given name, not a middle name, when a syllable is missing:
# the list name's unexplained parts count again when every query part is that short.
# So does a query written in Han or Hangul whose syllables run together ("丽 成", "li
# cheng" / "LI Cheng Yu": 成 is one syllable of five letters), against a list name of
# syllables.
_short_syllables = (
    pl.col("q_tokens").list.eval(pl.element().str.len_chars()).list.max() <= config.SYLLABLE_MAX_LEN
)


def syllable_parts_missing(pairs: pl.DataFrame) -> pl.DataFrame:
    value = pairs.select(
        pl.when((pl.col("c_missing_parts") > 0) & _short_syllables)
        .then(pl.col("c_missing"))
        .otherwise(0.0)
        .fill_null(0.0)
    ).to_series()
    # The syllable test is list work: it runs only on the transliterated queries left.
    written = (pl.col("c_missing_parts") > 0) & ~_short_syllables & _syllable_script
    rows = pairs.select(written.fill_null(False)).to_series().arg_true()
    if not rows.is_empty():
        subset = pairs.select("q_tokens", "c_tokens", "c_missing")[rows]  # not every column
        both = syllable_names(subset["q_tokens"]) & syllable_names(subset["c_tokens"])
        value = value.scatter(rows, subset["c_missing"] * both.cast(pl.Float64))
    return pl.DataFrame(
        [value.alias("value"), pl.Series("verdict", [None] * pairs.height, pl.Utf8)]
    )


def syllable_parts_missing_one(pair: OnePair) -> Verdict:
    a = pair.align
    if a.c_missing_parts <= 0:
        return 0.0, None
    if max(map(len, pair.q_tokens)) <= config.SYLLABLE_MAX_LEN:
        return a.c_missing, None
    written = (
        pair.q_syllabic
        and syllable_pair_one(pair.q_tokens, pair.c_tokens, pair.q_repeated, pair.c_repeated)[0]
    )
    return (a.c_missing if written else 0.0), None


# A query written in Han or Hangul against a name of syllables, a part matched only
# inexactly ("淑英 王", "shuying wang" / "WANG Shucheng"; "秀荣 左" / "XINRONG Zhuo"): a
# transliteration has no typing errors, and one syllable in place of another is another
# character, another name, however alike the letters ("cheng" / "chang", "jiang" /
# "zhang"). Not where the two are the same syllables in another romanisation (compare/
# syllables.py: "zhang" / "chang" in Wade-Giles); and every inexact part counts when both
# names come from another script, as two Hangul names one syllable apart ("김종은" / "김정은":
# the romanisations' folding of ㅓ and ㅗ says nothing between two names written in Hangul).
# A part that is the list part in another romanisation system (roman_key: "jiang" /
# "yang" read as j/y) is left to the other rules.
_inexact = pl.col("n_fuzzy") + pl.col("n_phonetic") + pl.col("n_skeleton")


def other_syllables(pairs: pl.DataFrame) -> pl.DataFrame:
    value = pl.Series("value", [0.0] * pairs.height, pl.Float64)
    maybe = _syllable_script & (_inexact > 0)
    rows = pairs.select(maybe.fill_null(False)).to_series().arg_true()
    if not rows.is_empty():
        columns = ["q_tokens", "c_tokens", "q_repeated", "c_repeated", "c_transliterated"]
        subset = pairs.select(*columns, _inexact.alias("inexact"))[rows]  # not every column
        names = syllable_pairs(
            subset["q_tokens"], subset["c_tokens"], subset["q_repeated"], subset["c_repeated"]
        )
        scripted = subset["c_transliterated"].fill_null(False)
        other = (names["both"] & (~names["same"] | scripted)).arg_true()
        if not other.is_empty():
            named = subset[other]
            found = named["inexact"].cast(pl.Float64)
            variants = linked_parts(named["q_tokens"], named["c_tokens"], roman_key)
            variants = variants.cast(pl.Float64)
            value = value.scatter(rows.gather(other), (found - variants).clip(lower_bound=0.0))
    return pl.DataFrame([value, pl.Series("verdict", [None] * pairs.height, pl.Utf8)])


def other_syllables_one(pair: OnePair) -> Verdict:
    a = pair.align
    inexact = a.n_fuzzy + a.n_phonetic + a.n_skeleton
    if not (pair.q_syllabic and inexact):
        return 0.0, None
    both, same = syllable_pair_one(pair.q_tokens, pair.c_tokens, pair.q_repeated, pair.c_repeated)
    if not (both and (not same or pair.c_transliterated)):
        return 0.0, None
    variants = linked_parts_one(pair.q_tokens, pair.c_tokens, roman_key)
    return float(max(inexact - variants, 0)), None


# A full birth date and a nationality that both contradict the entry's, on a common name
# (its matched parts weigh less than IDENTITY_RARE_WEIGHT, or none of them alone weighs
# IDENTITY_RARE_PART_WEIGHT): a namesake, however exactly the name matches. Each
# contradiction alone is already a qualifier of its own.
_FULL_DATE = r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$"


def identity_contradicted(pairs: pl.DataFrame) -> pl.DataFrame:
    # The date and nationality comparisons run only on the few pairs that may qualify.
    maybe = (
        pl.col("q_birth_date").str.contains(_FULL_DATE)
        & pl.col("q_nationality").is_not_null()
        & ((pl.col("matched_weight") < config.IDENTITY_RARE_WEIGHT) | (pl.col("n_rare_found") == 0))
    )
    rows = pairs.select(maybe.fill_null(False)).to_series().arg_true()
    hit = pl.Series("hit", [False] * pairs.height, dtype=pl.Boolean)
    if not rows.is_empty():
        subset = pairs[rows]
        both = (birth_date_contribution(subset)["verdict"] == "mismatch") & (
            nationality_contribution(subset)["verdict"] == "mismatch"
        )
        hit = hit.scatter(rows, both.fill_null(False))
    return pl.DataFrame(
        {
            "value": pl.select(
                pl.when(hit).then(config.IDENTITY_CONTRADICTED).otherwise(0.0)
            ).to_series(),
            "verdict": pl.Series([None] * pairs.height, dtype=pl.Utf8).set(hit, "mismatch"),
        }
    )


def identity_contradicted_one(pair: OnePair) -> Verdict:
    both = (
        birth_date_one(pair.q_birth_date, pair.c_birth_dates)[1] == "mismatch"
        and nationality_one(pair.q_nationality, pair.c_nationalities)[1] == "mismatch"
    )
    full = pair.q_birth_date is not None and re.match(_FULL_DATE, pair.q_birth_date)
    common = pair.align.matched_weight < config.IDENTITY_RARE_WEIGHT or pair.align.n_rare_found == 0
    if both and full and common:
        return config.IDENTITY_CONTRADICTED, "mismatch"
    return 0.0, None


FEATURES: tuple[Feature, ...] = (
    Feature(
        "both_sides_unmatched",
        both_sides_unmatched,
        -config.BOTH_UNMATCHED_PENALTY,
        qualifier=False,
        description="both names have parts the other lacks: usually a different party",
        one=both_sides_unmatched_one,
    ),
    Feature(
        "one_side_unmatched",
        one_side_unmatched,
        -config.ONE_SIDE_UNMATCHED_PENALTY,
        qualifier=False,
        description="parts missing on one side only: a dropped middle name, a shorter alias",
        one=one_side_unmatched_one,
    ),
    Feature(
        "fuzzy_parts",
        fuzzy_deficit,
        -config.FUZZY_PART_PENALTY,
        qualifier=False,
        description="parts matched by spelling or sound rather than equal: their shortfall",
        one=fuzzy_deficit_one,
    ),
    Feature(
        "lone_fuzzy_part",
        lone_part_deficit,
        -config.LONE_FUZZY_PART_PENALTY,
        qualifier=False,
        description="the only distinguishing part in common is matched inexactly",
        one=lone_part_deficit_one,
    ),
    Feature(
        "fuzzy_with_missing",
        fuzzy_with_missing,
        -config.FUZZY_WITH_MISSING_PENALTY,
        qualifier=False,
        description="parts matched inexactly while other parts are missing",
        one=fuzzy_with_missing_one,
    ),
    Feature(
        "substituted_parts",
        substituted_parts,
        -config.SUBSTITUTED_PART_PENALTY,
        qualifier=False,
        description="a name part in place of another (each one counts)",
        one=substituted_parts_one,
    ),
    Feature(
        "other_initials",
        other_initials,
        -config.OTHER_INITIAL_PENALTY,
        qualifier=False,
        description="an initial in place of another: another middle name",
        one=other_initials_one,
        contradicts=True,
    ),
    Feature(
        "changed_short_part",
        changed_short_parts,
        -config.CHANGED_SHORT_PART_PENALTY,
        qualifier=False,
        description="a short part one letter off beside a common rest of the name",
        one=changed_short_parts_one,
    ),
    Feature(
        "other_company_word",
        other_company_words,
        -config.OTHER_COMPANY_WORD_PENALTY,
        qualifier=False,
        description="a distinctive company word in place of another list word: another company",
        one=other_company_words_one,
        contradicts=True,
    ),
    Feature(
        "retyped_part",
        retyped_parts,
        -config.RETYPED_PART_PENALTY,
        qualifier=False,
        description="a part two typing errors off, beside too little evidence in the rest",
        one=retyped_parts_one,
    ),
    Feature(
        "other_number",
        other_numbers,
        -config.OTHER_NUMBER_PENALTY,
        qualifier=False,
        description="a number in place of another: another vessel or company",
        one=other_numbers_one,
        contradicts=True,
    ),
    Feature(
        "unmatched_country",
        unmatched_countries,
        -config.UNMATCHED_COUNTRY_PENALTY,
        qualifier=False,
        description="a country in one company name only: a national branch",
        one=unmatched_countries_one,
    ),
    Feature(
        "repeated_part",
        repeated_parts,
        -config.REPEATED_PART_PENALTY,
        qualifier=False,
        description="a part given twice where the other name gives another part",
        one=repeated_parts_one,
    ),
    Feature(
        "syllable_missing",
        syllable_parts_missing,
        -config.SYLLABLE_MISSING_PENALTY,
        qualifier=False,
        description="a short-syllable name lacks a syllable of the list name",
        one=syllable_parts_missing_one,
    ),
    Feature(
        "other_syllable",
        other_syllables,
        -config.OTHER_SYLLABLE_PENALTY,
        qualifier=False,
        description="a Han or Hangul name's syllable in place of another: another name",
        one=other_syllables_one,
        contradicts=True,
    ),
    Feature(
        "lineage_swapped",
        lineage_swapped,
        -config.LINEAGE_SWAPPED_PENALTY,
        qualifier=False,
        description='the same parts in the opposite "son of" order: another person',
        one=lambda p: (lineage_swapped_one(p.q_tokens, p.c_tokens), None),
        contradicts=True,
    ),
    Feature(
        "birth_date",
        birth_date_contribution,
        1.0,
        qualifier=True,
        description="same date, same year, one component off, or contradicting",
        one=lambda p: birth_date_one(p.q_birth_date, p.c_birth_dates),
        most=max(0.0, *VERDICT_VALUE.values()),
    ),
    Feature(
        "nationality",
        nationality_contribution,
        1.0,
        qualifier=True,
        description="query nationality among the entry's, or not",
        one=lambda p: nationality_one(p.q_nationality, p.c_nationalities),
        most=max(0.0, config.NATIONALITY_MATCH, config.NATIONALITY_MISMATCH),
    ),
    Feature(
        "identity",
        identity_contradicted,
        1.0,
        qualifier=True,
        description="birth date and nationality both contradict, on a common name",
        one=identity_contradicted_one,
        most=max(0.0, config.IDENTITY_CONTRADICTED),
    ),
    Feature(
        "entity_type",
        entity_type_contribution,
        1.0,
        qualifier=True,
        description="a person against an organisation, or the reverse",
        one=lambda p: entity_type_one(p.q_entity_type, p.c_entity_type),
        most=max(0.0, config.ENTITY_TYPE_MISMATCH),
    ),
)

NAME_FEATURES = tuple(f for f in FEATURES if not f.qualifier)
CONTRADICTIONS = tuple(f.name for f in NAME_FEATURES if f.contradicts)
QUALIFIERS = tuple(f for f in FEATURES if f.qualifier)
# Every qualifier declares its highest value, weighed by a non-negative weight: the most
# all of them can add to a name score together.
assert all(f.most is not None and f.weight >= 0 for f in QUALIFIERS)
QUALIFIERS_MOST = sum(f.weight * (f.most or 0.0) for f in QUALIFIERS)
