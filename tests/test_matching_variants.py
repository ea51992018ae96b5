"""The name variations of issue #11, one rule each: every test fails without its rule.

Pairs go through score_name_pairs (the name score a job uses) with the session snapshot's
rarity weights; screening tests go through screen(); the single-check twin of each rule is
held to the batch by tests/test_matching_latency.py.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import pytest

from matching import DEFAULT_THRESHOLD, build_index, check, config, score_name_pairs, screen
from matching.blocking import (
    _entry_positions,
    candidates,
    list_words,
    segment,
    short_vowel_links,
    vowel_poor_weight,
)
from matching.compare.forms import linked_parts, linked_parts_one
from matching.compare.names import (
    CHANGED,
    RETYPED,
    RETYPED_FIRST,
    linked_similarity_one,
    matres_one,
    pair_similarity,
    read_alike_one,
    typed_similarity,
    typed_similarity_one,
    vowels_dropped_one,
)
from matching.compare.syllables import (
    keys_kept,
    name_keys,
    name_keys_one,
    same_syllables,
    same_syllables_one,
    with_repeats,
)
from matching.index import blocking_keys_one
from matching.normalize import (
    EAST_SLAVIC_GROUPS,
    matres_key,
    normalize_names,
    normalize_one,
    roman_key,
    skeleton_key,
    transliterate,
    wholly_in_abjad_script,
    wholly_in_abjad_script_one,
)
from matching.retyped_links import index_table, retyped_links
from matching.score import score_pairs
from matching.segmentation import fewest_words, reading_of, resegmented, segment_words


@pytest.fixture(scope="module")
def index(watchlist):
    return build_index(watchlist)


@pytest.fixture(scope="module")
def latin(watchlist):
    """The session snapshot without its names in another script than Latin: a name in its
    own script must find its entry through the Latin spellings."""
    names = watchlist.names.filter(pl.col("name").str.contains(r"^[\p{Latin}\P{L}]*$"))
    return build_index(dataclasses.replace(watchlist, names=names))


def blocked(index, name: str, abjad: bool | None = None, wholly: bool | None = None) -> list[str]:
    """The list names blocking offers a query written in another script (abjad: written
    in an abjad or not, as screen() tells blocking; None: not told; wholly: written in an
    abjad alone, as screen() tells it; None: not told)."""
    queries = pl.DataFrame(
        {"qid": [0], "tokens": [tokens(name)], "transliterated": [True]},
        schema={"qid": pl.Int64, "tokens": pl.List(pl.Utf8), "transliterated": pl.Boolean},
    ).with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists"))
    if abjad is not None:
        queries = queries.with_columns(pl.lit(abjad).alias("abjad"))
    if wholly is not None:
        queries = queries.with_columns(pl.lit(wholly).alias("wholly_abjad"))
    return candidates(queries, index).join(index.names, on="name_id")["name"].to_list()


def scores(index, pairs: list[tuple[str, str]]) -> list[float]:
    left, right = zip(*pairs, strict=True)
    return score_name_pairs(pl.Series(left), pl.Series(right), index=index).to_list()


def tokens(name: str) -> list[str]:
    return normalize_names(pl.Series([name]))["tokens"][0].to_list()


def screened(index, names: list[str]) -> list[list[str]]:
    frame = pl.DataFrame({"row": list(range(len(names))), "full_name": names})
    found = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=10)
    return [[m["matched_name"] for m in matches] for matches in found["matches"]]


def assert_single_checks_agree(index, names: list[str], found: list[list[str]]) -> None:
    """Each name's single check() reports the names the batch screen found for it."""
    for name, batch in zip(names, found, strict=True):
        one = check(pl.DataFrame({"full_name": [name]}), index, threshold=DEFAULT_THRESHOLD,
                    max_matches=10)  # fmt: skip
        assert [m["matched_name"] for m in one["matches"][0]] == batch


def details(index, name: str, listed: str, **columns) -> dict:
    frame = pl.DataFrame(
        {"pair": [0], "q_tokens": [tokens(name)], "c_tokens": [tokens(listed)]}
        | {k: [v] for k, v in columns.items()}
    )
    return json.loads(score_pairs(frame, index.token_weights)["details"][0])


# --- 1: typos weighed against the rest of the name ----------------------------------------


def test_a_typo_of_a_spelling_the_name_stands_for(index):
    # "Usama" is written "osama" by normalisation: its typos are one letter from "usama".
    found = scores(
        index, [("Usamo bin Ladin", "Usama bin Ladin"), ("Usamaa bin Ladin", "Usama bin Ladin")]
    )
    assert min(found) >= DEFAULT_THRESHOLD
    # ... but two letters from a spelling is another name.
    assert scores(index, [("Ahmed Ali Sayed", "Mohamed Ali Sayed")])[0] < DEFAULT_THRESHOLD


def test_a_typo_of_another_spelling_finds_the_listed_name(index):
    # "muhammad" is listed; "Moammad" is one letter from its spelling "mohammad".
    frame = pl.DataFrame({"row": [0], "full_name": ["ESKANDARI Moammad"]})
    found = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=10)
    assert "ESKANDARI, Mohammad" in [m["matched_name"] for m in found["matches"][0]]


def test_a_letter_added_or_dropped_in_a_short_part_is_a_typo(index):
    # Unlike a letter in place of another, whatever the rest of the name weighs.
    assert pair_similarity("umr", "umer")[1] == "fuzzy"
    assert scores(index, [("Umr Asim", "UMER, Asim")])[0] >= DEFAULT_THRESHOLD


def test_a_short_part_one_letter_off_beside_a_rare_or_a_common_rest(index):
    assert pair_similarity("tim", "tom")[1] == CHANGED
    # "Cook" is in no list name: the rest of the name is rare, a changed letter a typo.
    rare, common = scores(index, [("Tim Cook", "Tom Cook"), ("Tim Smith", "Tom Smith")])
    assert rare >= DEFAULT_THRESHOLD > common
    assert details(index, "Tim Smith", "Tom Smith")["changed_short_part"] < 0
    # A short root from another script, one letter off, is another name ("Arif" / "Asif").
    assert scores(index, [("عارف علی زرداری", "آصف علی زرداری")])[0] < DEFAULT_THRESHOLD


def test_two_typing_errors_in_one_long_word_are_found(index):
    # Two letters swapped twice, two letters changed: no one-deletion key links them, the
    # two-deletion neighbourhoods of both sides do (and scoring already matched them).
    found = screened(index, ["SACVHNEKO Petr", "NODIKONBANK JCSB"])
    assert "SAVCHENKO, Petr" in found[0]
    assert "NOVIKOMBANK JCSB" in found[1]


def test_a_long_name_with_two_typing_errors_is_that_name(index):
    # Part by part, the RETYPED and lone-part rules read a part two letters off as perhaps
    # another name ("Ibrhwaim" is no "Ibrahim" to the canonical spellings); over the whole
    # of a long name, two typos that keep each part's first letter are that name.
    pairs = [
        ("IBRHWAIM Mohammed Hassan", "IBRAHIM, Mohammed Hassan"),
        ("SMOIL Anatoly", "SMOLIN, Anatoly"),
        ("ZAUA BATTALION", "ZARYA BATTALION"),
        # A typo of a spelling the canonical part stands for ("mohammad" for "muhammad").
        ("Hisham Mohakmmxd Mamdouth AL-SHA'AR", "Hisham Mohammad Mamdouth AL-SHA'AR"),
    ]
    assert min(scores(index, pairs)) >= DEFAULT_THRESHOLD
    found = details(index, *pairs[0])
    assert found["typed_name"] == round(1 - 2 / len("ibrhwaimmuhammadhassan"), 4)  # the longer name
    assert found["name_score"] == found["typed_name"] > found["token_score"]
    names = [query for query, _ in pairs]
    assert_single_checks_agree(index, names, screened(index, names))


def test_what_is_no_typing_error_is_not_a_typed_name(index):
    not_typos = [
        ("Randy Morales", "Wendy Morales"),  # a first letter changed: another name
        ("BWI Industries, Inc.", "BAE Industries, Inc."),  # two errors in a short part
        ("Igor Sechev", "Igor Sechin"),  # under MIN_TYPED_NAME_LEN letters
        ("Sea Leasing 3 Limited", "Sea Leasing 6 Limited"),  # another number
        ("Omar Mohamed", "Mohamed Osman"),  # a listed word two letters off: another name
    ]
    for query, listed in not_typos:
        assert details(index, query, listed).get("typed_name") is None, query
    # The two implementations agree, pair by pair.
    pairs = [*not_typos, ("Hisham Mohakmmxd Mamdouth", "Hisham Mohammad Mamdouth"),
             ("Ibrhwaim Mohammed Hassan", "Ibrahim Mohammed Hassan"),
             ("Hassan Mohammed Ibrhwaim", "Ibrahim Mohammed Hassan")]  # fmt: skip
    q, c = [[tokens(pair[i]) for pair in pairs] for i in (0, 1)]
    listed = index.token_weights["token"]
    batch = typed_similarity(pl.Series(q), pl.Series(c), listed).tolist()
    one = [typed_similarity_one(a, b, set(listed)) for a, b in zip(q, c, strict=True)]
    assert batch == one
    assert batch[-1] == batch[-2] > 0  # the parts in another order


def test_a_word_two_typing_errors_off_that_no_key_reaches(index):
    # "Vwela" / "Varela", "Assxda" / "Assad": no deletion key links them (their keys meet
    # other list words one error off, "vela", "villa"), so the family name alone found the
    # names and scoring's RETYPED part never saw them. Compared with the list tokens of
    # their first letter, they are weak links: they add to a name the query's other part
    # found, in either order.
    names = ["VWELA Fredy", "Fredy Vwela", "HARDAN Assxda"]
    found = screened(index, names)
    assert "VARELA, Fredy" in found[0]
    assert "VARELA, Fredy" in found[1]
    assert "HARDAN, Assad" in found[2]
    assert_single_checks_agree(index, names, found)
    links = retyped_links(["vwela", "assxda"], index_table(index))
    listed = dict(zip(index.vocab["token_id"], index.vocab["token"], strict=True))
    linked = {(t, listed[i]) for t, i in links.select("token", "token_id").iter_rows()}
    assert {("vwela", "varela"), ("assxda", "assad")} <= linked
    assert (links["sim"] <= config.WEAK_LINK_SIM).all()  # never a name alone
    # A weak link never finds a name alone.
    assert screened(index, ["Vwela"]) == [[]]


