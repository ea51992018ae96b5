"""The matching engine's behaviour: normalisation, the name score, and screen()'s contract
on the real lists of the session snapshot."""

from __future__ import annotations

import json
from itertools import pairwise

import polars as pl
import pytest

from matching import (
    DEFAULT_THRESHOLD,
    ENGINE_VERSION,
    build_index,
    config,
    score_name_pairs,
    screen,
)
from matching.compare.names import list_token_features, pair_similarity, token_similarity
from matching.normalize import normalize_names
from matching.score import score_pairs


def tokens(name: str) -> list[str]:
    return normalize_names(pl.Series([name]))["tokens"][0].to_list()


@pytest.fixture(scope="module")
def index(watchlist):
    return build_index(watchlist)


def run(index, rows: list[dict], **options) -> pl.DataFrame:
    frame = pl.DataFrame(rows).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    options.setdefault("threshold", DEFAULT_THRESHOLD)
    options.setdefault("max_matches", 10)
    return screen(frame, index, **options)


# --- normalisation ----------------------------------------------------------------------


def test_scripts_transliterate_to_the_same_tokens():
    assert tokens("Путин, Владимир Владимирович") == ["putin", "vladimir", "vladimirovich"]
    assert tokens("Vladímír Pútín") == ["vladimir", "putin"]
    assert tokens("VladimirPutin") == ["vladimir", "putin"]


def test_arabic_keeps_long_vowels():
    assert tokens("فلاديمير بوتين") == ["fladimir", "butin"]


def test_legal_forms_are_one_token_across_languages():
    assert tokens("ООО «Газпром нефть»") == ["llc", "gazprom", "neft"]
    assert tokens("Volkswagen Gesellschaft mit beschränkter Haftung")[-1] == "llc"
    assert tokens("Siemens AG") == tokens("Siemens Aktiengesellschaft")
    assert tokens("HSBC Holdings p.l.c.") == tokens("HSBC Holdings PLC")
    # One letter off in a long legal-form word, or the word cut by a field length.
    assert tokens("Volkswagen Aktiengeselschaft") == tokens("Volkswagen AG")
    assert tokens("Rosneft Oil Joint Stock Compan") == tokens("Rosneft Oil JSC")
    assert tokens("Faberlic Sp. z o.o.") == tokens("Faberlic LLC")


def test_name_part_variants_and_joined_words_meet():
    assert tokens("Mohammed bin Salman") == tokens("Muhammad ibn Salman")
    assert tokens("Abdulrahman") == tokens("Abdul Rahman")
    assert tokens("Dr. John Smith") == ["john", "smith"]


def test_russian_legal_forms_in_any_transliteration():
    llc = tokens("OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU TABAK")
    assert llc == tokens("Obshchestvo s ogranichennoy otvetstvennostyu Tabak") == ["llc", "tabak"]
    assert tokens("ZAKRYTOE AKTSIONERNOE OBSHCHESTVO TABAK") == ["jsc", "tabak"]


def test_number_words_and_look_alike_digits():
    assert tokens("Brigade Forty-Four") == tokens("Brigade Fourty 4") == ["brigade", "44"]
    assert tokens("Ig0r Sech1n") == tokens("I9or Sechin") == ["igor", "sechin"]
    # Digits that are numbers stay numbers.
    assert tokens("Snow Storm 1") == ["snow", "storm", "1"]
    assert tokens("RA-82030") == ["ra", "82030"]


def test_a_word_run_into_capitals_splits():
    assert tokens("SiemensAG") == tokens("Siemens AG")
    assert tokens("VladimirPUTIN") == ["vladimir", "putin"]
    # One lower-case letter in a word of capitals is a typo, not two words.
    assert tokens("ReDIOPRIBOR") == ["rediopribor"]


def test_unusable_names_give_no_tokens():
    assert tokens("   ") == []
    assert tokens("😀😀") == []
    assert tokens("-- ! --") == []
    assert len("".join(tokens("x" * 10_000))) <= 200


# --- name score -------------------------------------------------------------------------


def pair(a: str, b: str, entity_type: str | None = None) -> float:
    return score_name_pairs(pl.Series([a]), pl.Series([b]), entity_type)[0]


