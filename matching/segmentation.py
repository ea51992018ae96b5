"""Words run together in a query, read as the list words they are made of.

"BASERImohammad", "Mohamedourjman", "BANDARIMAMPETROCHEMICALCOMPANY": a name typed without
its spaces is one unlisted token, which neither a list token's keys nor a part-by-part
alignment can find. Such a token is cut into the fewest words it is made of: the list
vocabulary, the lists' words as written ("obschestvo"), the words normalisation knows (a
spelling of a canonical name part, "mohamed"; a legal word, "joint", "stock", "company",
"ao"; a title, "imam"; a linking word, "of", "al") and, at a higher cost and never two side
by side, list words of one to three letters ("vtb", "vi"). The cut is normalised as a
written name would be ("mohamed" -> "muhammad", "joint stock company" -> "jsc", "imam"
dropped). Where every word then is a list token, and the token itself has no close list
token (JOINED_NAME_BEST_SIM through the first blocking keys, or two typing errors with its
first letter kept, retyped_links: then it is a typo or another spelling of that token,
"Wladimirowitsch", "Grihsanovidch", not words run together), the query holds those
words in place of the run-together one, for blocking and scoring alike: a space left out
is a normalisation matter, as "VladimirPutin" and "SiemensAG" are.

A reading is the same whatever the query around it, so it is made once per distinct token
and remembered in the index (the vocabulary decides it). The dynamic programme runs only on
the query's distinct unlisted letter tokens of MIN_RESEGMENT_LEN letters or more.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from matching import config
from matching.blocking import _linked
from matching.index import WatchlistIndex, blocking_keys
from matching.normalize import (
    LEGAL_FORM_TOKENS,
    LEGAL_PHRASES,
    NAME_PARTICLES,
    RETYPED_LEGAL_WORDS,
    TITLES,
    TOKEN_VARIANTS,
    normalize_one,
)
from matching.retyped_links import index_table, retyped_links

# Short words a name run together often holds: links of names and of company names, and
# the legal "co". (Other list words shorter than MIN_RESEGMENT_WORD_LEN would cut most long
# names into syllables: "alexandede" is no "alex and ede".)
_SHORT_WORDS = frozenset({"al", "el", "of", "de", "la", "in", "co", "and", "the", "for"}) | (
    frozenset(NAME_PARTICLES)
)

# Words normalisation knows that the list vocabulary may lack in that spelling.
_KNOWN_WORDS = (
    frozenset(
        word
        for word in (*TOKEN_VARIANTS, *TITLES)
        if word.isalpha() and len(word) >= config.MIN_SEGMENT_LEN
    )
    | _SHORT_WORDS
)

# Words a cut may hold at the cost of a long word, however short: the words of legal forms
# and phrases ("ao", "s" of "obshchestvo s ogranichennoi otvetstvennostyu", "y" and "cia"
# of "y cia").
_LEGAL_WORDS = frozenset(
    word
    for word in (
        *LEGAL_FORM_TOKENS,
        *(word for phrases in LEGAL_PHRASES.values() for p in phrases for word in p.split()),
    )
    if word.isalpha()
)

# The legal-form words an unlisted query word two typing errors off is read as
# (MIN_RETYPED_LEGAL_LEN): those that end a company's name on their own and the long words
# of the English legal phrases. Not the words of other languages, which ordinary words lie
# two edits from ("soledad" / "sociedad"), nor short ones ("stork" / "stock").
# Two typing errors are counted as Damerau-Levenshtein edits: they may touch the same
# letters, a letter added between two swapped ("stciok" / "stock"), which OSA counts three.
RETYPED_LEGAL_TARGETS = (*RETYPED_LEGAL_WORDS, "liability", "partnership")
_LEGAL_READINGS = {word: normalize_one(word)[0] for word in RETYPED_LEGAL_TARGETS}


def _phrase_next() -> dict[str, tuple[str, ...]]:
    """A legal phrase's word (4+ letters: not "de", "s", "mit") -> the words after it in a
    phrase, of MIN_RETYPED_LEGAL_LEN+ letters, that normalisation keeps as written ("joint"
    -> "stock"): a word the lists hold whatever the rest of the phrase."""
    following: dict[str, set[str]] = {}
    for phrases in LEGAL_PHRASES.values():
        for phrase in phrases:
            words = phrase.split()
            if not all(word.isalpha() for word in words):
                continue
            for before, word in pairwise(words):
                long = len(before) >= 4 and len(word) >= config.MIN_RETYPED_LEGAL_LEN
                if long and normalize_one(word)[0] == [word]:
                    following.setdefault(before, set()).add(word)
    return {before: tuple(sorted(words)) for before, words in following.items()}


_PHRASE_NEXT = _phrase_next()

_READINGS = "segmentation.readings"
_SHORT = "segmentation.short_words"
_WORDS = "segmentation.words"
_VOCABULARY = "segmentation.vocabulary"
# What this module derives from the snapshot's vocabulary and list names alone (a view
# shares it: reverse.py).
SEGMENTATION_DERIVED = (_READINGS, _WORDS, _VOCABULARY, _SHORT)


def resegmented(
    tokens: pl.Series, index: WatchlistIndex, transliterated: pl.Series | None = None
) -> pl.Series:
    """Each query's tokens (List(Utf8)) with every run-together token replaced by its
    reading (reading_of), the tokens kept distinct and in order. A name transliterated from
    another script is left as it is: its runs of syllables ("井上", "jingshang") are no
    words typed without spaces (compare/syllables.py reads them)."""
    tokens = _legal_phrase_words(tokens, index, transliterated)
    tokens = _legal_last_words(tokens, index, transliterated)
    latin = tokens if transliterated is None else tokens.filter(~transliterated.fill_null(False))
    distinct = latin.explode().drop_nulls().unique()
    long = distinct.filter(
        (distinct.str.len_chars() >= config.MIN_RESEGMENT_LEN)
        & distinct.str.contains("^[a-z]+$")
        & ~distinct.is_in(index.vocab["token"].implode())
    )
    readings = {token: reading_of(token, index) for token in long.to_list()}
    readings = _far_from_list_tokens({t: words for t, words in readings.items() if words}, index)
    retyped = _retyped_list_words(list(readings), index)
    readings = {token: words for token, words in readings.items() if token not in retyped}
    if not readings:
        return tokens
    read = pl.DataFrame(
        {"tokens": list(readings), "words": list(readings.values())},
        schema={"tokens": pl.Utf8, "words": pl.List(pl.Utf8)},
    )
    has_reading = tokens.list.eval(pl.element().is_in(read["tokens"].implode())).list.any()
    if transliterated is not None:
        has_reading = has_reading & ~transliterated.fill_null(False)
    rows = has_reading.arg_true()
    changed = (
        tokens.gather(rows)
        .to_frame("tokens")
        .with_row_index("row")
        .explode("tokens")
        .join(read, on="tokens", how="left", maintain_order="left")
        .select("row", pl.coalesce("words", pl.concat_list("tokens")).alias("tokens"))
        .explode("tokens")
        .group_by("row", maintain_order=True)
        .agg(pl.col("tokens").unique(maintain_order=True))
    )
    return _rows_read(tokens, pl.DataFrame({"row": rows, "read": changed["tokens"]}))


def _rows_read(tokens: pl.Series, read: pl.DataFrame) -> pl.Series:
    """tokens with the rows of ``read`` (row, read: their tokens as read) replaced."""
    return (
        tokens.to_frame("tokens")
        .with_row_index("row")
        .join(read, on="row", how="left", maintain_order="left")
        .select(pl.coalesce("read", "tokens").alias(tokens.name))
        .to_series()
    )


def _far_from_list_tokens(
    readings: dict[str, list[str]], index: WatchlistIndex
) -> dict[str, list[str]]:
    """readings without the tokens that have a close list token (JOINED_NAME_BEST_SIM
    through the first blocking keys): those are a typo or another spelling of it."""
    if not readings:
        return readings
    read = pl.DataFrame({"token": list(readings)})
    near = _linked(read, blocking_keys(read), index).filter(
        pl.col("sim") >= config.JOINED_NAME_BEST_SIM
    )
    near_tokens = set(near["token"].to_list())
    return {token: words for token, words in readings.items() if token not in near_tokens}


def _retyped_list_words(tokens: list[str], index: WatchlistIndex) -> set[str]:
    """The tokens two typing errors or fewer from a list token, its first letter kept
    (retyped_links): "Grihsanovidch" is "Grishanovich" typed twice, not "g rihs a novi dch"
    run together."""
    return set(retyped_links(tokens, index_table(index))["token"].to_list())


def _legal_last_words(
    tokens: pl.Series, index: WatchlistIndex, transliterated: pl.Series | None
) -> pl.Series:
    """Each query's tokens with its last token (after another) read as the legal form it is
    typed from (legal_readings), where it is no list token and has no close one: the end
    of a company's name is where its legal form stands ("Sysdynamic Limie"); elsewhere a
    word two letters from "company" is as likely a word of the name ("Compass Minerals")."""
    last = tokens.list.last()
    eligible = (
        (tokens.list.len() >= 2)
        & (last.str.len_chars() >= config.MIN_RETYPED_LEGAL_LEN)
        & last.str.contains("^[a-z]+$")
        & ~last.is_in(index.vocab["token"].implode())
    ).fill_null(False)
    if transliterated is not None:
        eligible = eligible & ~transliterated.fill_null(False)
    words = last.filter(eligible).unique().to_list()
    readings = _far_from_list_tokens(legal_readings(words, vocabulary(index)), index)
    if not readings:
        return tokens
    rows = (eligible & last.is_in(list(readings))).arg_true()
    read = pl.Series([readings[token] for token in last.gather(rows).to_list()])
    head = pl.col("tokens").list.head(pl.col("tokens").list.len() - 1)
    rewritten = pl.DataFrame({"tokens": tokens.gather(rows), "read": read}).select(
        pl.Series("row", rows), head.list.concat("read").list.unique(maintain_order=True)
    )
    return _rows_read(tokens, rewritten.rename({"tokens": "read"}))


def _legal_phrase_words(
    tokens: pl.Series, index: WatchlistIndex, transliterated: pl.Series | None
) -> pl.Series:
    """Each query's tokens with a token right after a legal phrase's word read as the
    phrase's next word it is typed twice from ("Joint Stciok Commercial Bank": stock), where
    it is no list token and has no close one (_phrase_word): the phrase's word before it
    says what it is, as the whole phrase does in normalisation (MIN_LEGAL_PHRASE_TYPO_LEN),
    which cannot tell a typo from a word ("Joint Stork") without the snapshot."""
    tokens_ = pl.col("tokens")
    frame = tokens.to_frame("tokens").with_row_index("row")
    if transliterated is not None:
        frame = frame.filter(~transliterated.fill_null(False))
    pairs = (
        frame.filter(tokens_.list.len() >= 2)
        .select(
            "row",
            tokens_.list.head(tokens_.list.len() - 1).alias("before"),
            tokens_.list.slice(1).alias("token"),
        )
        .explode("before", "token")
        .filter(
            pl.col("before").is_in(list(_PHRASE_NEXT)),
            pl.col("token").str.len_chars() >= config.MIN_RETYPED_LEGAL_LEN,
            pl.col("token").str.contains("^[a-z]+$"),
            ~pl.col("token").is_in(index.vocab["token"].implode()),
        )
    )
    if pairs.is_empty():
        return tokens
    listed = vocabulary(index)
    found = {
        (before, token): word
        for before, token in pairs.select("before", "token").unique().iter_rows()
        if (word := _phrase_word(before, token)) is not None and word in listed
    }
    far = _far_from_list_tokens({token: [word] for (_, token), word in found.items()}, index)
    found = {pair: word for pair, word in found.items() if pair[1] in far}
    if not found:
        return tokens
    rows = sorted(set(pairs.filter(pl.struct("before", "token").is_in(
        [{"before": b, "token": t} for b, t in found]
    ))["row"].to_list()))  # fmt: skip
    read = [_phrase_read(tokens[row].to_list(), found) for row in rows]  # a few rows
    rewritten = pl.DataFrame(
        {"row": pl.Series(rows, dtype=pl.UInt32), "read": read},
        schema={"row": pl.UInt32, "read": pl.List(pl.Utf8)},
    )
    return _rows_read(tokens, rewritten)


def _phrase_read(tokens: list[str], found: dict[tuple[str, str], str]) -> list[str]:
    """tokens with each (word before, token) of found read as its phrase word, distinct."""
    read = [tokens[0]] + [found.get(pair, pair[1]) for pair in pairwise(tokens)]
    return list(dict.fromkeys(read))


@lru_cache(maxsize=100_000)
def _phrase_word(before: str, token: str) -> str | None:
    """The word after `before` in a legal phrase that token is two typing errors or fewer
    from, its first letter kept, not a beginning of it (a word cut short)."""
    for word in _PHRASE_NEXT.get(before, ()):
        typed = token[0] == word[0] and not word.startswith(token) and token != word
        if typed and DamerauLevenshtein.distance(token, word, score_cutoff=2) <= 2:
            return word
    return None


def phrase_word_readings(tokens: list[str], listed: frozenset[str]) -> dict[str, list[str]]:
    """token -> the listed legal phrase words (_PHRASE_NEXT's) it may be typed twice from,
    whatever word stands before it: reverse blocking's superset of _legal_phrase_words."""
    words = sorted({word for after in _PHRASE_NEXT.values() for word in after} & listed)
    if not tokens or not words:
        return {}
    distance = process.cdist(
        tokens, words, scorer=DamerauLevenshtein.distance, score_cutoff=2, dtype=np.int8
    )
    readings: dict[str, list[str]] = {}
    for row, col in zip(*np.nonzero((distance > 0) & (distance <= 2)), strict=True):
        token, word = tokens[row], words[col]
        if token[0] == word[0] and not word.startswith(token):
            readings.setdefault(token, []).append(word)
    return readings


def _legal_phrase_words_one(
    tokens: list[str], index: WatchlistIndex, closest: Callable[[str], float]
) -> list[str]:
    """_legal_phrase_words for one query's tokens."""
    found: dict[tuple[str, str], str] = {}
    for pair in pairwise(tokens):
        before, token = pair
        if before not in _PHRASE_NEXT or len(token) < config.MIN_RETYPED_LEGAL_LEN:
            continue
        if not _unlisted(token, index):
            continue
        word = _phrase_word(before, token)
        listed = word is not None and word in vocabulary(index)
        if listed and closest(token) < config.JOINED_NAME_BEST_SIM:
            found[pair] = word
    return _phrase_read(tokens, found) if found else tokens


def resegmented_one(
    tokens: list[str],
    index: WatchlistIndex,
    closest: Callable[[str], float],
    transliterated: bool = False,
) -> list[str]:
    """resegmented for one query's tokens; closest(token): the similarity of its closest
    list token through the first keys (blocking._linked's)."""
    if transliterated:
        return tokens
    tokens = _legal_phrase_words_one(tokens, index, closest)
    tokens = _legal_last_word_one(tokens, index, closest)
    out: list[str] = []
    for token in tokens:
        words = (
            reading_of(token, index)
            if len(token) >= config.MIN_RESEGMENT_LEN and _unlisted(token, index)
            else []
        )
        if words and (
            closest(token) >= config.JOINED_NAME_BEST_SIM or _retyped_list_words([token], index)
        ):
            words = []
        out += [word for word in (words or [token]) if word not in out]
    return out


def _unlisted(token: str, index: WatchlistIndex) -> bool:
    """A token of lower-case ASCII letters that no list holds."""
    return (
        token.isascii() and token.isalpha() and token.islower() and token not in vocabulary(index)
    )


def _legal_last_word_one(
    tokens: list[str], index: WatchlistIndex, closest: Callable[[str], float]
) -> list[str]:
    """_legal_last_words for one query's tokens."""
    if len(tokens) < 2 or len(tokens[-1]) < config.MIN_RETYPED_LEGAL_LEN:
        return tokens
    if not _unlisted(tokens[-1], index):
        return tokens
    words = legal_reading_one(tokens[-1], vocabulary(index))
    if not words or closest(tokens[-1]) >= config.JOINED_NAME_BEST_SIM:
        return tokens
    out = tokens[:-1]
    return out + [word for word in words if word not in out]


def legal_readings(tokens: list[str], vocabulary: frozenset[str]) -> dict[str, list[str]]:
    """token -> the legal form's tokens, for each of `tokens` (unlisted, letters only, of
    MIN_RETYPED_LEGAL_LEN+ letters) two typing errors or fewer from a word of
    RETYPED_LEGAL_TARGETS, its first letter kept ("comopay" -> co, "limie" -> llc): one
    rapidfuzz call over the tokens. A beginning of the word ("limit") is a word cut short,
    which only a legal phrase around it makes the legal form (normalize.py)."""
    if not tokens:
        return {}
    distance = process.cdist(
        tokens,
        RETYPED_LEGAL_TARGETS,
        scorer=DamerauLevenshtein.distance,
        score_cutoff=2,
        dtype=np.int8,
    )
    best = distance.argmin(axis=1)
    near = np.flatnonzero(distance[np.arange(len(tokens)), best] <= 2)
    readings = {}
    for at in near.tolist():  # the few tokens near a legal word
        word = RETYPED_LEGAL_TARGETS[best[at]]
        reading = _legal_reading(tokens[at], word, vocabulary)
        if reading:
            readings[tokens[at]] = reading
    return readings


@lru_cache(maxsize=100_000)
def _closest_legal_word(token: str) -> tuple[str, int]:
    distances = [DamerauLevenshtein.distance(token, word) for word in RETYPED_LEGAL_TARGETS]
    at = distances.index(min(distances))
    return RETYPED_LEGAL_TARGETS[at], distances[at]


def legal_reading_one(token: str, vocabulary: frozenset[str]) -> list[str]:
    """legal_readings for one token ([]: none)."""
    word, distance = _closest_legal_word(token)
    return _legal_reading(token, word, vocabulary) if distance <= 2 else []


def _legal_reading(token: str, word: str, vocabulary: frozenset[str]) -> list[str]:
    """The legal form's tokens where token is word typed (its first letter kept, not a
    beginning of it) and the lists hold them, else []."""
    if token[0] != word[0] or word.startswith(token):
        return []
    reading = _LEGAL_READINGS[word]
    return reading if all(part in vocabulary for part in reading) else []


def reading_of(token: str, index: WatchlistIndex) -> list[str]:
    """The list tokens a run-together token reads as ([]: none), remembered in the index."""
    remembered = index.derived.setdefault(_READINGS, {})
    words = remembered.get(token)
    if words is None:
        if len(remembered) >= config.MAX_REMEMBERED_SEGMENTS:
            remembered.clear()
        words = remembered[token] = _reading(token, index)
    return words


def _reading(token: str, index: WatchlistIndex) -> list[str]:
    short = short_words(index)
    cut = fewest_words(token, segment_words(index), short)
    if len(cut) < 2 or not _mostly_long_words(cut, short):
        return []
    words, _ = normalize_one(" ".join(cut))
    listed = vocabulary(index)
    if not words or not all(word in listed for word in words):
        return []
    return words


def _mostly_long_words(cut: list[str], short: frozenset[str]) -> bool:
    """A cut with short list words in it ("vtb registrar closed") only where words of
    MIN_RESEGMENT_WORD_LEN+ letters spell MIN_LONG_WORDS_SHARE of it, and never two short
    words side by side: two or three letters are a list word by chance too often
    ("ob sc he st vo")."""
    is_short = [word in short for word in cut]
    if not any(is_short):
        return True
    if any(a and b for a, b in pairwise(is_short)):
        return False
    letters = sum(map(len, cut))
    long_letters = sum(len(word) for word in cut if len(word) >= config.MIN_RESEGMENT_WORD_LEN)
    return long_letters >= config.MIN_LONG_WORDS_SHARE * letters


def fewest_words(
    token: str, words: frozenset[str], short_words: frozenset[str] = frozenset()
) -> list[str]:
    """token as the fewest `words` that written together make it, at most
    MAX_RESEGMENT_WORDS of them; [] if none. A word of `short_words` (a list word of one to
    three letters: "vtb", "vi") counts as SHORT_SEGMENT_WORD_COST words (one more for a
    single letter), so that it is used only where longer words cannot spell the token. Ties
    go to the cut whose shortest word is longest ("baserimohammad": "baseri mohammad", not
    "baser imo hammad")."""
    longest = config.MAX_SEGMENT_WORD_LEN
    # best[end]: (cost, -shortest word, number of words) of the best cut of token[:end].
    best: list[tuple[float, int, int] | None] = [(0.0, -len(token), 0)] + [None] * len(token)
    start_of = [0] * (len(token) + 1)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - longest), end):
            before = best[start]
            if before is None or before[2] >= config.MAX_RESEGMENT_WORDS:
                continue
            word = token[start:end]
            if word in words:
                cost = 1.0
            elif word in short_words:
                cost = config.SHORT_SEGMENT_WORD_COST + (len(word) == 1)
            else:
                continue
            option = (before[0] + cost, max(before[1], -(end - start)), before[2] + 1)
            if best[end] is None or option < best[end]:
                best[end], start_of[end] = option, start
    if best[-1] is None:
        return []
    cut, end = [], len(token)
    while end:
        cut.append(token[start_of[end] : end])
        end = start_of[end]
    return cut[::-1]