def test_a_short_word_two_typing_errors_off_among_many_neighbours(index):
    # "Arhel" is two errors from 45 list words of its first letter ("Aurel" among them):
    # weak links all, they find only the names "Fratila" found.
    assert retyped_links(["arhel"], index_table(index)).height > 30
    names = ["Arhel FRATILA", "Khmai GADDAFI"]
    found = screened(index, names)
    assert "Aurel Fratila" in found[0]
    assert "GADDAFI, Khamis" in found[1]
    assert_single_checks_agree(index, names, found)


def test_a_word_two_typing_errors_off_a_common_list_word_beside_a_rare_part(index):
    # "Adneri" / "Andrei", "Ahnmd" / "Ahmed": the list word is in too many names to block
    # on, so its retyped link found nothing, and the rare family name alone is one part of
    # a two-part query: no candidate. The pair of the two (one rare) finds the name.
    names = ["PAVLOV Adneri", "KHALFAN Ahnmd"]
    found = screened(index, names)
    assert "PAVLOV, Andrei" in found[0]
    assert "Ahmed Khalfan AHMED" in found[1]
    assert_single_checks_agree(index, names, found)
    # Two common words, one of them retyped, bring in no names: every "Muhammad Hassan"
    # would be a candidate for "Mohammad Hassw", which scoring rejects.
    assert screened(index, ["Mohammad Hassw"]) == [[]]


def test_a_legal_word_typed_twice_ends_a_company_name(index):
    # The name's last word, no list word, two typing errors from limited or company
    # ("Lomitee", "Limie", "Comopay": shorter than normalisation's MIN_LEGAL_TWO_TYPO_LEN),
    # its first letter kept: read as the legal form against the snapshot.
    names = ["BUSHRA SHIP MANAGEMENT PRIVATE LOMITEE", "Sysdynamic Limie",
             "VOSTOCHNAYA STEVEDORING COMOPAY"]  # fmt: skip
    found = screened(index, names)
    assert "BUSHRA SHIP MANAGEMENT PRIVATE LIMITED" in found[0]
    assert "Sysdynamic Limited" in found[1]
    assert "VOSTOCHNAYA STEVEDORING COMPANY" in found[2]
    assert_single_checks_agree(index, names, found)
    assert resegmented(pl.Series([tokens("Sysdynamic Limie")]), index).to_list() == [
        ["sysdynamic", "llc"]
    ]
    # Not elsewhere in the name ("Compass Minerals": a word of the name), nor a beginning
    # of the word (a word cut short: "Limit"), nor a word with another first letter.
    for name in ("Limie Sysdynamic", "Sysdynamic Limit", "Sysdynamic Kompay"):
        assert resegmented(pl.Series([tokens(name)]), index).to_list() == [tokens(name)]


def test_a_legal_phrase_word_typed_twice_after_the_phrase_word_before_it(index):
    # Right after "joint", a word no list holds two typing errors from "stock" (a letter
    # added between two swapped: "Stciok") is the phrase's word: normalisation alone takes
    # a word this short one letter off only, and only inside a whole legal phrase.
    names = ["JOINT STCIOK COMMERCIAL BANK NOVIKOMBANK"]
    found = screened(index, names)
    assert "JOINT STOCK COMMERCIAL BANK NOVIKOMBANK" in found[0]
    assert_single_checks_agree(index, names, found)
    # Not without the phrase's word before it.
    for name in ("Stciok Novikombank", "Commercial Stciok Bank"):
        assert resegmented(pl.Series([tokens(name)]), index).to_list() == [tokens(name)]


def test_a_company_word_typed_wrong_beside_its_legal_forms(index):
    # A company's one distinctive word typed with two errors, every other part found: a
    # word no list holds, its first letter kept, eight letters or more. Its shortfall costs
    # fuzzy_parts; lone_fuzzy_part, the doubt that one misspelt word is another name, not.
    typed = scores(
        index,
        [
            ("TOURISKJM BANK LLC", "TOURISM BANK LLC"),
            ("FULHJMEN COMPANY", "FULMEN COMPANY"),
            ("REALTCHIY LLC", "OOO 'REALTCITY'"),
        ],
    )
    assert min(typed) >= DEFAULT_THRESHOLD
    found = details(index, "FULHJMEN COMPANY", "FULMEN COMPANY")
    assert found["lone_fuzzy_part"] == 0 and found["fuzzy_parts"] < 0
    # Not a person's name, nor beside a part missing, nor a list word in place of another,
    # nor a shorter word: "Poirier" is a real name no list holds, not a typo of "Pointer".
    assert details(index, "Fulhjmen", "Fulmen")["lone_fuzzy_part"] < 0
    assert details(index, "FULHJMEN TRADING CO.", "FULMEN COMPANY")["lone_fuzzy_part"] < 0
    assert details(index, "CARDINAL LLC", "CARDONAL LLC")["lone_fuzzy_part"] < 0
    poirier = details(index, "POIRIER SARL", "LIMITED LIABILITY COMPANY POINTER")
    assert poirier["lone_fuzzy_part"] < 0 and poirier["total"] < DEFAULT_THRESHOLD


def test_a_part_two_typing_errors_off_is_weighed_by_the_rest_of_the_name(index):
    # Too far for a spelling match, found at its edit similarity: a longer part keeps more.
    assert pair_similarity("merkur", "merkel") == pytest.approx((1 - 2 / 6, RETYPED, False))
    assert pair_similarity("mihel", "milei")[:2] == pytest.approx((1 - 2 / 5, RETYPED))
    # Another first letter, a third edit, a number: no typo.
    assert pair_similarity("merkur", "berkel")[1] != RETYPED
    assert pair_similarity("rahim", "rahman")[1] != RETYPED
    assert pair_similarity("mk1234", "mk1299")[1] != RETYPED
    assert pair_similarity("chile", "china")[1] != RETYPED  # a national branch
    rich, rare, common, lone = scores(
        index,
        [
            ("Abdel Fattah el-Sirri", "Abdel Fattah el-Sisi"),
            ("Angela Merkur", "Angela Merkel"),
            ("John Doe", "John Down"),
            ("Igor Sechev", "Igor Sechin"),
        ],
    )
    # Beside a rare rest of the name, a typo; beside one common given name, a graded doubt
    # below the threshold, no longer another name (it scored 0 before the rule).
    assert min(rich, rare) >= DEFAULT_THRESHOLD
    assert DEFAULT_THRESHOLD > lone > 0.5
    assert common < DEFAULT_THRESHOLD
    assert details(index, "Igor Sechev", "Igor Sechin")["retyped_part"] < 0
    assert details(index, "Angela Merkur", "Angela Merkel")["retyped_part"] == 0
    # A name from another script: guessed vowels, not typing ("Sharif" / "Shia").
    assert scores(index, [("محمد شريف السوداني", "محمد شياع السوداني")])[0] < DEFAULT_THRESHOLD
    # A word cut short still reads as cut, not as two letters changed ("Abiy" / "Abiyot").
    assert details(index, "Abiyot Ahmed", "Abiy Ahmed")["retyped_part"] == 0
    assert screened(index, ["KANILAI WORNI FARNM"])[0][:1] == ["KANILAI WORNI FARMS"]


def test_a_part_with_its_first_letter_changed_asks_a_rich_rest(index):
    assert pair_similarity("ssad", "asad")[1] == RETYPED_FIRST
    assert pair_similarity("rost", "troost")[1] == RETYPED_FIRST
    rich, poor = scores(
        index,
        [("Niels Oscar Rost", "Niels Oscar Troost"), ("Oscar Rost", "Oscar Troost")],
    )
    assert rich >= DEFAULT_THRESHOLD > poor
    assert details(index, "Oscar Rost", "Oscar Troost")["retyped_part"] < 0
    # Never a blocking link: "Masr" finds no "Nasr" by itself.
    assert linked_similarity_one("masr", "nasr") == 0
    # A list part found only as the counterpart of a query part counts too: a Hanzi name
    # whose syllable is one letter from a list syllable ("Fang" / "Wang") is no match.
    assert scores(index, [("芳 张", "WANG, Zhong-Lang")])[0] < DEFAULT_THRESHOLD


def test_a_letter_repeated_far_beyond_a_doubling_is_no_typo(index):
    assert pair_similarity("a" * 200, "aa")[0] == 0
    assert pair_similarity("yyu", "yu")[0] > 0
    found = screen(
        pl.DataFrame({"row": [0], "full_name": ["A" * 10_000]}),
        index,
        threshold=DEFAULT_THRESHOLD,
        max_matches=10,
    )
    assert "AA" not in [m["matched_name"] for m in found["matches"][0]]


# --- 2: Korean and Chinese syllables -------------------------------------------------------


def test_korean_and_chinese_names_across_romanisations():
    assert same_syllables_one(tokens("Kim Jong Eun"), tokens("KIM Jong Un"))
    assert same_syllables_one(tokens("김정은"), tokens("KIM Jong Un"))
    assert same_syllables_one(tokens("Park Jeong Cheol"), tokens("PAK Jong Chol"))
    assert same_syllables_one(tokens("Hsi Chin-ping"), tokens("Xi Jinping"))
    assert same_syllables_one(tokens("Jinping Xi"), tokens("Xi Jinping"))
    assert not same_syllables_one(tokens("Kim Jong Il"), tokens("KIM Jong Un"))
    assert not same_syllables_one(tokens("Vladimir Putin"), tokens("Vladimir Putin Jr"))


def test_a_final_k_before_an_h_is_one_key_in_hangul_and_in_latin(latin):
    # Hangul's reading writes a final k as g ("박한" baghan): folded to k, it stands before
    # the next syllable's h as in the Latin "Pak Han", and the two fold alike.
    assert same_syllables_one(tokens("박한세"), tokens("PAK HAN SE"))
    assert same_syllables_one(tokens("Bak Hanse"), tokens("PAK HAN SE"))
    assert not same_syllables_one(tokens("박한세"), tokens("PAK HAN SONG"))
    [found] = screened(latin, ["박한세"])
    assert "PAK HAN SE" in found


def test_a_syllable_hyphenated_to_a_name_is_no_legal_form(index):
    # Wade-Giles and McCune-Reischauer hyphenate a given name's syllables; "Pao" and "Sa"
    # are also ПАО and S.A., which stay legal forms on their own.
    assert tokens("Liu Pao-Hsia") == ["liu", "paohsia"]
    assert tokens("Hui Sa-Mo") == ["hui", "samo"]
    assert tokens("PAO Sberbank") == ["jsc", "sberbank"]
    assert tokens("Vertriebs-GmbH") == ["vertriebs", "llc"]
    assert [normalize_one(name)[0] for name in ("Liu Pao-Hsia", "Hui Sa-Mo")] == [
        ["liu", "paohsia"],
        ["hui", "samo"],
    ]
    assert same_syllables_one(tokens("Liu Pao-Hsia"), tokens("LIU, Baoxia"))
    found = screened(index, ["Liu Pao-Hsia"])
    assert "LIU, Baoxia" in found[0]