def test_name_score_orders_evidence():
    assert pair("Vladimir Putin", "PUTIN, Vladimir") == 1.0
    assert pair("Olaf Scholze", "Olaf Scholz") >= DEFAULT_THRESHOLD
    assert pair("Владимир Путин", "Vladimir Putin") >= DEFAULT_THRESHOLD
    assert pair("Angelo Cruz", "Angela Merkel") < DEFAULT_THRESHOLD
    # Both sides have a part the other lacks: a different party.
    assert pair("Alpha Trading Co", "Omega Trading Co") < DEFAULT_THRESHOLD


def test_a_letter_in_both_names_is_not_also_an_initial():
    # The Russian "s" ("with") of both legal phrases must not stand for "Signum".
    assert pair("OOO S Tabak Rus", "OOO S Signum Rus") < DEFAULT_THRESHOLD


def test_a_whole_listed_name_within_a_longer_one():
    # A person's extra part is a middle or family name: the listed name is all there.
    assert pair("Mohammad Yaqoub Haqqani", "MOHAMMAD YAQOUB") >= DEFAULT_THRESHOLD
    # A company's extra word is another company.
    assert pair("Deutsche Bank Trust Company", "Deutsche Bank") < DEFAULT_THRESHOLD


def test_a_reversed_lineage_is_another_person():
    # Father and son: the same parts on the two sides of "bin", in opposite order.
    assert pair("Muhammad bin Salman Al Saud", "SALMAN BIN MUHAMMAD AL SAUD") < DEFAULT_THRESHOLD
    assert (
        pair("Ibrahim bin al-Din al-Masri", "SAIF AL-DIN IBN IBRAHIM AL-MASRI") < DEFAULT_THRESHOLD
    )
    # The same lineage, however written, is still one name.
    assert pair("Muhammad ibn Salman Al Saud", "AL SAUD, Muhammad bin Salman") == 1.0
    assert pair("Osama bin Laden", "BIN LADEN, Usama") >= DEFAULT_THRESHOLD


def test_far_spellings_must_begin_alike():
    # Two letters changed in seven, the first among them: another surname.
    assert pair("Sergey Polozov", "Sergey Morozov") < DEFAULT_THRESHOLD
    # ... while a suffix (Lithuanian) or a sound-alike first letter still matches.
    assert pair("Vladimiras Putinas", "Vladimir Putin") >= DEFAULT_THRESHOLD
    assert pair("Evgeniy Prigozhin", "Yevgeniy PRIGOZHIN") >= DEFAULT_THRESHOLD


def test_legal_forms_alone_are_no_name():
    assert pair("Limited Liability Company", "LLC I T C") < DEFAULT_THRESHOLD
    # ... though a name made only of generic words still matches itself.
    assert pair("First International Bank", "FIRST INTERNATIONAL BANK") == 1.0


def test_a_missing_patronymic_does_not_count_against_variant_spellings():
    # Customers' records leave the patronymic out; the rest is a transliteration variant.
    assert pair("Jelena Smirnowa", "Elena Viktorovna SMIRNOVA") >= DEFAULT_THRESHOLD
    assert pair("Aleksandr Lukashenka", "Alyaksandr Ryhoravich LUKASHENKA") >= DEFAULT_THRESHOLD


def test_a_common_name_in_place_of_another_is_another_person(index):
    # Another father's name: common names weigh little, but a substitution still counts.
    names = ["Habib ben Mohamed al-Tounsi", "Yusuf Ahmed Hassan Jama"]
    listed = ["HABIB BEN AHMED AL-TOUNSI", "YUSUF ALI HASSAN JAMA"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores < DEFAULT_THRESHOLD).all()
    details = pair_details(index, "Habib ben Mohamed al-Tounsi", "HABIB BEN AHMED AL-TOUNSI")
    assert details["substituted_parts"] < 0


def test_abdul_in_place_of_a_name_is_another_person(index):
    # "Abdul" is an element of a name, not a link like "al" or "bin".
    name, listed = "SHER MOHAMMAD STANEKZAI ABDUL KHAN", "SHER MOHAMMAD STANEKZAI PADSHAH KHAN"
    assert pair_details(index, name, listed)["substituted_parts"] < 0
    assert score_name_pairs(pl.Series([name]), pl.Series([listed]), index=index)[0] < 0.8