def vocabulary(index: WatchlistIndex) -> frozenset[str]:
    """The list tokens, as a set, made once per index. Public: reverse.py reads it too."""
    words = index.derived.get(_VOCABULARY)
    if words is None:
        words = index.derived[_VOCABULARY] = frozenset(index.vocab["token"])
    return words


def segment_words(index: WatchlistIndex) -> frozenset[str]:
    """The words a cut is made of at the cost of one: the list tokens and the lists' own
    words as written ("obschestvo", "said", before normalisation reads them as "jsc",
    "saeed") of MIN_RESEGMENT_WORD_LEN+ letters, the words normalisation knows, the legal
    words. Public: a reverse view shares it, made from the whole index."""
    words = index.derived.get(_WORDS)
    if words is None:
        long = _list_words(index).filter(
            pl.col("word")
            .str.len_chars()
            .is_between(config.MIN_RESEGMENT_WORD_LEN, config.MAX_SEGMENT_WORD_LEN)
        )
        words = frozenset(long["word"]) | _KNOWN_WORDS | _LEGAL_WORDS
        index.derived[_WORDS] = words
    return words


def short_words(index: WatchlistIndex) -> frozenset[str]:
    """The list's other words, of one to MIN_RESEGMENT_WORD_LEN - 1 letters ("vtb", "vi",
    "gas", "msk"): cut words at SHORT_SEGMENT_WORD_COST (fewest_words). Public as
    segment_words."""
    words = index.derived.get(_SHORT)
    if words is None:
        short = _list_words(index).filter(
            pl.col("word").str.len_chars() < config.MIN_RESEGMENT_WORD_LEN
        )
        words = index.derived[_SHORT] = frozenset(short["word"]) - segment_words(index)
    return words


def _list_words(index: WatchlistIndex) -> pl.DataFrame:
    """word: every distinct letter word of the list tokens and of the list names as written
    (lower case, apostrophes dropped: "SA'ID" is "said")."""
    written = (
        index.names["name"]
        .str.to_lowercase()
        .str.replace_all(r"['’`]", "")
        .str.extract_all("[a-z]+")
        .explode()
    )
    return (
        pl.concat([written, index.vocab["token"]])
        .drop_nulls()
        .unique()
        .to_frame("word")
        .filter(pl.col("word").str.contains("^[a-z]+$"))
    )