def test_wade_giles_syllables_pinyin_no_folding_reaches():
    # Wade-Giles j is pinyin r, yu is you, i is yi, o is e, kuei is gui, tso is zuo.
    assert same_syllables_one(tokens("Li Hung-Jih"), tokens("LI, Hongri"))
    assert same_syllables_one(tokens("Li Yu-Min"), tokens("LI, Youmin"))
    assert same_syllables_one(tokens("Chou I-Shan"), tokens("ZHOU, Yishan"))
    assert same_syllables_one(tokens("Wang O-Hsiang"), tokens("WANG, Exiang"))
    assert same_syllables_one(tokens("Su Kuei-Ch'in"), tokens("SU, Guiqin"))
    assert same_syllables_one(tokens("Lin Tso-Yu"), tokens("LIN, Zuoyou"))
    # ü typed v or u: "Hsv" / "Hsu" is pinyin xu.
    assert same_syllables_one(tokens("Hsv Pin"), tokens("XU, Bin"))
    assert same_syllables_one(tokens("Hsu Pin"), tokens("XU, Bin"))
    # Wade-Giles -ung is pinyin -ong.
    assert same_syllables_one(tokens("Hu Yung-An"), tokens("HU, Yongan"))
    # ... each syllable its own: "i" is yi, not er.
    assert not same_syllables_one(tokens("Chou I-Shan"), tokens("ZHOU, Ershan"))


def test_korean_syllables_however_joined_and_their_usual_spellings():
    # The Korean vowel eo written u before a final n or l ("Chul", "Jung", "Hyun").
    assert same_syllables_one(tokens("Jo Kyongchul"), tokens("JO, Kyong Chol"))
    assert same_syllables_one(tokens("Shin Geum Chul"), tokens("SHIN Geum Cheol"))
    # Hangul runs a name's syllables together: the folding runs across their boundaries
    # alike ("hyeon" + "gwang": no final ng there; "gim" + "mun").
    assert same_syllables_one(tokens("현광일"), tokens("HYON, Kwang Il"))
    assert same_syllables_one(tokens("김문철"), tokens("KIM, Mun Chol"))
    assert same_syllables_one(tokens("고일환"), tokens("KO, Il Hwan"))
    # Family names each system writes its own way: Oh / O, Ryu / Yu.
    assert same_syllables_one(tokens("Oh Injun"), tokens("O, In Chun"))
    assert same_syllables_one(tokens("Ryu Gwang Ho"), tokens("YU, Kwang Ho"))
    # u before a vowel starts the next syllable, and a final ng is no n before a g.
    assert not same_syllables_one(tokens("Pu Li"), tokens("BO, Li"))
    assert not same_syllables_one(tokens("정웅 김"), tokens("KIM, Jong Un"))


def test_a_common_korean_name_in_latin_letters_in_another_romanisation(index):
    # "KIM Yong Chol" is too common for a query in Hangul to be him rather than a namesake,
    # but a Latin query is held to what its exact spelling scores.
    latin, hangul, exact = scores(
        index,
        [("Gim Yeong-chul", "KIM, Yong Chol"), ("김영철", "KIM, Yong Chol"),
         ("Kim Yong Chol", "KIM, Yong Chol")],
    )  # fmt: skip
    assert exact >= latin >= DEFAULT_THRESHOLD > hangul
    # One Latin word is no name in syllables, whatever it folds to.
    assert max(scores(index, [("Joseph", "SEP CO."), ("Girard", "GIRALT")])) < DEFAULT_THRESHOLD


def test_a_korean_name_in_hangul_finds_the_listed_person(index):
    rows = [{"full_name": "김정은"}, {"full_name": "Gim Jeong Eun"}]
    frame = pl.DataFrame(rows).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    found = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=10, lists=["ofac"])
    names = [[m["matched_name"] for m in matches] for matches in found["matches"]]
    assert all("KIM, Jong Un" in found_names for found_names in names)


def test_syllable_keys_of_a_column_are_each_names_keys():
    # name_keys picks the names of syllables first and folds only them: the column gives
    # each name's name_keys_one, for names of syllables, others, mixed and empty alike.
    names = [
        ["kim", "jong", "un"], ["pak", "han", "se"], ["xi", "jinping"], ["hsi", "chin", "ping"],
        ["vladimir", "putin"], ["kim", "vladimir"], [], ["yu", "chul", "u"], ["kim", "jong", "un"],
    ]  # fmt: skip
    column = name_keys(pl.Series(names, dtype=pl.List(pl.Utf8)))
    assert column.rows() == [name_keys_one(name) or (None,) * 4 for name in names]
    assert column["key"].null_count() == 3


def test_syllable_keys_kept_for_a_screen_are_the_keys_made_anew():
    # Within keys_kept() a name's keys are made once and read back by later calls (a
    # screen's blocking, scoring and rules): a name is its tokens AND its parts given
    # twice, so "chang tao" given "tao" twice is not the "chang tao" kept before it.
    tokens = [["chang", "tao"], ["kim", "jong", "un"], ["vladimir", "putin"], None, []]
    twice = [["tao"], None, [], None, None]
    first = pl.Series(tokens, dtype=pl.List(pl.Utf8)), pl.Series(twice, dtype=pl.List(pl.Utf8))
    later = pl.Series([["chang", "tao"], *tokens], dtype=pl.List(pl.Utf8))
    later_twice = pl.Series([None, *twice], dtype=pl.List(pl.Utf8))
    expected = [
        name_keys_one(t or [], r) or (None,) * 4 for t, r in zip(tokens, twice, strict=True)
    ]
    with keys_kept():
        assert name_keys(*first).rows() == expected
        read_back = name_keys(later, later_twice)
        pairs = same_syllables(
            pl.Series([["zhang", "taotao"]] * 2, dtype=pl.List(pl.Utf8)), later.head(2),
            None, later_twice.head(2),
        )  # fmt: skip
    assert read_back.rows() == [name_keys_one(["chang", "tao"]), *expected]
    assert read_back.rows() == name_keys(later, later_twice).rows()  # made anew, outside
    assert pairs.to_list() == [False, True]


def test_a_syllable_given_twice_is_two_syllables(index):
    # "T'ao-T'ao" is the given name Taotao: normalisation keeps the part once, the
    # syllable keys write it twice again.
    assert with_repeats(["chang", "tao"], ["tao"]) == ["chang", "tao", "tao"]
    assert name_keys_one(["chang", "tao"], ["tao"]) == name_keys_one(["zhang", "taotao"])
    assert name_keys_one(["chang", "tao"]) != name_keys_one(["zhang", "taotao"])
    found = screened(index, ["Chang T'Ao-T'Ao", "Shen Yveh-Yveh"])
    assert any("TAOTAO" in name.upper() for name in found[0])
    assert any("YUEYUE" in name.upper() for name in found[1])


def test_a_han_or_hangul_syllable_in_place_of_another_is_another_name(index):
    # A name written in Han or Hangul has no typing errors in its romanisation: a syllable
    # in place of another is another character ("ying" / "cheng", "cheng" / "chong", "xiu"
    # / "xin"), however few letters differ; between two names in Hangul, 종 is not 정
    # although romanisations write both "jong".
    other = scores(
        index,
        [("淑英 王", "WANG, Shucheng"), ("成 周", "Chong Zhou"), ("秀荣 左", "XINRONG, Zhuo"),
         ("习近朋", "习近平"), ("김종은", "김정은"), ("이재형", "이재명")],
    )  # fmt: skip
    assert max(other) < DEFAULT_THRESHOLD
    penalty = details(index, "淑英 王", "WANG, Shucheng", q_syllabic=True, q_transliterated=True)
    assert penalty["other_syllable"] < 0
    # A part that is the list part in another romanisation system is no other syllable
    # ("jiang" / "yang": roman_key reads j and y alike), whichever the path.
    q_tokens, c_tokens = [["jiang", "ping"], ["li"]], [["yang", "ping"], ["li"]]
    linked = linked_parts(pl.Series(q_tokens), pl.Series(c_tokens), roman_key).to_list()
    one = [linked_parts_one(q, c, roman_key) for q, c in zip(q_tokens, c_tokens, strict=True)]
    assert linked == one == [1, 0]
    # The same syllables in another romanisation stay the name; a Latin query may be
    # mistyped ("Jinpeng"); a Cyrillic name is no Chinese syllables ("Юлия" / "Yulia").
    same = scores(
        index,
        [("习近平", "XI Jinping"), ("习近平", "Hsi Chin-ping"), ("Xi Jinpeng", "XI Jinping"),
         ("김정은", "KIM Jong Un"), ("王淑英", "WANG Shuying"), ("Юлия Ли", "Yulia LI")],
    )  # fmt: skip
    assert min(same) >= DEFAULT_THRESHOLD


def test_a_han_name_lacking_a_syllable_of_the_listed_name(index):
    # "丽 成" is Li Cheng, two syllables; "LI Cheng Yu" has a third: another given name,
    # although "cheng" is too long a token to look like a syllable by its length.
    two, three = scores(index, [("丽 成", "LI, Cheng Yu"), ("李成玉", "LI, Cheng Yu")])
    assert three >= DEFAULT_THRESHOLD > two


# --- 3: own scripts --------------------------------------------------------------------


def test_scripts_written_without_vowels_or_with_their_own_spellings():
    assert transliterate("علي") == "ali"  # ain first: a vowel
    assert transliterate("פוטין") == "putin"  # vav and yod inside a word, pe first
    assert transliterate("Πούτιν").lower() == "putin"  # ou
    assert transliterate("Ντόναλντ").lower().startswith("don")  # nt first: d
    assert transliterate("블라디미르").lower() == "bladimir"  # the empty vowel eu dropped


def test_a_token_written_without_its_vowels_is_the_list_spelling():
    # Arabic and Persian leave short vowels unwritten: "محمد" reads "mhmd".
    assert vowels_dropped_one("mhmd", "muhammad")
    assert vowels_dropped_one("jfr", "jafar")
    assert vowels_dropped_one("mntzri", "montazeri")
    # ... its first letter kept ("Majd" is not "Amjad"), and only a token written with
    # few vowels: a Latin, Cyrillic or Chinese syllable is not a short-vowel spelling.
    assert not vowels_dropped_one("mjd", "amjad")
    assert not vowels_dropped_one("timur", "tamara")
    assert not vowels_dropped_one("zhang", "zhuang")
    assert not vowels_dropped_one("muhammad", "mhmd")


