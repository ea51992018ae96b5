"""Reverse screening (matching/reverse.py) against forward blocking and screen() themselves, on
the session's real lists: every entity a forward screen pairs with one of some entries must
be found in reverse, and screening only the entities found gives the full screen's matches
on those entries. The 50,000-entity, two-update version runs the real rescreens
(test_monitoring.py); this one looks at the cases one by one."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import polars as pl
import pytest
from anyascii import anyascii

from bench.generate import entities
from bench.quality import perturb
from matching import build_index, config, screen
from matching.blocking import candidates, map_tokens
from matching.reverse import (
    BookIndex,
    book_entries,
    book_token_keys,
    entries_view,
    reverse_candidates,
    reverse_screen,
)
from matching.screen import SYLLABLE_KEYS, as_read
from matching.segmentation import resegmented
from matching.token_links import TokenLinks

THRESHOLD, MAX_MATCHES = 0.8, 10


@pytest.fixture(scope="module")
def index(watchlist):
    return build_index(watchlist)


@pytest.fixture(scope="module")
def changed(watchlist) -> pl.DataFrame:
    """A fixed sample of OFAC and UN entries standing for a list update: entity_id, name."""
    names = (
        watchlist.names.filter(pl.col("list_code").is_in(["ofac", "un"]))
        .select((pl.col("list_code") + "-" + pl.col("entry_id")).alias("entity_id"), "name")
        .unique("entity_id", keep="first")
        .sort("entity_id")
    )
    rng = np.random.default_rng(14)
    return names[np.sort(rng.choice(names.height, 400, replace=False)).tolist()]


def _cyrillic(name: str) -> str:
    """A Latin name written in Cyrillic letters, as a Russian form would hold it."""
    table = str.maketrans(
        "abvgdezijklmnoprstufhcABVGDEZIJKLMNOPRSTUFHC",
        "абвгдезийклмнопрстуфхцАБВГДЕЗИЙКЛМНОПРСТУФХЦ",
    )
    return anyascii(name).translate(table)


def _romanised(name: str) -> str:
    """A name in another romanisation of its syllables, as Wade-Giles writes pinyin
    ("Xi Jinping" / "Hsi Chinping"): letters every system spells its own way."""
    text = name.lower()
    for pinyin, wade in (("zh", "ch"), ("x", "hs"), ("q", "ch"), ("j", "ch"), ("z", "ts")):
        text = text.replace(pinyin, wade)
    return text


def _short_vowels_left_out(name: str) -> str:
    """A name as a reading of an abjad spells it: no e or o, the short vowels the script
    leaves out ("Bagheri" / "baghri"), which forward blocking links for a name written
    wholly in an abjad only (blocking.short_vowel_links)."""
    return name.lower().replace("e", "").replace("o", "")


# Latin letters (as an abjad's reading gives them) -> Arabic letters that read so.
_ARABIC = {"th": "ث", "sh": "ش", "kh": "خ", "gh": "غ", "a": "ا", "i": "ي", "u": "و", "b": "ب"}
_ARABIC |= {"t": "ت", "j": "ج", "h": "ه", "d": "د", "r": "ر", "z": "ز", "s": "س", "f": "ف"}
_ARABIC |= {"q": "ق", "k": "ك", "l": "ل", "m": "م", "n": "ن", "w": "و", "y": "ي", "p": "ب"}
_ARABIC |= {"g": "ج", "v": "ف", "c": "ك", "x": "كس"}
_ARABIC_LETTERS = re.compile("|".join(sorted(_ARABIC, key=len, reverse=True)))


def _in_arabic(reading: str) -> str:
    """A name that an abjad's reading spells so ("baghri mhmd"), written in Arabic letters
    ("باغري مهمد"): normalisation reads it back."""
    return _ARABIC_LETTERS.sub(lambda letters: _ARABIC[letters.group()], reading.lower())


def _read_in_another_language(name: str) -> str:
    """A name as an Arabic reading writes the letters Persian and Urdu sound z and s: its z
    a d (ض), its s a th (ث), the short vowels left out ("Fazal" / "fdl"), which forward
    blocking links by the reading keys (blocking.reading_keys) for such a name only."""
    return re.sub(r"s(?!h)", "th", _short_vowels_left_out(name).replace("z", "d"))


def _special_cases(changed: pl.DataFrame, watchlist) -> list[dict]:
    """Names that reach a list name only by one of forward blocking's side roads."""
    names = (
        watchlist.names.with_columns(
            (pl.col("list_code") + "-" + pl.col("entry_id")).alias("entity_id"),
            pl.col("name").str.replace_all(",", ""),
        )
        .join(changed.select("entity_id"), on="entity_id")["name"]
        .unique()
        .sort()
        .to_list()
    )
    two_words = [n for n in names if len(n.split()) == 2 and n.replace(" ", "").isalpha()]
    long_words = sorted({w for n in names for w in n.split() if len(w) >= 8 and w.isalpha()})
    one_word = [n for n in names if n.isalpha() and len(n) >= 5]
    long_names = [n for n in names if len(n.split()) >= 3 and n.replace(" ", "").isalpha()]
    # Family words of plain letters that spell a short vowel an abjad leaves out.
    plain = sorted(
        {
            w.lower()
            for n in two_words
            for w in n.split()[1:]
            if len(w) >= 5
            and set(w.lower()) <= set("abdefgiklmnoprstuvz")
            and set(w.lower()) & set("eo")
        }
    )
    three_words = [
        n
        for n in names
        if len(n.split()) >= 3 and all(len(w) >= 3 and w.isalpha() for w in n.split())
    ]
    ids = watchlist.identifiers.with_columns(
        (pl.col("list_code") + "-" + pl.col("entry_id")).alias("entity_id")
    ).join(changed.select("entity_id"), on="entity_id")
    cases = [
        # two list words run together: blocking splits the unknown word against the lists
        {"full_name": two_words[0].replace(" ", "").lower(), "case": "joined"},
        # a word split in two: the halves, unknown to the lists, written together are a word
        *[{"full_name": f"{word[:4]} {word[4:]}", "case": "split"} for word in long_words[:30]],
        # a name written without its spaces: read as the list words it is made of
        *[{"full_name": n.replace(" ", ""), "case": "run together"} for n in long_names[:20]],
        # the name in another script: transliterated, one rare part may be all it shares
        *[{"full_name": _cyrillic(name), "case": "cyrillic"} for name in two_words[1:40]],
        # the same, lower case, of words of three letters or more: blocking's own
        # segmentation of the query (segments_of) reads it as those words
        *[{"full_name": "".join(n.split()).lower(), "case": "segmented"} for n in three_words[:20]],
        # the same syllables in another romanisation: a syllable key in common
        *[
            {"full_name": _romanised(n), "case": "romanised"}
            for n in names
            if _romanised(n) != n.lower()
        ][:40],
        # the short vowels left out, as an abjad writes: linked by a key of its own
        *[
            {"full_name": _in_arabic(_short_vowels_left_out(n)), "case": "short vowels"}
            for n in two_words[1:60]
            if _short_vowels_left_out(n) != n.lower()
        ],
        # the same beside a common given name: its one rare part reaches the entry through
        # the short vowels alone, where blocking's fallback (and reverse's bar for it)
        # decides
        *[
            {"full_name": _in_arabic(f"mhmd {_short_vowels_left_out(w)}"), "case": "short vowels"}
            for w in plain[:40]
        ],
        # the same in Latin letters: read as it is written, so linked by no short vowel
        *[
            {"full_name": _short_vowels_left_out(n), "case": "short vowels in latin"}
            for n in two_words[1:60]
            if _short_vowels_left_out(n) != n.lower()
        ],
        # the letters another language of the script sounds apart: linked by the reading
        *[
            {"full_name": _in_arabic(_read_in_arabic), "case": "abjad reading"}
            for n in two_words[1:120]
            if (_read_in_arabic := _read_in_another_language(n)) != _short_vowels_left_out(n)
        ],
        # one part alone
        {"full_name": two_words[41].split()[-1], "case": "one part"},
        # a rare word and a legal form typed twice, which a forward screen reads as that
        # form ("Amber Campano": Amber Co.): the entity's parts are not what its tokens say
        *[{"full_name": f"{name} Campano", "case": "legal typed"} for name in one_word[:10]],
    ]
    if ids.height:
        value = ids["value"][0]
        cases.append({"full_name": None, "document_id": value, "case": "identifier only"})
    return cases