def test_a_word_split_in_two_or_written_as_initials(index):
    names = ["Nikolai Patr ushev", "Andrang Heta", "JC Juncker", "U.S. Department of State"]
    listed = [
        "Nikolai Platonovich Patrushev",
        "'Ndrangheta",
        "Jean-Claude Juncker",
        "United States Department of State",
    ]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores >= DEFAULT_THRESHOLD).all()
    # A frequent short part is a name syllable, not initials; halves far from the word stay apart.
    names = ["Li Wang", "Patr Ivanov"]
    listed = ["Lan Ing WANG", "Nikolai Patrushev"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores < DEFAULT_THRESHOLD).all()


def test_a_repeated_part_in_place_of_another_is_another_person(index):
    names = ["ABDUL KABIR ABDUL JAN", "Chang Su Ha", "Abdullahi Mohamed Mohamed Caddow"]
    listed = ["ABDUL KABIR MOHAMMAD JAN", "CHANG CHANG HA", "ABDULLAHI OSMAN MOHAMED CADDOW"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores < DEFAULT_THRESHOLD).all()
    # The same repeats on both sides, or no part in place of the repeat, are no substitution.
    names = ["Mohamed Mohamed Caddow", "Abdul Kabir Abdul Jan"]
    listed = ["MOHAMED MOHAMED CADDOW", "ABDUL KABIR JAN"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores >= 0.9).all()


def test_another_middle_initial_is_another_person(index):
    # The names written together differ by one letter: that comparison may not override.
    assert pair_details(index, "Frost, William G.", "William W Frost")["other_initials"] < 0
    scores = score_name_pairs(
        pl.Series(["Frost, William G.", "Frost, William G."]),
        pl.Series(["William W Frost", "William G Frost"]),
        index=index,
    )
    assert scores[0] < DEFAULT_THRESHOLD <= scores[1]


def test_a_nickname_is_a_variant_of_the_given_name(index):
    names = ["Ted Doe", "Bill Clinton", "Ben Netanyahu"]
    listed = ["Theodore Doe", "William Jefferson Clinton", "Benjamin Netanyahu"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores >= DEFAULT_THRESHOLD).all()
    assert pair_similarity("ted", "theodore") == (config.NICKNAME_SIM, "fuzzy", False)
    # Another given name is no nickname.
    assert score_name_pairs(pl.Series(["Ted Doe"]), pl.Series(["Tom Doe"]), index=index)[0] < 0.8


def test_a_country_in_one_company_name_is_a_national_branch(index):
    names = ["Banco Santander S.A.", "Acme Holding AG"]
    listed = ["Banco Santander Chile S.A.", "Acme Holding Switzerland AG"]
    scores = score_name_pairs(pl.Series(names), pl.Series(listed), index=index)
    assert (scores < DEFAULT_THRESHOLD).all()
    assert pair_details(index, names[0], listed[0])["unmatched_country"] < 0
    # Between people a country is a given name: "Israel" is no branch.
    assert pair_details(index, "Moshe Cohen", "Moshe Israel Cohen")["unmatched_country"] == 0


def pair_details(index, name: str, listed: str) -> dict:
    q, c = tokens(name), tokens(listed)
    frame = pl.DataFrame({"pair": [0], "q_tokens": [q], "c_tokens": [c]})
    return json.loads(score_pairs(frame, index.token_weights)["details"][0])


def test_score_name_pairs_is_vectorised_and_aligned():
    left = pl.Series(["Vladimir Putin", "", "Angela Merkel"])
    right = pl.Series(["Vladimir Putin", "Vladimir Putin", "Angela Merkel"])
    scores = score_name_pairs(left, right)
    assert scores.to_list() == [1.0, 0.0, 1.0]


# --- screen() ---------------------------------------------------------------------------


def test_result_contract(index):
    result = run(index, [{"full_name": "Vladimir Putin"}, {"full_name": "Zzyzx Qwertyuiop"}])
    assert result.columns[:6] == ["row", "status", "is_match", "match_count", "matches", "error"]
    assert result["row"].to_list() == [0, 1]
    assert result["status"].to_list() == ["completed", "completed"]
    assert result["is_match"].to_list() == [True, False]
    assert set(result["engine_version"]) == {ENGINE_VERSION}
    best = result["matches"][0][0]
    assert best["entity_id"].split("-")[0] == best["list_name"]
    assert 0 < best["confidence_score"] <= 1
    assert best["match_type"] in {"name_exact", "name_token", "name_fuzzy"}
    details = json.loads(best["details"])
    assert details["total"] == best["confidence_score"]
    assert {"both_sides_unmatched", "birth_date", "nationality"} <= set(details)
    assert best["match_data"]["name"]