def test_a_name_in_arabic_script_written_without_vowels_matches_its_latin_spelling(index):
    arabic, latin_typed = scores(
        index,
        [("محمد جعفر منتظری", "Mohammad Jafar MONTAZERI"),
         ("Mhmd Jfr Mntzri", "Mohammad Jafar MONTAZERI")],
    )  # fmt: skip
    # Only across scripts: in Latin letters, vowels left out are no spelling of a name.
    assert arabic >= DEFAULT_THRESHOLD > latin_typed


def test_a_token_without_vowels_finds_its_list_tokens_by_their_consonants(index):
    assert "c:jfr" in blocking_keys_one("jfr")
    assert not any(key.startswith("c:") for key in blocking_keys_one("jafar"))
    queries = pl.DataFrame(
        {"qid": [0], "tokens": [tokens("محمد جعفر منتظری")], "transliterated": [True]},
        schema={"qid": pl.Int64, "tokens": pl.List(pl.Utf8), "transliterated": pl.Boolean},
    ).with_columns(pl.lit(None, pl.List(pl.Utf8)).alias("lists"))
    found = candidates(queries, index).join(index.names, on="name_id")
    assert "Mohammad Jafar MONTAZERI" in found["name"].to_list()


def test_an_unlisted_token_without_vowels_weighs_as_the_common_name_it_spells(index, latin):
    # "mhmd" is no list token, but every spelling of Muhammad has its consonants: it weighs
    # what the commonest of them weighs, not 1 as a rare part would.
    weights = dict(index.token_weights.iter_rows())
    assert vowel_poor_weight("mhmd", index) == min(
        weights[t] for t in ("muhammad", "mohammad", "mohamed", "mohammed") if t in weights
    )
    assert vowel_poor_weight("xqzv", index) == 1.0  # no list token has its consonants
    # Weighed 1, "mhmd" filled the candidate places with other Muhammads: against the
    # list's Latin names (the Arabic-script name itself left out).
    assert "MOHAMMAD ALEEM NOORANI" in blocked(latin, "محمد علیم نورانی")


def test_greek_writes_b_d_g_inside_a_word_as_mb_nd_ng():
    # ELOT 743: "Βλαντίμιρ" is Vlandimir, one letter from Vladimir (not two: "vlantimir").
    assert transliterate("Βλαντίμιρ").lower() == "vlandimir"
    assert transliterate("Κολόμπο").lower() == "kolombo"
    assert transliterate("Ντόναλντ").lower() == "donald"  # first d, inside nd


def test_greek_putin_is_found(index):
    found = screened(index, ["Βλαντίμιρ Βλαντίμιροβιτς Πούτιν", "Βλαντίμιρ Πούτιν"])
    assert all(any("PUTIN" in name.upper() for name in names) for names in found)


def test_cyrillic_is_read_as_its_own_language_writes_it():
    # e and yo at the start of a word or after a vowel: ye, yo (BGN/PCGN).
    assert transliterate("Егор") == "yegor"
    assert transliterate("Алексеев") == "alekseyev"
    assert tokens("Рунье") == ["runye"]  # the soft sign is dropped
    assert transliterate("Ёлкин") == "yolkin"
    assert transliterate("Борисов") == "borisov"
    # Belarusian and Ukrainian (a letter Russian lacks): g is h, Ukrainian i is y.
    assert transliterate("Гайдукевіч") == "haydukevich"
    assert transliterate("Григорій") == "hryhoriy"
    assert transliterate("Євген") == "yevhen"
    # Serbian (a letter only Serbian writes): its Latin letters without their marks.
    assert transliterate("Љубиша") == "ljubisa"
    assert transliterate("Џонић") == "dzonic"
    assert transliterate("Ђорђе") == "djordje"
    # Stress marks are no letters.
    assert transliterate("Влади́мир") == "vladimir"


def test_a_belarusian_or_ukrainian_name_reads_every_word_so():
    # "Алег" has no letter Russian lacks; its neighbours say the name is Belarusian.
    assert tokens("Гайдукевіч Алег Сяргеевіч") == ["haydukevich", "aleh", "syarheyevich"]
    assert tokens("Путін Володимир") == ["putin", "volodymyr"]
    assert normalize_one("Путін Володимир")[0] == ["putin", "volodymyr"]
    assert tokens("Григорий Иванов") == ["grigoriy", "ivanov"]  # Russian: g, i


def test_an_east_slavic_given_name_in_another_language_is_the_same_name():
    # Ukrainian and Belarusian forms of a name and of its patronymic (a son's and a
    # daughter's), as normalisation reads them from Cyrillic or as the lists spell them,
    # are the Russian name, at the similarity of a nickname.
    for name, russian in [
        ("Олександр Дмитрович", "Aleksandr Dmitrievich"),
        ("Аляксандр Дзмітрыевіч", "Alexander Dmitriyevich"),
        ("Ігар Уладзіміраўна", "Igor Vladimirovna"),
        ("Serhii Mykolaivna", "Sergey Nikolaevna"),
    ]:
        for ours, theirs in zip(tokens(name), tokens(russian), strict=True):
            assert pair_similarity(ours, theirs)[0] == config.NICKNAME_SIM
    # Russian spellings of one another keep their own similarity: no nickname.
    assert pair_similarity("aleksandr", "alexander")[0] < config.NICKNAME_SIM


def test_an_east_slavic_name_finds_its_russian_form(latin):
    ukrainian, belarusian = scores(
        latin,
        [("Сергій Олексійович БОНДАР", "Sergei Alekseevich BONDAR"),
         ("Ігар Мікалаевіч БОНДАР", "Igor Nikolaevich BONDAR")],
    )  # fmt: skip
    assert ukrainian >= DEFAULT_THRESHOLD and belarusian >= DEFAULT_THRESHOLD


def test_arabic_ain_and_alef_first_are_one_vowel():
    # Ain then alef at the start write one long a: "عادل" Adel, "عامر" Amer.
    assert transliterate("عادل") == "adl"
    assert transliterate("عامر") == "amr"
    assert transliterate("علي") == "ali"  # ain alone: a vowel still
    assert normalize_one("عادل")[0] == tokens("عادل") == ["adl"]
    assert vowels_dropped_one("adl", "adel")


def test_an_ain_second_in_a_word_carries_the_vowel_a(latin):
    # "سعيد" is Saeed: the ain after the first consonant carries the a the lists write.
    assert transliterate("سعيد") == "said"
    assert tokens("سعید") == ["saeed"] == tokens("Said")  # Persian yeh: one spelling
    assert transliterate("سعود") == "saud"
    assert transliterate("جعفر") == "jafr"
    assert transliterate("معاذ") == "madh"  # before an alef: the alef is the vowel
    assert transliterate("ربيعة") == "rbia"  # after a long vowel letter: silent
    assert transliterate("مسعود") == "msud"  # further in: the vowel may come before it
    assert normalize_one("سعید آقاجانی")[0] == tokens("سعید آقاجانی")
    names = ["سعید آقاجانی"]
    found = screened(latin, names)
    assert "Saeed AGHAJANI" in found[0]
    assert_single_checks_agree(latin, names, found)


def test_the_arabic_article_is_read_once_before_a_name_beginning_with_alef_lam(latin):
    # "الالفي" is al-Alfi: the name after the article begins with the same two letters.
    assert transliterate("الالفي") == "al alfi"
    assert transliterate("الطيب") == "al tib"  # the article alone, as before
    assert transliterate("العبدالله") == "al abdullah"
    names = ["عبد الله احمد عبدالله الالفي"]
    found = screened(latin, names)
    assert "ABDULLAH AHMED ABDULLAH EL ALFI" in found[0]
    assert_single_checks_agree(latin, names, found)


def test_a_soft_c_is_the_s_of_a_transliteration_from_another_script(latin):
    # French and Spanish romanisations write s as c before e and i ("LOUNICI", "Belgacem"):
    # the consonant skeleton an Arabic-script name meets reads that c as s, a hard c as k.
    assert skeleton_key("lounici") == skeleton_key("lunisi") == "lns"
    assert skeleton_key("belgacem") == skeleton_key("blqasm")
    assert skeleton_key("carlos") == "krls"
    names = ["جمال لونيسي"]
    found = screened(latin, names)
    assert "Jamal LOUNICI" in found[0]
    assert_single_checks_agree(latin, names, found)


def test_arabic_waw_and_yeh_beside_an_alef_are_consonants():
    assert transliterate("نايف") == "nayf"  # Nayef
    assert transliterate("سبعاوي") == "sbawi"  # Sabawi
    assert transliterate("نواف") == "nwaf"  # Nawaf
    assert transliterate("محمود") == "mhmud"  # between consonants: a vowel


def test_persian_words_read_the_arabic_z_and_s_letters_as_persian_does():
    # A word with a letter only Persian writes (here ی): zad, zal, za as z; in Arabic, d.
    assert transliterate("فاضلی") == "fazli"
    assert transliterate("فاضل") == "fadl"


def test_allah_after_a_name_makes_one_name_with_it():
    assert tokens("نجيب الله محمد") == ["njibullah", "mhmd"]
    assert tokens("عبد الله") == ["abdullah"]
    assert tokens("الله داد") == ["allah", "dad"]  # first: a name part of its own
    assert normalize_one("مطيع الله")[0] == tokens("مطيع الله") == ["mtiullah"]


def test_al_din_after_a_name_makes_one_name_with_it(latin):
    # The lists mostly write "Jalaluddin", "Sirajuddin", "Nooruddin" as one word.
    assert tokens("جلال الدين حقانى") == ["jlaluddin", "hqana"]
    assert tokens("نورالدین ترابی") == ["nuruddin", "trabi"]  # written joined, Persian yeh
    assert tokens("الدين") == ["al", "din"]  # first: no name to join
    assert normalize_one("سراج الدين")[0] == tokens("سراج الدين") == ["srajuddin"]
    found = screened(latin, ["جلال الدين حقانى", "نورالدین ترابی محمد قاسم"])
    assert ["jalaluddin", "haqani"] in [tokens(name) for name in found[0]]
    assert ["nooruddin", "turabi", "muhammad", "qasim"] in [tokens(name) for name in found[1]]


def test_two_consonants_with_the_vowel_between_them_unwritten():
    # "عمر" reads "amr": Omar, Umar, Amer with the inner vowel unwritten; an initial
    # alef or ain is any vowel.
    assert vowels_dropped_one("amr", "omar")
    assert vowels_dropped_one("nbi", "nabi")
    assert not vowels_dropped_one("amr", "mira")  # another first sound
    # One consonant written with two letters is no bare pair: "zhu" is a pinyin syllable.
    assert not vowels_dropped_one("zhu", "zhao")
    assert not vowels_dropped_one("shi", "shai")


