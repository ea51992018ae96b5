"""Names to comparable tokens, once per distinct string.

    "PUTIN, Vladimir Vladimirovich"  -> ["putin", "vladimir", "vladimirovich"]
    "ООО «Газпром нефть»"            -> ["llc", "gazprom", "neft"]
    "فلاديمير بوتين"                  -> ["fladimir", "butin"]

Steps, all whole-column Polars expressions except transliteration (Python, only for the
distinct non-ASCII names): cut to MAX_NAME_CHARS; split camelCase ("VladimirPutin");
transliterate (an Arabic-script table that keeps long vowels, then anyascii for every other
script and for diacritics); lower-case; "&" -> "and"; drop apostrophes; punctuation -> space;
multi-word legal forms -> one canonical token; then per token: frequent variants to one form
(Mohammed -> muhammad, ibn -> bin, Yevgeny and Evgeniy stay for the phonetic key), titles
and honorifics dropped, "Abdulrahman" -> "abdul rahman"; tokens de-duplicated in order.
Token order is kept but never relied on: scoring aligns parts, so "LAST, First" needs
no reordering.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import jellyfish
import numpy as np
import polars as pl
import pycountry
import regex
from anyascii import anyascii
from nicknames import NickNamer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matching import config

# --- Transliteration ----------------------------------------------------------------------

# Arabic script written letter by letter drops the short vowels anyway; what a generic
# folding also loses is the long vowels (waw, yeh, alef), which it renders as "w"/"y".
# This table writes them as vowels (except at the start of a word), so
# "فلاديمير" reads "fladimir" rather than "fldymyr". Persian and Urdu letters included.
_ARABIC = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ب": "b", "ت": "t", "ث": "th",
    "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z", "س": "s",
    "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "ع": "", "غ": "gh", "ف": "f",
    "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "ة": "a", "ى": "a",
    "ء": "", "ئ": "i", "ؤ": "u", "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g", "ک": "k",
    "ٹ": "t", "ڈ": "d", "ڑ": "r", "ں": "n", "ے": "e", "ہ": "h", "ھ": "h", "ۀ": "h",
    "ځ": "z", "څ": "s",
}  # fmt: skip
# (Pashto's dze and tse as the lists write them: "ځدران" Zadran.)
_ARABIC_WAW = "و"
_ARABIC_ALEFS = frozenset("اآأإٱ")
# Persian reads four Arabic letters as z and two as s ("رضا" Reza, "فاضل" Fazel, "ذاکر"
# Zaker, "ثروت" Sarvat): a word with a letter only Persian writes (پ چ ژ گ ک ی) is read so.
_PERSIAN_LETTERS = frozenset("پچژگکی")
_PERSIAN_SOUNDS = {"ض": "z", "ذ": "z", "ظ": "z", "ث": "s"}
# ... and so does every word of a name that has such a letter somewhere: "رضا خاکی" is
# Reza Khaki, "غلامرضا ضیایی" Gholamreza Ziayi, though "رضا" alone writes no Persian letter.
# Before the name is split into words, those four letters are written ز and س.
_PERSIAN_NAME = "[پچژگکی]"
_PERSIAN_AS_WRITTEN = {"ض": "ز", "ذ": "ز", "ظ": "ز", "ث": "س"}
_PERSIAN_TABLE = str.maketrans(_PERSIAN_AS_WRITTEN)
_ARABIC_AIN = "ع"
_ARABIC_YEH = "يی"
_ARABIC_LETTERS = re.compile(r"[\u0600-\u06FF]+")
_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640]")  # harakat, tatweel


# Whole words whose letters alone read badly: "son of", "servant of".
_ARABIC_WORDS = {
    "بن": "bin", "ابن": "bin", "بنت": "bint", "عبد": "abd", "ابو": "abu", "أبو": "abu",
    "الله": "allah", "اللہ": "allah", "ولد": "ould",
}  # fmt: skip
# "Allah" and "al-Din" after a name make one name with it, as the lists mostly write them:
# "نجيب الله" Najibullah, "عبد الله" Abdullah, "جلال الدين" Jalaluddin, "نور الدين"
# Nooruddin (148 list tokens end in "uddin", 130 names write "al din" or "ud din" apart).
# The two words are joined before the text is split into words (_COMPOUND_JOINED), and the
# joined word, or one the query wrote joined ("نورالدین"), read "...ullah", "...uddin".
_COMPOUND_ENDINGS = {"الله": "ullah", "اللہ": "ullah", "الدين": "uddin", "الدین": "uddin"}
# Persian family names end in "زاده" (-zadeh, "son of") and "پور" (-pour), which the lists
# write joined ("Hassanzadeh", "Zarepour", "Vahabzadeh") and Persian often apart ("حسن
# زاده"): joined the same way. (Urdu writes Allah with its own heh, "اللہ".)
_COMPOUND_JOINED = (r"(\p{Arabic}) (الله|اللہ|الدين|الدین|زاده|پور)\b", "$1$2")


# An ain second in a word, after a consonant, carries the vowel a that the lists write
# there ("سعيد" said / Saeed, "سعود" Saud, "جعفر" Jafar, "شعبان" Shaban, "سعد" Saad).
# Before an alef it is silent ("معاذ" Muadh): the alef is the vowel. Further inside a word
# the vowel may come before it ("مسعود" Masood): left to the vowel-blind rules.
_AIN_SILENT_AFTER = _ARABIC_ALEFS | {_ARABIC_WAW, *_ARABIC_YEH, "ى", "ء", "ئ", "ؤ"}


def _ain_voiced(word: str, at: int) -> bool:
    """Is the ain at this position of the word read as the vowel a?"""
    return (
        at == 1
        and word[0] not in _AIN_SILENT_AFTER
        and word[2:3] not in _ARABIC_ALEFS
        and len(word) > 2
    )


# A name element written joined to the name it begins, read as two words, as the lists
# write them ("أبوغيث" Abu Ghaith; Persian "محمدعلی" Mohammad Ali, "محمدحسین" Mohammad
# Hossein): not before an ending ("محمدی" Mohammadi, "محمدیان", "محمدزاده") or Allah
# ("محمدالله" Mohammadullah: _COMPOUND_ENDINGS), nor before a rest of two letters; nor Abu
# before the article or in a Persian word, compounds the lists write as one ("ابوالقاسم"
# Abolghasem, "ابوطالبی" Abutalebi). ("عبدال..." is left to the Latin rule, _JOINED_PREFIX,
# which splits "abdal" from a name of four letters or more: "عبدالعلی" read "abdul ali"
# made "محمد عبدالعلی" a Faker false alert of "ABDUL RAHIM, Ali Mohamad".)
_JOINED_ELEMENTS = {"ابو": "abu", "أبو": "abu", "محمد": "محمد"}
_NAME_ENDINGS = frozenset({"يان", "یان", "زاده", "پور"})
_MIN_JOINED_REST = 3


def _joined_element(word: str) -> tuple[str, str] | None:
    """(element's reading, the rest) where the word is a name element joined to a name."""
    for element, reading in _JOINED_ELEMENTS.items():
        rest = word[len(element) :]
        if not word.startswith(element) or len(rest) < _MIN_JOINED_REST:
            continue
        if rest in _NAME_ENDINGS or rest in _COMPOUND_ENDINGS:
            continue
        if reading == "abu" and (rest.startswith("ال") or not _PERSIAN_LETTERS.isdisjoint(word)):
            continue
        return _arabic_name(reading) if reading == element else reading, rest
    return None


def _arabic_word(word: str) -> str:
    # The article, written joined, once: what follows it is the name, even where the name
    # itself begins with alef-lam ("الالفي" al-Alfi, "الالوسي" al-Alusi).
    if word.startswith("ال") and len(word) > 3 and word not in _ARABIC_WORDS:
        return "al " + _arabic_name(word[2:])
    joined = _joined_element(word)
    if joined is not None:
        return joined[0] + " " + _arabic_word(joined[1])
    return _arabic_name(word)


def _arabic_name(word: str) -> str:
    if word in _ARABIC_WORDS:
        return _ARABIC_WORDS[word]
    for ending, reading in _COMPOUND_ENDINGS.items():
        if word.endswith(ending) and len(word) > len(ending):
            return _arabic_name(word[: -len(ending)]) + reading
    persian = not _PERSIAN_LETTERS.isdisjoint(word)
    out = []
    for i, char in enumerate(word):
        # Waw and yeh are consonants first in a word and beside an alef ("نايف" Nayef,
        # "سبعاوي" Sabawi, "نواف" Nawaf), vowels elsewhere ("محمود" Mahmud, "علي" Ali).
        before, after = word[i - 1 : i] if i else "", word[i + 1 : i + 2]
        beside_alef = before in _ARABIC_ALEFS or after in _ARABIC_ALEFS
        if i == 0 and char == _ARABIC_AIN:  # a vowel at the start: "علي" Ali, "عمر" Umar
            out.append("a")
        elif i == 1 and word[0] == _ARABIC_AIN and char in _ARABIC_ALEFS:
            continue  # ... long after an alef, one vowel still: "عادل" Adel, "عامر" Amer
        elif char == _ARABIC_AIN and _ain_voiced(word, i):
            out.append("a")
        elif char == _ARABIC_WAW:
            out.append("w" if i == 0 or beside_alef else "u")
        elif char in _ARABIC_YEH:
            out.append("y" if i == 0 or beside_alef else "i")
        elif persian and char in _PERSIAN_SOUNDS:
            out.append(_PERSIAN_SOUNDS[char])
        else:
            out.append(_ARABIC.get(char, char))
    return "".join(out)


def _arabic(text: str) -> str:
    text = _ARABIC_MARKS.sub("", text)
    return _ARABIC_LETTERS.sub(lambda m: " ".join(map(_arabic_word, m.group().split())), text)


# Hebrew is written without most vowels too; vav and yod inside a word are mostly the
# vowels u/o and i ("פוטין" Putin), doubled or first the consonants v and y.
_HEBREW_LETTERS = re.compile(r"[\u05D0-\u05EA]+")
_HEBREW_MATRES = [("וו", "v"), ("יי", "y")]


def _hebrew_word(word: str) -> str:
    for old, new in _HEBREW_MATRES:
        word = word.replace(old, new)
    first = "p" if word.startswith("פ") else word[:1]  # pe starts a word as p, not f
    return first + word[1:].replace("ו", "u").replace("י", "i")


# Modern Greek writes the b, d, g of foreign names as μπ, ντ, γκ: at the start of a word
# and after a consonant ("Ντόναλντ" Donald) they are b, d, g, after a vowel mb, nd, ng as
# ELOT 743 romanises them ("Βλαντίμιρ" Vlandimir, one letter from Vladimir, not two); u
# is ου ("Πούτιν" Putin).
# A letter-by-letter folding misses them all.
_GREEK_START = re.compile(r"(?<![αεηιουωάέήίόύώϊϋΐΰ])(μπ|ντ|γκ)", re.IGNORECASE)
_GREEK_INSIDE = re.compile(r"(μπ|ντ|γκ|γγ)", re.IGNORECASE)
_GREEK_U = re.compile(r"ο[υύ]", re.IGNORECASE)
_GREEK_STOPS = {"μπ": "b", "ντ": "d", "γκ": "g"}
_GREEK_CLUSTERS = {"μπ": "mb", "ντ": "nd", "γκ": "ng", "γγ": "ng"}


def _greek(text: str) -> str:
    text = _GREEK_START.sub(lambda m: _GREEK_STOPS[m[1].lower()], text)
    text = _GREEK_INSIDE.sub(lambda m: _GREEK_CLUSTERS[m[1].lower()], text)
    return _GREEK_U.sub("u", text)


# Cyrillic as the lists romanise it (BGN/PCGN and the national systems), where a letter
# by letter folding reads every language as Russian:
# - е and ё at the start of a word or after a vowel or a soft or hard sign are ye, yo
#   ("Егор" Yegor, "Алексеев" Alekseyev, "Рунье" Runye), but in Ukrainian and Serbian
#   words, which write that sound with a letter of its own (є, је);
# - a word with a letter only Belarusian or Ukrainian writes (і ї є ґ ў) reads г as h
#   ("Гайдукевіч" Haidukevich, "Григорій" Hryhoriy), и as y, ї as yi, є as ye;
# - a word with a letter only Serbian or Macedonian writes (ђ ћ џ љ њ ј) is written as
#   Serbian Latin spells it, without its marks ("Љубиша" Ljubisa, "Ђорђе" Djordje).
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04FF\u0300-\u036F]+")
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяіїєўьъ")
_CYRILLIC_IOTATED = {"е": "ye", "ё": "yo"}
_EAST_SLAVIC = frozenset("іїєґў")
_UKRAINIAN = frozenset("їєґ")
_EAST_SLAVIC_LETTERS = {"г": "h", "ґ": "g", "и": "y", "ї": "yi", "є": "ye", "і": "i", "ў": "u"}
# ... and so does every word of a name that has one such letter somewhere ("Алег" in
# "Гайдукевіч Алег Сяргеевіч" is Aleh): before the name is split into words, its г is
# written һ (read h) and its и, which Belarusian never writes, ы (read y).
_EAST_SLAVIC_NAME = "[іїєґўІЇЄҐЎ]"
_EAST_SLAVIC_ANY_CASE = frozenset("іїєґўІЇЄҐЎ")
_EAST_SLAVIC_SOUNDS = {"г": "һ", "Г": "Һ", "и": "ы", "И": "Ы"}
_EAST_SLAVIC_TABLE = str.maketrans(_EAST_SLAVIC_SOUNDS)
_SERBIAN = frozenset("ђћџљњј")
_SERBIAN_LETTERS = {
    "ш": "s", "ж": "z", "ч": "c", "ћ": "c", "ђ": "dj", "џ": "dz", "љ": "lj", "њ": "nj",
    "ј": "j", "х": "h", "ц": "c",
}  # fmt: skip