def test_rows_keep_their_order_and_ids(index):
    frame = pl.DataFrame({"row": [7, 3, 5], "full_name": ["Angela Merkel", "Vladimir Putin", ""]})
    result = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=3)
    assert result["row"].to_list() == [7, 3, 5]
    assert result["status"].to_list() == ["completed", "completed", "failed"]


def test_bad_input_is_per_entity(index):
    rows = [
        {"full_name": ""},
        {"full_name": "   "},
        {"full_name": "😀😀😀"},
        {"full_name": None},
        {"full_name": "Vladimir Putin " * 700},
        {"full_name": "ꦱꦸꦏꦂꦤ"},  # Javanese script
        {"full_name": "Vladimir Putin", "birth_date": "31/31/1952"},
    ]
    result = run(index, rows)
    assert result["status"].to_list() == ["failed"] * 4 + ["completed"] * 3
    assert all("full_name" in error for error in result["error"][:4])
    assert result["error"][4:].is_null().all()
    malformed = json.loads(result["matches"][6][0]["details"])
    assert malformed["birth_date"]["verdict"] == "invalid"
    assert malformed["birth_date"]["contribution"] == 0


def test_identifier_hit_is_value_first(index, watchlist):
    listed = watchlist.identifiers.filter(pl.col("value").str.len_chars() >= 8).row(0, named=True)
    spaced = " ".join(listed["value"]).lower()  # case and separators do not matter
    result = run(
        index,
        [{"full_name": "Nobody In Particular", "document_id": spaced, "document_type": "whatever"}],
    )
    hits = {m["entity_id"]: m for m in result["matches"][0]}
    match = hits[f"{listed['list_code']}-{listed['entry_id']}"]  # other lists may list it too
    assert match["confidence_score"] == 1.0
    assert match["match_type"] == "identifier"
    no_name = run(
        index, [{"full_name": "", "identifiers": [{"type": "x", "value": listed["value"]}]}]
    )
    assert no_name["status"][0] == "completed" and no_name["is_match"][0]


def test_qualifiers_refine_but_never_create(index, watchlist):
    with_date = watchlist.birth_dates.filter(pl.col("birth_date").str.len_chars() == 10)
    entry = with_date.join(watchlist.entries, on=["list_code", "entry_id"]).row(0, named=True)
    name, date = entry["primary_name"], entry["birth_date"]
    year = int(date[:4])
    result = run(
        index,
        [
            {"full_name": name, "birth_date": date},
            {"full_name": name, "birth_date": f"{year - 20}-01-01"},
            {"full_name": "Zzyzx Qwertyuiop", "birth_date": date},
        ],
        threshold=0.0,
    )
    entity = f"{entry['list_code']}-{entry['entry_id']}"

    def match(i: int) -> dict:
        return next(m for m in result["matches"][i] if m["entity_id"] == entity)

    assert match(0)["confidence_score"] > match(1)["confidence_score"]
    assert json.loads(match(1)["details"])["birth_date"]["verdict"] == "mismatch"
    assert not any(m["entity_id"] == entity for m in result["matches"][2])


def test_lists_filter_and_max_matches(index):
    result = run(index, [{"full_name": "Vladimir Putin"}], lists=["un"])
    assert all(m["list_name"] == "un" for m in result["matches"][0])
    per_row = run(index, [{"full_name": "Vladimir Putin", "lists": ["uk"]}])
    assert {m["list_name"] for m in per_row["matches"][0]} == {"uk"}
    many = run(index, [{"full_name": "Muhammad Ali"}], threshold=0.3, max_matches=2)
    assert many["match_count"][0] == 2


def test_search_types(index):
    rows = [{"full_name": "Vladimir Putin"}, {"full_name": "Vladimir Puttin"}]
    exact = run(index, rows, search_type="exact")
    assert exact["is_match"].to_list() == [True, False]
    fuzzy = run(index, rows, search_type="fuzzy")
    assert fuzzy["is_match"].to_list() == [True, True]
    token = run(index, [{"full_name": "Putin Vladimir"}], search_type="token")
    assert token["is_match"][0]
    with pytest.raises(ValueError, match="search_type"):
        run(index, rows, search_type="llm_enhanced")
    per_row = run(index, [{"full_name": "Vladimir Putin", "search_type": "psychic"}])
    assert per_row["status"][0] == "failed" and "search_type" in per_row["error"][0]