def test_w_and_y_inside_a_word_are_no_consonants_of_the_skeleton():
    # Arabic writes w and u, y and i with one letter: "جوهر" reads "juhr", Jawhar.
    assert vowels_dropped_one("juhr", "jawhar")
    assert vowels_dropped_one("zkrya", "zakariya")
    assert not vowels_dropped_one("juhr", "jaber")
    # A query token that writes its y keeps it: "Syed" is no "Saeed".
    assert vowels_dropped_one("syd", "sayed")
    assert not vowels_dropped_one("syed", "saeed")


def test_a_long_vowel_letter_is_read_as_a_vowel_or_a_consonant():
    # Yeh and waw write i/y and u/w: "طیب" reads "tib", Tayeb; "نور" "nur", Noor.
    assert matres_one("tib", "tayeb")
    assert matres_one("nur", "noor")
    assert matres_one("riis", "reyes")  # the list writes a y where the reading has i
    assert matres_one("abidi", "ubaydi")  # an initial vowel is any vowel
    assert not matres_one("ali", "eli")  # one consonant alone links too much
    assert not matres_one("tib", "bait")  # another first sound
    assert not matres_one("chen", "chin")  # pinyin spells e and o: no abjad reading
    assert not matres_one("yan", "yen")  # as many vowels, no w or y: another syllable
    assert not matres_one("tayeb", "tib")  # the list token writes fewer vowels


def test_blocking_offers_a_name_whose_long_vowel_letter_the_query_reads_as_a_vowel(latin):
    # "ثروت" reads "thrut" and "العبيدي" "abidi": scoring reads them as Tharwat and Ubaydi
    # (matres_one), so blocking must offer those names, through the key of first sound
    # and consonants without w and y, which a query token gets only where spelt as an
    # abjad reads.
    assert "m:tthrt" in blocking_keys_one("thrut")
    assert not any(key.startswith("m:") for key in blocking_keys_one("tayeb"))  # e: no abjad
    assert linked_similarity_one("abidi", "ubaydi") >= config.CROSS_SCRIPT_SKELETON_SIM
    # A list token is a Latin spelling, no reading of another script: "nurza" links to
    # "noorzai" only where the lists do not hold it (every Latin name would link so).
    assert linked_similarity_one("nurza", "noorzai") >= config.CROSS_SCRIPT_SKELETON_SIM
    assert linked_similarity_one("nurza", "noorzai", q_listed=True) < config.MIN_TOKEN_SIM
    assert "INTISSAR AL-UBAYDI" in blocked(latin, "انتصار العبيدي")
    assert "THARWAT SALAH SHIHATA" in blocked(latin, "ثروت صالح شحاته")


def test_blocking_offers_a_persian_name_whose_waw_the_lists_write_v(latin):
    # Persian reads waw v: "خسروی" transliterates "khsrui", the lists write "Khosravi";
    # scoring reads the v as the waw (matres_one), so blocking must offer the name through
    # the long-vowel key of a list token with a v inside, as of one with a w.
    assert matres_key("khosravi", listed=True) == matres_key("khsrui", listed=False)
    assert matres_key("fadavi", listed=True) == matres_key("fdui", listed=False)
    assert linked_similarity_one("khsrui", "khosravi") >= config.CROSS_SCRIPT_SKELETON_SIM
    assert "Mohammad Hossein KHOSRAVI" in blocked(latin, "محمد حسین خسروی")
    assert "Ali FADAVI" in blocked(latin, "علی فدوی")


def test_only_a_query_written_in_an_abjad_takes_the_long_vowel_letter_links(latin):
    # Scoring reads a waw or yeh as a vowel for a query written in an abjad only (q_abjad),
    # so blocking gives such a link to those queries alone: a Latin "Sul" in a customer's
    # book linked to every "Silva" brought names that scoring can only reject.
    assert any("SILVA" in name for name in blocked(latin, "Sul", abjad=True))
    assert not any("SILVA" in name for name in blocked(latin, "Sul", abjad=False))
    assert "Mohammad Hossein KHOSRAVI" in blocked(latin, "Khsrui", abjad=True)
    assert "Mohammad Hossein KHOSRAVI" not in blocked(latin, "Khsrui", abjad=False)
    # screen() tells blocking the script: the Persian name still finds its entry, and the
    # single check agrees with the batch.
    names = ["محمد حسین خسروی", "Khsrui Sul"]
    found = screened(latin, names)
    assert "Mohammad Hossein KHOSRAVI" in found[0] or "KHOSRAVI, Mohammad Hossein" in found[0]
    assert_single_checks_agree(latin, names, found)


def test_blocking_offers_an_abjad_query_the_short_vowels_its_script_leaves_out(latin):
    # "باقری" reads "baqri", "ابوالقاسم" "abwalqasm": the lists write Bagheri and
    # Abolghasem, with the short vowels the script leaves out and no long vowel letter
    # (so no long-vowel key); "عمری" reads "amri", a spelling the lists also hold, for
    # Omari. Scoring reads them alike (matres_one, q_abjad), so blocking offers such list
    # tokens to a query written in an abjad, and to no other query.
    def token_id(token: str) -> int:
        return latin.vocab.filter(pl.col("token") == token)["token_id"][0]

    assert token_id("bagheri") in short_vowel_links("baqri", latin)
    assert "amri" in latin.token_weights["token"].to_list()
    assert token_id("omari") in short_vowel_links("amri", latin)
    assert short_vowel_links("bagheri", latin) == {}  # no reading: an abjad writes no e
    assert "Mohammad BAGHERI" in blocked(latin, "محمد باقری", abjad=True)
    assert "Mohammad BAGHERI" not in blocked(latin, "Mohammad Baqri", abjad=False)
    names = ["محمد باقری", "ابوالقاسم صلواتی", "عبدالجبار عمری", "Mohammad Baqri"]
    found = screened(latin, names)
    assert "Mohammad BAGHERI" in found[0]
    assert any("SALAVATI" in name for name in found[1])
    assert "ABDUL JABBAR OMARI" in found[2]
    assert "Mohammad BAGHERI" not in found[3]
    assert_single_checks_agree(latin, names, found)


def test_a_name_written_partly_in_latin_takes_no_short_vowel_reading(latin):
    # "David אמיר" writes David as it is read, "Hari مجتبوی" Hari: a name mixing an abjad
    # with Latin letters reads no short vowels into its words, whichever script each word
    # came from ("mir" reads Mayer only where the whole name is written in an abjad).
    names = ["David אמיר", "Hari مجتبوی", "שון King", "דוד אמיר"]
    wholly = [wholly_in_abjad_script_one(name) for name in names]
    assert wholly == [False, False, False, True]
    frame = pl.DataFrame({"name": names}).select(wholly_in_abjad_script(pl.col("name")))
    assert frame["name"].to_list() == wholly
    assert "David MAYER" in blocked(latin, "David אמיר", abjad=True, wholly=True)
    assert "David MAYER" not in blocked(latin, "David אמיר", abjad=True, wholly=False)
    found = screened(latin, names)
    assert not any("MAYER" in name for name in found[0])
    assert not any("HAERI" in name for name in found[1])
    assert not any("Qingye" in name for name in found[2])
    assert "David MAYER" in found[3]
    assert_single_checks_agree(latin, names, found)


def test_a_long_vowel_letter_is_read_as_a_vowel_only_in_an_abjad(index):
    # Han and Cyrillic write their vowels: "坤" (kun) is no "Knaya"; an Arabic-script name
    # leaves them to the reader.
    han, arabic = scores(
        index, [("坤 林", "KNAYA, Lina"), ("ثروت صالح شحاته", "THARWAT SALAH SHIHATA")]
    )
    assert han < DEFAULT_THRESHOLD <= arabic
    # Blocking cannot tell a token's script: it links by the rule only list tokens that
    # write a long vowel, "Tharwat", not "Tamara", which "Тимур" (timur) would reach.
    assert matres_key("tharwat", listed=True) == "tthrt"
    assert matres_key("tamara", listed=True) is None
    assert linked_similarity_one("timur", "tamara") < config.CROSS_SCRIPT_SKELETON_SIM
    assert "FROLOVA, Tamara Ivanovna" not in screened(index, ["Тимур Фролов"])[0]


def test_arabic_names_with_long_vowel_letters_match_their_latin_spelling(index):
    arabic, latin_typed = scores(
        index,
        [
            ("الله داد طیب ولی", "Allah Dad TAYEB WALI"),
            ("Allah Dad Tib Wli", "Allah Dad TAYEB WALI"),
        ],
    )
    # Across scripts only: in Latin letters, "Tib" is no spelling of Tayeb.
    assert arabic >= DEFAULT_THRESHOLD > latin_typed


def test_arabic_names_with_bare_consonants_and_glides_match_their_latin_spelling(index):
    found = scores(
        index,
        [("جوهر مجيد الدوري", "JAWHAR MAJID AL-DURI"),
         ("محمد عمر غلام نبی", "Muhammad Omar Ghulam Nabi"),
         ("مطيع الله", "MATIULLAH")],
    )  # fmt: skip
    assert min(found) >= DEFAULT_THRESHOLD


def test_a_name_with_a_persian_letter_reads_every_word_as_persian():
    # "رضا" writes no letter only Persian has; beside "خاکی" it is Reza, not Rida.
    assert tokens("رضا خاکی") == normalize_one("رضا خاکی")[0] == ["rza", "khaki"]
    assert tokens("رضا علي") == ["rda", "ali"]  # Arabic letters only: an Arabic reading


def test_persian_endings_written_apart_join_their_name():
    # The lists write "Hassanzadeh", "Zarepour" as one word; Persian often writes them apart.
    assert tokens("حسن زاده") == normalize_one("حسن زاده")[0] == ["hsnzadh"]
    assert tokens("زارع پور") == ["zarpur"]
    assert tokens("زاده") == ["zadh"]  # first: no name to join


def test_mauritanian_ould_and_urdu_allah_read_as_the_lists_write_them():
    assert tokens("محفوظ ولد الوليد") == ["mhfuz", "ould", "al", "wlid"]
    assert tokens("ثناء اللہ") == normalize_one("ثناء اللہ")[0] == ["thnaullah"]  # Urdu heh
    assert tokens("Shams Ur-Rahman") == tokens("Shams al-Rahman") == ["shams", "al", "rahman"]


def test_a_name_element_joined_to_its_name_reads_as_two_words():
    assert tokens("أبوغيث") == normalize_one("أبوغيث")[0] == ["abu", "ghith"]
    assert tokens("محمدعلی جعفری") == ["mhmd", "ali", "jafri"]
    # Not before an ending, Allah or a two-letter stub; nor Abu in a Persian compound.
    assert tokens("محمدی") == ["mhmdi"]
    assert tokens("محمدزاده") == ["mhmdzadh"]
    assert tokens("محمدالله") == ["mhmdullah"]
    assert tokens("ابوالقاسم") == ["abwalqasm"]
    assert tokens("ابوطالبی") == ["abutalbi"]