def _cyrillic_word(match: re.Match[str]) -> str:
    word = unicodedata.normalize("NFC", match.group().lower())
    word = "".join(char for char in word if not unicodedata.combining(char))  # stress marks
    letters = (
        _EAST_SLAVIC_LETTERS
        if not _EAST_SLAVIC.isdisjoint(word)
        else _SERBIAN_LETTERS
        if not _SERBIAN.isdisjoint(word)
        else {}
    )
    # Ukrainian (ї є ґ) and Serbian write ye with a letter of its own: their е is e.
    iotated = letters is not _SERBIAN_LETTERS and _UKRAINIAN.isdisjoint(word)
    out = []
    for i, char in enumerate(word):
        after_vowel = i == 0 or word[i - 1] in _CYRILLIC_VOWELS
        if char in _CYRILLIC_IOTATED and after_vowel and iotated:
            out.append(_CYRILLIC_IOTATED[char])
        else:
            out.append(letters.get(char, char))
    return "".join(out)


# Korean writes a foreign consonant cluster with the empty vowel ㅡ ("블라디미르"
# Beul-la-di-mi-reu for Vladimir): a syllable of ㅡ with no final (or a final ㄹ before
# ㄹ, which the next syllable writes) is the consonant alone, ㄹ as r. Native Korean names
# rarely hold such syllables.
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_HANGUL_EU, _HANGUL_RIEUL_FINAL, _HANGUL_RIEUL_INITIAL = 18, 8, 5


def _hangul(word: str) -> str:
    out = []
    for i, char in enumerate(word):
        code = ord(char) - _HANGUL_FIRST
        if not 0 <= code <= _HANGUL_LAST - _HANGUL_FIRST or (code % 588) // 28 != _HANGUL_EU:
            out.append(char)
            continue
        final = code % 28
        after = ord(word[i + 1]) - _HANGUL_FIRST if i + 1 < len(word) else -1
        cluster = (
            final == _HANGUL_RIEUL_FINAL
            and 0 <= after <= _HANGUL_LAST - _HANGUL_FIRST
            and after // 588 == _HANGUL_RIEUL_INITIAL
        )
        if final == 0 or cluster:
            initial = code // 588
            consonant = anyascii(chr(_HANGUL_FIRST + code - final))[: -len("eu")]
            out.append("r" if initial == _HANGUL_RIEUL_INITIAL else consonant)
        else:
            out.append(char)
    return "".join(out)


_HANGUL_SYLLABLES = re.compile(r"[\uAC00-\uD7A3]+")
_GREEK_LETTERS = re.compile(r"[\u0370-\u03FF\u1F00-\u1FFF]")
_CYRILLIC_LETTERS = re.compile(r"[\u0400-\u04FF]")
_SPELLED_SYMBOL = re.compile(r":[a-z0-9_+-]+:")


@lru_cache(maxsize=200_000)
def transliterate(text: str) -> str:
    """Any script to ASCII, per string (cached): Arabic-script table, then anyascii.

    anyascii covers Cyrillic, Greek, Hebrew, Han, kana, Hangul, Georgian, Armenian, Indic
    scripts and Latin diacritics; Hangul comes out in CamelCase syllables, which the
    lower-casing that follows folds away. Word separators of CJK text become spaces.
    """
    text = unicodedata.normalize("NFKC", text)
    if _ARABIC_LETTERS.search(text):
        text = _arabic(text)
    if _HEBREW_LETTERS.search(text):
        text = _HEBREW_LETTERS.sub(lambda m: _hebrew_word(m.group()), text)
    if _GREEK_LETTERS.search(text):
        text = _greek(text)
    if _CYRILLIC_LETTERS.search(text):
        text = _CYRILLIC_WORD.sub(_cyrillic_word, text)
    if _HANGUL_SYLLABLES.search(text):
        text = _HANGUL_SYLLABLES.sub(lambda m: _hangul(m.group()), text)
    text = re.sub(r"[・·•‧]", " ", text)
    # Emoji and other symbols carry no name: anyascii spells them out (":grinning:").
    return _SPELLED_SYMBOL.sub(" ", anyascii(text))


def _read_whole_name(names: pl.Series, marker: str, letters: dict[str, str]) -> pl.Series:
    """names with these letters replaced in every word of the names where one word has
    a letter of marker's (a whole name read in one language: East Slavic, Persian)."""
    replaced = names.str.replace_many(list(letters), list(letters.values()))
    return pl.select(
        pl.when(names.str.contains(marker)).then(replaced).otherwise(names)
    ).to_series()


def _transliterate_column(names: pl.Series) -> pl.Series:
    """Transliterate the non-ASCII values of a column, word by word: a book repeats its
    given names and surnames far more than whole names, and each distinct word is
    transliterated once (cached across calls)."""
    distinct = names.unique().drop_nulls()
    foreign = distinct.filter(~distinct.str.contains(_ASCII_ONLY))
    if foreign.is_empty():
        return names
    joined = foreign.str.replace_all(*_COMPOUND_JOINED)
    joined = _read_whole_name(joined, _EAST_SLAVIC_NAME, _EAST_SLAVIC_SOUNDS)
    joined = _read_whole_name(joined, _PERSIAN_NAME, _PERSIAN_AS_WRITTEN)
    words = joined.str.split(" ").explode().unique().drop_nulls()
    words = words.filter(~words.str.contains(_ASCII_ONLY))
    ascii_words = pl.Series([transliterate(w) for w in words.to_list()], dtype=pl.Utf8)
    ascii_names = (
        joined.str.split(" ").list.eval(pl.element().replace(words, ascii_words)).list.join(" ")
    )
    return names.replace(foreign, ascii_names)


# --- Canonical forms ----------------------------------------------------------------------

