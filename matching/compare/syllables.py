"""Names written in Korean or Chinese syllables, compared across romanisation systems.

"KIM Jong Un" (McCune-Reischauer, as the UN writes him), "Gim Jeong Eun" (Revised
Romanization), 김정은 (Hangul, which anyascii writes "GimJeongEun"); "Xi Jinping" (pinyin),
"Hsi Chin-ping" (Wade-Giles), 习近平 (Hanzi): each system spells one syllable its own way,
and the syllables of a given name are written apart, hyphenated or joined. Token by token
they share little ("jong" / "jeong", "hsi" / "xi"); as a whole they are one name.

Each token is folded to a system-blind spelling (voiced and voiceless consonants alike,
eo/o, eu/u, hs/x/sh, ch/j/q/z/ts ...), and kept only if it splits into syllables of the
two languages (every Hangul syllable and CJK ideograph as anyascii reads it, folded). Two
names whose folded tokens, written together, are equal (the family name first or last)
are one name in another romanisation: SYLLABLE_NAME_SIM. Work is per distinct token
(cached); the whole-name comparison is a column expression, with its one-pair twin.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import polars as pl
from anyascii import anyascii

# Whole tokens: the Korean family name 이/리 (Lee, Rhee, Yi, I, Ri, Li) and 박 (Park).
_FAMILY = {"lee": "li", "rhee": "li", "yi": "li", "i": "li", "ri": "li", "park": "pak"}
# In this order: systems' multi-letter spellings first, then single letters.
_FOLDS = [
    ("hs", "s"), ("tz", "c"), ("ts", "c"), ("zh", "c"), ("ch", "c"), ("sh", "s"), ("ph", "p"),
    ("th", "t"), ("kh", "k"), ("eo", "o"), ("eu", "u"), ("oo", "u"), ("ee", "i"), ("ih", "i"),
    ("eh", "e"), ("ien", "ian"), ("oe", "oi"), ("lh", "l"), ("j", "c"), ("q", "c"),
    ("z", "c"), ("x", "s"), ("d", "t"), ("b", "p"), ("r", "l"),
]  # fmt: skip
_G = re.compile(r"(?<!n)g")  # g is k, except in the final ng
_DOUBLE = re.compile(r"(.)\1+")
# A token splits into at most this many syllables (a given name written as one word).
MAX_SYLLABLES = 3


def fold(token: str) -> str:
    """A romanised syllable or run of syllables in a system-blind spelling."""
    folded = _FAMILY.get(token, token)
    for old, new in _FOLDS:
        folded = folded.replace(old, new)
    return _DOUBLE.sub(r"\1", _G.sub("k", folded))


@cache
def _inventory() -> frozenset[str]:
    """Every Hangul syllable and CJK unified ideograph as anyascii reads it, folded."""
    chars = [*range(0xAC00, 0xD7A4), *range(0x4E00, 0x9FA6)]
    return frozenset(fold(anyascii(chr(code)).lower()) for code in chars)


@lru_cache(maxsize=200_000)
def syllable_fold(token: str) -> str | None:
    """The folded token if it splits into at most MAX_SYLLABLES syllables, else None."""
    folded = fold(token)
    inventory = _inventory()
    # Fewest syllables needed to spell folded[:i], by dynamic programming.
    best = [0] + [MAX_SYLLABLES + 1] * len(folded)
    for end in range(1, len(folded) + 1):
        for start in range(max(0, end - 6), end):
            if best[start] < MAX_SYLLABLES and folded[start:end] in inventory:
                best[end] = min(best[end], best[start] + 1)
    return folded if best[-1] <= MAX_SYLLABLES else None


def name_keys_one(tokens: list[str]) -> tuple[str, str] | None:
    """A name's folded syllables written together, as given and with the first token moved
    last (family name first or last); None unless every token is syllables."""
    folded = [syllable_fold(token) for token in tokens]
    if not folded or None in folded:
        return None
    return "".join(folded), "".join(folded[1:] + folded[:1])


def same_syllables_one(q_tokens: list[str], c_tokens: list[str]) -> bool:
    """The two names are the same syllables in another romanisation."""
    q, c = name_keys_one(q_tokens), name_keys_one(c_tokens)
    return q is not None and c is not None and (q[0] == c[0] or q[1] == c[0] or q[0] == c[1])


def name_keys(tokens: pl.Series) -> pl.DataFrame:
    """Per name (a List(Utf8) column): key and rotated, the folded syllables as given and
    with the first token last; both null unless every token is syllables."""
    distinct = tokens.explode().drop_nulls().unique()
    folds = pl.Series([syllable_fold(t) for t in distinct.to_list()], dtype=pl.Utf8)
    folded = tokens.list.eval(pl.element().replace_strict(distinct, folds, default=None))
    complete = (folded.list.drop_nulls().list.len() == tokens.list.len()) & (tokens.list.len() > 0)
    frame = pl.DataFrame({"folded": folded, "complete": complete})
    return frame.select(
        pl.when("complete").then(pl.col("folded").list.join("")).alias("key"),
        pl.when("complete")
        .then(pl.concat_list(pl.col("folded").list.slice(1), pl.col("folded").list.head(1)))
        .list.join("")
        .alias("rotated"),
    )


def _keys_per_name(tokens: pl.Series) -> pl.DataFrame:
    """name_keys of a column, computed once per distinct name (pairs repeat their names;
    a name is told by its tokens' hash)."""
    names = tokens.hash().alias("name")
    distinct = pl.DataFrame({"name": names, "tokens": tokens}).unique("name")
    keys = name_keys(distinct["tokens"]).with_columns(distinct["name"])
    return names.to_frame().join(keys, on="name", how="left", maintain_order="left")


def same_syllables(q_tokens: pl.Series, c_tokens: pl.Series) -> pl.Series:
    """same_syllables_one for every pair of two List(Utf8) columns. The list names' keys
    are made only for the pairs whose query is syllables at all (few: most names are not)."""
    q = _keys_per_name(q_tokens)
    rows = q["key"].is_not_null().arg_true()
    c = _keys_per_name(c_tokens.gather(rows))
    q = q[rows]
    same = (
        (q["key"] == c["key"]) | (q["rotated"] == c["key"]) | (q["key"] == c["rotated"])
    ).fill_null(False)
    every = pl.Series("same_syllables", [False] * q_tokens.len(), dtype=pl.Boolean)
    return every.scatter(rows, same)