def test_one_arabic_or_persian_consonant_written_several_ways_is_one_consonant():
    assert matres_one("baqri", "bagheri")  # qaf as gh
    assert vowels_dropped_one("qsm", "kassem")  # qaf as k
    assert vowels_dropped_one("jwad", "javad")  # waw as v
    assert matres_one("druish", "darvish")
    assert vowels_dropped_one("jfr", "djaafar")  # jim as dj
    assert matres_one("ashur", "achour")  # shin as ch
    assert not matres_one("baqri", "bakhri")  # kh is another letter
    assert transliterate("ځدران") == "zdran"  # Pashto dze: Zadran


def test_a_vowel_an_abjad_leaves_to_a_guess_is_no_changed_letter(latin):
    # "ابو" abu / "ABO", "علياء" alya / "ALIA": waw read u or o, yeh i or y.
    assert pair_similarity("abu", "abo")[1] == CHANGED  # in Latin letters: a changed part
    assert scores(latin, [("مالك علياء", "Malek ALIA")])[0] >= DEFAULT_THRESHOLD
    names = ["سليمان جاسم سليمان علي أبوغيث"]
    found = screened(latin, names)
    assert "Sulaiman Jassem Sulaiman ALI ABO GHAITH" in found[0]
    assert_single_checks_agree(latin, names, found)


# --- 4: spaces ---------------------------------------------------------------------------


def test_a_company_name_written_without_spaces_is_found(index):
    assert segment("scientificmanufacturingenterprisealmaz", list_words(index)) == [
        "scientific", "manufacturing", "enterprise", "almaz",
    ]  # fmt: skip
    rows = [
        {"full_name": "SCIENTIFICMANUFACTURINGENTERPRISEALMAZ"},
        {"full_name": "LIMITEDLIABILITYCOMPANYGLOBALCONCEPTSGROUP"},
    ]
    frame = pl.DataFrame(rows).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    found = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=10)
    names = [[m["matched_name"] for m in matches] for matches in found["matches"]]
    assert "SCIENTIFIC MANUFACTURING ENTERPRISE ALMAZ" in names[0]
    assert "LIMITED LIABILITY COMPANY GLOBAL CONCEPTS GROUP" in names[1]


def test_a_given_name_run_into_the_family_name_is_found(index):
    # The run-in token is near its longer half only ("plysheuski", weakly) or near nothing
    # ("andreinikolaevich": both halves common): blocking tries it as two list words.
    found = screened(index, ["PLYSHEUSKIihar", "Andreinikolaevich GURTSEVICH"])
    assert "PLYSHEUSKI, Ihar" in found[0]
    assert "Andrei Nikolaevich GURTSEVICH" in found[1]


def test_a_name_run_together_reads_as_its_list_words(index):
    # The halves are spellings the list writes otherwise ("mohammad" is "muhammad"), and a
    # legal phrase or a title run in is normalised as written apart.
    assert reading_of("baserimohammad", index) == ["baseri", "muhammad"]
    assert reading_of("bandarimampetrochemical", index) == ["bandar", "petrochemical"]
    assert fewest_words("aktsionernoeobshchestvofarvater", segment_words(index)) == [
        "aktsionernoe", "obshchestvo", "farvater",
    ]  # fmt: skip
    # Each query's tokens stay distinct, in order.
    run_together = pl.Series([["baserimohammad"], ["ourjman", "mohamedourjman"]])
    assert resegmented(run_together, index).to_list() == [
        ["baseri", "muhammad"],
        ["ourjman", "muhammad"],
    ]
    names = ["BASERImohammad", "Mohamedourjman", "BANDARIMAMPETROCHEMICALCOMPANY"]
    found = screened(index, names)
    assert "BASERI, Mohammad" in found[0]
    assert "Mohamed OURJMAN" in found[1]
    assert "BANDAR IMAM PETROCHEMICAL COMPANY" in found[2]
    assert_single_checks_agree(index, names, found)


def test_a_long_name_run_together_holds_short_list_words(index):
    # Initials, acronyms and legal words of two or three letters are list words too ("am",
    # "vtb", "ao", "s" of "obshchestvo s ogranichennoi otvetstvennostyu"), and a name run
    # together is cut at the lists' own spellings ("obschestvo", read as the legal form).
    assert reading_of("vtbregistrarclosed", index) == ["vtb", "registrar", "closed"]
    assert reading_of("aokazanskiivertoletnyizavod", index) == [
        "jsc", "kazanskii", "vertoletnyi", "zavod",
    ]  # fmt: skip
    assert reading_of("obshchestvosogranichennoiotvetstvennostyuvygonkonsalting", index) == [
        "llc", "vygon", "konsalting",
    ]  # fmt: skip
    assert reading_of("aktsionernoeobschestvokorporatsiyatakticheskoeraketnoe", index) == [
        "jsc", "korporatsiya", "takticheskoe", "raketnoe",
    ]  # fmt: skip
    names = [
        "AMPROKHOROVGENERALPHYSICSINSTITUTERUSSIANACADEMYOFSCIENCES",
        "AKTSIONERNOEOBSHCHESTVO'STRAKHOVAYAGRUPPAMSK'",
        "JSCVTIKHOMIROVSCIENTIFICRESEARCHINSTITUTEOFINSTRUMENTDESIGN",
    ]
    found = screened(index, names)
    assert "A.M. PROKHOROV GENERAL PHYSICS INSTITUTE RUSSIAN ACADEMY OF SCIENCES" in found[0]
    assert "AKTSIONERNOE OBSHCHESTVO 'STRAKHOVAYA GRUPPA MSK'" in found[1]
    assert "JSC V. TIKHOMIROV SCIENTIFIC RESEARCH INSTITUTE OF INSTRUMENT DESIGN" in found[2]
    assert_single_checks_agree(index, names, found)


def test_a_short_name_run_together_reads_as_its_words(index):
    # Eight letters: a given name run into the next part ("SA'IDmajd", "Rukanabd").
    assert reading_of("saidmajd", index) == ["saeed", "majd"]
    assert resegmented(pl.Series([["al", "majid", "rukanabd", "gafur"]]), index).to_list() == [
        ["al", "majid", "rukan", "abdul", "gafur"]
    ]
    assert "SA'ID, Majd" in screened(index, ["SA'IDmajd"])[0]


def test_short_list_words_do_not_cut_a_name_into_syllables(index):
    # Two short words side by side, or a cut mostly of short words, is chance, not a name
    # run together: such a token stays whole.
    assert reading_of("christensen", index) == []
    assert reading_of("kowalczykowa", index) == []
    assert reading_of("aktsionernoeobsxhestvo", index) == []


def test_a_typo_of_a_list_word_is_not_cut_into_words(index):
    # "abdlkarim" could be "abdl karim", but it is one letter from the list's "abdulkarim":
    # a typo, not two words. A word with no list word in it stays whole.
    assert fewest_words("abdlkarim", segment_words(index)) == ["abdl", "karim"]
    assert resegmented(pl.Series([["abdlkarim", "christensen"]]), index).to_list() == [
        ["abdlkarim", "christensen"]
    ]


def test_a_word_two_typing_errors_from_a_list_word_is_not_cut_into_words(index):
    # "grihsanovidch" reads "rihs" and "novi" run together (8 of its 13 letters), but it is
    # "grishanovich" typed twice: its first letter kept, two errors, no closer neighbour.
    names = ["Pavel GRIHSANOVIDCH", "TRANSMRLPORT LLC"]
    assert resegmented(pl.Series([["pavel", "grihsanovidch"]]), index).to_list() == [
        ["pavel", "grihsanovidch"]
    ]
    found = screened(index, names)
    assert "Pavel Grishanovich" in found[0]
    assert "TRANSMORPORT OOO" in found[1]
    assert_single_checks_agree(index, names, found)
    # Words run together that are no list word typed twice are still read as words.
    assert resegmented(pl.Series([["vtbregistrarclosed"]]), index).to_list() == [
        ["vtb", "registrar", "closed"]
    ]


def test_a_space_inside_a_word_whose_halves_are_list_words(index):
    # "mor" and "disco" are list words too: the two parts written together still are the
    # listed "mordisco".
    assert "MORDISCO, Ivan" in screened(index, ["MOR DISCO Ivan"])[0]


def test_a_legal_form_run_into_the_name():
    assert tokens("LLCMILITARYINDUSTRIALCOMPANY") == ["llc", "militaryindustrial", "co"]
    assert tokens("JOINTSTOCKCOMPANYNIIME") == ["jsc", "niime"]
    # A word merely ending in letters of a legal form stays whole.
    assert tokens("Unlimited Zinc") == ["unlimited", "zinc"]


# --- 5: abbreviations ------------------------------------------------------------------


def test_an_acronym_of_the_whole_organisation_name(index):
    # Three initials or more standing for every word of the name, legal forms aside.
    whole, with_form, part = scores(
        index,
        [
            ("PLA", "People's Liberation Army"),
            ("PLA", "People's Liberation Army Ltd"),
            ("PLA", "People's Liberation Army Navy Command"),
        ],
    )
    assert min(whole, with_form) >= DEFAULT_THRESHOLD > part
    # Two initials say too little; nor is a person named by initials ("JC" Juncker).
    assert scores(index, [("LA", "Liberation Army")])[0] < DEFAULT_THRESHOLD
    person = score_name_pairs(
        pl.Series(["PLA"]), pl.Series(["Peter Lars Andersen"]), "individual", index
    )
    assert person[0] < DEFAULT_THRESHOLD
    # The initials must be their own name's only word: not "MHM" in the registration
    # "EP-MHM" for a person's three names.
    assert scores(index, [("Muhammed Hakim MAZAR", "EP-MHM")])[0] < DEFAULT_THRESHOLD
    # The rest of the query must agree: "PLA China" is not the army alone.
    assert scores(index, [("PLA China", "People's Liberation Army")])[0] < DEFAULT_THRESHOLD


def test_a_legal_phrase_word_one_letter_off_is_the_phrase(index):
    right = tokens("TACTICAL MISSILES CORPORATION JOINT STOCK COMPANY")
    assert tokens("TACTICAL MISSILES CORPORATION JOYNT STOCK COMPANY") == right
    assert tokens("Closed Joint Stok Company Klimovskiy") == tokens("CJSC Klimovskiy")
    assert normalize_one("Closed Joint Stok Company Klimovskiy")[0] == tokens("CJSC Klimovskiy")
    # Only where the whole phrase takes the word in: "Oven" is no "open", "Stok" alone no
    # "stock".
    assert tokens("Oven Joint Bakery") == ["oven", "joint", "bakery"]
    assert normalize_one("Stok Holdings")[0] == tokens("Stok Holdings") == ["stok", "holdings"]
    found = scores(
        index,
        [("TACTICAL MISSILES CORPORATION JOINT STOCK COMPANY", "TACTICAL MISSILES CORP JSC")],
    )
    assert found[0] >= DEFAULT_THRESHOLD