# Legal forms across languages, to one canonical token per kind. Multi-word forms are
# regular expressions over the lower-cased, punctuation-free string (transliterated
# Russian endings vary: ogranichennoy / ogranichennoi); single tokens per token.
_LEGAL_PHRASES = {
    "llc": [
        "limited liability company", "limited liability partnership", "private limited company",
        "obshchestvo s ogranichenn[a-z]* otvetstvennost[a-z]*",
        "tovarystvo z obmezhenoyu vidpovidalnistyu", "sp z o o", "sp z oo", "sp zoo", "s de rl",
        "s r l", "s a r l", "l l c", "societe a responsabilite limitee",
        "gesellschaft mit beschrankter haftung", "sociedad de responsabilidad limitada",
        "societatea cu raspundere limitata", "spolka z ograniczona odpowiedzialnoscia",
        "societa a responsabilita limitata", "besloten vennootschap", "cong ty tnhh",
        "cong ty trach nhiem huu han", "sendirian berhad", "sdn bhd", "private limited",
        "pvt ltd", "korlatolt felelossegu tarsasag",
    ],
    "jsc": [
        "public joint stock company", "closed joint stock company", "open joint stock company",
        "joint stock company", "(?:publichnoe |zakrytoe |otkrytoe )?aktsionern[a-z]* obshchestv[a-z]*",
        "societe anonyme",
        "sociedad anonima", "public limited company", "aktiengesellschaft", "societa per azioni",
        "naamloze vennootschap", "societe par actions simplifiee", "s p a", "cong ty co phan",
    ],
    "corp": ["incorporated", "corporation"],
    "co": ["cong ty hop danh", "commanditaire vennootschap"],
}  # fmt: skip
_LEGAL_TOKENS = {
    "llc": "llc ltd limited ooo gmbh sarl srl bv tov llp lp pte pty kft sro doo zoo mchj sas",
    "jsc": "jsc pjsc ojsc cjsc oao zao pao ao ag sa spa nv ab as plc oyj asa kk tk",
    "corp": "inc corp",
    "co": "co company cia compania companie kompaniya firma cv",
}
LEGAL_FORMS = frozenset(_LEGAL_TOKENS)  # the canonical forms: llc, jsc, corp, co
LEGAL_PHRASES = _LEGAL_PHRASES
LEGAL_FORM_TOKENS: dict[str, str] = {
    token: canonical for canonical, tokens in _LEGAL_TOKENS.items() for token in tokens.split()
}
# The long words of legal forms: one letter off ("Aktiengeselschaft", "Joint Stock Compan"
# cut by a field length) is still the legal form. Long only: a short word one letter off
# is often another word, and so are the ordinary words of a phrase ("Action Aid").
LEGAL_TYPO_TARGETS: tuple[str, ...] = tuple(
    sorted(
        (
            {
                word
                for phrases in _LEGAL_PHRASES.values()
                for phrase in phrases
                for word in phrase.split()
                if word.isalpha() and len(word) > config.MIN_LEGAL_TYPO_LEN
            }
            | {token for token in LEGAL_FORM_TOKENS if len(token) > config.MIN_LEGAL_TYPO_LEN}
        )
        - {"actions", "private"}
    )
)


# The words of the legal phrases ("joint", "stock", "company", "liability"): inside a whole
# legal phrase, one of them one letter off ("Joynt Stock Company", "Closed Joint Stok
# Company") is still the phrase, as the rest of the phrase says what it is. Only a
# correction the phrase then takes in is kept: "Oven" is no "open" outside "open joint
# stock company".
LEGAL_PHRASE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {
            word
            for phrases in _LEGAL_PHRASES.values()
            for phrase in phrases
            if " " in phrase
            for word in phrase.split()
            if re.fullmatch(r"[a-z]+", word) and len(word) >= config.MIN_LEGAL_PHRASE_TYPO_LEN
        }
        # The usual spellings of the words the phrases give as a stem and any ending
        # ("aktsionern[a-z]*"): a typo is spelt as one of them, and the phrase takes it in.
        | {"aktsionernoe", "ogranichennoi", "ogranichennoy", "otvetstvennostyu"}
    )
)


def _words(text: str) -> list[str]:
    return text.split()


# Titles, honorifics and the article "the": never what tells two parties apart. Dropped.
TITLES = frozenset(
    _words(
        """mr mrs ms miss mister dr prof professor sir dame lord lady sheikh shaikh shaykh sayed
    sayyid hajji haji mullah maulana maulvi mawlawi imam hon honorable honourable excellency
    president presidente prezident prasident president predsjednik presedintele presiden
    prezydent elnok prezidente colonel capt captain lieutenant senator rev reverend
    monsieur madame mme mlle herr frau senor senora dona gospodin the"""
    )
)

# Particles of Arabic names: with the name they precede they make one name, not two.
NAME_PARTICLES = ["abdul", "abd", "al", "el", "bin", "ibn", "bint", "abu", "umm", "ould"]

# Generic words of company names: they rarely tell two parties apart, so they weigh little.
GENERIC_TOKENS = frozenset(
    _words(
        """and of the for de del la le des du di da y et und van von trading trade group holding
    holdings international intl industries industry industrial enterprise enterprises
    services service company co llc jsc corp bank limited general global national
    organization organisation management investment investments partners shipping logistics import export
    technologies technology tech solutions development"""
    )
)


def _country_words() -> frozenset[str]:
    """Country names of one word, folded to ASCII ("mexico", "chile", "sweden"), and the
    everyday short forms the ISO names lack: in a company name, a national branch."""
    names = {n for c in pycountry.countries for n in (c.name, getattr(c, "common_name", c.name))}
    words = {
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
        for name in names
    }
    return frozenset(w for w in words if w.isalpha()) | {"russia", "turkey", "korea", "usa", "uk"}


COUNTRY_TOKENS = _country_words()


# Frequent name parts written many ways: one canonical spelling each.
_VARIANTS = {
    "muhammad": "mohammed mohammad mohamed mohamad muhammed muhamad mohammod mohd muhamed "
    "mohamud mahomed mokhammed magomed mukhammad muhammet mehmet",
    "bin": "ibn ben bint",
    "abdul": "abd abdel abdal abdol abdoul abdull",
    "al": "el ul ur ad ar ash az",
    "hussein": "husain hussain husein hosein hossein hussien husayn hussayn husseyn hosseyn",
    "osama": "usama usamah",
    "omar": "umar omer",
    "yusuf": "yousef yusef youssef yousuf yosef yousif yussuf",
    "yahya": "yahia yehia yehya",
    "saeed": "said saeid sayeed saied",
    "abu": "abou",
    "and": "und et y",
    "international": "intl internationale internacional",
    "1": "one first 1st",
    "2": "two second ii 2nd",
    "3": "three third iii 3rd",
    "4": "four fourth iv 4th",
    "5": "five fifth 5th",
}
# East Slavic given names: the same name in its Ukrainian and Belarusian form is no other
# spelling of the Russian one ("Oleksandr", "Aliaksandr" / "Aleksandr"; "Ihar" / "Igor"),
# and a spelling rule for it (g / h) would join Latin names that differ ("Hill" / "Gill").
# Each common name's Russian forms (as the lists write them) and its Ukrainian and
# Belarusian forms (as normalisation transliterates them and as the lists spell them).
# They pair as nicknames do (NICKNAME_PAIRS), not as one canonical token: the lists' own
# spelling stays, so a query in another romanisation of it ("Wolodymyr") still finds it,
# and a common Russian name does not lend its low weight to the rarer forms.
_EAST_SLAVIC_NAMES = {
    "aleksandr alexander alexandr aleksander": (
        "oleksandr oleksander aliaksandr alyaksandr aliaksander"
    ),
    "aleksei alexei aleksey alexey": "oleksii oleksiy aliaksei alyaksey aliaksey",
    "andrei andrey": "andrii andriy",
    "vladimir": "volodymyr uladzimir uladzimer",
    "dmitri dmitry dmitriy dmitrii": "dmytro dmitro dzmitry dzmitryy dzmitri",
    "sergei sergey": "serhii serhiy siarhei syarhey siarhey",
    "igor": "ihor ihar",
    "oleg": "oleh aleh aleg",
    "nikolai nikolay": "mykola mikalai mikalay mykolai",
    "yuri yury yuriy": "yurii yuryy",
    "mikhail": "mykhailo mykhaylo mikhaylo mikhal",
    "yevgeni yevgeniy yevgeny evgeny evgeniy evgenii": (
        "yevhen yevhenii yevheniy ievgen yauhen yauheni yauheniy"
    ),
    "pyotr petr": "petro piotr pyatro",
    "vasili vasiliy vasily": "vasyl",
    "grigori grigoriy grigory": "hryhorii hryhoriy ryhor",
    "georgi georgiy georgy": "heorhii heorhiy",
    "konstantin": "kostiantyn kostyantyn kanstantsin",
    "pavel": "pavlo paval",
    "gennadi gennadiy gennady": "hennadii hennadiy henadz",
    "yelena elena": "olena",
    "tatiana tatyana": "tetiana tetyana tatsiana tatsyana tatstsyana",
    "irina": "iryna",
    "galina": "halyna",
}
# Their patronymics: the Russian (a son's) and the Ukrainian and Belarusian patronymic stems
# of the same name, which take -ych / -ich (a son) or -ivna / -auna / -euna (a daughter):
# "Dmytrovych", "Mikalaevich", "Uladzimiravich" / "Vladimirovich".
_EAST_SLAVIC_PATRONYMICS = {
    "aleksandrovich": "oleksandrov aliaksandrav alyaksandrav",
    "alekseevich alekseyevich": "oleksiiov oleksiyov aliakseev alyakseyev",
    "andreevich andreyevich": "andriiov andriyov",
    "vladimirovich": "volodymyrov uladzimirav",
    "dmitrievich dmitriyevich": "dmytrov dmitrov dzmitryev dzmitryyev dzmitriev",
    "sergeevich sergeyevich": "serhiiov serhiyov siarheev syarheyev siarheyev",
    "igorevich": "ihorov iharav",
    "olegovich": "olehov alehav alegav",
    "nikolaevich nikolayevich": "mykolaiov mykolayov mikalaev mikalayev",
    "yurievich yuryevich yuriyevich": "yuriiov yuriyov yuryev yuryyev",
    "mikhailovich": "mykhailov mykhaylov mikhailav mikhaylav",
    "yevgenievich yevgenyevich evgenievich evgenyevich": (
        "yevhenov yevheniiov yevheniyov yauhenav"
    ),
    "grigorievich grigoryevich": "hryhorov ryhoravich",
    "georgievich georgiyevich": "heorhiiov heorhiyov",
    "konstantinovich": "kostiantynov kostyantynov kanstantsinav",
    "anatolievich anatolyevich": "anatoliiov anatoliyov",
    "vitalievich vitalyevich": "vitaliiov vitaliyov",
    "gennadievich gennadyevich": "hennadiiov hennadiyov henadzev henadzyev",
    "vasilievich vasilyevich": "vasylov",
    "viktorovich": "viktarav",
    "ivanovich": "ivanav",
    "borisovich": "barysav",
    "leonidovich": "leanidav",
}


def _patronymic_forms(russian: str, stems: str) -> dict[str, str]:
    """The Russian patronymic forms (a son's, a daughter's) -> the other forms."""
    son, daughter = [], []
    for stem in stems.split():
        if stem.endswith("ich"):  # a form written whole, not a stem
            son.append(stem)
            continue
        son += [stem + "ych", stem + "ich"]
        name = stem[:-2]  # Ukrainian -ivna after a name's -i is -vna: "Serhiivna"
        ending = {"o": "ivna", "a": "auna", "e": "euna"}[stem[-2]]
        daughter.append(name + (ending[1:] if name.endswith("i") and ending == "ivna" else ending))
    daughters = " ".join(form[:-3] + "na" for form in russian.split())
    return {russian: " ".join(son), daughters: " ".join(daughter)}