@pytest.fixture(scope="module")
def book(changed: pl.DataFrame, watchlist) -> pl.DataFrame:
    """A book: generated customers, perturbed names of the changed entries, the special
    cases; the row is the book position."""
    generated = entities(3000, seed=21).select(
        "full_name", "entity_type", "birth_date", "nationality"
    )
    perturbed = pl.DataFrame({"full_name": perturb(changed["name"].to_list(), seed=3)})
    special = pl.DataFrame(_special_cases(changed, watchlist), infer_schema_length=None)
    # Customers whose names a form holds in Cyrillic: transliterated, so blocking's
    # fallback (and reverse's bar for it) applies to them.
    cyrillic = generated.filter(pl.col("entity_type") == "individual").head(600)
    cyrillic = cyrillic.with_columns(
        pl.col("full_name").map_elements(_cyrillic, return_dtype=pl.Utf8),
        pl.lit("cyrillic customer").alias("case"),
    )
    # and some whose other part is a long one no list holds, that is no list words run
    # together either (forward weighs it 1, as the bar does)
    long_part = cyrillic.head(300).with_columns(
        (pl.col("full_name").str.split(" ").list.last() + " " + _cyrillic("kvostrumbelix")).alias(
            "full_name"
        ),
        pl.lit("cyrillic customer, long part").alias("case"),
    )
    frame = pl.concat([generated, perturbed, special, cyrillic, long_part], how="diagonal_relaxed")
    return frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))


