"""Quality floors of the matching engine on the labelled benchmarks (../shared/data/eval).

bench/quality.py prints the full table; these floors sit a modest margin below what the
engine measures, so a regression fails CI while noise does not. Raise them as it improves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from matching import DEFAULT_THRESHOLD, build_index, score_name_pairs, screen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import faker_names
from bench.quality import exhaustive, perturbed_ofac_sample
from tests.conftest import EVAL

CASES_F1_FLOOR = 0.90  # measured 0.903 (a number in place of another costs 6 pairs the
# benchmark calls one); reference engine (logicv2) 0.790
UN_RECALL_FLOOR = 0.99  # measured 0.997
UN_FIRST_FLOOR = 0.97  # measured 0.99+
PUTIN_FLOOR = 0.92  # measured 0.926
FALSE_ALERT_CEILING = 0.01  # measured 0.003 here, 0.005 on 25 x 200 names (bench)
# The target. Measured 0.9963 (UN, 800/803) and 1.0 (perturbed OFAC, 280/280).
BLOCKING_RECALL_FLOOR = 0.995


@pytest.fixture(scope="module")
def index(watchlist):
    return build_index(watchlist)


def entity_ids(result: pl.DataFrame) -> list[list[str]]:
    return result["matches"].list.eval(pl.element().struct.field("entity_id")).to_list()


def f1(predicted: pl.Series, truth: pl.Series) -> float:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1)


def test_cases_f1_beats_the_reference(index):
    cases = pl.read_csv(EVAL / "cases.csv")
    scores = score_name_pairs(cases["name1"], cases["name2"], index=index)
    assert f1(scores >= DEFAULT_THRESHOLD, cases["is_match"]) >= CASES_F1_FLOOR


def un_queries(name: str) -> pl.DataFrame:
    frame = pl.read_csv(EVAL / name, infer_schema=False).with_row_index("row")
    return frame.select(
        pl.col("row").cast(pl.Int64),
        "full_name",
        pl.col("date_of_birth").alias("birth_date"),
        "nationality",
    )


def test_un_positives_are_found_and_ranked_first(index):
    listed = un_queries("positives_un_untreated.csv").select("row", "full_name")
    truth = entity_ids(
        screen(listed, index, threshold=0.0, max_matches=50, lists=["un"], search_type="exact")
    )
    found = entity_ids(
        screen(
            un_queries("positives_un_treated.csv"),
            index,
            threshold=DEFAULT_THRESHOLD,
            max_matches=10,
            lists=["un"],
        )
    )
    known = [(set(t), f) for t, f in zip(truth, found, strict=True) if t]
    recall = sum(bool(t & set(f)) for t, f in known) / len(known)
    first = sum(bool(f) and f[0] in t for t, f in known) / len(known)
    assert len(known) > 600
    assert recall >= UN_RECALL_FLOOR
    assert first >= UN_FIRST_FLOOR


def test_putin_spellings_match_his_entries(index):
    spellings = [s for s in (EVAL / "putin_names.txt").read_text().splitlines() if s.strip()]
    him = pl.DataFrame({"row": [0], "full_name": ["Vladimir Vladimirovich PUTIN"]})
    truth = set(
        entity_ids(screen(him, index, threshold=0.0, max_matches=50, search_type="exact"))[0]
    )
    frame = pl.DataFrame({"row": range(len(spellings)), "full_name": spellings})
    found = entity_ids(screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=10))
    share = sum(bool(truth & set(ids)) for ids in found) / len(spellings)
    assert share >= PUTIN_FLOOR


def test_false_alerts_on_unlisted_names_are_rare(index):
    names = faker_names(40).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    listed = screen(names.select("row", "full_name"), index, threshold=0.0, max_matches=1,
                    search_type="exact")  # fmt: skip
    names = names.filter(~listed["is_match"].fill_null(False))
    result = screen(names.select("row", "full_name", "entity_type"), index,
                    threshold=DEFAULT_THRESHOLD, max_matches=1)  # fmt: skip
    rate = result["is_match"].fill_null(False).mean()
    assert names.height > 900
    assert rate <= FALSE_ALERT_CEILING


def blocking_recall(index, queries: list[str], list_code: str) -> tuple[int, int]:
    """(kept, truth): of the entries that scoring every name of the list finds, those that
    screen(), which scores only blocked candidates, reports (the issue's 99.5%)."""
    truth = exhaustive(queries, index, list_code, DEFAULT_THRESHOLD)
    frame = pl.DataFrame({"row": range(len(queries)), "full_name": queries})
    result = screen(frame, index, threshold=DEFAULT_THRESHOLD, max_matches=50, lists=[list_code])
    found = result.select(
        pl.col("row").cast(pl.UInt32), pl.Series("entity_id", entity_ids(result))
    ).explode("entity_id")
    return truth.join(found, on=["row", "entity_id"], how="semi").height, truth.height


def test_blocking_keeps_what_scoring_every_name_finds(index):
    """UN positives against the UN list."""
    queries = pl.read_csv(EVAL / "positives_un_treated.csv", infer_schema=False)["full_name"]
    kept, truth = blocking_recall(index, queries.to_list(), "un")
    assert truth > 700
    assert kept / truth >= BLOCKING_RECALL_FLOOR, f"{kept}/{truth}"


def test_blocking_keeps_what_scoring_finds_for_typed_ofac_names(index, watchlist):
    """OFAC names with a human's typos and reorderings (bench/quality.py's sample)."""
    kept, truth = blocking_recall(index, perturbed_ofac_sample(watchlist), "ofac")
    assert truth > 250
    assert kept / truth >= BLOCKING_RECALL_FLOOR, f"{kept}/{truth}"
