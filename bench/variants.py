"""Recall per kind of name variation, on queries generated from the list files themselves.

    uv run python bench/variants.py [--store DIR] [--per-kind 400]

Each kind of issue #11 is a generator: it takes list names (a fixed seed), varies them the
way that kind varies real names, and knows the entry each query must find. Recall is the
share of queries whose entry is reported at the default threshold (kinds 1-7); kind 8 are
near-misses that must NOT be reported, and their false-alert rate is printed per sub-kind.
No benchmark row is used: the benchmarks (bench/quality.py) stay for measuring only.

1  a given name with one letter changed, added, dropped or swapped, beside a rare family
   name; and any name with two typing errors
2  Korean and Chinese names in another romanisation (McCune-Reischauer, Revised,
   Wade-Giles, pinyin), in Hangul and Hanzi
3  names in their own script where the list holds only Latin spellings (the lists' own
   original-script names, screened against an index without them)
4  a space removed (given name run into the family name, company names of 4+ words joined
   whole) or added inside a word
5  company words abbreviated (cut with a dot, or a usual short form) or spelled out
6  Slavic surnames in German, Polish or English-style romanisation (v/w, kh/h/ch, y/j/i,
   -vich/-witz)
7  search_type "fuzzy": one letter deleted
8  must not alert: another distinctive company word (one letter apart), another number,
   a one-word company query, a query far longer than a short listed name, a common name
   whose birth date and nationality both contradict
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
from anyascii import anyascii

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.quality import open_watchlist  # noqa: E402
from matching import DEFAULT_THRESHOLD, build_index, screen  # noqa: E402
from matching.normalize import GENERIC_TOKENS, LEGAL_FORM_TOKENS, phonetic_key  # noqa: E402

# Neighbouring keys of a QWERTY keyboard: the letters a typing error puts in place.
_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS = {
    ch: "".join(
        row2[j]
        for r2, row2 in enumerate(_ROWS)
        for j in range(len(row2))
        if abs(r2 - r) <= 1 and abs(j - i) <= 1 and row2[j] != ch
    )
    for r, row in enumerate(_ROWS)
    for i, ch in enumerate(row)
}


def typo(word: str, rng: np.random.Generator, kinds: str = "sidt") -> str:
    """One typing error inside a word (never its first letter): a neighbouring key in
    place of a letter, a letter added or dropped, two letters swapped."""
    if len(word) < 3:
        return word
    kind = kinds[int(rng.integers(0, len(kinds)))]
    i = int(rng.integers(1, len(word)))
    ch = word[i].lower()
    upper = word[i].isupper()
    if kind == "s" and ch in _NEIGHBOURS:
        new = _NEIGHBOURS[ch][int(rng.integers(0, len(_NEIGHBOURS[ch])))]
        return word[:i] + (new.upper() if upper else new) + word[i + 1 :]
    if kind == "i" and ch in _NEIGHBOURS:
        new = _NEIGHBOURS[ch][int(rng.integers(0, len(_NEIGHBOURS[ch])))]
        return word[:i] + (new.upper() if upper else new) + word[i:]
    if kind == "t" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


@dataclass(frozen=True)
class Query:
    full_name: str
    entity_id: str
    search_type: str = "composite"
    birth_date: str | None = None
    nationality: str | None = None
    index: str = "all"  # "latin": screened against the index without original scripts
    # Other entries the lists give this very name (one person on two lists, UN and UK):
    # reporting any of them finds the query's person.
    also: tuple[str, ...] = ()


Generator = Callable[["Lists", np.random.Generator], list[Query]]


@dataclass
class Lists:
    """The list names a generator draws from, with what it needs to know of them."""

    names: pl.DataFrame  # entity_id, name, tokens, entity_type, weights (rarity per token)
    entries: pl.DataFrame  # entity_id, birth_dates, nationalities, entity_type
    original: pl.DataFrame  # entity_id, name, holders: names in another script than Latin

    def people(self) -> pl.DataFrame:
        return self.names.filter(pl.col("entity_type") == "individual")

    def companies(self) -> pl.DataFrame:
        return self.names.filter(pl.col("entity_type") == "organization")


def _sample(frame: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    if frame.height <= n:
        return frame
    return frame[rng.choice(frame.height, n, replace=False).tolist()]


def _words(name: str) -> list[str]:
    return name.replace(",", " ").split()


# --- 1: typos ------------------------------------------------------------------------------


def given_name_typos(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A person's name of 2-4 words with one rare word (a family name): one other word of
    3-8 letters gets one typing error."""
    people = lists.people().filter(
        pl.col("name").str.contains(r"^[A-Za-z ,'-]+$"),
        pl.col("tokens").list.len().is_between(2, 4),
        pl.col("weights").list.max() >= 0.9,
    )
    out = []
    for row in _sample(people, 4000, rng).iter_rows(named=True):
        words = _words(row["name"])
        given = [i for i, w in enumerate(words) if 3 <= len(w) <= 8 and w.lower() != "bin"]
        rare = max(row["weights"])
        given = [i for i in given if row["weights"][min(i, len(row["weights"]) - 1)] < rare]
        if not given:
            continue
        i = given[int(rng.integers(0, len(given)))]
        words[i] = typo(words[i], rng)
        out.append(Query(" ".join(words), row["entity_id"]))
    return out


