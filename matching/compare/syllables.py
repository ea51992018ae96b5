"""Names written in Korean or Chinese syllables, compared across romanisation systems.

"KIM Jong Un" (McCune-Reischauer, as the UN writes him), "Gim Jeong Eun" (Revised
Romanization), 김정은 (Hangul, which anyascii writes "GimJeongEun"); "Xi Jinping" (pinyin),
"Hsi Chin-ping" (Wade-Giles), 习近平 (Hanzi): each system spells one syllable its own way,
and the syllables of a given name are written apart, hyphenated or joined. Token by token
they share little ("jong" / "jeong", "hsi" / "xi"); as a whole they are one name.

A name is syllables when each of its tokens splits into syllables of the two languages
(every Hangul syllable and CJK ideograph as anyascii reads it, folded). Its key is its
tokens written together, then folded to a system-blind spelling (voiced and voiceless
consonants alike, eo/o, eu/u, hs/x/sh, ch/j/q/z/ts, the Korean ㅓ written o or u before n
and l: "Chul" / "Chol", "Jung" / "Jong", ü written v or u ...). The folding runs on the
joined name, so a given name written apart, hyphenated, joined or in Hangul (one word,
"gimhyeogjeol") folds alike across its syllable boundaries. A Wade-Giles syllable whose
pinyin no folding reaches (jih / ri, yu / you, i / yi, kuei / gui, tso / zuo, o / e) is
also read in pinyin: a second key. Two names with a key in common (the family name first
or last) are one name in another romanisation: SYLLABLE_NAME_SIM. Work is per distinct
token and distinct joined name (cached); the whole-name comparison is a column
expression, with its one-pair twin.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache, reduce

import polars as pl
from anyascii import anyascii

# pypinyin loads its phrase dictionary (190,000 objects, 44 MB, walked by every full garbage
# collection of a screening process) and copies its character table on import; the engine
# reads only its romanisation styles (Wade-Giles), which need neither.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin import Style
from pypinyin.style import convert as pinyin_to

from matching import config

# Whole tokens: Korean family names each system writes its own way: 이/리 (Lee, Rhee, Yi,
# I, Ri, Li), 박 (Park), 오 (Oh), 류 (Ryu, Yu, Yoo, Lyu).
_FAMILY = {
    "lee": "li", "rhee": "li", "yi": "li", "i": "li", "ri": "li", "park": "pak", "oh": "o",
    "ryu": "yu", "lyu": "yu", "yoo": "yu",
}  # fmt: skip
# In this order: systems' multi-letter spellings first, then single letters, then kh once
# more: a syllable's final k (g in Hangul's reading, "박한" baghan) before the next one's h
# folds as the Latin "Pak Han" does. The Korean
# vowel ㅓ is eo (Revised), o (McCune-Reischauer) or u (common usage: "Chul", "Sung",
# "Hyun"); Wade-Giles -ung is pinyin -ong: before n and l, u and o are one.
_FOLDS = [
    ("hs", "s"), ("tz", "c"), ("ts", "c"), ("zh", "c"), ("ch", "c"), ("sh", "s"), ("ph", "p"),
    ("th", "t"), ("kh", "k"), ("eo", "o"), ("eu", "u"), ("oo", "u"), ("ee", "i"), ("ih", "i"),
    ("eh", "e"), ("ien", "ian"), ("oe", "oi"), ("lh", "l"), ("v", "u"), ("j", "c"),
    ("q", "c"), ("z", "c"), ("x", "s"), ("d", "t"), ("b", "p"), ("r", "l"), ("g", "k"),
    ("kh", "k"),
]  # fmt: skip
# u before a final n or l (then a consonant or the end: "Chulnam", "Jung"; not "Pu-li").
_U_BEFORE_FINAL = re.compile(r"u(?=[nl](?:[^aeiouy]|$))")
# A token splits into at most this many syllables (a given name written as one word).
MAX_SYLLABLES = 3


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """A romanised syllable or run of syllables in a system-blind spelling."""
    for old, new in _FOLDS:
        text = text.replace(old, new)
    return _U_BEFORE_FINAL.sub("o", text)


def folded(texts: pl.Series) -> pl.Series:
    """fold of each string, as column expressions: a screen's new names join syllables
    into new strings every chunk, which a Python call each cost a fifteenth of a batch's
    time on new entities. (The same replacements in order; the lookahead of
    _U_BEFORE_FINAL, which Polars' regular expressions lack, as a match that keeps the
    letters after the u: they are never a u themselves.)"""
    column = pl.col("text")
    for old, new in _FOLDS:
        column = column.str.replace_all(old, new, literal=True)
    column = column.str.replace_all(r"u([nl])([^aeiouy]|$)", "o${1}${2}")
    return texts.to_frame("text").select(column).to_series()


@cache
def _pinyin_readings() -> frozenset[str]:
    """Every CJK unified ideograph as anyascii reads it (pinyin, ü written u), and the
    syllables with ü that differ from their u twin (nü, lü, nüe, lüe; pypinyin writes v)."""
    return frozenset(anyascii(chr(code)).lower() for code in range(0x4E00, 0x9FA6)) | {
        "nv", "lv", "nve", "lve"
    }  # fmt: skip


@cache
def _inventory() -> frozenset[str]:
    """Every Hangul syllable and CJK unified ideograph as anyascii reads it, folded."""
    hangul = (anyascii(chr(code)).lower() for code in range(0xAC00, 0xD7A4))
    return frozenset(fold(spelling) for spelling in (*hangul, *_pinyin_readings()))


@cache
def _wade_giles() -> dict[str, str]:
    """A Wade-Giles syllable as typed (aspirate apostrophes dropped; ü as v or u) -> its
    pinyin, where the two differ (from pypinyin's Wade-Giles table). Where ü typed u makes
    two syllables one ("yu" is pinyin you, "yü" pinyin yu), the plain syllable keeps it."""
    table: dict[str, str] = {}
    for syllable in sorted(_pinyin_readings()):
        wade = pinyin_to(syllable, Style.WADEGILES, strict=True).replace("'", "")
        table.setdefault(wade, syllable.replace("v", "u"))
    for wade, syllable in list(table.items()):
        table.setdefault(wade.replace("v", "u"), syllable)
    return {wade: syllable for wade, syllable in table.items() if wade != syllable}


@lru_cache(maxsize=200_000)
def syllable_fold(token: str) -> str | None:
    """The folded token if it splits into at most MAX_SYLLABLES syllables, else None."""
    folded = fold(_FAMILY.get(token, token))
    inventory = _inventory()
    # Fewest syllables needed to spell folded[:i], by dynamic programming.
    best = [0] + [MAX_SYLLABLES + 1] * len(folded)
    for end in range(1, len(folded) + 1):
        for start in range(max(0, end - 6), end):
            if best[start] < MAX_SYLLABLES and folded[start:end] in inventory:
                best[end] = min(best[end], best[start] + 1)
    return folded if best[-1] <= MAX_SYLLABLES else None


@lru_cache(maxsize=200_000)
def readings(token: str) -> tuple[str, str] | None:
    """A syllable token as written (Korean family names in one spelling) and as pinyin if
    it is a Wade-Giles syllable; None unless it is syllables (syllable_fold)."""
    if syllable_fold(token) is None:
        return None
    return _FAMILY.get(token, token), _wade_giles().get(token, token)


KEY_COLUMNS = ("key", "rotated", "wade", "wade_rotated")

# Han ideographs (unified, extension A, compatibility) and Hangul (syllables, jamo): the
# scripts that write a name as Chinese or Korean syllables, one character each. A name
# written in them has no typing errors in its romanisation, only other characters.
SYLLABLE_SCRIPT = "[{}]".format(
    "".join(
        f"{chr(first)}-{chr(last)}"
        for first, last in (
            (0x1100, 0x11FF), (0x3130, 0x318F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
            (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
        )
    )
)  # fmt: skip
_SYLLABLE_SCRIPT = re.compile(SYLLABLE_SCRIPT)


def in_syllable_script(names: pl.Expr) -> pl.Expr:
    """Per name: is it written (in part) in Han or Hangul? (As normalisation reads it: the
    first MAX_NAME_CHARS characters.)"""
    return names.str.slice(0, config.MAX_NAME_CHARS).str.contains(SYLLABLE_SCRIPT).fill_null(False)


def in_syllable_script_one(name: str | None) -> bool:
    """in_syllable_script for one name."""
    return name is not None and _SYLLABLE_SCRIPT.search(name[: config.MAX_NAME_CHARS]) is not None


def _keys_of(parts: list[str]) -> tuple[str, str]:
    """The parts folded together as given, and with the first part last."""
    return fold("".join(parts)), fold("".join(parts[1:] + parts[:1]))


def with_repeats(tokens: list[str], repeated: list[str] | None) -> list[str]:
    """A name's tokens with each part it gives twice written twice in place: a Chinese
    given name of one syllable said twice ("Tao-Tao", "Yin-Yin") is two syllables, which
    normalisation, keeping a part once (its `repeated` column), would make one."""
    if not repeated:
        return tokens
    return [part for token in tokens for part in [token] * (1 + (token in repeated))]


def name_keys_one(
    tokens: list[str], repeated: list[str] | None = None
) -> tuple[str, str, str, str] | None:
    """A name's keys (KEY_COLUMNS): its syllables folded together as written and read as
    Wade-Giles, each as given and with the first token moved last (family name first or
    last), a part given twice written twice; None unless every token is syllables."""
    read = [readings(token) for token in with_repeats(tokens, repeated)]
    if not read or None in read:
        return None
    written, wade = zip(*read, strict=True)  # type: ignore[misc]
    return (*_keys_of(list(written)), *_keys_of(list(wade)))


def same_syllables_one(
    q_tokens: list[str],
    c_tokens: list[str],
    q_repeated: list[str] | None = None,
    c_repeated: list[str] | None = None,
) -> bool:
    """The two names are the same syllables in another romanisation: a key in common."""
    q, c = name_keys_one(q_tokens, q_repeated), name_keys_one(c_tokens, c_repeated)
    return q is not None and c is not None and not set(q).isdisjoint(c)


def name_keys(tokens: pl.Series, repeated: pl.Series | None = None) -> pl.DataFrame:
    """Per name (a List(Utf8) column, and its parts given twice, normalize_names'
    `repeated`, or None): the KEY_COLUMNS of name_keys_one, all null unless every token is
    syllables.

    Each distinct name (its tokens and parts given twice) is made once; within keys_kept()
    once for all the calls (one screen: blocking, scoring and the rules read the same query
    and list names), the names already made read back by one join."""
    named = pl.DataFrame({"tokens": tokens}).with_columns(
        pl.repeat(None, tokens.len(), dtype=pl.List(pl.Utf8), eager=True).alias("repeated")
        if repeated is None
        else repeated.alias("repeated")
    )
    names = named.select(_name_id(pl.col("tokens"), pl.col("repeated"))).to_series()
    holder = _kept.get()
    known = _NO_KEYS if holder is None else holder.keys
    new = named.with_columns(names).unique("name").join(known, on="name", how="anti")
    if not new.is_empty():
        written = _repeats_written(new["tokens"], new["repeated"])
        known = pl.concat([known, _made_keys(written).with_columns(new["name"])])
        if holder is not None:
            holder.keys = known
    return (
        names.to_frame()
        .join(known, on="name", how="left", maintain_order="left")
        .select(KEY_COLUMNS)
    )


def _name_id(tokens: pl.Expr, repeated: pl.Expr) -> pl.Expr:
    """A name told apart by one number: the hash of its tokens and its parts given twice
    (as the pairs' names always were told: a 64-bit hash, one column expression)."""
    return pl.struct(tokens, repeated).hash().alias("name")


_NO_KEYS = pl.DataFrame(schema={**dict.fromkeys(KEY_COLUMNS, pl.Utf8), "name": pl.UInt64})


class _KeptKeys:
    """The names whose keys keys_kept() holds: KEY_COLUMNS, name (_name_id)."""

    def __init__(self) -> None:
        self.keys = _NO_KEYS


_kept: ContextVar[_KeptKeys | None] = ContextVar("kept_syllable_keys", default=None)


@contextmanager
def keys_kept() -> Iterator[None]:
    """Within: name_keys makes each distinct name's keys once, however many calls read it
    (a screen's query names are read by blocking, scoring and the rules, and its list names
    by scoring and the rules, each on other rows). Results are those made anew."""
    scope = _kept.set(_KeptKeys())
    try:
        yield
    finally:
        _kept.reset(scope)


def keep_given(tokens: pl.Series, repeated: pl.Series, given: pl.Series) -> None:
    """Within keys_kept(): hold the names' keys as given (per name, its distinct keys in a
    list, as a book index keeps them; null: not given) rather than make them again when
    scoring asks (a third of a reverse screen's names are syllables: their keys made again
    were a sixth of its CPU). The keys fill KEY_COLUMNS in list order: every reader
    compares any column with any (same_syllables) or takes them all (blocking), and "key"
    is set exactly when the name is syllables."""
    holder = _kept.get()
    if holder is None:
        return
    named = pl.DataFrame({"tokens": tokens, "repeated": repeated, "given": given})
    rows = named.filter(pl.col("given").is_not_null()).select(
        *[
            pl.col("given").list.get(i, null_on_oob=True).alias(k)
            for i, k in enumerate(KEY_COLUMNS)
        ],
        _name_id(pl.col("tokens"), pl.col("repeated")),
    )
    new = rows.unique("name").join(holder.keys, on="name", how="anti")
    holder.keys = pl.concat([holder.keys, new], how="vertical_relaxed")


def _made_keys(tokens: pl.Series) -> pl.DataFrame:
    """name_keys of names whose parts given twice are written in (_repeats_written).

    Most names are not syllables: each distinct token is read once, the names whose every
    token is a syllable token are picked by one membership test over the column, and only
    they are spelt, joined and folded; each distinct joined string is folded once, whichever
    key it makes (a name read alike as written and as Wade-Giles folds once)."""
    none = pl.Series([None] * tokens.len(), dtype=pl.Utf8)
    distinct = tokens.explode().drop_nulls().unique()
    read = [readings(token) for token in distinct.to_list()]
    syllable = pl.Series([spelt is not None for spelt in read], dtype=pl.Boolean)
    syllable_tokens = distinct.filter(syllable)
    complete = tokens.list.eval(pl.element().is_in(syllable_tokens.implode())).list.all() & (
        tokens.list.len() > 0
    )
    rows = complete.arg_true()
    if rows.is_empty():
        return pl.DataFrame({key: none for key in KEY_COLUMNS})
    spelt = [reading for reading in read if reading is not None]
    parts = tokens.gather(rows).to_frame("tokens")
    frame = parts.select(
        pl.col("tokens")
        .list.eval(pl.element().replace_strict(syllable_tokens, spelling))
        .alias(reading)
        for reading, spelling in (
            ("written", pl.Series([r[0] for r in spelt], dtype=pl.Utf8)),
            ("wade", pl.Series([r[1] for r in spelt], dtype=pl.Utf8)),
        )
    )
    joined = frame.select(
        expr
        for reading, (key, rotated) in (("written", KEY_COLUMNS[:2]), ("wade", KEY_COLUMNS[2:]))
        for expr in (
            pl.col(reading).list.join("").alias(key),
            pl.concat_list(pl.col(reading).list.slice(1), pl.col(reading).list.head(1))
            .list.join("")
            .alias(rotated),
        )
    )
    strings = pl.concat([joined[key] for key in KEY_COLUMNS]).unique()
    folds = folded(strings)
    return pl.DataFrame(
        {
            key: none.clone().scatter(rows, joined[key].replace_strict(strings, folds))
            for key in KEY_COLUMNS
        }
    )


def _repeats_written(tokens: pl.Series, repeated: pl.Series | None) -> pl.Series:
    """with_repeats of a column: Python for the few names that give a part twice."""
    if repeated is None:
        return tokens
    rows = (repeated.list.len() > 0).fill_null(False).arg_true()
    if rows.is_empty():
        return tokens
    written = [
        with_repeats(parts, twice)
        for parts, twice in zip(
            tokens.gather(rows).to_list(), repeated.gather(rows).to_list(), strict=True
        )
    ]
    fixed = pl.DataFrame({"row": rows, "written": pl.Series(written, dtype=pl.List(pl.Utf8))})
    return (
        tokens.to_frame("tokens")
        .with_row_index("row")
        .join(fixed, on="row", how="left", maintain_order="left")
        .select(pl.coalesce("written", "tokens"))
        .to_series()
    )


def same_syllables(
    q_tokens: pl.Series,
    c_tokens: pl.Series,
    q_repeated: pl.Series | None = None,
    c_repeated: pl.Series | None = None,
) -> pl.Series:
    """same_syllables_one for every pair of two List(Utf8) columns (and their parts given
    twice, or None). The list names' keys are made only for the pairs whose query is
    syllables at all (few: most names are not)."""
    q = name_keys(q_tokens, q_repeated)
    rows = q["key"].is_not_null().arg_true()
    c = name_keys(c_tokens.gather(rows), None if c_repeated is None else c_repeated.gather(rows))
    q = q[rows]
    same = reduce(
        operator.or_,
        ((q[mine] == c[theirs]).fill_null(False) for mine in KEY_COLUMNS for theirs in KEY_COLUMNS),
    )
    every = pl.Series("same_syllables", [False] * q_tokens.len(), dtype=pl.Boolean)
    return every.scatter(rows, same)


def syllable_names(tokens: pl.Series) -> pl.Series:
    """Per name (a List(Utf8) column): is every token syllables? name_keys' membership
    test alone, each distinct token read once, no key spelt or folded."""
    distinct = tokens.explode().drop_nulls().unique()
    syllable = distinct.filter(
        pl.Series([readings(token) is not None for token in distinct.to_list()], dtype=pl.Boolean)
    )
    every = tokens.list.eval(pl.element().is_in(syllable.implode())).list.all()
    return (every & (tokens.list.len() > 0)).fill_null(False).rename("syllables")


def syllable_pairs(
    q_tokens: pl.Series,
    c_tokens: pl.Series,
    q_repeated: pl.Series | None = None,
    c_repeated: pl.Series | None = None,
) -> pl.DataFrame:
    """Per pair of two List(Utf8) columns: `both`, each name is syllables (every token
    splits into Korean or Chinese syllables), and `same`, the two are the same syllables
    in another romanisation (same_syllables, whose keys are made only where `both`)."""
    both = syllable_names(q_tokens) & syllable_names(c_tokens)
    rows = both.arg_true()
    same = pl.Series("same", [False] * q_tokens.len(), dtype=pl.Boolean)
    if not rows.is_empty():
        found = same_syllables(
            q_tokens.gather(rows),
            c_tokens.gather(rows),
            None if q_repeated is None else q_repeated.gather(rows),
            None if c_repeated is None else c_repeated.gather(rows),
        )
        same = same.scatter(rows, found)
    return pl.DataFrame({"both": both, "same": same})


def syllable_pair_one(
    q_tokens: list[str],
    c_tokens: list[str],
    q_repeated: list[str] | None = None,
    c_repeated: list[str] | None = None,
) -> tuple[bool, bool]:
    """syllable_pairs for one pair: (both names are syllables, the same syllables)."""
    q, c = name_keys_one(q_tokens, q_repeated), name_keys_one(c_tokens, c_repeated)
    if q is None or c is None:
        return False, False
    return True, not set(q).isdisjoint(c)