def test_a_query_found_whole_in_many_names_keeps_them_all(index):
    # More list names hold "Design Bureau" than the usual candidate limit.
    found = run(index, [{"full_name": "Design Bureau"}], max_matches=100, lists=["ofac"])
    assert found["matches"][0].len() > config.MAX_CANDIDATES


def test_blocking_links_short_swaps_and_shifted_splits(index):
    # Tokens too short for deletion keys, and a word split at another place: scoring
    # accepts both, so blocking must bring the listed name.
    rows = [{"full_name": "YK-TAD"}, {"full_name": "A-LID Nawras"}]
    found = run(index, rows, lists=["ofac"])["matches"].to_list()
    assert "YK-ATD" in [m["matched_name"] for m in found[0]]
    assert "AL-ID, Nawras" in [m["matched_name"] for m in found[1]]


def test_an_organisation_is_found_without_the_word_organisation(index):
    # "Organization" is a generic word: a typed query need not repeat it.
    rows = [{"full_name": "Ndrangheta", "entity_type": "organization"}]
    found = run(index, rows, lists=["ofac"])["matches"][0]
    assert "'NDRANGHETA ORGANIZATION" in [m["matched_name"] for m in found]


def test_an_entrys_names_in_the_querys_spelling_are_among_its_candidates(index):
    # One typed word finds five names of one entry alike (Sovfracht, Sovfrakht): of the
    # NAMES_PER_ENTRY kept, those in the query's spelling come first, as scoring prefers.
    found = run(index, [{"full_name": "SOVFRKAHT"}], lists=["ofac"])["matches"][0]
    assert "MANAGEMENT COMPANY SOVFRAKHT LTD" in [m["matched_name"] for m in found]


def test_list_token_features_made_once_change_no_similarity(index):
    # List tokens with their typos (unlisted tokens) and their neighbours in sort order:
    # the features kept on the index give the similarities made from scratch.
    listed = sorted(index.vocab["token"].sample(2000, seed=7).to_list())
    pairs = [(t, t[:-1] + "x") for t in listed] + list(pairwise(listed))
    pairs += [(t[::-1], t) for t in listed[:300]]
    frame = pl.DataFrame(pairs, schema=["q_token", "c_token"], orient="row").unique()
    made = token_similarity(frame)
    kept = token_similarity(frame, list_token_features(index))
    assert made.equals(kept)
    assert (made["sim"] > 0).sum() > 1000


def test_blocking_finds_a_listed_word_split_in_two(index):
    # Neither half is a list word, so no key of either finds the name.
    found = run(index, [{"full_name": "Ndrang Heta"}], lists=["ofac"])["matches"][0]
    assert any("NDRANGHETA" in m["matched_name"] for m in found)


def test_per_row_threshold(index):
    rows = [{"full_name": "Vladimir Puttin", "threshold": 0.99}, {"full_name": "Vladimir Puttin"}]
    result = run(index, rows)
    assert result["is_match"].to_list() == [False, True]


def test_min_score_drops_only_pairs_that_cannot_reach_it():
    """score_pairs drops the pairs below min_score before the qualifiers' work by a bound
    (a name score more than QUALIFIERS_MOST short): what it keeps is exactly what scoring
    every pair keeps at min_score, a name score a birth date and nationality lift to the
    threshold included."""
    names = [
        ("Ivan Petrov", "Ivan Petrova"),
        ("John Smith", "Jon Smyth"),
        ("Angela Merkel", "Angela Merkur"),
        ("Mohammed Al Rashid", "Muhammad Rashid"),
        ("Acme Trading Ltd", "Acme Trade Limited"),
    ]
    frame = pl.DataFrame(
        {
            "pair": list(range(len(names))),
            "q_tokens": [tokens(q) for q, _ in names],
            "c_tokens": [tokens(c) for _, c in names],
            "q_birth_date": ["1970-01-01"] * len(names),
            "c_birth_dates": [["1970-01-01"]] * len(names),
            "q_nationality": ["RU"] * len(names),
            "c_nationalities": [["RU"]] * len(names),
        }
    )
    every = score_pairs(frame, None)
    lifted = every.filter(pl.col("score") > pl.col("name_score"), pl.col("score") < 1.0)
    assert not lifted.is_empty()
    for min_score in every["score"].unique().to_list():
        kept = score_pairs(frame, None, min_score)
        assert kept.equals(every.filter(pl.col("score") >= min_score))