def _east_slavic_pairs() -> frozenset[tuple[str, str]]:
    """(form, form) both ways for the forms of one name in two languages, or in two
    spellings outside Russian; Russian spellings of one another are left to the spelling
    rules ("Aleksandr" / "Alexander" is no nickname)."""
    groups = _EAST_SLAVIC_NAMES | {
        russian: others
        for names, stems in _EAST_SLAVIC_PATRONYMICS.items()
        for russian, others in _patronymic_forms(names, stems).items()
    }
    pairs = set()
    for russian, others in groups.items():
        for other in others.split():
            for form in (*russian.split(), *others.split()):
                if form != other:
                    pairs |= {(form, other), (other, form)}
    return frozenset(pairs)


EAST_SLAVIC_PAIRS = _east_slavic_pairs()


def _east_slavic_groups() -> dict[str, str]:
    """Each form of an East Slavic given name or patronymic -> its group's first Russian
    form: the blocking key (index.blocking_keys) that offers "Uladzimir" for "Vladimir",
    whose spellings share too little for any spelling key (scoring pairs them as
    EAST_SLAVIC_PAIRS)."""
    groups = _EAST_SLAVIC_NAMES | {
        russian: others
        for names, stems in _EAST_SLAVIC_PATRONYMICS.items()
        for russian, others in _patronymic_forms(names, stems).items()
    }
    return {
        form: russian.split()[0]
        for russian, others in groups.items()
        for form in (*russian.split(), *others.split())
    }


EAST_SLAVIC_GROUPS = _east_slavic_groups()

# The usual short forms of company words: "Delancourt Bros. Mfg." is "Delancourt Brothers
# Manufacturing", "Bco. Nac. de Cuba" the "Banco Nacional de Cuba".
_COMPANY_SHORT_FORMS = {
    "brothers": "bros",
    "manufacturing": "mfg mfrs",
    "services": "svcs svc srvcs",
    "management": "mgmt mgt",
    "associates": "assoc assocs",
    "engineering": "engg engr",
    "national": "natl",
    "nacional": "nac",
    "banco": "bco",
    "department": "dept",
    "industries": "inds",
    "commercial": "coml",
    "holdings": "hldgs",
    "group": "grp",
    "trading": "trdg",
    "shipping": "shpg",
    "construction": "constr",
    "equipment": "equip",
    "association": "assn",
    "university": "univ",
    "institute": "inst",
    "center": "ctr centre",
    "agency": "agcy",
    "chemical": "chem",
    "technology": "tech techno",
    "investment": "invest",
    "industria": "ind",
    "comercio": "com",
    "private": "pvt",
}
TOKEN_VARIANTS: dict[str, str] = {
    variant: canonical
    for canonical, variants in (_VARIANTS | _COMPANY_SHORT_FORMS).items()
    for variant in variants.split()
}
# A canonical name part and every spelling it stands for: a typo of one of the spellings
# ("Usamaa", "Usamo" for "Usama", which is written "osama") is compared with each of them.
SPELLINGS: dict[str, tuple[str, ...]] = {
    canonical: (canonical, *variants.split())
    for canonical, variants in _VARIANTS.items()
    if canonical.isalpha()
    and len(canonical) > 3
    and canonical not in GENERIC_TOKENS
    and canonical not in NAME_PARTICLES
}


def _nickname_pairs() -> frozenset[tuple[str, str]]:
    """(name, nickname) and (nickname, name) for English given names ("Theodore" / "Ted",
    "William" / "Bill"), from the curated `nicknames` dataset, in token form (so "Ben"
    is "bin", as normalisation spells it)."""
    pairs = set()
    for name, nicknames in NickNamer().nickname_lookup.items():
        for nickname in nicknames:
            a, b = TOKEN_VARIANTS.get(name, name), TOKEN_VARIANTS.get(nickname, nickname)
            if a != b and a.isalpha() and b.isalpha():
                pairs |= {(a, b), (b, a)}
    return frozenset(pairs)


NICKNAME_PAIRS = _nickname_pairs() | EAST_SLAVIC_PAIRS

# The tables as Series, built once (Polars would rebuild them from Python on every call).
_TITLES = pl.Series(sorted(TITLES), dtype=pl.Utf8)
GENERIC_SERIES = pl.Series(sorted(GENERIC_TOKENS), dtype=pl.Utf8)
_VARIANT_FROM = pl.Series(list(TOKEN_VARIANTS), dtype=pl.Utf8)
_VARIANT_TO = pl.Series(list(TOKEN_VARIANTS.values()), dtype=pl.Utf8)
_LEGAL_FROM = pl.Series(list(LEGAL_FORM_TOKENS), dtype=pl.Utf8)
_LEGAL_TYPO_SERIES = pl.Series(LEGAL_TYPO_TARGETS, dtype=pl.Utf8)
# The legal-form words that end a name on their own: two typing errors in one of them, as
# a name's last word, are still the legal form ("Sina Bank Compsanuy"). Not the words of
# other languages, which ordinary words lie two edits from ("companion", "soledad").
RETYPED_LEGAL_WORDS = ("company", "corporation", "incorporated", "limited")
_RETYPED_LEGAL_SERIES = pl.Series(RETYPED_LEGAL_WORDS, dtype=pl.Utf8)
_LEGAL_PHRASE_WORD_SERIES = pl.Series(LEGAL_PHRASE_WORDS, dtype=pl.Utf8)
_LEGAL_TO = pl.Series(list(LEGAL_FORM_TOKENS.values()), dtype=pl.Utf8)

# A name compounded with al-Din ("religion"), its article read el, ud or assimilated, apart,
# hyphenated or joined ("Nour Eddine", "Salahaldin", "Nasir Uddin", "Burhan ed-Din"), is one
# word ending in "uddin", as the lists mostly write it and as an Arabic-script name reads
# ("صلاح الدين" slahuddin): the spellings then meet as one word, whatever the query's
# script. Its first part of three letters or more ("Aladdin" stays). Not "X al Din" in
# three words: joined, its rare word made "Saif al-Din al-Rawi" the labelled near-duplicate
# "Saif al-Din Fulayyih Hassan Taha al-Rawi" (cases.csv).
_DIN_COMPOUND = re.compile(
    r"\b([a-z]{3,}) ?(?:(?:ud|ad|ed) din|uddin|aldin|eldin|uldin|addin|eddin|oddin|eddine"
    r"|uddeen|eddeen|aldeen|eldeen)\b"
)
_DIN_JOINED = (_DIN_COMPOUND.pattern, "${1}uddin")


def _din_joined_one(text: str) -> str:
    """_DIN_JOINED for one cleaned name."""
    return _DIN_COMPOUND.sub(r"\g<1>uddin", text) if "d" in text else text


# "Abdulrahman" -> "abdul rahman": the joined and split forms meet in the split form.
_JOINED_PREFIX = re.compile(r"^(abdul|abdel|abdal|abdol|abdoul|abdur|abdar)(\w{4,})$")


# --- The patterns of normalize_names --------------------------------------------------------

# Written once, in the Rust syntax Polars uses ("$1" groups, \p{..} classes, Unicode \b);
# normalize_one compiles the same strings with the `regex` package, which reads that syntax.
_CAMEL_CASE = (r"(\p{Ll}{2})(\p{Lu}\p{Ll})", "$1 $2")  # "VladimirPutin"
_CAPITALS_RUN = (r"\b(\p{Lu}\p{Ll}{2,})(\p{Lu}{2,})\b", "$1 $2")  # "SiemensAG"
# Dotted initialisms, longest first: "G.m.b.H." -> "GmbH ", "S.A.R.L." -> "SARL ", "B.V." -> "BV ".
_INITIALISMS = [
    (r"\b" + r"(\p{L})\." * count, "".join(f"${i}" for i in range(1, count + 1)) + " ")
    for count in (4, 3, 2)
]
_LATIN_ONLY = r"^[\p{Latin}\P{L}]*$"
_ASCII_ONLY = r"^[\x00-\x7F]*$"
_APOSTROPHES = r"['`´’‘ʼ]"
# Runs of what cannot make a name part: anything but letters (modifier letters such as the
# Arabic tatweel only stretch a word) and digits, in any script.
_NAME_CHARACTER = r"[\p{Lu}\p{Ll}\p{Lt}\p{Lo}\p{N}]"
_NOT_NAME_CHARACTERS = r"[^\p{Lu}\p{Ll}\p{Lt}\p{Lo}\p{N}]+"
_NOT_ALPHANUMERIC = r"[^a-z0-9]+"
# Inside a legal phrase, a word may be written in its usual short form ("Joint Stock Co.",
# "Ltd. Liability Co.") or cut short with a dot ("Obshch. s ogranichennoi otvet."): the
# whole phrase around it says it is the legal form, which a cut word alone never would.
_PHRASE_SHORT_FORMS = {"company": "co", "limited": "ltd"}
_CUT_PHRASE_WORD = re.compile(
    rf"(?<![\[a-z])([a-z]{{{config.MIN_CUT_LEGAL_WORD},}})((?:\[a-z\]\*)?)"
)


def _phrase_word_forms(match: re.Match[str]) -> str:
    """A word of a legal phrase (a regular expression) -> it, its short form, or the word
    cut after MIN_LEGAL_PREFIX_LEN letters or more."""
    word, ending = match[1], match[2]
    cuts = [word[:end] for end in range(len(word) - 1, config.MIN_LEGAL_PREFIX_LEN - 1, -1)]
    short = [_PHRASE_SHORT_FORMS[word]] if word in _PHRASE_SHORT_FORMS and not ending else []
    return "(?:" + "|".join([word + ending, *cuts, *short]) + ")"


def _phrase_pattern(phrase: str) -> str:
    return _CUT_PHRASE_WORD.sub(_phrase_word_forms, phrase)


# One pattern per canonical legal form, in _LEGAL_PHRASES order, longest phrase first.
_LEGAL_PHRASE_PATTERNS = {
    canonical: r"(?:^|\s)(?:"
    + "|".join(_phrase_pattern(p) for p in sorted(phrases, key=len, reverse=True))
    + r")(?:\s|$)"
    for canonical, phrases in _LEGAL_PHRASES.items()
}