def test_a_long_legal_phrase_word_two_letters_off_is_the_phrase():
    # Two typing errors in a phrase word of 8+ letters, also in the words the phrases give
    # as a stem with any ending ("aktsionern[a-z]*").
    for name in (
        "AKTSIOMNERNOD OBSHCHESTVO FINTENDER",
        "BANK TAATTA ATSIONERNOE OBHCHESTVO",
        "OBSHCHESTVO S OGRANICEHNNOI OTVETSTVENNOSTYU ACHIM",
    ):
        assert normalize_one(name)[0] == tokens(name)
    assert tokens("AKTSIOMNERNOD OBSHCHESTVO FINTENDER") == ["jsc", "fintender"]
    assert tokens("BANK TAATTA ATSIONERNOE OBHCHESTVO") == ["bank", "taatta", "jsc"]
    assert tokens("OBSHCHESTVO S OGRANICEHNNOI OTVETSTVENNOSTYU ACHIM") == ["llc", "achim"]
    # Outside a whole phrase the word stays a name part, and a short word two letters off
    # is another word even inside one.
    assert tokens("Aktsiomnernod Fintender") == ["aktsiomnernod", "fintender"]
    assert tokens("Jiomt Stock Company Ural") != tokens("JSC Ural")


def test_a_legal_word_two_letters_off_ends_a_company_name(index):
    # The name's last word of 8+ letters, two typing errors from company, corporation,
    # incorporated or limited, its first letter kept: the legal form.
    assert tokens("SINA BANK COMPSANUY") == tokens("SINA BANK COMPANY")
    assert normalize_one("SINA BANK COMPSANUY")[0] == tokens("SINA BANK COMPANY")
    assert tokens("Pars Oil Corporatuin") == tokens("Pars Oil Corporation")
    # Not a word elsewhere in the name, nor a name of one word, nor a shorter word
    # ("Command"), nor a word of another language two letters from a legal word of its own.
    for name in ("Compsanuy Bank", "Compsanuy", "Blue Command", "Maria Antonia", "El Compadre"):
        assert normalize_one(name)[0] == tokens(name) == tokens(name.lower())
        assert not set(tokens(name)) & {"co", "corp", "llc", "jsc"}
    assert scores(index, [("SINA BANK COMPSANUY", "SINA BANK")])[0] >= DEFAULT_THRESHOLD


def test_company_words_abbreviated_and_legal_forms_spelled_out(index):
    pairs = [
        ("Delancourt Bros. Mfg. Co.", "Delancourt Brothers Manufacturing Co."),
        ("Bco. Nac. de Cuba", "Banco Nacional de Cuba"),
        ("Tata Pvt. Ltd.", "Tata Private Limited"),
        ("Acme Sdn. Bhd.", "Acme Sendirian Berhad"),
        ("Alfa Kft.", "Alfa Korlatolt Felelossegu Tarsasag"),
        ("Fabrica Ind. e Com.", "Fabrica Industria e Comercio"),
    ]
    assert min(scores(index, pairs)) == 1.0


def test_a_legal_phrase_with_short_forms_or_cut_words(index):
    # "Co." and "Ltd." inside a legal phrase, or its long words cut with a dot.
    assert tokens("Ltd. LIABILITY Co. NANOCHIP") == ["llc", "nanochip"]
    assert tokens("JOINT STOCK Co. AVTOVAZ") == ["jsc", "avtovaz"]
    assert tokens("OBSH. S OGRANICHENNOI OTVET. TSK VEKTOR") == ["llc", "tsk", "vektor"]
    assert tokens("OTKRYTOE AKTSIO. OBSHCH. KAMAZ") == ["jsc", "kamaz"]
    pairs = [
        ("JOINT STOCK Co. VNIIR PROGRESS", "JOINT STOCK COMPANY VNIIR PROGRESS"),
        ("Ltd. LIABILITY Co. REDMETKONTSENTRAT", "LIMITED LIABILITY COMPANY REDMETKONTSENTRAT"),
    ]
    assert min(scores(index, pairs)) == 1.0
    # A cut word alone, outside a whole phrase, is no legal form: it stays a name part.
    assert tokens("Aktsio Kamaz") == ["aktsio", "kamaz"]
    assert tokens("Obsh Vektor") == ["obsh", "vektor"]


def test_a_legal_word_written_with_a_space_inside():
    assert tokens("RUSHAAN TRADING COM PANY") == ["rushaan", "trading", "co"]
    assert tokens("LIMITED LIA BILITY COMPANY STK") == ["llc", "stk"]
    assert tokens("HARAZ SHIPPING LIMI TED") == ["haraz", "shipping", "llc"]
    # Halves shorter than MIN_LEGAL_HALF_LEN are words of their own.
    assert tokens("Co Mpany Ali") != tokens("Company Ali")


# --- 6: romanisation systems -----------------------------------------------------------


def test_slavic_names_in_another_romanisation(index):
    assert roman_key("verkhnyaya") == roman_key("werchnjaja")
    assert roman_key("khotintsev") == roman_key("hotincev")
    assert roman_key("rabinovich") == roman_key("rabinowitz")
    pairs = [
        ("Olga Werchnjaja", "Olga VERKHNYAYA"),
        ("Pawel Hotincev", "Pavel KHOTINTSEV"),
        ("Lev Rabinowitz", "Lev RABINOVICH"),
    ]
    assert min(scores(index, pairs)) >= DEFAULT_THRESHOLD


def test_a_german_z_is_the_ts_of_english_romanisation(index):
    # ц: English ts, German z, Polish c ("Kuznezow", "Jazenko"); not a first z, which
    # begins other names ("Zara" / "Cara").
    assert roman_key("kuznezow") == roman_key("kuznetsov")
    assert roman_key("jazenko") == roman_key("yatsenko")
    assert roman_key("zara") != roman_key("cara")
    pairs = [
        ("Andrei Anatoliewitsch Kuznezow", "KUZNETSOV, Andrey Anatolyevich"),
        ("Jazenko Wiktor", "YATSENKO, Viktor"),
        ("Mezenzew Dmitrij Fedorowitsch", "MEZENTSEV, Dmitriy Fedorovich"),
    ]
    assert min(scores(index, pairs)) >= DEFAULT_THRESHOLD
    names = ["Jazenko Wiktor"]
    found = screened(index, names)
    assert "YATSENKO, Viktor" in found[0]
    assert_single_checks_agree(index, names, found)


def test_a_short_given_name_one_glide_letter_off_is_the_name(index):
    # j, y or i, w or v: one Cyrillic letter romanised ("Juri" / "Yuri"), even beside a rare
    # family name that a changed given name would leave alone ("Tim Cook" / "Tom Cook").
    assert pair_similarity("juri", "yuri")[0] >= config.ROMAN_SIM
    assert pair_similarity("iwan", "ivan")[0] >= config.ROMAN_SIM
    assert pair_similarity("zhao", "shao")[0] < config.ROMAN_SIM
    assert pair_similarity("juri", "yuro")[0] < config.ROMAN_SIM  # two letters off
    names = ["Pichugin Juri", "Pichugin Iuri"]
    found = screened(index, names)
    assert all("PICHUGIN, Yuri Viktorovich" in matches for matches in found), found
    assert_single_checks_agree(index, names, found)


def test_a_name_romanised_with_several_letters_folded_at_once():
    # ks/x and y/i in one word: three edits of seven, still one spelling of the name.
    assert roman_key("aleksey") == roman_key("alexei")
    sim, _, _ = pair_similarity("aleksey", "alexei")
    assert sim >= 0.9
    assert pair_similarity("zhao", "shao")[0] < 0.9  # too short for a romanisation fold


def test_russian_dzh_is_the_j_of_other_romanisations(latin):
    # Russian writes the j of Arabic and Caucasian names дж, which its romanisation spells
    # dzh: "Джихад" reads "dzhikhad", Jihad; "Dzhokhar" is Jokhar.
    assert roman_key("dzhikhad") == roman_key("jihad")
    assert roman_key("dzhokhar") == roman_key("jokhar")
    assert roman_key("zhukov") != roman_key("jukov")  # zh alone is another letter
    names = ["Абу Джихад"]
    found = screened(latin, names)
    assert "Abu JIHAD" in found[0]
    assert_single_checks_agree(latin, names, found)


# --- 7: fuzzy search -------------------------------------------------------------------


def test_fuzzy_search_finds_one_deletion(index):
    frame = pl.DataFrame({"row": [0], "full_name": ["Vladimir Putn"]})
    found = screen(frame, index, threshold=0.8, max_matches=10, search_type="fuzzy")
    assert any("PUTIN" in m["matched_name"].upper() for m in found["matches"][0])


# --- 8: near misses -----------------------------------------------------------------------


def test_another_distinctive_company_word_is_another_company(index):
    # "pride": a list word itself in place of "prime", a word of several list names, and
    # another sound: another company, whichever letter changed. A typo makes no list word
    # ("prjme"), and a spelling of a generic company word is that word ("tekhnology").
    other, typo, spelling = scores(
        index,
        [
            ("Pride Trading LLC", "Prime Trading LLC"),
            ("Prjme Trading LLC", "Prime Trading LLC"),
            ("FiberHome International TEKHNOLOGY Co. Ltd.", "FiberHome International Technology Co., Ltd."),
        ],
    )  # fmt: skip
    assert other < DEFAULT_THRESHOLD <= min(typo, spelling)
    found = details(index, "Mail Services LLC", "Rail Services LLC")
    assert found["other_company_word"] < 0 and found["total"] < DEFAULT_THRESHOLD
    # Beside a rare part in common, the word may be a typo (cases.csv).
    assert (
        details(index, "Cardinal Wealth, Inc.", "Cardinal Health, Inc.")["other_company_word"] == 0
    )
    # Between people, one letter of a name is changed_short_part's concern.
    assert details(index, "Kasem Ray Davis", "Kasey Ray Davis")["other_company_word"] == 0


def test_another_company_word_beside_a_common_word(index):
    # "smart" / "start" beside "energy", a word of two hundred list names: the identity
    # rests on the word that differs. Another company.
    found = details(index, "Smart Energy LLC", "Start Energy LLC")
    assert found["other_company_word"] < 0 and found["total"] < DEFAULT_THRESHOLD
    # Not in place of a one-off brand ("vitol", in no list name: misspelt or imitated),
    # nor of a country ("Chima" misspells China).
    assert details(index, "Vital Holding S.A.", "Vitol Holding S.A.")["other_company_word"] == 0
    assert details(index, "Bank of Chima Ltd", "Bank of China Ltd")["other_company_word"] == 0
    # A vowel in place of another is another romanisation of the same word.
    organisation = {"c_entity_type": "organization"}
    assert (
        details(index, "Al-Qaeda in Iraq", "Al-Qaida in Iraq", **organisation)["other_company_word"]
        == 0
    )


