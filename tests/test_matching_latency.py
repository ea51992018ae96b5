"""A single check must answer exactly what the batch answers for the same entity.

check() (the API's POST /kyc) screens one row on the one-entity path (matching/one_entity.py:
plain Python, a few ms); screen() (a job's chunk) takes the whole-column Polars path. Both
carry the same rules, so they must never differ in a match, a score or a detail. Varied
queries and the labelled benchmark names are checked one by one and screened as one batch
and the results compared field by field; each rule's one-pair twin is held to its column
version.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from matching import DEFAULT_THRESHOLD, build_index, check, screen
from matching.compare.dates import birth_date_contribution, birth_date_one
from matching.compare.entities import (
    entity_type_contribution,
    entity_type_one,
    nationality_contribution,
    nationality_one,
)
from matching.compare.lineage import lineage_swapped, lineage_swapped_one
from matching.compare.names import pair_similarity, token_similarity
from matching.index import blocking_keys, blocking_keys_one
from matching.score import OPTIONAL_PAIR_COLUMNS
from tests.conftest import EVAL

_IDENTIFIERS = pl.List(pl.Struct({"type": pl.Utf8, "value": pl.Utf8}))


@pytest.fixture(scope="module")
def index(watchlist):
    return build_index(watchlist)


def _typo(name: str, rng: np.random.Generator) -> str:
    """One letter dropped from a random position (keeps the name recognisable)."""
    if len(name) < 6:
        return name
    cut = int(rng.integers(1, len(name) - 1))
    return name[:cut] + name[cut + 1 :]


def varied_queries(index, watchlist, n_listed: int = 120, n_mixed: int = 80) -> pl.DataFrame:
    """Listed names as given, with a typo, reordered, with their entry's birth date and
    nationality; names mixed from parts of different list names; identifiers; bad input;
    per-row lists, search types and thresholds."""
    rng = np.random.default_rng(5)
    names = index.names.select("entity_id", "name", "tokens")
    picked = names[rng.choice(names.height, n_listed, replace=False).tolist()]
    entries = index.entries.select("entity_id", "birth_dates", "nationalities", "entity_type")
    picked = picked.join(entries, on="entity_id", how="left", maintain_order="left")
    rows: list[dict] = []
    for i, entry in enumerate(picked.iter_rows(named=True)):
        name = entry["name"]
        variant = i % 4
        if variant == 1:
            name = _typo(name, rng)
        elif variant == 2:
            name = " ".join(reversed(name.split()))
        row = {"full_name": name}
        if variant == 3:
            row["birth_date"] = (entry["birth_dates"] or ["1970"])[0]
            row["nationality"] = (entry["nationalities"] or [None])[0]
            row["entity_type"] = entry["entity_type"]
        rows.append(row)
    tokens = names["tokens"].explode().drop_nulls().to_list()
    for i in range(n_mixed):
        parts = rng.choice(len(tokens), int(rng.integers(1, 4)), replace=False)
        row = {"full_name": " ".join(tokens[p] for p in parts)}
        if i % 5 == 0:
            row["birth_date"] = f"19{int(rng.integers(40, 99))}-0{int(rng.integers(1, 9))}"
        rows.append(row)
    listed_ids = watchlist.identifiers["value"].drop_nulls().head(10).to_list()
    rows += [{"full_name": None, "document_id": value} for value in listed_ids[:5]]
    rows += [
        {"full_name": "John Smith", "identifiers": [{"type": "x", "value": v}]}
        for v in listed_ids[5:]
    ]
    rows += [
        {"full_name": ""},
        {"full_name": "   "},
        {"full_name": "😀😀"},
        {"full_name": "Vladimir Putin " * 700},
        {"full_name": "Владимир Путин", "birth_date": "1952-10-07"},
        {"full_name": "Osama bin Laden", "birth_date": "not a date"},
        {"full_name": "Putin"},
        {"full_name": "淑英 王"},
        {"full_name": "丽 成"},
        {"full_name": "성훈 김"},
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "full_name": pl.Utf8,
            "birth_date": pl.Utf8,
            "nationality": pl.Utf8,
            "entity_type": pl.Utf8,
            "document_id": pl.Utf8,
            "identifiers": _IDENTIFIERS,
        },
    )
    n = frame.height
    options = pl.DataFrame(
        {
            "row": pl.Series(np.arange(n) * 3 + 7, dtype=pl.Int64),  # not 0..n-1
            "lists": [["un", "uk"] if i % 9 == 4 else None for i in range(n)],
            "search_type": [
                ("exact", "token", "fuzzy", None)[i % 4] if i % 7 == 3 else None for i in range(n)
            ],
            "threshold": [0.6 if i % 11 == 5 else None for i in range(n)],
        },
        schema={
            "row": pl.Int64,
            "lists": pl.List(pl.Utf8),
            "search_type": pl.Utf8,
            "threshold": pl.Float64,
        },
    )
    return pl.concat([options, frame], how="horizontal")


def assert_same_results(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    """Row by row first (a short message naming the rows that differ), then every field."""
    assert got["row"].to_list() == expected["row"].to_list()
    summary = pl.col("matches").list.eval(
        pl.format(
            "{}={}",
            pl.element().struct.field("entity_id"),
            pl.element().struct.field("confidence_score"),
        )
    )
    differ = (
        got.select("row", "status", summary.alias("got"))
        .with_columns(expected.select(summary.alias("expected")))
        .filter(pl.col("got") != pl.col("expected"))
    )
    assert differ.is_empty(), f"{differ.height} rows differ:\n{differ.head(5).to_dicts()}"
    assert_frame_equal(got, expected)


def test_one_by_one_equals_batch(index, watchlist):
    queries = varied_queries(index, watchlist)
    assert queries.height >= 200
    options = {"threshold": DEFAULT_THRESHOLD, "max_matches": 10}
    batch = screen(queries, index, **options)
    single = pl.concat(
        [check(queries.slice(i, 1), index, **options) for i in range(queries.height)]
    )
    assert batch["is_match"].sum() >= 60, "the set must hold plenty of matches to compare"
    assert_same_results(single, batch)


def test_small_frames_equal_batch_with_options(index, watchlist):
    """Frames of a few rows, with a lists filter and another search type as arguments."""
    queries = varied_queries(index, watchlist, n_listed=40, n_mixed=20)
    options = {"threshold": 0.7, "max_matches": 3, "lists": ["ofac", "un"], "search_type": "fuzzy"}
    batch = screen(queries, index, **options)
    small = pl.concat(
        [screen(queries.slice(i, 3), index, **options) for i in range(0, queries.height, 3)]
    )
    assert_same_results(small, batch)


def test_benchmark_names_one_by_one_equal_batch(index):
    """Every name of cases.csv and of the untreated UN positives, with birth dates,
    nationalities and entity types drawn from list entries, at a low threshold (so that
    near misses are compared too)."""
    cases = pl.read_csv(EVAL / "cases.csv")
    un = pl.read_csv(EVAL / "positives_un_untreated.csv", infer_schema=False)
    names = pl.concat([cases["name1"], cases["name2"], un["full_name"]]).unique(maintain_order=True)
    entries = index.entries.sample(names.len(), with_replacement=True, seed=3)
    queries = pl.DataFrame(
        {
            "row": range(names.len()),
            "full_name": names,
            "birth_date": entries["birth_dates"].list.first(),
            "nationality": entries["nationalities"].list.first().fill_null("RU"),
            "entity_type": [
                ("individual", "organization", None)[i % 3] for i in range(names.len())
            ],
        }
    )
    options = {"threshold": 0.6, "max_matches": 10}
    batch = screen(queries, index, **options)
    single = pl.concat(
        [check(queries.slice(i, 1), index, **options) for i in range(queries.height)]
    )
    assert batch["is_match"].sum() >= 500
    assert_same_results(single, batch)


def test_token_pair_twin_equals_column_version(index):
    """pair_similarity against token_similarity on list tokens paired with their typos,
    their neighbours in sort order, initials and digits."""
    tokens = sorted(index.vocab["token"].sample(3000, seed=4).to_list())
    rng = np.random.default_rng(4)
    pairs = list(itertools.pairwise(tokens))
    pairs += [(t, _typo(t, rng)) for t in tokens] + [(t, t[1::-1] + t[2:]) for t in tokens]
    pairs += [(t[:1], t) for t in tokens[:200]] + [("ig0r", "igor"), ("44", "forty"), ("ab", "ba")]
    assert sum(pair_similarity(*pair)[0] > 0 for pair in pairs) > 3000
    frame = pl.DataFrame(pairs, schema=["q_token", "c_token"], orient="row").unique()
    expected = token_similarity(frame)
    got = [pair_similarity(q, c) for q, c in frame.select("q_token", "c_token").iter_rows()]
    assert [(sim, how, blind) for sim, how, blind in got] == list(
        expected.select("sim", "how", "vowel_blind").iter_rows()
    )


def test_qualifier_twins_equal_column_versions():
    dates = [None, "1960", "1960-01", "1960-01-10", "1961-01-10", "1960-02-10", "1960-01-11",
             "1955", " 1960-1-10 ", "not a date", "1960-13-45"]  # fmt: skip
    listed = [None, [], ["1960"], ["1960-01-10", "1959"], ["1961-01-10"], ["1970-05-05", "1960-01"]]
    nations = [None, "", "ru", " RU ", "RUS", "US"]
    kinds = [None, "individual", "Person ", "company", "vessel", "unknown"]
    rows = [
        {
            "q_birth_date": d,
            "c_birth_dates": c,
            "q_nationality": nations[i % len(nations)],
            "c_nationalities": [None, [], ["RU"], ["US", "GB"]][i % 4],
            "q_entity_type": kinds[i % len(kinds)],
            "c_entity_type": kinds[(i // 3) % len(kinds)],
        }
        for i, (d, c) in enumerate((d, c) for d in dates for c in listed)
    ]
    frame = pl.DataFrame(rows, schema={col: OPTIONAL_PAIR_COLUMNS[col] for col in rows[0]})
    for column_version, one, fields in [
        (birth_date_contribution, birth_date_one, ("q_birth_date", "c_birth_dates")),
        (nationality_contribution, nationality_one, ("q_nationality", "c_nationalities")),
        (entity_type_contribution, entity_type_one, ("q_entity_type", "c_entity_type")),
    ]:
        expected = list(column_version(frame).iter_rows())
        assert [one(*(row[f] for f in fields)) for row in rows] == expected, one.__name__


def test_blocking_keys_twin_equals_column_version(index):
    tokens = [*index.vocab["token"].sample(500, seed=6).to_list(), "a", "ab", "abcdefghij", "44"]
    for query in (False, True):
        frame = blocking_keys(pl.DataFrame({"token": tokens}), query=query)
        expected = dict(frame.group_by("token").agg("key").iter_rows())
        assert {t: blocking_keys_one(t, query=query) for t in tokens} == {
            t: set(keys) for t, keys in expected.items()
        }


def test_check_takes_one_row(index):
    two = pl.DataFrame({"full_name": ["Vladimir Putin", "Osama bin Laden"]})
    with pytest.raises(ValueError, match="one row"):
        check(two, index, threshold=DEFAULT_THRESHOLD, max_matches=10)
    with pytest.raises(ValueError, match="search_type"):
        check(two.head(1), index, threshold=0.8, max_matches=10, search_type="nearby")


def test_lineage_twin_equals_column_version(index):
    """Every pair of list names holding "bin" among a sample, both directions."""
    names = index.names.filter(pl.col("tokens").list.contains("bin")).head(120)["tokens"]
    lists = names.to_list()
    pairs = [(a, b) for a in lists[:40] for b in lists]
    pairs += [(["salman", "bin", "muhammad"], ["muhammad", "bin", "salman"])]
    frame = pl.DataFrame(
        {"q_tokens": [a for a, _ in pairs], "c_tokens": [b for _, b in pairs]},
        schema={"q_tokens": pl.List(pl.Utf8), "c_tokens": pl.List(pl.Utf8)},
    )
    expected = lineage_swapped(frame)["value"].to_list()
    assert [lineage_swapped_one(a, b) for a, b in pairs] == expected
    assert sum(expected) >= 1


def test_checks_from_many_threads_agree(watchlist):
    """The API answers checks from worker threads at once, on one index whose single-check
    tables and token links are made and filled as they come: every answer must still be
    the batch's."""
    from concurrent.futures import ThreadPoolExecutor

    fresh = build_index(watchlist)  # its tables are made under the threads' race
    queries = varied_queries(fresh, watchlist, n_listed=40, n_mixed=20)
    options = {"threshold": DEFAULT_THRESHOLD, "max_matches": 10}
    rows = [queries.slice(i, 1) for i in range(queries.height)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = pl.concat(pool.map(lambda row: check(row, fresh, **options), rows))
    assert_same_results(together, screen(queries, fresh, **options))