# A long legal-form word written with a space inside ("Com Pany", "Lia Bility"), halves of
# MIN_LEGAL_HALF_LEN letters or more: the word. One pattern finds the names that need it
# (few), then one pattern per word rewrites them.
_SPLIT_LEGAL_WORDS = [
    (
        r"\b(?:"
        + "|".join(
            f"{word[:cut]} {word[cut:]}"
            for cut in range(config.MIN_LEGAL_HALF_LEN, len(word) - config.MIN_LEGAL_HALF_LEN + 1)
        )
        + r")\b",
        word,
    )
    for word in sorted({w for w in LEGAL_TYPO_TARGETS if w.isalpha()} | {"company", "limited"})
]
_ANY_SPLIT_LEGAL_WORD = "|".join(pattern for pattern, _ in _SPLIT_LEGAL_WORDS)


# A legal form run into the name it starts or ends ("LLCMILITARYINDUSTRIALCOMPANY",
# "JOINTSTOCKCOMPANYNIIME"): written apart, as its canonical token. The multi-word phrases
# without spaces, and the legal tokens too long to be a word's ending by chance.
def _run_in_legal() -> list[tuple[str, str]]:
    run_in: dict[str, set[str]] = {canonical: set() for canonical in _LEGAL_TOKENS}
    for canonical, phrases in _LEGAL_PHRASES.items():
        run_in[canonical] |= {
            p.replace(" ", "") for p in phrases if " " in p and re.fullmatch(r"[a-z ]{7,}", p)
        }
    for token in ("llc", "jsc", "pjsc", "ojsc", "cjsc", "ltd", "gmbh", "plc", "company"):
        run_in[LEGAL_FORM_TOKENS[token]].add(token)
    run_in["llc"].add("limited")
    run_in["corp"] |= {"corporation", "incorporated"}
    rules = []
    for canonical, words in run_in.items():
        forms = "|".join(sorted(words, key=len, reverse=True))
        # The end first: a phrase at the start of a word ends in a legal token too.
        rules.append((rf"([a-z0-9]{{3,}})(?:{forms})\b", f"$1 {canonical}"))
    for canonical, words in run_in.items():
        forms = "|".join(sorted(words, key=len, reverse=True))
        rules.append((rf"\b(?:{forms})([a-z0-9]{{3,}})", f"{canonical} $1"))
    return rules


_RUN_IN_LEGAL_AT = _run_in_legal()


def _legal_phrase_expr(expr: pl.Expr) -> pl.Expr:
    for canonical, pattern in _LEGAL_PHRASE_PATTERNS.items():
        expr = expr.str.replace_all(pattern, f" {canonical} ")
    return expr


# Legal-form abbreviations that are also Chinese or Korean syllables ("Liu Pao-Hsia",
# "Hui Sa-Mo": Wade-Giles and McCune-Reischauer write a given name's syllables hyphenated):
# hyphenated to a word, such a syllable is part of a name, written together with it, never
# the legal form (ПАО, S.A., АО, ЗАО). ASCII, lower case.
_SYLLABLE_LEGAL = "ao|pao|sa|zao"
_HYPHENATED_SYLLABLES = [
    (rf"\b({_SYLLABLE_LEGAL})-([a-z])", "$1$2"),
    (rf"([a-z])-({_SYLLABLE_LEGAL})\b", "$1$2"),
]


def _clean_expr(expr: pl.Expr) -> pl.Expr:
    """Lower-case, punctuation to spaces: ASCII in, ASCII out."""
    expr = expr.str.to_lowercase().str.replace_all("&", " and ", literal=True)
    expr = expr.str.replace_all(_APOSTROPHES, "")
    for pattern, template in _HYPHENATED_SYLLABLES:
        expr = expr.str.replace_all(pattern, template)
    return expr.str.replace_all(_NOT_ALPHANUMERIC, " ").pipe(_run_in_legal_expr)


def _run_in_legal_expr(expr: pl.Expr) -> pl.Expr:
    for pattern, template in _RUN_IN_LEGAL_AT:
        expr = expr.str.replace_all(pattern, template)
    return expr


def _legal_forms(clean: pl.Series) -> pl.Series:
    """Cleaned names with misspelt or cut legal-form words spelt right, then each legal
    phrase as its canonical token. A word is compared with the legal-form words once per
    distinct word, in one rapidfuzz call."""
    clean = _joined_legal_words(clean)
    words = clean.str.split(" ").explode().unique().drop_nulls()
    words = words.filter(
        (words.str.len_chars() >= config.MIN_LEGAL_TYPO_LEN)
        & ~words.is_in(_LEGAL_TYPO_SERIES.implode())
    )
    if not words.is_empty():
        spelt, edits = _closest_of(words, _LEGAL_TYPO_SERIES)
        typo = edits <= 1
        if typo.any():
            clean = (
                clean.str.split(" ")
                .list.eval(pl.element().replace(words.filter(typo), spelt.filter(typo)))
                .list.join(" ")
            )
        # Words spelt right above are the legal form already.
        long = (words.str.len_chars() >= config.MIN_LEGAL_TWO_TYPO_LEN).to_numpy()
        words = words.filter(pl.Series(~typo & long))
    if not words.is_empty():
        spelt, edits = _closest_of(words, _RETYPED_LEGAL_SERIES)
        retyped = (edits == 2) & (words.str.slice(0, 1) == spelt.str.slice(0, 1)).to_numpy()
        if retyped.any():
            clean = _last_word_spelt(clean, words.filter(retyped), spelt.filter(retyped))
    return _phrased(_phrase_word_typos(clean))


def _last_word_spelt(clean: pl.Series, typos: pl.Series, spelt: pl.Series) -> pl.Series:
    """Cleaned names whose last word (after another) is one of typos, that word spelt: a
    legal-form word two typing errors off is the legal form only where a legal form
    stands, at the end of a company's name ("Sina Bank Compsanuy")."""
    split = clean.str.split(" ")
    last = split.list.last()
    rows = ((split.list.len() >= 2) & last.is_in(typos.implode())).fill_null(False).arg_true()
    if rows.is_empty():
        return clean
    words = pl.col("words")
    rewritten = pl.DataFrame(
        {"words": split.gather(rows), "last": last.gather(rows).replace(typos, spelt)}
    ).select(words.list.head(words.list.len() - 1).list.concat("last").list.join(" "))
    return clean.scatter(rows, rewritten.to_series())


def _closest_of(words: pl.Series, targets: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """Each word's closest target (OSA distance, one rapidfuzz call over all the words) and
    its distance, up to 3 (3: farther)."""
    distance = process.cdist(
        words.to_list(),
        targets.to_list(),
        scorer=OSA.distance,
        score_cutoff=2,
        dtype=np.int32,
        workers=-1,
    )
    best = distance.argmin(axis=1)
    return targets.gather(best), distance[np.arange(len(best)), best]


def _phrased(clean: pl.Series) -> pl.Series:
    """Each legal phrase of the cleaned names as its canonical token."""
    return (
        clean.to_frame("clean")
        .select(_legal_phrase_expr(" " + pl.col("clean") + " ").str.strip_chars())
        .to_series()
    )


def _phrase_word_typos(clean: pl.Series) -> pl.Series:
    """Cleaned names with a legal phrase's word one letter off spelt right, where the phrase
    then takes the word in ("joynt stock company" -> jsc); other names as they are. The
    distinct words are compared with the phrase words in one rapidfuzz call."""
    words = clean.str.split(" ").explode().unique().drop_nulls()
    words = words.filter(
        (words.str.len_chars() >= config.MIN_LEGAL_PHRASE_TYPO_LEN)
        & ~words.is_in(_LEGAL_PHRASE_WORD_SERIES.implode())
    )
    if words.is_empty():
        return clean
    spelt, edits = _closest_of(words, _LEGAL_PHRASE_WORD_SERIES)
    # Two typing errors in a long phrase word ("Aktsiomnernod Obshchestvo"): the rest of
    # the phrase, which must take it in, says what it is.
    long = (words.str.len_chars() >= config.MIN_LEGAL_PHRASE_TWO_TYPO_LEN).to_numpy()
    typo = (edits <= 1) | ((edits == 2) & long)
    typo &= (words.str.slice(0, 1) == spelt.str.slice(0, 1)).to_numpy()
    if not typo.any():
        return clean
    typos, spelt = words.filter(typo), spelt.filter(typo)
    split = clean.str.split(" ")
    rows = split.list.eval(pl.element().is_in(typos.implode())).list.any().arg_true()
    if rows.is_empty():
        return clean
    subset = split.gather(rows)
    corrected = subset.list.eval(pl.element().replace(typos, spelt))
    introduced = subset.list.eval(pl.element().filter(pl.element().is_in(typos.implode())))
    introduced = introduced.list.eval(pl.element().replace(typos, spelt))
    left = _phrased(corrected.list.join(" ")).str.split(" ")
    taken_in = left.list.set_intersection(introduced).list.len() == 0
    kept = corrected.list.join(" ").zip_with(taken_in, subset.list.join(" "))
    return clean.scatter(rows, kept)


def _joined_legal_words(clean: pl.Series) -> pl.Series:
    """A legal-form word written with a space inside, written whole ("com pany" ->
    "company"); only the names holding one are rewritten."""
    found = clean.str.contains(_ANY_SPLIT_LEGAL_WORD).fill_null(False)
    if not found.any():
        return clean
    rows = found.arg_true()
    subset = clean.gather(rows)
    for pattern, word in _SPLIT_LEGAL_WORDS:
        subset = subset.str.replace_all(pattern, word)
    return clean.scatter(rows, subset)


def has_name_parts(names: pl.Series) -> pl.Series:
    """True where a name keeps something to screen: a word of letters or digits that is not
    a title. The engine empties the others ("😀", "!!!", "Mr."), so input validation
    rejects them up front. Whole-column and cheap: only the few names holding a title's
    letters get the word-by-word test. (Titles are known in the Latin script.)"""
    has_characters = names.str.contains(_NAME_CHARACTER)
    folded = names.str.normalize("NFKD").str.replace_all(r"\p{M}+", "").str.to_lowercase()
    may_be_titles = has_characters & folded.str.contains_any(sorted(TITLES))
    rows = may_be_titles.fill_null(False).arg_true()
    if rows.is_empty():
        return has_characters
    words = (
        folded.gather(rows)
        .str.replace_all(_APOSTROPHES, "")
        .str.replace_all(_NOT_NAME_CHARACTERS, " ")
        .str.strip_chars()
        .str.split(" ")
    )
    parts = pl.element().filter((pl.element() != "") & ~pl.element().is_in(_TITLES.implode()))
    return has_characters.scatter(rows, words.list.eval(parts).list.len() > 0)


def normalize_names(names: pl.Series) -> pl.DataFrame:
    """Distinct names -> frame: name, tokens List(Utf8), repeated List(Utf8), transliterated
    Boolean. Tokens are distinct; repeated lists, sorted, those the name gives more than
    once ("Mohamed Mohamed Caddow"), which scoring counts.

    Call it on distinct values (callers join the result back): each string is normalised
    once. Null, empty and symbol-only names give an empty token list.
    """
    distinct = pl.Series("name", names.unique().drop_nulls(), dtype=pl.Utf8)
    cut = distinct.str.slice(0, config.MAX_NAME_CHARS)
    # camelCase is split on the original letters, before transliteration can invent case.
    split = cut.str.replace_all(*_CAMEL_CASE)
    # ... and so is a capitalised word run into a capitals-only one ("SiemensAG",
    # "VladimirPUTIN").
    split = split.str.replace_all(*_CAPITALS_RUN)
    # Dotted initialisms are one word: "A.B.C." -> "ABC ", "p.l.c." -> "plc ", "B.V." -> "BV ";
    # spaced initials of a person ("V. V. Putin") stay apart.
    for pattern, joined in _INITIALISMS:
        split = split.str.replace_all(pattern, joined)
    frame = pl.DataFrame(
        {
            "name": distinct,
            "ascii": _transliterate_column(split),
            "transliterated": ~cut.str.contains(_LATIN_ONLY),
        }
    )
    frame = frame.with_columns(_clean_expr(pl.col("ascii")).alias("clean"))
    frame = frame.with_columns(_legal_forms(frame["clean"]).alias("clean"))
    frame = frame.with_columns(_with_numbers_spelt(frame["clean"]))
    frame = frame.with_columns(pl.col("clean").str.replace_all(*_DIN_JOINED))
    parts = (
        frame.lazy()
        .with_row_index("i")
        .select("i", pl.col("clean").str.split(" ").alias("token"))
        .explode("token")
        .with_columns(_canonical_token_expr(pl.col("token")).alias("token"))
        .explode("token")
        .filter(pl.col("token").is_not_null() & (pl.col("token") != ""))
        .filter(~pl.col("token").is_in(_TITLES.implode()))
        .with_columns(pl.struct("i", "token").is_first_distinct().alias("first"))
    )
    tokens = (
        parts.filter("first")
        .group_by("i", maintain_order=True)
        .agg(pl.col("token").head(config.MAX_NAME_TOKENS).alias("tokens"))
    )
    # A part given again (its second copy) is rare: this is a small frame. Sorted: a set.
    repeated = (
        parts.filter(~pl.col("first"))
        .unique(["i", "token"])
        .group_by("i")
        .agg(pl.col("token").sort().alias("repeated"))
    )
    return (
        frame.lazy()
        .with_row_index("i")
        .join(tokens, on="i", how="left")
        .join(repeated, on="i", how="left")
        .select(
            "name",
            pl.col("tokens", "repeated").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
            "transliterated",
        )
        .collect()
    )


# Number words to digits ("Brigade Forty-Four" / "Brigade 44"), and digits standing for
# look-alike letters inside a word ("Ig0r Sech1n", OCR and deliberate evasion alike).
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {
    "twenty": 2, "thirty": 3, "forty": 4, "fourty": 4, "fifty": 5,
    "sixty": 6, "seventy": 7, "eighty": 8, "ninety": 9,
}  # fmt: skip
_UNIT_VALUE = {word: i for i, word in enumerate(_UNITS, start=1)} | {
    str(i): i for i in range(1, 10)
}
_NUMBER_WORDS = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?: (?P<unit>{'|'.join(_UNIT_VALUE)}))?"
    rf"|(?P<word>{'|'.join(_UNITS + _TEENS)}))\b"
)
_LOOK_ALIKE_DIGITS = str.maketrans("013457", "oieast") | {ord("9"): "g"}
_DIGIT_IN_WORD = re.compile(r"\b[a-z]+[0134579][a-z0-9]*[a-z]\b|\b[a-z][0134579]+[a-z]+\b")
_NEEDS_SPELLING = re.compile(f"{_NUMBER_WORDS.pattern}|{_DIGIT_IN_WORD.pattern}")