def test_another_number_is_another_vessel_or_company(index):
    pairs = [("Leasing 3", "Leasing 6"), ("Sea Star Maru No. 8", "Sea Star Maru No. 6")]
    assert max(scores(index, pairs)) < DEFAULT_THRESHOLD
    assert details(index, "Sea Star Maru No. 8", "Sea Star Maru No. 6")["other_number"] < 0


def test_a_common_name_whose_birth_date_and_nationality_contradict(index):
    columns = {
        "q_birth_date": "1990-05-05",
        "c_birth_dates": ["1961-01-01"],
        "q_nationality": "NZ",
        "c_nationalities": ["SY"],
    }
    found = details(index, "Muhammad Ali", "MUHAMMAD ALI", **columns)
    assert found["identity"]["contribution"] < 0
    assert found["total"] < DEFAULT_THRESHOLD
    # Either contradiction alone leaves the identity qualifier out.
    alone = details(index, "Muhammad Ali", "MUHAMMAD ALI", **(columns | {"q_nationality": "SY"}))
    assert alone["identity"]["contribution"] == 0
    # Three common parts weigh as much as two rare ones, yet none is rare: still a namesake.
    many = details(index, "Dmitri Alekseyevich Lebedev", "Dmitri Alekseyevich LEBEDEV", **columns)
    assert many["identity"]["contribution"] < 0
    assert many["total"] < DEFAULT_THRESHOLD
    # A rare part keeps the name above the threshold: the date and nationality may be wrong.
    rare = details(index, "Sergei Kuzhugetovich Shoigu", "Sergei Kuzhugetovich SHOIGU", **columns)
    assert rare["identity"]["contribution"] == 0
    assert rare["total"] >= DEFAULT_THRESHOLD


def test_one_word_of_a_company_name_is_not_the_company(index):
    company, bare = scores(
        index, [("Green LLC", "GREEN SHIPPING LTD."), ("Faberlic", "FABERLIC EUROPE Sp. z o.o.")]
    )
    assert company < DEFAULT_THRESHOLD
    # A bare word, not said to be a company, is a lone rare part (as "Putin" is).
    assert bare >= DEFAULT_THRESHOLD


def test_a_company_word_cut_short(index):
    pairs = [
        ("Islamic Revol. Guards Corps", "ISLAMIC REVOLUTIONARY GUARDS CORPS"),
        ("Molecular Electr. Research Institute", "MOLECULAR ELECTRONICS RESEARCH INSTITUTE"),
    ]
    assert min(scores(index, pairs)) >= DEFAULT_THRESHOLD
    # Too short to stand for a word.
    assert (
        scores(index, [("Islamic Re Guards Corps", "ISLAMIC REVOLUTIONARY GUARDS CORPS")])[0] < 0.9
    )


def test_blocking_finds_a_name_with_a_word_cut_short(index):
    # Two rare words, one cut: blocking must reach the name through the cut word beside
    # the word found whole (scoring alone matched them, blocking never offered the pair).
    found = screened(index, ["LIWA FATEM.", "ALHARAMEIN FOUN.", "MILLAB SYNTHE."])
    assert "LIWA FATEMIYOUN" in found[0]
    assert "ALHARAMEIN FOUNDATION" in found[1]
    assert "MILLAB SYNTHESIS" in found[2]
    # A cut word alone brings in no name: it is a weak link, counted only beside others.
    assert "LIWA FATEMIYOUN" not in screened(index, ["Fatem."])[0]


def test_no_word_cut_short_where_no_word_is_in_common(index):
    # Each query word begins a word of the listed company, none is written out: the first
    # syllables of two words are no abbreviation of them.
    assert scores(index, [("Cho Yon Chun", "CHONGSONG YONHAP")])[0] < DEFAULT_THRESHOLD


def test_a_fallback_keeps_its_best_entries_with_their_names(latin):
    # A name in another script sharing one rare part with list names keeps its best three
    # entries, not names: the entry's names in several spellings tie on that part, and the
    # one the other part matches ("sid" / "SAYYED", a yeh read as a vowel) came fourth.
    names = ["سعد الدين سيد"]
    found = screened(latin, names)
    assert "SADUDDIN SAYYED" in found[0], found
    assert_single_checks_agree(latin, names, found)


def test_entry_positions_count_each_querys_entries_by_their_best_name():
    rows = np.array([0, 0, 0, 0, 1, 1])
    entry = np.array([5, 7, 5, 9, 2, 2])
    assert _entry_positions(rows, entry, max_entry=9).tolist() == [0, 1, 0, 2, 0, 0]


def test_an_east_slavic_name_is_offered_by_its_russian_form(latin):
    # The Belarusian or Ukrainian form shares too few letters with the Russian one for any
    # spelling key: one key per name (index.blocking_keys), the same on both sides.
    for form, russian in [("uladzimir", "vladimir"), ("yevhen", "yevgeny"),
                          ("uladzimiravich", "vladimirovich")]:  # fmt: skip
        assert any(
            key.startswith("n:") for key in blocking_keys_one(form) & blocking_keys_one(russian)
        )
    assert "aleksandr" in EAST_SLAVIC_GROUPS and "hill" not in EAST_SLAVIC_GROUPS
    # So a name in Belarusian, all of whose parts are another language's forms, finds its
    # person through blocking as well as scoring.
    [found] = screened(latin, ["Уладзімір Уладзіміравіч Пуцін"])
    assert any("PUTIN" in name.upper() for name in found)


def test_a_name_as_an_abjad_writes_it_is_no_lone_misspelt_part(latin):
    # A common given name beside one distinguishing part, every part of both names found,
    # each the list spelling without the vowels Arabic or Persian script leaves unwritten:
    # the name as that script writes it, not a single misspelt word (lone_fuzzy_part).
    written, also_written, spelt, list_part_missing, latin_typed = scores(
        latin,
        [("محمد بهمن", "Muhammad BAHMAN"), ("محمد نجفی", "Mohammad NAJAFI"),
         # A part found by its spelling ("abdalli" / "abdallah"), a list part not found, or
         # the vowels left out in Latin letters keep the penalty.
         ("محمد عبدالعلی", "Muhammad ABDALLAH"), ("محمد بهمن", "Muhammad Reza BAHMAN"),
         ("Mhmd Bhmn", "Muhammad BAHMAN")],
    )  # fmt: skip
    assert written >= DEFAULT_THRESHOLD and also_written >= DEFAULT_THRESHOLD
    assert max(spelt, list_part_missing, latin_typed) < DEFAULT_THRESHOLD


def test_arabic_letters_in_the_reading_of_another_language_of_the_script(latin):
    # Persian, Urdu and Pashto sound ض and ذ as z and ث as s where an Arabic reading
    # writes d, dh and th ("فضل" fdl / Fazal, "ثاقب" thaqb / Saqib, "ذوالقدر" dhwalqdr /
    # Zolghadr); an initial alef or ain carries any vowel ("عصام" asam / Issam).
    assert read_alike_one("fdl", "fazal") and read_alike_one("thaqb", "saqib")
    assert read_alike_one("dhwalqdr", "zolghadr") and read_alike_one("asam", "issam")
    # A z is ز (or ظ read z): never a list's d or dh ("زارع" Zare is no "Dheere").
    assert not read_alike_one("zar", "dheere") and not read_alike_one("zahd", "dahid")
    # A list's z for a d from three consonants: Hebrew "רביד" rvid is no Reza.
    assert not read_alike_one("rvid", "reza")
    written, saqib, latin_typed = scores(
        latin,
        [("فضل محمد مظلوم", "FAZL MOHAMMAD MAZLOOM"), ("نور محمد ثاقب", "NOOR MOHAMMAD SAQIB"),
         # In Latin letters a d is no z: only a query written in an abjad reads so.
         ("Fdl Mhmd Mzlum", "FAZL MOHAMMAD MAZLOOM")],
    )  # fmt: skip
    assert min(written, saqib) >= DEFAULT_THRESHOLD > latin_typed
    # Blocking offers such list tokens to a query written in an abjad.
    fazal = latin.vocab.filter(pl.col("token") == "fazal")["token_id"][0]
    assert fazal in short_vowel_links("fdl", latin)
    names = ["فضل رحيم", "عصام حلاق"]
    found = screened(latin, names)
    assert "FAZAL RAHIM" in found[0] and "Issam HALAQ" in found[1]
    assert_single_checks_agree(latin, names, found)


def test_a_part_an_abjad_writes_so_is_no_part_typed_twice_wrong(latin):
    # "عصام" reads asam, two letters from "Isam" (RETYPED_FIRST): its initial ain carries
    # the i the list writes, no typing error the rest of the name must make up for.
    assert pair_similarity("asam", "isam")[1] == RETYPED_FIRST
    found = scores(latin, [("عصام علي محمد علوش", "ISAM ALI MOHAMED ALOUCHE")])[0]
    assert found >= DEFAULT_THRESHOLD


def test_a_name_compounded_with_al_din_is_one_word_in_every_spelling(latin):
    # "Nour Eddine", "Salahaldin", "Nasir Uddin": one word ending in "uddin", as the lists
    # mostly write it and an Arabic-script name reads.
    for name, expected in [
        ("Burhan ed-Din Mahmoud", ["burhanuddin", "mahmoud"]),
        # ... but not three words with the article al or el: joined, a rare word of three common
        # ones ("Saif al-Din al-Rawi" is not "Saif al-Din Fulayyih Hassan Taha al-Rawi").
        ("SAIF-AL-DIN AL-MASHHADANI", ["saif", "al", "din", "mashhadani"]),
        ("Nour Eddine", ["nouruddin"]),
        ("SALAHALDIN", ["salahuddin"]),
        ("Nasir Uddin", ["nasiruddin"]),
        ("Jalal-ud-Din Haqqani", ["jalaluddin", "haqqani"]),
        ("Aladdin Ali", ["aladdin", "ali"]),  # a first part of two letters: a name of its own
    ]:
        assert tokens(name) == expected == normalize_one(name)[0], name
    found = scores(
        latin,
        [("صلاح الدين محمد", "SALAHALDIN MOHAMMED"),
         ("سالم نور الدين امحمد الدبيسكي", "SALEM NOR ELDIN AMOHAMED AL-DABSKI")],
    )  # fmt: skip
    assert min(found) >= DEFAULT_THRESHOLD