@pytest.fixture(scope="module")
def book_index(book: pl.DataFrame) -> BookIndex:
    rows = book_entries(book).with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists"))
    return BookIndex(rows, book_token_keys(rows["tokens"].explode()))


def _forward_blocked(book_index: BookIndex, index, changed: pl.DataFrame | None) -> pl.DataFrame:
    """qid (book position), name_id: forward blocking's pairs on the changed entries' names
    (None: on every list name)."""
    queries = (
        book_index.entities.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("position"),
            "tokens",
            "lists",
            "transliterated",
            "abjad",  # as screen() gives them
            "wholly_abjad",
        )
        .filter(pl.col("tokens").list.len() > 0)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("qid"))
    )
    names = index.names
    if changed is not None:
        names = names.filter(pl.col("entity_id").is_in(changed["entity_id"].implode()))
    return (
        candidates(queries.drop("position"), index)
        .join(names.select("name_id"), on="name_id")
        .join(queries.select("qid", "position"), on="qid")
        .select(pl.col("position").alias("qid"), "name_id")
    )


def test_reverse_blocking_finds_every_pair_forward_blocking_makes(
    book: pl.DataFrame, book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    forward = _forward_blocked(book_index, index, changed)
    assert forward["qid"].n_unique() > 300, "the sample must exercise blocking"
    found = reverse_candidates(book_index, index, changed["entity_id"], _every_list(book_index))
    missed = set(forward["qid"].to_list()) - set(found.positions.tolist())
    assert not missed, book[sorted(missed)].select("full_name", "case").to_dicts()
    assert found.positions.size < book.height, "reverse blocking must also leave entities out"


def _every_list(book_index: BookIndex) -> np.ndarray:
    return book_index.entities["lists"].is_null().to_numpy()


def test_the_fallback_bar_leaves_out_only_entities_forward_blocking_pairs_with_no_entry(
    book: pl.DataFrame, book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """The fallback's bar (fallback_bar.py) leaves transliterated customers out, and only
    ones that forward blocking keeps no name of the changed entries for."""
    entries = changed["entity_id"]
    barred = set(reverse_candidates(book_index, index, entries, _every_list(book_index)).positions)
    unbarred = set(reverse_candidates(book_index, index, entries).positions)
    left_out = unbarred - barred
    assert len(left_out) >= 20, len(left_out)
    assert book_index.entities["transliterated"].gather(sorted(left_out)).all()
    long_part = book.filter(pl.col("case") == "cyrillic customer, long part")["row"]
    assert len(left_out & set(long_part.to_list())) >= 5, "a long unlisted part is judged too"
    # Those forward blocking finds too little of in the update's names, and pairs with no
    # list name at all: no rivals outrank the update's names for them, and none is needed.
    paired_with_any = set(_forward_blocked(book_index, index, None)["qid"].to_list())
    assert len(left_out - paired_with_any) >= 3, len(left_out - paired_with_any)
    forward = set(_forward_blocked(book_index, index, changed)["qid"].to_list())
    assert not left_out & forward, book[sorted(left_out & forward)]["full_name"].to_list()


def test_the_side_roads_are_found(
    book: pl.DataFrame, book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """Each special case that forward blocking pairs with a changed entry is found in reverse:
    the joined, split and segmented words, other romanisations, other scripts (one rare
    part: the fallback), an identifier."""
    forward = set(_forward_blocked(book_index, index, changed)["qid"].to_list())
    every = _every_list(book_index)
    found = set(reverse_candidates(book_index, index, changed["entity_id"], every).positions)
    special = book.filter(pl.col("case").is_not_null())
    by_case: dict[str, int] = {}
    for row, case in special.select("row", "case").iter_rows():
        if row in forward or case == "identifier only":
            assert row in found, (case, book["full_name"][row])
            by_case[case] = by_case.get(case, 0) + 1
    expected = {"joined", "split", "segmented", "romanised", "cyrillic", "one part", "short vowels"}
    expected |= {"abjad reading"}
    assert expected <= set(by_case), by_case


def test_only_names_written_in_an_abjad_take_its_readings_in_reverse(
    book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """A Latin name spelt as an abjad reads it ("baghri") takes no short-vowel, reading or
    abjad-only link forward, so reverse blocking, which knows each book name's script,
    takes none for it either: told that every name is written in an abjad, it lets more
    pairs through."""
    entries = changed["entity_id"]
    as_if_abjad = BookIndex(
        book_index.entities.with_columns(
            pl.lit(True).alias("abjad"), pl.lit(True).alias("wholly_abjad")
        ),
        book_index.token_keys,
    )
    written = reverse_candidates(book_index, index, entries)
    if_abjad = reverse_candidates(as_if_abjad, index, entries)
    assert written.pairs + 100 <= if_abjad.pairs, (written.pairs, if_abjad.pairs)


def test_a_name_takes_the_links_of_its_own_script_whoever_else_holds_its_words(
    book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """Which links a book name takes depends on its own script, not on the other names
    holding its tokens: the Latin names of the book are found alike beside copies of them
    written in an abjad, and the copies take more."""
    entries = changed["entity_id"]
    latin = BookIndex(book_index.entities.filter(~pl.col("abjad")), book_index.token_keys)
    alone = reverse_candidates(latin, index, entries, _every_list(latin))
    copies = latin.entities.with_columns(
        pl.lit(True).alias("abjad"), pl.lit(True).alias("wholly_abjad")
    )
    both = BookIndex(pl.concat([latin.entities, copies]), book_index.token_keys)
    beside = reverse_candidates(both, index, entries, _every_list(both)).positions
    assert beside[beside < latin.size].tolist() == alone.positions.tolist()
    assert beside.size - alone.positions.size >= alone.positions.size + 10


def test_a_pair_of_common_words_finds_a_name_by_their_weight_alone(
    index, changed: pl.DataFrame
) -> None:
    """Forward blocking values a name found through a pair of common words at what the two
    words weigh: the rare words of the customer's that no changed name holds add nothing to
    it. Reverse blocking bounds the hit by what the customer links to in the name, so few
    such customers are candidates beyond forward's (a bound by their best linked word took
    most of them)."""
    common = set(index.vocab.filter(~pl.col("blocking"))["token"].to_list())
    listed_pairs = set(index.pair_ids["pair"].to_list())
    names = index.names.filter(pl.col("entity_id").is_in(changed["entity_id"].implode()))
    pairs = sorted(
        {
            f"{a} {b}"
            for tokens in names["tokens"].to_list()
            for a in tokens
            for b in tokens
            if a < b and {a, b} <= common and f"{a} {b}" in listed_pairs
        }
    )
    assert len(pairs) >= 5, pairs
    in_changed = names["tokens"].explode().implode()
    rare = index.vocab.filter(
        pl.col("blocking"), pl.col("token").str.len_chars() >= 6, ~pl.col("token").is_in(in_changed)
    )["token"].to_list()
    full_names = [f"{pair} {' '.join(rare[3 * n : 3 * n + 3])}" for n, pair in enumerate(pairs)]
    rows = book_entries(pl.DataFrame({"full_name": full_names}))
    customers = BookIndex(
        rows.with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists")),
        book_token_keys(rows["tokens"].explode()),
    )
    forward = set(_forward_blocked(customers, index, changed)["qid"].to_list())
    found = set(reverse_candidates(customers, index, changed["entity_id"]).positions.tolist())
    assert forward <= found
    assert len(found - forward) <= len(pairs) // 4, (len(pairs), len(forward), len(found))


def test_screening_only_the_reverse_entities_gives_the_full_screens_matches(
    book: pl.DataFrame, book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    entries = changed["entity_id"]
    full = _pairs(screen(book, index, threshold=THRESHOLD, max_matches=MAX_MATCHES), entries)
    found = reverse_screen(
        book, book_index, index, entries, threshold=THRESHOLD, max_matches=MAX_MATCHES
    )
    assert set(full["row"].to_list()) <= set(found.positions.tolist())
    again = screen(book[found.positions], index, threshold=THRESHOLD, max_matches=MAX_MATCHES)
    assert _pairs(again, entries).sort("row", "match").equals(full.sort("row", "match"))
    assert full.height > 100, "the sample must have matches on the changed entries"
    run_together = set(book.filter(pl.col("case") == "run together")["row"].to_list())
    assert run_together & set(full["row"].to_list()), "names written whole must match too"
    legal_typed = set(book.filter(pl.col("case") == "legal typed")["row"].to_list())
    assert legal_typed & set(full["row"].to_list()), "a legal word typed twice must match too"
    assert found.positions.size < found.candidates < book.height


def test_the_view_keeps_the_snapshots_statistics(index, changed: pl.DataFrame) -> None:
    view = entries_view(index, changed["entity_id"])
    assert set(view.names["entity_id"].unique().to_list()) == set(changed["entity_id"].to_list())
    assert view.names["name_id"].to_list() == list(range(view.names.height))
    assert view.token_names.shape == (index.vocab.height, view.names.height)
    assert view.token_weights is index.token_weights and view.vocab is index.vocab
    assert view.token_cache is index.token_cache


def test_the_candidates_token_links_are_forward_blockings_map_on_the_entries(
    book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """view_token_links: per token of the reverse candidates, exactly the links that
    blocking's own token map (against the whole vocabulary) has to the entries' tokens
    (those only a query written in an abjad takes: for the tokens of such names)."""
    entries = changed["entity_id"]
    found = reverse_candidates(book_index, index, entries)
    links = found.token_links
    tokens = book_index.entities["tokens"].gather(found.positions).explode().drop_nulls().unique()
    assert set(links["token"].to_list()) == set(tokens.to_list())
    view = entries_view(index, entries)
    in_view = view.names["tokens"].explode().unique().to_frame("token")
    wanted = index.vocab.join(in_view, on="token").select("token_id")
    in_abjad = book_index.entities.filter("abjad")["tokens"].explode().implode()
    taken = ~pl.col("abjad_only") | pl.col("token").is_in(in_abjad)
    full = map_tokens(tokens.to_frame("token"), index).join(wanted, on="token_id").filter(taken)
    key = ["token", "token_id"]
    linked = links.filter(pl.col("token_id") >= 0, taken)
    assert linked.sort(key).equals(full.select(links.columns).sort(key))
    assert linked["token"].n_unique() > 100, "the sample must link tokens to the entries"


def test_the_view_screen_with_the_candidates_links_is_the_view_screen(
    book: pl.DataFrame, book_index: BookIndex, index, changed: pl.DataFrame
) -> None:
    """screen() on the view holding the candidates' links gives, column for column, the
    frame of screen() on a view that maps every token against the whole vocabulary."""
    entries = changed["entity_id"]
    found = reverse_candidates(book_index, index, entries)
    queries = book[found.positions]
    options = {"threshold": THRESHOLD, "max_matches": MAX_MATCHES}
    given = screen(queries, entries_view(index, entries, found.token_links), **options)
    fresh = dataclasses.replace(index, token_cache=TokenLinks(), lookups={}, derived={})
    mapped = screen(queries, entries_view(fresh, entries), **options)
    assert given.equals(mapped)
    assert given["is_match"].sum() > 100


def test_screen_with_the_book_indexs_names_is_screen(
    book: pl.DataFrame, book_index: BookIndex, index
) -> None:
    """The names a book index holds, given to screen(), give the frame that screen() makes
    normalising them itself (every kind of name of the book: scripts, a missing name)."""
    options = {"threshold": THRESHOLD, "max_matches": MAX_MATCHES}
    given = screen(book, index, names=book_index.entities, **options)
    assert given.equals(screen(book, index, **options))
    assert given["is_match"].sum() > 100 and given["status"].eq("failed").sum() == 0
    keyed = book_index.entities["syllable_keys"].list.len() > 0
    assert keyed.sum() > 100, "the book must hold names in syllables (their keys are given)"


def test_blocking_reads_the_syllable_keys_given(index) -> None:
    """A query's syllable keys given (SYLLABLE_KEYS) are the ones blocking looks up, and
    where none are given (null) it makes them from the tokens: a key that no token of the
    query makes finds its list name, and a null finds what the tokens make."""
    listed = index.syllable_keys.sort("name_id").row(0, named=True)
    name = index.names.filter(pl.col("name_id") == listed["name_id"]).row(0, named=True)
    queries = pl.DataFrame(
        {
            "qid": [0, 1, 2],
            "tokens": [["qqzx", "vvwy"], ["qqzx", "vvwy"], name["tokens"]],
            "lists": [None, None, None],
            "transliterated": [False, False, False],
            SYLLABLE_KEYS: [[listed["key"]], [], None],
        },
        schema_overrides={"lists": pl.List(pl.Utf8)},
    )
    found = candidates(queries, index).filter(pl.col("name_id") == listed["name_id"])
    assert sorted(found["qid"].to_list()) == [0, 2]


def test_the_syllable_keys_given_stay_only_for_names_read_as_given(
    book: pl.DataFrame, book_index: BookIndex, index
) -> None:
    """A name written without its spaces is read as the list words it is made of
    (resegmented): the keys given for the name as written are not its keys then, so they
    are dropped (made anew from the words); every other name keeps the keys given."""
    names = book_index.entities.select("tokens", SYLLABLE_KEYS)
    read = resegmented(names["tokens"], index, book_index.entities["transliterated"])
    anew = ~read.eq_missing(names["tokens"])
    assert anew.sum() >= 10, "the sample must hold names read as other tokens"
    kept = as_read(names, read)
    assert kept["tokens"].equals(read)
    assert kept.filter(anew)[SYLLABLE_KEYS].null_count() == anew.sum()
    assert kept.filter(~anew)[SYLLABLE_KEYS].equals(names.filter(~anew)[SYLLABLE_KEYS])


def _pairs(results: pl.DataFrame, entries: pl.Series) -> pl.DataFrame:
    """row, match, score: the results' matches on ``entries``."""
    return (
        results.select("row", "matches")
        .explode("matches")
        .drop_nulls("matches")
        .select(
            "row",
            pl.col("matches").struct.field("entity_id").alias("match"),
            pl.col("matches").struct.field("confidence_score").alias("score"),
        )
        .filter(pl.col("match").is_in(entries.implode()))
    )


def test_a_weak_link_alone_brings_in_no_entity(index, changed: pl.DataFrame) -> None:
    """A word two typing errors off an entry's rare word is a weak link, which forward
    blocking adds to a name only beside firm evidence (blocking.found_in_names): a name in
    another script whose one other part links nothing is no reverse candidate either,
    though that word alone would be "one rare part" of it (the transliterated fallback)."""
    words = (
        index.names.filter(pl.col("entity_id").is_in(changed["entity_id"].implode()))
        .select(pl.col("tokens").explode().alias("token"))
        .unique()
        .filter(pl.col("token").str.contains("^[a-z]{7,}$"))
        .sort("token")["token"]
        .to_list()
    )
    typed = [word[:2] + "qx" + word[4:] for word in words]  # two letters retyped
    other = "квострумб"  # "kvostrumb": no list word, a part of its own, in Cyrillic
    queries = pl.DataFrame({"token": [*typed, "kvostrumb"]})
    mapped = map_tokens(queries, index).join(
        index.names.filter(pl.col("entity_id").is_in(changed["entity_id"].implode()))
        .select(pl.col("tokens").explode().alias("c_token"))
        .join(index.vocab.select(pl.col("token").alias("c_token"), "token_id"), on="c_token"),
        on="token_id",
    )
    assert mapped.filter(pl.col("token") == "kvostrumb").is_empty()
    strongest = mapped.group_by("token").agg(pl.col("sim").max())
    weak_only = strongest.filter(pl.col("sim") <= config.WEAK_LINK_SIM)["token"].to_list()
    assert len(weak_only) >= 5, "the sample must hold words linked only weakly"
    book = pl.DataFrame({"full_name": [f"{word} {other}" for word in weak_only]})
    rows = book_entries(book).with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists"))
    assert rows["transliterated"].all()
    book_index = BookIndex(rows, book_token_keys(rows["tokens"].explode()))
    assert _forward_blocked(book_index, index, changed).is_empty()
    # Reverse links are a superset of forward's (every key, not only a first pass), so a
    # few of the words link firmly there: never most of them.
    found = reverse_candidates(book_index, index, changed["entity_id"]).positions
    assert found.size <= len(weak_only) // 4, (found.size, len(weak_only))


def test_a_word_split_in_two_is_read_only_from_neighbouring_parts(
    index, changed: pl.DataFrame
) -> None:
    """Forward blocking reads two neighbouring parts, left then right, as the list word
    they make together ("Patr ushev"); a name holding the halves apart or the other way
    round makes no such word, and reverse blocking must not take it for one either."""
    names = index.names.filter(pl.col("entity_id").is_in(changed["entity_id"].implode()))
    words = sorted(
        {w for tokens in names["tokens"].to_list() for w in tokens if len(w) >= 8 and w.isalpha()}
    )[:40]
    side_by_side = [f"{w[:4]} {w[4:]}" for w in words]
    apart = [f"{w[4:]} {w[:4]}" for w in words]
    book = pl.DataFrame({"full_name": side_by_side + apart})
    rows = book_entries(book).with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists"))
    book_index = BookIndex(rows, book_token_keys(rows["tokens"].explode()))
    forward = set(_forward_blocked(book_index, index, changed)["qid"].to_list())
    found = set(reverse_candidates(book_index, index, changed["entity_id"]).positions.tolist())
    assert forward <= found
    assert len(forward & set(range(len(words)))) >= 30, "the halves side by side make the word"
    unpaired_apart = set(range(len(words), 2 * len(words))) - forward
    assert len(unpaired_apart) >= 20
    assert len(found & unpaired_apart) <= len(unpaired_apart) // 4