def _spelt_number(match: re.Match[str]) -> str:
    if match["word"]:
        words = _UNITS + _TEENS
        return str(words.index(match["word"]) + 1)
    return str(_TENS[match["tens"]] * 10 + _UNIT_VALUE.get(match["unit"] or "", 0))


def _spell(text: str) -> str:
    text = _DIGIT_IN_WORD.sub(lambda m: m[0].translate(_LOOK_ALIKE_DIGITS), text)
    return _NUMBER_WORDS.sub(_spelt_number, text)


def _with_numbers_spelt(clean: pl.Series) -> pl.Series:
    """Cleaned names with number words as digits and look-alike digits as letters: Python
    for the few names that have either, found by one regular expression over the column."""
    rows = clean.str.contains(_NEEDS_SPELLING.pattern).fill_null(False).arg_true()
    if rows.is_empty():
        return clean
    return clean.scatter(rows, [_spell(text) for text in clean.gather(rows).to_list()])


def _canonical_token_expr(token: pl.Expr) -> pl.Expr:
    """One token -> a list of tokens: variants and legal forms canonical, joined prefixes split."""
    canonical = token.replace(_VARIANT_FROM, _VARIANT_TO).replace(_LEGAL_FROM, _LEGAL_TO)
    prefix = canonical.str.extract(_JOINED_PREFIX.pattern, 1)
    rest = canonical.str.extract(_JOINED_PREFIX.pattern, 2)
    return (
        pl.when(prefix.is_not_null())
        .then(pl.concat_list(pl.lit("abdul"), rest.replace(_VARIANT_FROM, _VARIANT_TO)))
        .otherwise(pl.concat_list(canonical))
    )


# --- One name, in plain Python -------------------------------------------------------------

# The same steps as normalize_names for a single name: each Polars operation costs a fixed
# 60-150 µs, so one name through ~25 of them takes milliseconds; here it takes microseconds.
# Same patterns (compiled from the strings above), same tables, same order of steps.
# One known gap: the regex package knows Unicode 17, Polars' Rust regex Unicode 16, so a
# name with a letter new in Unicode 17 may get another transliterated flag or camelCase split.


def _compiled(pattern: str, template: str) -> tuple[regex.Pattern[str], str]:
    """A Polars (pattern, replacement) as a compiled pattern and a Python template."""
    return regex.compile(pattern), re.sub(r"\$(\d+)", r"\\g<\1>", template)


_SPLITS_ONE = [_compiled(*_CAMEL_CASE), _compiled(*_CAPITALS_RUN)]
_INITIALISMS_ONE = [_compiled(*initialism) for initialism in _INITIALISMS]
_LATIN_ONLY_ONE = regex.compile(_LATIN_ONLY)
_COMPOUND_JOINED_ONE = _compiled(*_COMPOUND_JOINED)
# From here on the text is ASCII, where `re` (faster) and Rust regex agree.
_APOSTROPHES_ONE = re.compile(_APOSTROPHES)
_NOT_ALPHANUMERIC_ONE = re.compile(_NOT_ALPHANUMERIC)
_RUN_IN_LEGAL_ONE = [_compiled(*rule) for rule in _RUN_IN_LEGAL_AT]
_HYPHENATED_SYLLABLES_ONE = [_compiled(*rule) for rule in _HYPHENATED_SYLLABLES]
_ANY_SPLIT_LEGAL_WORD_ONE = re.compile(_ANY_SPLIT_LEGAL_WORD)
_SPLIT_LEGAL_WORDS_ONE = [(re.compile(pattern), word) for pattern, word in _SPLIT_LEGAL_WORDS]
_LEGAL_PHRASES_ONE = [
    (re.compile(pattern), f" {canonical} ") for canonical, pattern in _LEGAL_PHRASE_PATTERNS.items()
]


def normalize_one(name: str | None) -> tuple[list[str], bool]:
    """One name -> (tokens, transliterated), exactly as normalize_names gives it; a null
    name gives no tokens and False, as callers of normalize_names fill a missing row."""
    if name is None:
        return [], False
    tokens, transliterated, _ = _normalize_one(name)
    return list(tokens), transliterated  # a fresh list: the cached tuple stays intact


def repeated_one(name: str | None) -> list[str]:
    """normalize_names' repeated column for one name."""
    return [] if name is None else list(_normalize_one(name)[2])


