"""A single check must answer exactly what the batch answers for the same entity.

screen() on one row (the API's POST /kyc) and on a chunk (a job) share one engine; the
tricks that make a one-row call fast (sorted lookups instead of hash joins over the index,
cached normalisation) must never change a match, a score or a detail. A few hundred varied
queries are screened one by one and as one batch, and the results compared field by field.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from matching import DEFAULT_THRESHOLD, build_index, screen

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
        [screen(queries.slice(i, 1), index, **options) for i in range(queries.height)]
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