def two_typos(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """Any name of 2-5 words, 12+ letters: two typing errors, in one word or in two."""
    names = lists.names.filter(
        pl.col("name").str.contains(r"^[A-Za-z ,.'-]+$"),
        pl.col("tokens").list.len().is_between(2, 5),
        pl.col("name").str.len_chars() >= 12,
    )
    out = []
    for row in _sample(names, 4000, rng).iter_rows(named=True):
        words = _words(row["name"])
        long = [i for i, w in enumerate(words) if len(w) >= 5]
        if not long:
            continue
        for _ in range(2):
            i = long[int(rng.integers(0, len(long)))]
            words[i] = typo(words[i], rng)
        out.append(Query(" ".join(words), row["entity_id"]))
    return out


# --- 2: Korean and Chinese -------------------------------------------------------------------

# Romanisations of one Korean syllable (McCune-Reischauer as the UN and OFAC write it,
# Revised Romanization, and the spellings people use): each row one syllable.
_KOREAN = [
    "kim gim", "jong jeong chong", "un eun", "ri rhee lee yi li", "pak park bak", "choe choi",
    "chol cheol", "song seong", "yong yeong", "hyok hyeok", "myong myeong", "sok seok",
    "kwang gwang", "il il", "chun jun", "hui hee", "ho ho", "ok ok", "kang gang", "ju joo",
    "gyong kyong gyeong kyeong", "hyon hyeon", "nam nam", "sung seung", "yun yoon",
    "thae tae", "chang jang", "han han", "kum geum", "o oh", "jo cho", "ryu yu", "tong dong",
    "pyong pyeong", "kil gil", "hak hak", "su soo", "chol chul",
]  # fmt: skip
_KOREAN_VARIANTS = {v: row.split() for row in _KOREAN for v in row.split()}


def _mccune(spelling: str) -> str:
    """A Revised Romanization syllable as McCune-Reischauer writes it, without its marks
    (eo and eu as o and u, initial g d b j as k t p ch, a final g as k)."""
    mr = spelling.replace("eo", "o").replace("eu", "u")
    mr = {"g": "k", "d": "t", "b": "p", "j": "ch"}.get(mr[:1], mr[:1]) + mr[1:]
    return mr[:-1] + "k" if mr.endswith("g") and not mr.endswith("ng") else mr


def _hangul_by_sound() -> dict[str, str]:
    """A romanised syllable, Revised (as anyascii writes Hangul) or McCune-Reischauer ->
    the first Hangul syllable in code order that reads so (plain consonants come before
    aspirated ones: "kim" is 김, not 킴)."""
    table: dict[str, str] = {}
    for code in range(0xAC00, 0xD7A4):
        spelling = anyascii(chr(code)).lower()
        table.setdefault(spelling, chr(code))
        table.setdefault(_mccune(spelling), chr(code))
    return table


def _hanzi_by_sound() -> dict[str, str]:
    """A pinyin syllable -> one common Han character that reads so (CJK unified block)."""
    table: dict[str, str] = {}
    for code in range(0x4E00, 0x9FA6):
        table.setdefault(anyascii(chr(code)).lower(), chr(code))
    return table


def _syllable_names(lists: Lists, nationality: str) -> pl.DataFrame:
    """People of a nationality whose name is 2-4 short syllables (as the lists write them)."""
    entries = lists.entries.filter(pl.col("nationalities").list.contains(nationality))
    return (
        lists.people()
        .join(entries.select("entity_id"), on="entity_id")
        .filter(
            pl.col("name").str.contains(r"^[A-Za-z ,-]+$"),
            pl.col("tokens").list.len().is_between(2, 4),
            pl.col("tokens").list.eval(pl.element().str.len_chars() <= 6).list.all(),
        )
    )


def korean(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """North and South Korean names: each syllable in another romanisation, given-name
    syllables hyphenated or joined; or the whole name in Hangul."""
    hangul = _hangul_by_sound()
    out = []
    for row in (
        _syllable_names(lists, "KP").vstack(_syllable_names(lists, "KR")).iter_rows(named=True)
    ):
        words = re.split(r"[ ,-]+", row["name"].lower())
        syllables = [w for w in words if w]
        choice = int(rng.integers(0, 3))
        if choice == 2:  # Hangul: each syllable's Revised spelling, then its Hangul
            spelt = [hangul.get(s) for s in syllables]
            if None in spelt:
                continue
            out.append(Query("".join(spelt), row["entity_id"]))
            continue
        varied = []
        for s in syllables:
            options = _KOREAN_VARIANTS.get(s, [s])
            varied.append(options[int(rng.integers(0, len(options)))])
        if choice == 1 and len(varied) >= 3:  # given name written as one word or hyphenated
            varied = [varied[0], ("-" if rng.random() < 0.5 else "").join(varied[1:])]
        out.append(Query(" ".join(v.capitalize() for v in varied), row["entity_id"]))
    return out


def chinese(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """Chinese names written in pinyin in the lists: in Hanzi, or in Wade-Giles."""
    from pypinyin import Style, lazy_pinyin

    hanzi = _hanzi_by_sound()
    out = []
    for row in _syllable_names(lists, "CN").iter_rows(named=True):
        words = [w for w in re.split(r"[ ,-]+", row["name"].lower()) if w]
        chars = []
        for word in words:  # "Jinping" -> 近平: split into pinyin syllables greedily
            rest = word
            while rest:
                cut = next((k for k in range(min(6, len(rest)), 0, -1) if rest[:k] in hanzi), 0)
                if not cut:
                    break
                chars.append(hanzi[rest[:cut]])
                rest = rest[cut:]
            if rest:
                chars = []
                break
        if not chars:
            continue
        text = "".join(chars)
        if rng.random() < 0.5:
            out.append(Query(text, row["entity_id"]))
        else:
            wade = lazy_pinyin(text, style=Style.WADEGILES)
            out.append(Query(" ".join([wade[0], "-".join(wade[1:])]).title(), row["entity_id"]))
    return out


# --- 3: own script -----------------------------------------------------------------------------


def own_script(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """The lists' own names in Arabic, Cyrillic, Georgian, Hebrew, Han ... script, screened
    against an index that holds only the Latin spellings of their entries."""
    return [
        Query(row["name"], row["entity_id"], index="latin", also=tuple(row["holders"]))
        for row in _sample(lists.original, 4000, rng).iter_rows(named=True)
    ]


# --- 4: spaces ---------------------------------------------------------------------------------


def spaces(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A person's given name run into the family name; a company name of 4+ words written
    as one; or a space put inside a word of 7+ letters."""
    names = _sample(
        lists.names.filter(pl.col("name").str.contains(r"^[A-Za-z ,.'&-]+$")), 6000, rng
    )
    out = []
    for row in names.iter_rows(named=True):
        words = _words(row["name"])
        choice = int(rng.integers(0, 3))
        if choice == 0 and row["entity_type"] == "individual" and len(words) >= 2:
            i = int(rng.integers(0, len(words) - 1))
            words[i : i + 2] = [words[i] + words[i + 1].lower()]
        elif choice == 1 and row["entity_type"] == "organization" and len(words) >= 4:
            words = ["".join(re.sub(r"[.,]", "", w) for w in words)]
        elif choice == 2 and any(len(w) >= 7 for w in words):
            long = [i for i, w in enumerate(words) if len(w) >= 7]
            i = long[int(rng.integers(0, len(long)))]
            cut = int(rng.integers(3, len(words[i]) - 2))
            words[i : i + 1] = [words[i][:cut], words[i][cut:]]
        else:
            continue
        out.append(Query(" ".join(words), row["entity_id"]))
    return out


# --- 5: abbreviations --------------------------------------------------------------------------

# The usual short forms of company words (English, Spanish, Portuguese, Malay, Indian).
_SHORT_FORMS = {
    "brothers": "Bros.", "manufacturing": "Mfg.", "international": "Intl", "services": "Svcs",
    "management": "Mgmt.", "associates": "Assoc.", "engineering": "Engg.", "industria": "Ind.",
    "comercio": "Com.", "private": "Pvt.", "limited": "Ltd.", "company": "Co.",
    "corporation": "Corp.", "incorporated": "Inc.", "banco": "Bco.", "nacional": "Nac.",
    "national": "Natl.", "department": "Dept.", "industries": "Inds.", "investment": "Invest.",
    "technology": "Tech.", "trading": "Trdg.", "development": "Dev.", "construction": "Constr.",
    "establishment": "Est.", "general": "Gen.", "shipping": "Shpg.", "electronics": "Elec.",
    "commercial": "Coml.", "enterprises": "Ent.", "group": "Grp.", "holdings": "Hldgs.",
    "sendirian berhad": "Sdn. Bhd.", "pte": "Pte.", "import": "Imp.", "export": "Exp.",
    "petroleum": "Petrol.", "equipment": "Equip.", "organization": "Org.",
    "association": "Assn.", "university": "Univ.", "institute": "Inst.", "center": "Ctr.",
    "agency": "Agcy.", "marine": "Mar.", "systems": "Sys.", "chemical": "Chem.",
}  # fmt: skip


def abbreviations(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """Company names with one or more words in a usual short form, or a long word cut
    with a dot ("Manuf.", "Petrochem."); and short forms of the list spelled out."""
    spelled = {short.lower().rstrip("."): long for long, short in _SHORT_FORMS.items()}
    companies = lists.companies().filter(pl.col("name").str.contains(r"^[A-Za-z ,.'&-]+$"))
    out = []
    for row in _sample(companies, 6000, rng).iter_rows(named=True):
        name = row["name"]
        varied = name
        for long, short in _SHORT_FORMS.items():
            varied = re.sub(rf"\b{long}\b", short, varied, flags=re.IGNORECASE)
        words = varied.split()
        if varied == name:
            # Spell out a short form of the list name, or cut a long word with a dot.
            out_words = [spelled.get(w.lower().rstrip(".,"), w) for w in name.split()]
            if out_words != name.split():
                words = [w.title() if w.islower() else w for w in out_words]
            else:
                long = [i for i, w in enumerate(words) if len(w) >= 9 and w.isalpha()]
                if not long:
                    continue
                i = long[int(rng.integers(0, len(long)))]
                words[i] = words[i][: int(rng.integers(4, 7))] + "."
        if not _keeps_a_name_word(name, words):
            continue
        out.append(Query(" ".join(words), row["entity_id"]))
    return out


def _keeps_a_name_word(name: str, words: list[str]) -> bool:
    """Whether a varied company name still holds one of its own name words whole: a word
    that is neither a legal form nor a company word with a usual short form. "KRAS." for
    "KRASNOYARSKGAZPROM" or "TECH." for "TECHNOLOGY" keep none: no reader could tell which
    company they are, and no screener should alert on them."""
    generic = set(LEGAL_FORM_TOKENS) | {w for form in _SHORT_FORMS for w in form.split()}
    kept = {w.lower().strip(".,'") for w in words}
    return any(
        w in kept and w not in generic and len(w) >= 3
        for w in (w.lower().strip(".,'") for w in name.split())
    )


# --- 6: Slavic romanisation --------------------------------------------------------------------

# English-style romanisation of Russian (the lists') -> German and Polish styles.
_GERMAN = [("shch", "schtsch"), ("kh", "ch"), ("zh", "sch"), ("ch", "tsch"), ("sh", "sch"),
           ("ya", "ja"), ("yu", "ju"), ("ye", "je"), ("yo", "jo"), ("iy", "ij"), ("y", "i"),
           ("ts", "z"), ("v", "w"), ("vich", "witsch"), ("s", "ss")]  # fmt: skip
_POLISH = [("shch", "szcz"), ("kh", "ch"), ("zh", "ż"), ("ch", "cz"), ("sh", "sz"),
           ("ya", "ja"), ("yu", "ju"), ("ye", "je"), ("iy", "ij"), ("y", "j"), ("ts", "c"),
           ("v", "w"), ("vich", "wicz")]  # fmt: skip
_PLAIN = [("kh", "h"), ("iy", "y"), ("yevich", "evich"), ("ye", "e"), ("vich", "vitch"),
          ("y", "i"), ("ts", "tz")]  # fmt: skip
_SLAVIC = r"(?i)[a-z]{3}(ov|ev|in|yn|sky|skiy|enko|vich|vna|ova|eva|ina)\b"


def slavic(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """Russian, Ukrainian and Belarusian names as the lists write them, re-romanised."""
    people = lists.people().filter(
        pl.col("name").str.contains(r"^[A-Za-z ,'-]+$"), pl.col("tokens").list.len() >= 2
    )
    people = people.filter(pl.col("name").str.contains(_SLAVIC))
    out = []
    for row in _sample(people, 4000, rng).iter_rows(named=True):
        rules = [_GERMAN, _POLISH, _PLAIN][int(rng.integers(0, 3))]
        table = dict(rules)
        pattern = re.compile("|".join(sorted(table, key=len, reverse=True)))
        words = [
            anyascii(pattern.sub(lambda m, t=table: t[m[0]], word.lower())).capitalize()
            for word in _words(row["name"])
        ]
        varied = " ".join(words)
        if varied.lower() != row["name"].lower().replace(",", ""):
            out.append(Query(varied, row["entity_id"]))
    return out


# --- 7: fuzzy search -------------------------------------------------------------------------


def fuzzy_deletions(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """search_type "fuzzy": one letter deleted inside one word of the name."""
    names = lists.names.filter(
        pl.col("name").str.contains(r"^[A-Za-z ,.'-]+$"), pl.col("tokens").list.len() >= 2
    )
    out = []
    for row in _sample(names, 4000, rng).iter_rows(named=True):
        words = _words(row["name"])
        long = [i for i, w in enumerate(words) if len(w) >= 4]
        if not long:
            continue
        i = long[int(rng.integers(0, len(long)))]
        words[i] = typo(words[i], rng, "d")
        out.append(Query(" ".join(words), row["entity_id"], search_type="fuzzy"))
    return out


# --- 8: near misses that must not alert --------------------------------------------------------


def other_company_word(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A company name whose distinctive word (its rarest word that is no generic company
    word or legal form) is replaced by another word of the lists one letter apart that
    sounds otherwise (Mining / Dining, Rail / Mail). Not another spelling of the same word
    ("Technology" / "Tekhnology", "National" / "Nacional", "Open" / "Oben": the same
    phonetic key), and not a generic word ("Ogranichennoi" / "Ogranichennoj"): those are
    the same company written otherwise, not another one."""
    generic = set(LEGAL_FORM_TOKENS) | set(GENERIC_TOKENS)
    vocab = set(lists.names["tokens"].explode().drop_nulls().to_list())
    by_shape: dict[str, list[str]] = {}
    for word in vocab:
        if len(word) >= 4 and word.isalpha() and word not in generic:
            for i in range(len(word)):
                by_shape.setdefault(word[:i] + "_" + word[i + 1 :], []).append(word)
    companies = lists.companies().filter(
        pl.col("name").str.contains(r"^[A-Za-z ,.'&-]+$"), pl.col("tokens").list.len() >= 2
    )
    out = []
    for row in _sample(companies, 8000, rng).iter_rows(named=True):
        words = _words(row["name"])
        weight = dict(zip(row["tokens"], row["weights"], strict=True))
        lowered = [w.lower().strip(".,") for w in words]
        distinctive = sorted(
            (i for i, w in enumerate(lowered) if len(w) >= 4 and w not in generic and w in weight),
            key=lambda i: -weight[lowered[i]],
        )
        if not distinctive:
            continue
        i = distinctive[0]
        w = lowered[i]
        others = sorted(
            o
            for k in range(len(w))
            for o in by_shape.get(w[:k] + "_" + w[k + 1 :], [])
            if o != w and phonetic_key(o) != phonetic_key(w)
        )
        if others:
            words[i] = others[0].upper()
            out.append(Query(" ".join(words), row["entity_id"]))
    return out


def other_number(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A name with a number (vessels, special-purpose companies) and another number."""
    numbered = lists.names.filter(pl.col("name").str.contains(r"\b\d{1,3}\b"))
    out = []
    for row in _sample(numbered, 3000, rng).iter_rows(named=True):
        number = re.search(r"\b(\d{1,3})\b", row["name"])
        other = str((int(number[1]) + int(rng.integers(1, 9))) % 1000)
        out.append(Query(row["name"][: number.start()] + other + row["name"][number.end() :],
                         row["entity_id"]))  # fmt: skip
    return out


def one_word_company(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A query of one word and a legal form ("Green LLC") against a listed company name of
    that word and others ("GREEN SHIPPING LTD.")."""
    companies = lists.companies().filter(
        pl.col("name").str.contains(r"^[A-Za-z ,.'&-]+$"),
        pl.col("tokens").list.len() >= 3,
    )
    whole = set(lists.names["tokens"].list.join(" ").to_list())
    out = []
    for row in _sample(companies, 3000, rng).iter_rows(named=True):
        word = next((w for w in row["tokens"] if len(w) >= 4 and w not in LEGAL_FORM_TOKENS), None)
        if word is None or word in whole or f"{word} llc" in whole:
            continue
        out.append(Query(f"{word.title()} LLC", row["entity_id"]))
    return out


def far_longer_query(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A query of many repeated letters or words against a listed name far shorter."""
    short = lists.names.filter(pl.col("name").str.len_chars().is_between(2, 4))
    out = []
    for row in _sample(short, 1000, rng).iter_rows(named=True):
        letters = re.sub(r"[^A-Za-z]", "", row["name"])
        if not letters:
            continue
        repeat = int(rng.integers(20, 400))
        out.append(Query(letters[0] * repeat, row["entity_id"]))
    return out


def contradicted_common_name(lists: Lists, rng: np.random.Generator) -> list[Query]:
    """A listed person whose name is made of common parts (each in 20+ list names), queried
    with another full birth date and another nationality."""
    entries = lists.entries.filter(
        pl.col("birth_dates").list.eval(pl.element().str.len_chars() == 10).list.any(),
        pl.col("nationalities").list.len() > 0,
    )
    people = (
        lists.people()
        .join(entries, on="entity_id")
        .filter(pl.col("weights").list.max() < 0.75, pl.col("tokens").list.len() >= 2)
    )
    out = []
    for row in _sample(people, 3000, rng).iter_rows(named=True):
        date = next(d for d in row["birth_dates"] if len(d) == 10)
        other = f"{int(date[:4]) + int(rng.integers(8, 25))}{date[4:]}"
        nationality = "IS" if "IS" not in row["nationalities"] else "NZ"
        out.append(Query(row["name"], row["entity_id"], birth_date=other,
                         nationality=nationality))  # fmt: skip
    return out


KINDS: dict[str, tuple[str, Generator]] = {
    "1 given-name typo, rare family name": ("recall", given_name_typos),
    "1 two typing errors": ("recall", two_typos),
    "2 Korean romanisation / Hangul": ("recall", korean),
    "2 Chinese Hanzi / Wade-Giles": ("recall", chinese),
    "3 own script, list in Latin only": ("recall", own_script),
    "4 space removed or added": ("recall", spaces),
    "5 company words abbreviated": ("recall", abbreviations),
    "6 Slavic romanisation": ("recall", slavic),
    "7 fuzzy search, one deletion": ("recall", fuzzy_deletions),
    "8a another company word": ("false alerts", other_company_word),
    "8b another number": ("false alerts", other_number),
    "8c one-word company query": ("false alerts", one_word_company),
    "8d query far longer than the name": ("false alerts", far_longer_query),
    "8e common name, DOB and nationality contradict": ("false alerts", contradicted_common_name),
}


def lists_of(index) -> Lists:
    weights = dict(index.token_weights.iter_rows())
    names = (
        index.names.filter(~pl.col("transliterated"))
        .select("entity_id", "name", "tokens")
        .join(index.entries.select("entity_id", "entity_type"), on="entity_id")
        .with_columns(
            pl.col("tokens")
            .map_elements(lambda ts: [weights.get(t, 1.0) for t in ts],
                          return_dtype=pl.List(pl.Float64))
            .alias("weights")
        )
        .sort("entity_id", "name")
    )  # fmt: skip
    # People only: a company's Latin name is often a translation, not a spelling.
    original = index.names.filter(pl.col("transliterated")).select("entity_id", "name")
    holders = original.group_by("name").agg(pl.col("entity_id").unique().sort().alias("holders"))
    people = index.entries.filter(pl.col("entity_type") == "individual").select("entity_id")
    original = original.join(people, on="entity_id")
    # An original-script name can be found only if its entry has a Latin name too.
    original = (
        original.filter(~pl.col("name").str.contains(r"[A-Za-z]"))
        .join(names.select("entity_id").unique(), on="entity_id")
        .join(holders, on="name")
        .sort("name")
    )
    entries = index.entries.select("entity_id", "birth_dates", "nationalities", "entity_type")
    return Lists(names=names, entries=entries, original=original)


def latin_only(watchlist) -> object:
    """The watchlist without its names in another script than Latin."""
    names = watchlist.names.filter(pl.col("name").str.contains(r"^[\p{Latin}\P{L}]*$"))
    return replace(watchlist, names=names)


def generate(lists: Lists, per_kind: int, seed: int = 11) -> dict[str, list[Query]]:
    """Each kind's queries, at most per_kind, the same for a given seed and lists."""
    sets = {}
    for k, (label, (_, generator)) in enumerate(KINDS.items()):
        queries = generator(lists, np.random.default_rng(seed + k))
        rng = np.random.default_rng(seed + 100 + k)
        if len(queries) > per_kind:
            queries = [
                queries[i] for i in sorted(rng.choice(len(queries), per_kind, replace=False))
            ]
        sets[label] = queries
    return sets


def as_frame(queries: list[Query]) -> pl.DataFrame:
    """The queries as screen() takes them, a row each (numbered from 0)."""
    return pl.DataFrame(
        {
            "row": list(range(len(queries))),
            "full_name": [q.full_name for q in queries],
            "search_type": [q.search_type for q in queries],
            "birth_date": [q.birth_date for q in queries],
            "nationality": [q.nationality for q in queries],
        },
        schema={"row": pl.Int64, "full_name": pl.Utf8, "search_type": pl.Utf8,
                "birth_date": pl.Utf8, "nationality": pl.Utf8},
    )  # fmt: skip


def found(queries: list[Query], index, threshold: float) -> list[bool]:
    """Per query: is its entry reported at the threshold?"""
    result = screen(as_frame(queries), index, threshold=threshold, max_matches=50)
    ids = result["matches"].list.eval(pl.element().struct.field("entity_id")).to_list()
    return [
        q.entity_id in got or not got.isdisjoint(q.also)
        for q, got in zip(queries, map(set, ids), strict=True)
    ]


def measure(
    sets: dict[str, list[Query]], indexes: dict[str, object], threshold: float
) -> pl.DataFrame:
    rows = []
    for label, queries in sets.items():
        hits: list[bool] = [False] * len(queries)
        for name, index in indexes.items():
            at = [i for i, q in enumerate(queries) if q.index == name]
            for i, hit in zip(at, found([queries[i] for i in at], index, threshold), strict=True):
                hits[i] = hit
        measure_kind = KINDS[label][0]
        share = sum(hits) / max(len(hits), 1)
        missed = [q.full_name for q, hit in zip(queries, hits, strict=True)
                  if hit == (measure_kind == "false alerts")][:14]  # fmt: skip
        rows.append((label, measure_kind, len(queries), share, missed))
    return pl.DataFrame(
        rows, schema=["kind", "measure", "queries", "share", "examples"], orient="row"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--per-kind", type=int, default=400)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--examples", action="store_true", help="print missed queries")
    args = parser.parse_args()
    watchlist = open_watchlist(args.store)
    index = build_index(watchlist)
    sets = generate(lists_of(index), args.per_kind)
    indexes = {"all": index, "latin": build_index(latin_only(watchlist))}
    table = measure(sets, indexes, args.threshold)
    with pl.Config(tbl_rows=30, fmt_str_lengths=60, tbl_hide_dataframe_shape=True,
                   float_precision=3, tbl_width_chars=120):  # fmt: skip
        print(table.drop("examples"))
    if args.examples:
        for kind, examples in table.select("kind", "examples").iter_rows():
            print(kind, examples)


if __name__ == "__main__":
    main()