@lru_cache(maxsize=20_000)
def _normalize_one(name: str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    cut = name[: config.MAX_NAME_CHARS]
    split = cut
    for pattern, template in _SPLITS_ONE:
        split = pattern.sub(template, split)
    if "." in split:  # every initialism pattern needs a dot
        for pattern, template in _INITIALISMS_ONE:
            split = pattern.sub(template, split)
    clean = _clean_one(_transliterate_words(split))
    if _NEEDS_SPELLING.search(clean):
        clean = _spell(clean)
    clean = _din_joined_one(clean)
    tokens = (token for word in clean.split(" ") for token in _canonical_tokens(word))
    counts = Counter(token for token in tokens if token and token not in TITLES)
    transliterated = _LATIN_ONLY_ONE.match(cut) is None
    repeated = tuple(sorted(token for token, count in counts.items() if count > 1))
    return tuple(counts)[: config.MAX_NAME_TOKENS], transliterated, repeated


def _transliterate_words(text: str) -> str:
    """_transliterate_column for one value: each non-ASCII word (split on " ") transliterated."""
    if text.isascii():
        return text
    text = _COMPOUND_JOINED_ONE[0].sub(_COMPOUND_JOINED_ONE[1], text)
    if not _EAST_SLAVIC_ANY_CASE.isdisjoint(text):
        text = text.translate(_EAST_SLAVIC_TABLE)
    if not _PERSIAN_LETTERS.isdisjoint(text):
        text = text.translate(_PERSIAN_TABLE)
    return " ".join(word if word.isascii() else transliterate(word) for word in text.split(" "))


def _clean_one(text: str) -> str:
    """_clean_expr, then _legal_forms, for one value (the text is ASCII: lower() is
    Polars' to_lowercase)."""
    text = _APOSTROPHES_ONE.sub("", text.lower().replace("&", " and "))
    if "-" in text:
        for pattern, template in _HYPHENATED_SYLLABLES_ONE:
            text = pattern.sub(template, text)
    text = _NOT_ALPHANUMERIC_ONE.sub(" ", text)
    for pattern, template in _RUN_IN_LEGAL_ONE:
        text = pattern.sub(template, text)
    if _ANY_SPLIT_LEGAL_WORD_ONE.search(text):
        for pattern, word in _SPLIT_LEGAL_WORDS_ONE:
            text = pattern.sub(word, text)
    words = list(map(_legal_spelling, text.split(" ")))
    if len(words) >= 2:
        words[-1] = _legal_last_word_spelling(words[-1])
    spelt = [_legal_phrase_spelling(word) for word in words]
    if spelt != words:
        introduced = {new for old, new in zip(words, spelt, strict=True) if new != old}
        corrected = _phrased_one(" ".join(spelt))
        if not introduced & set(corrected.split(" ")):
            return corrected
    return _phrased_one(" ".join(words))


def _phrased_one(text: str) -> str:
    text = " " + text + " "
    for pattern, canonical in _LEGAL_PHRASES_ONE:
        text = pattern.sub(canonical, text)
    return text.strip()


@lru_cache(maxsize=200_000)
def _legal_phrase_spelling(word: str) -> str:
    """_phrase_word_typos' spelling of one word (the caller keeps it only where a legal
    phrase takes it in)."""
    if len(word) < config.MIN_LEGAL_PHRASE_TYPO_LEN or word in LEGAL_PHRASE_WORDS:
        return word
    best = process.extractOne(word, LEGAL_PHRASE_WORDS, scorer=OSA.distance, score_cutoff=2)
    if best is None or best[0][:1] != word[:1]:
        return word
    if best[1] == 2 and len(word) < config.MIN_LEGAL_PHRASE_TWO_TYPO_LEN:
        return word
    return best[0]


@lru_cache(maxsize=200_000)
def _legal_last_word_spelling(word: str) -> str:
    """_last_word_spelt for a name's last word (the caller: a name of two words or more),
    after _legal_spelling."""
    if len(word) < config.MIN_LEGAL_TWO_TYPO_LEN or word in LEGAL_TYPO_TARGETS:
        return word
    best = process.extractOne(word, RETYPED_LEGAL_WORDS, scorer=OSA.distance, score_cutoff=2)
    if best is None or best[1] != 2 or best[0][:1] != word[:1]:
        return word
    return best[0]


@lru_cache(maxsize=200_000)
def _legal_spelling(word: str) -> str:
    """_legal_forms' spelling correction for one word."""
    if len(word) < config.MIN_LEGAL_TYPO_LEN or word in LEGAL_TYPO_TARGETS:
        return word
    best = process.extractOne(word, LEGAL_TYPO_TARGETS, scorer=OSA.distance, score_cutoff=1)
    return word if best is None else best[0]


def _canonical_tokens(token: str) -> list[str]:
    """_canonical_token_expr for one token."""
    variant = TOKEN_VARIANTS.get(token, token)
    canonical = LEGAL_FORM_TOKENS.get(variant, variant)
    joined = _JOINED_PREFIX.match(canonical)
    if joined is None:
        return [canonical]
    return ["abdul", TOKEN_VARIANTS.get(joined[2], joined[2])]


# --- Keys of one token --------------------------------------------------------------------

# Spellings of one sound across transliteration systems (Yevgeny / Evgeniy / Jewgeni,
# Poutine / Putin, Tchaikovsky / Chaykovskiy, Greek and Bulgarian Christos / Hristos):
# folded to one spelling for the phonetic key.
_FOLDS = [
    ("chr", "hr"), ("tsch", "ch"), ("tch", "ch"), ("sch", "sh"), ("dzh", "j"), ("zh", "j"),
    ("dj", "j"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("th", "t"), ("ck", "k"), ("ou", "u"),
    ("oo", "u"), ("ee", "i"), ("ow", "u"), ("w", "v"), ("y", "i"), ("q", "k"), ("c", "k"),
    ("z", "s"), ("x", "ks"),
]  # fmt: skip
_DOUBLE = re.compile(r"(.)\1+")
_VOWELS = re.compile(r"[aeiouy]")
_CLASSES = str.maketrans({"p": "b", "v": "f", "w": "f", "q": "k", "c": "k", "g": "k", "z": "s", "t": "d", "j": "i"})  # fmt: skip


@lru_cache(maxsize=500_000)
def phonetic_key(token: str) -> str:
    """Transliteration-tolerant sound key: folds spelling systems, then Metaphone."""
    if token.isdigit() or len(token) < 2:
        return token
    folded = token
    for old, new in _FOLDS:
        folded = folded.replace(old, new)
    folded = _DOUBLE.sub(r"\1", folded)
    if folded.startswith("ie"):
        folded = folded[1:]
    folded = folded.removesuffix("ii").removesuffix("e") or folded
    return jellyfish.metaphone(folded) or folded


@lru_cache(maxsize=500_000)
def shape_key(token: str) -> str:
    """Consonant classes folded and every vowel written "a": Perez / Biriz / Beres agree,
    Vita / Fuad do not. Catches vowel-unreliable transliterations with a safe margin."""
    if token.isdigit():
        return token
    folded = token.replace("kh", "h").replace("sh", "s").replace("ch", "s").translate(_CLASSES)
    return _DOUBLE.sub(r"\1", _VOWELS.sub("a", folded))


# A c before e, i or y is the s of French and Spanish romanisations ("LOUNICI" / "لونيسي",
# "Belgacem" / "بلقاسم"); elsewhere the k it is in English ("Carlos").
_SOFT_C = re.compile("c(?=[eiy])")


@lru_cache(maxsize=500_000)
def skeleton_key(token: str) -> str:
    """Consonant skeleton: consonant classes folded (p/b, v/f/w, t/d, k/q/c/g, s/z, a soft
    c as s), vowels dropped, doubles collapsed. Arabic written without short vowels meets
    its Latin form."""
    if token.isdigit():
        return token
    folded = _SOFT_C.sub("s", token.replace("kh", "h").replace("sh", "s").replace("ch", "s"))
    return _DOUBLE.sub(r"\1", _VOWELS.sub("", folded.translate(_CLASSES)))


_VOWEL_LETTERS = re.compile("[aeiou]")
# One consonant sound written with two letters: counted once when a token's consonants
# are weighed against its vowels ("zhang" is two consonants and a vowel, not four).
_DIGRAPHS = re.compile("sh|ch|kh|gh|zh|th|dh|ng|ph|ts")


# One letter of Arabic and Persian that the lists' Latin spellings write several ways, one
# letter in the consonants: qaf as q, k or gh and ghain as gh ("باقری" Bagheri, "قاسم"
# Ghassem / Kassem / Qasim, "اسحاق" Ishak; Persian reads qaf and ghain alike), and waw as
# w or, in Persian names, v ("جواد" Javad, "درویش" Darvish, "موسوی" Mousavi); and as
# French writes them for the Maghreb, jim as dj and shin as ch ("جعفر" Djaafar, "عكاشة"
# Akkacha). Only the vowel-blind rules read consonants; a k before h is kh, another letter.
# (Plain replacements, in this order: kh is set aside while k is folded. A regular
# expression with a callback cost a tenth more per new token.)
_CONSONANT_FOLDS = [
    ("kh", "\0"), ("gh", "q"), ("k", "q"), ("\0", "kh"), ("v", "w"), ("dj", "j"), ("ch", "sh"),
]  # fmt: skip


def _folded_consonants(token: str) -> str:
    for old, new in _CONSONANT_FOLDS:
        token = token.replace(old, new)
    return token


@lru_cache(maxsize=500_000)
def consonants(token: str) -> str:
    """A token's consonants in order, doubled letters once ("muhammad" -> "mhmd"), the
    letters of one Arabic or Persian consonant folded to one (_CONSONANT_FOLDS)."""
    return _VOWEL_LETTERS.sub("", _DOUBLE.sub(r"\1", _folded_consonants(token)))


@lru_cache(maxsize=500_000)
def bare_consonants(token: str) -> str:
    """consonants() with w and y left out but as the first letter: Arabic and Persian write
    one letter for w and u, y and i, which a transliteration may read as a vowel ("juhr" /
    "Jawhar", "zkrya" / "Zakariya"). A list token's, met by a query token's consonants (a
    query token that wrote its y, "syed", keeps it: it is no "Saeed"); never a key of its
    own, which would link too much."""
    letters = consonants(token)
    return letters[:1] + letters[1:].replace("w", "").replace("y", "")


# Arabic letters that Arabic, Persian, Urdu and Pashto sound apart, which a reading of one
# of them writes one way and the lists another: ض d / z / dh ("فضل" fdl / Fazal, Fadhl), ذ
# dh / z / d ("ذوالقدر" dhwalqdr / Zolghadr), ث th / s ("ثاقب" thaqb / Saqib, "وثیق"
# Wasiq). A query's d and dh (ض ذ, or د) are one letter, "\1", which a list's d, dh or z
# may write; a query's z (ز, or ظ read z) only a list's z: "زارع" Zare is no "Dheere".
# A query's th (ث) is a list's th, "\2", or its s. For a query written in an abjad only
# (compare/names.read_alike).
_ABJAD_READING_FOLDS = [("dh", "\1"), ("th", "\2"), ("d", "\1")]


@lru_cache(maxsize=500_000)
def abjad_reading(token: str, th_as_s: bool = False, z_as_d: bool = False) -> tuple[str, int]:
    """A token's key for read_alike, and its consonants' count: its first sound (any
    vowel as "a": an initial alef or ain carries any vowel, "عصام" asam / Issam) and its
    consonants as bare_consonants gives them, after _CONSONANT_FOLDS and the letters of ض
    ذ ث folded (_ABJAD_READING_FOLDS). th_as_s: a query token's th read s, as Persian and
    Urdu sound ث; z_as_d: a list token's z as the z a reading of ض or ذ writes."""
    folded = _folded_consonants(token)
    if th_as_s:
        folded = folded.replace("th", "s")
    for old, new in _ABJAD_READING_FOLDS:
        folded = folded.replace(old, new)
    if z_as_d:
        folded = folded.replace("z", "\1")
    letters = _VOWEL_LETTERS.sub("", _DOUBLE.sub(r"\1", folded))
    bare = letters[:1] + letters[1:].replace("w", "").replace("y", "")
    first = folded[:1]
    return ("a" if first in "aeiou" else first) + bare, len(bare)


def abjad_readings(token: str) -> tuple[str, str, str, int]:
    """A token's three abjad_reading keys (as written; th as s; z as d) and its consonants'
    count, each key made only where it differs (a th, a z in the token): the per-token
    work every new query token pays, Latin ones too."""
    key, count = abjad_reading(token)
    th_as_s = abjad_reading(token, th_as_s=True)[0] if "th" in token else key
    z_as_d = abjad_reading(token, z_as_d=True)[0] if "z" in token else key
    return key, th_as_s, z_as_d, count


# Scripts that write long vowels with the letters of consonants and leave short ones out
# (Hebrew, Arabic and the scripts written with it, Syriac): their waw and yeh read as a
# vowel or a consonant (compare/names.matres_one). Cyrillic, Greek, Han or Hangul write
# their vowels: "Тимур" is no "Tamara", "坤" no "Knaya".
ABJAD_SCRIPT = (
    "[\u0590-\u05ff\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u08a0-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]"
)
_ABJAD_SCRIPT = re.compile(ABJAD_SCRIPT)


def in_abjad_script(names: pl.Expr) -> pl.Expr:
    """Per name: is it written (in part) in an abjad? (As normalisation reads it: the first
    MAX_NAME_CHARS characters.)"""
    return names.str.slice(0, config.MAX_NAME_CHARS).str.contains(ABJAD_SCRIPT).fill_null(False)


def in_abjad_script_one(name: str | None) -> bool:
    """in_abjad_script for one name."""
    return name is not None and _ABJAD_SCRIPT.search(name[: config.MAX_NAME_CHARS]) is not None


# A name whose every letter is an abjad's: a letter of another script ("David אמיר", "Hari
# مجتبوی") is written as it is read, so its word takes no abjad reading. Marks and
# punctuation are no letters.
_WHOLLY_ABJAD = "^(?:" + ABJAD_SCRIPT + r"|\P{L})*$"
_WHOLLY_ABJAD_ONE = regex.compile(_WHOLLY_ABJAD)


def wholly_in_abjad_script(names: pl.Expr) -> pl.Expr:
    """Per name: is it written in an abjad and in no other script (every letter of its first
    MAX_NAME_CHARS characters an abjad's)?"""
    cut = names.str.slice(0, config.MAX_NAME_CHARS)
    return (in_abjad_script(names) & cut.str.contains(_WHOLLY_ABJAD)).fill_null(False)


def wholly_in_abjad_script_one(name: str | None) -> bool:
    """wholly_in_abjad_script for one name."""
    if name is None or not in_abjad_script_one(name):
        return False
    return _WHOLLY_ABJAD_ONE.match(name[: config.MAX_NAME_CHARS]) is not None


# A long vowel a Latin spelling writes: a w or y inside the word, or two vowel letters side
# by side ("Tharwat", "Ubaydi", "Noorzai"); "Tamara" writes none. A v inside is the waw
# Persian reads v ("Khosravi", "Fadavi": consonants() folds it to w, as scoring's
# matres_one reads it), which a transliteration of the Persian writes u ("خسروی" khsrui).
_LONG_VOWEL_SPELT = "^.+[vwy]|[aeiou]{2}"
_LONG_VOWEL_SPELT_ONE = re.compile(_LONG_VOWEL_SPELT)


def long_vowel_spelt(tokens: pl.Expr) -> pl.Expr:
    """Per list token: does it write a long vowel (a v, w or y inside, two vowels together)?"""
    return tokens.str.contains(_LONG_VOWEL_SPELT)


def long_vowel_spelt_one(token: str) -> bool:
    """long_vowel_spelt for one token."""
    return _LONG_VOWEL_SPELT_ONE.search(token) is not None


@lru_cache(maxsize=500_000)
def matres_key(token: str, listed: bool) -> str | None:
    """The blocking key of the long-vowel-letter rule (compare/names.matres_one): first
    sound and consonants, w and y left out ("thrut" and "tharwat": "tthrt"). Where scoring
    reads a query token in an abjad as a list token whose waw or yeh it wrote as a vowel
    ("ثروت" thrut / Tharwat, "العبيدي" abidi / Ubaydi, "نورزی" nurza / Noorzai), blocking
    offers the pair: a list token's key where it writes a long vowel (long_vowel_spelt:
    not "Tamara", which "Тимур" timur would reach, and blocking cannot tell the query's
    script), a query token's where the rule may apply to it (spelt with a, i, u only,
    MIN_MATRES_CONSONANTS+); None where there is no key."""
    bare = bare_consonants(token)
    if len(bare) < config.MIN_MATRES_CONSONANTS or any(char.isdigit() for char in token):
        return None
    if listed and not long_vowel_spelt_one(token):
        return None
    if not listed and ("e" in token or "o" in token):
        return None
    return onset(token) + bare


def short_vowel_key(token: str) -> str | None:
    """A list token's long-vowel key (matres_key's: first sound and consonants, w and y
    left out) whether or not it writes a long vowel, "Bagheri", "Omari": the key a token
    of a query written in an abjad meets (blocking.short_vowel_links); None where it has
    too few consonants."""
    bare = bare_consonants(token)
    if len(bare) < config.MIN_MATRES_CONSONANTS or any(char.isdigit() for char in token):
        return None
    return onset(token) + bare


@lru_cache(maxsize=500_000)
def vowel_poor(token: str) -> bool:
    """Written with few vowels, as a script without short vowels (Arabic, Persian, Hebrew)
    spells names: "mhmd", "jfr", "mntzri", "amr"; not "omar", "zhang" or "timur". At least
    two consonants, no digit, vowels times VOWEL_POOR_RATIO fewer than the consonant
    sounds, or two consonants side by side with one vowel before or after ("amr", "nbi")."""
    letters = consonants(token)
    sounds = len(_DIGRAPHS.sub("x", letters))
    vowels = len(_VOWEL_LETTERS.findall(token))
    has_digit = any(char.isdigit() for char in token)
    bare_pair = _BARE_PAIR.match(token) is not None and _DIGRAPHS.search(token) is None
    few = vowels * config.VOWEL_POOR_RATIO < sounds or bare_pair
    return len(letters) >= 2 and not has_digit and few


# Two consonants written together with one vowel before or after them: a short name with
# its inner vowel unwritten, as Arabic writes "عمر" (amr, Omar) and "نبی" (nbi, Nabi); not
# one consonant written with two letters ("zhu", "shi", "ang": a pinyin syllable).
_BARE_PAIR = re.compile(r"^(?:[aeiou][^aeiou]{2}|[^aeiou]{2}[aeiou])$")


@lru_cache(maxsize=500_000)
def onset(token: str) -> str:
    """A token's first sound as a script without short vowels guesses it: its first letter,
    any vowel as "a" (an initial alef or ain is any vowel: "amr" / "Omar"), the letters
    of one consonant as consonants() folds them ("qasm" / "Kassem", "jfr" / "Djaafar")."""
    first = _folded_consonants(token[:2])[:1]
    return "a" if first in "aeiou" else first


def onsets(tokens: pl.Expr) -> pl.Expr:
    """onset() of each token, as a column."""
    folded = (
        tokens.str.replace("^gh", "q")
        .str.replace("^k([^h]|$)", "q")
        .str.replace("^v", "w")
        .str.replace("^dj", "j")
        .str.replace("^ch", "s")
    )
    return folded.str.slice(0, 1).str.replace("[aeiou]", "a")


# One Cyrillic name romanised the English, German or Polish way ("Verkhnyaya" /
# "Werchnjaja", "Khotintsev" / "Hotincev", "Rabinovich" / "Rabinowitz"): each system's
# spelling of a sound folded to one, in this order (kh and German ch both stand for х, and
# English ch, German tsch and Polish cz for ч, so all fold to h; English ts, German z and
# Polish c for ц, so all fold to c, a z inside a word too: "Kuznezow" / "Kuznetsov",
# "Jazenko" / "Yatsenko". Not a first z: "Zara" is no "Cara").
_ROMAN_ENDINGS = re.compile(r"(?:witz|wicz|witsch|vitch|vitz)$")
_ROMAN_FOLDS = [
    ("tsch", "ch"), ("szcz", "shch"), ("cz", "ch"), ("sz", "sh"), ("sch", "sh"), ("dzh", "j"),
    ("zh", "sh"),
    ("kh", "h"), ("ch", "h"), ("tz", "c"), ("ts", "c"), ("w", "v"), ("j", "i"), ("y", "i"),
    ("x", "ks"), ("q", "k"), ("ph", "f"),
]  # fmt: skip


# The letters romanisations write for one Cyrillic glide or v: j, y and i (й, and the y of
# я, ю, е), w and v (в). A short name one of them apart is one name ("Juri" / "Yuri").
_GLIDES_FROM, _GLIDES_TO = ["j", "y", "w"], ["i", "i", "v"]
_GLIDES = str.maketrans("".join(_GLIDES_FROM), "".join(_GLIDES_TO))


def glide_folded(tokens: pl.Expr) -> pl.Expr:
    """Tokens with their j, y and w as i, i and v (_GLIDES)."""
    return tokens.str.replace_many(_GLIDES_FROM, _GLIDES_TO)


def glide_folded_one(token: str) -> str:
    """glide_folded for one token."""
    return token.translate(_GLIDES)


@lru_cache(maxsize=500_000)
def roman_key(token: str) -> str:
    """Romanisation-system-blind spelling of a token (Slavic names: v/w, kh/h/ch, y/j/i,
    -vich/-witz), doubled letters once."""
    folded = _ROMAN_ENDINGS.sub("vich", token)
    for old, new in _ROMAN_FOLDS:
        folded = folded.replace(old, new)
    folded = folded[:1] + folded[1:].replace("z", "c")
    return _DOUBLE.sub(r"\1", folded)


@lru_cache(maxsize=500_000)
def keys_of(token: str) -> tuple[str, str, str, str, str, str]:
    """A token's comparison keys, in _KEY_COLUMNS order (cached per token)."""
    return (
        phonetic_key(token),
        skeleton_key(token),
        shape_key(token),
        _DOUBLE.sub(r"\1", token),
        "".join(sorted(token)),
        roman_key(token),
    )


_KEY_COLUMNS = {
    "phonetic": pl.Utf8,
    "skeleton": pl.Utf8,
    "shape": pl.Utf8,
    "squeezed": pl.Utf8,  # doubled letters once: "Essa" / "Esa"
    "letters": pl.Utf8,  # the letters sorted: "Faiz" / "Afiz"
    "roman": pl.Utf8,  # romanisation system folded: "Werchnjaja" / "Verkhnyaya"
}


def token_keys(tokens: pl.Series) -> pl.DataFrame:
    """Distinct tokens -> token and its keys (Python per distinct token, cached)."""
    distinct = tokens.unique().drop_nulls().to_list()
    keys = list(zip(*map(keys_of, distinct), strict=True)) or [()] * len(_KEY_COLUMNS)
    return pl.DataFrame(
        {"token": distinct, **dict(zip(_KEY_COLUMNS, keys, strict=True))},
        schema={"token": pl.Utf8, **_KEY_COLUMNS},
    )
