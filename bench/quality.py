"""Quality of the matching engine on the labelled benchmarks, as one table.

    uv run python bench/quality.py [--store DIR]

- cases.csv pairs through score_name_pairs (the name score a job uses), against the
  reference engine's frozen scores (logicv2-frozen.csv), per case_group and schema, and
  every STRONG pair on the wrong side;
- positives_un_treated.csv screened against the UN list: recall and right entry first;
- putin_names.txt: share of spellings that match his entries;
- false alerts: Faker names (25 locales, persons and companies, fixed seed) that are not
  listed, screened at the default threshold;
- blocking recall: matches found by screen() among those exhaustive scoring over every
  list name finds, on the UN set and on perturbed OFAC names.
With --store, an existing snapshot store is used; else one is refreshed from ../shared.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.generate import faker_names  # noqa: E402
from matching import DEFAULT_THRESHOLD, build_index, score_name_pairs, screen  # noqa: E402
from matching.normalize import normalize_names  # noqa: E402
from matching.score import score_pairs  # noqa: E402

EVAL = REPO.parent / "shared" / "data" / "eval"
WATCHLISTS = REPO.parent / "shared" / "data" / "watchlists"


def open_watchlist(store_dir: Path | None):
    from data.sources import available_codes
    from data.store import SnapshotStore

    store = SnapshotStore(store_dir or Path(tempfile.mkdtemp(prefix="kyc-quality-")))
    if store.current_version() is None:
        store.refresh(available_codes(), from_dir=WATCHLISTS)
    return store.open()


def prf(predicted: pl.Series, truth: pl.Series) -> tuple[float, float, float]:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


# --- cases.csv --------------------------------------------------------------------------


def cases_report(index, threshold: float) -> dict[str, float]:
    cases = pl.read_csv(EVAL / "cases.csv")
    scores = score_name_pairs(cases["name1"], cases["name2"], index=index)
    cases = cases.with_columns(score=scores, predicted=scores >= threshold)
    reference = pl.read_csv(EVAL / "logicv2-frozen.csv").with_columns(
        pl.col("predicted_match").cast(pl.Boolean)
    )
    rows = []
    for column in ("case_group", "schema"):
        for value in cases[column].unique().sort():
            ours = cases.filter(pl.col(column) == value)
            ref = reference.filter(pl.col(column) == value)
            rows.append(
                (f"{column}={value}", ours.height, *prf(ours["predicted"], ours["is_match"]),
                 prf(ref["predicted_match"], ref["is_match"])[2] if ref.height else float("nan"))
            )  # fmt: skip
    ours_all = prf(cases["predicted"], cases["is_match"])
    ref_all = prf(reference["predicted_match"], reference["is_match"])
    rows.insert(0, ("ALL", cases.height, *ours_all, ref_all[2]))
    table = pl.DataFrame(
        rows, schema=["slice", "pairs", "precision", "recall", "f1", "reference_f1"], orient="row"
    )
    with pl.Config(tbl_rows=40, float_precision=3, tbl_hide_dataframe_shape=True):
        print("cases.csv (ours at threshold", threshold, "; reference = logicv2-frozen)")
        print(table)
    strong = cases.filter(
        (pl.col("quality") == "STRONG") & (pl.col("predicted") != pl.col("is_match"))
    )
    print(f"STRONG pairs on the wrong side: {strong.height}")
    for row in strong.select("is_match", "score", "name1", "name2").iter_rows():
        print("   ", row)
    return {"cases_f1": ours_all[2], "reference_f1": ref_all[2], "strong_wrong": strong.height}


# --- UN positives -----------------------------------------------------------------------


def _queries(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("row").select(
        pl.col("row").cast(pl.Int64),
        "full_name",
        pl.col("date_of_birth").cast(pl.Utf8).alias("birth_date"),
        pl.col("nationality").cast(pl.Utf8),
    )


def _entity_ids(result: pl.DataFrame) -> pl.DataFrame:
    return result.select(
        "row", pl.col("matches").list.eval(pl.element().struct.field("entity_id")).alias("ids")
    )


def un_report(index, threshold: float) -> dict[str, float]:
    listed = _queries(pl.read_csv(EVAL / "positives_un_untreated.csv", infer_schema=False))
    treated = _queries(pl.read_csv(EVAL / "positives_un_treated.csv", infer_schema=False))
    # The right entry: the UN entries carrying the listed (untreated) name exactly.
    truth = _entity_ids(
        screen(listed.select("row", "full_name"), index, threshold=0.0, max_matches=50,
               lists=["un"], search_type="exact")
    ).rename({"ids": "truth"})  # fmt: skip
    started = time.perf_counter()
    found = _entity_ids(screen(treated, index, threshold=threshold, max_matches=10, lists=["un"]))
    seconds = time.perf_counter() - started
    joined = truth.join(found, on="row").filter(pl.col("truth").list.len() > 0)
    hit = joined.select(
        pl.col("ids").list.set_intersection("truth").list.len() > 0,
        pl.col("truth").list.contains(pl.col("ids").list.first()).fill_null(False).alias("first"),
    )
    recall = float(hit["ids"].mean())
    first = float(hit["first"].mean())
    print(
        f"UN treated positives: {joined.height} with a known entry; recall {recall:.4f}, "
        f"right entry first {first:.4f} ({seconds:.2f}s)"
    )
    return {"un_recall": recall, "un_first": first}


# --- Putin ------------------------------------------------------------------------------


def putin_report(index, threshold: float) -> dict[str, float]:
    spellings = [s for s in (EVAL / "putin_names.txt").read_text().splitlines() if s.strip()]
    truth = set(
        _entity_ids(
            screen(pl.DataFrame({"row": [0], "full_name": ["Vladimir Vladimirovich PUTIN"]}),
                   index, threshold=0.0, max_matches=50, search_type="exact")
        )["ids"][0].to_list()
    )  # fmt: skip
    result = _entity_ids(
        screen(pl.DataFrame({"row": range(len(spellings)), "full_name": spellings}), index,
               threshold=threshold, max_matches=10)
    )  # fmt: skip
    matched = result["ids"].map_elements(
        lambda ids: bool(truth & set(ids)), return_dtype=pl.Boolean
    )
    missed = [s for s, ok in zip(spellings, matched.to_list(), strict=True) if not ok]
    share = float(matched.mean())
    print(f"putin_names.txt: {int(matched.sum())}/{len(spellings)} = {share:.3f}; missed: {missed}")
    return {"putin_share": share}


# --- False alerts -----------------------------------------------------------------------


def false_alert_report(index, threshold: float, per_locale: int = 200) -> dict[str, float]:
    names = faker_names(per_locale).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    listed = screen(names.select("row", "full_name"), index, threshold=0.0, max_matches=1,
                    search_type="exact")  # fmt: skip
    names = names.filter(~listed["is_match"].fill_null(False))
    result = screen(names.select("row", "full_name", "entity_type"), index,
                    threshold=threshold, max_matches=1)  # fmt: skip
    flagged = result.filter(pl.col("is_match").fill_null(False))
    rate = flagged.height / max(result.height, 1)
    print(
        f"False alerts: {flagged.height}/{result.height} Faker names flagged = {rate:.4f} "
        f"(1 in {1 / rate if rate else float('inf'):.0f}); {len(set(names['locale']))} locales"
    )
    sample = flagged.join(names, on="row").select(
        "full_name", pl.col("matches").list.first().struct.field("matched_name", "confidence_score")
    )
    for row in sample.head(40).iter_rows():
        print("   ", row)
    return {"false_alert_rate": rate}


# --- Blocking recall --------------------------------------------------------------------


def perturb(names: list[str], seed: int = 5) -> list[str]:
    """Typos and reorderings a human makes: a letter dropped, doubled, swapped or changed,
    parts reordered or one dropped."""
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        parts = name.replace(",", "").split()
        kind = rng.integers(0, 5)
        if kind == 0 and len(parts) > 2:
            parts.pop(int(rng.integers(0, len(parts))))
        elif kind == 1 and len(parts) > 1:
            parts = parts[::-1]
        else:
            i = int(rng.integers(0, len(parts)))
            word = parts[i]
            if len(word) > 3:
                j = int(rng.integers(1, len(word) - 1))
                word = [word[:j] + word[j + 1 :], word[:j] + word[j] + word[j:],
                        word[:j - 1] + word[j] + word[j - 1] + word[j + 1 :],
                        word[:j] + "e" + word[j + 1 :]][kind % 4]  # fmt: skip
            parts[i] = word
        out.append(" ".join(parts))
    return out


def exhaustive(queries: list[str], index, list_code: str, threshold: float) -> pl.DataFrame:
    """row, entity_id: every entry whose name scores at or above threshold when each query
    is scored against every name of the list, without blocking. Pairs whose normalised
    strings share almost nothing (rapidfuzz token_set_ratio < 30, computed for every pair)
    are skipped: none of them comes near any threshold, and scoring all would take hours."""
    names = (
        index.names.filter(pl.col("list_code") == list_code)
        .join(index.entries.select("entity_id", "entity_type"), on="entity_id", how="left",
              maintain_order="left")
        .with_row_index("i")
    )  # fmt: skip
    normalized = normalize_names(pl.Series(queries))
    q = (
        pl.DataFrame({"full_name": queries})
        .with_row_index("row")
        .join(normalized.rename({"name": "full_name"}), on="full_name", how="left",
              maintain_order="left")
    )  # fmt: skip
    similar = process.cdist(
        q["tokens"].list.join(" ").to_list(), names["tokens"].list.join(" ").to_list(),
        scorer=fuzz.token_set_ratio, workers=-1, dtype=np.uint8,
    )  # fmt: skip
    rows, cols = np.nonzero(similar >= 30)
    pairs = (
        pl.DataFrame({"row": rows.astype(np.int64), "i": cols.astype(np.uint32)})
        .join(q.select(pl.col("row").cast(pl.Int64), *_as_side(q, "q")), on="row")
        .join(
            names.select(
                "i",
                "entity_id",
                *_as_side(names, "c"),
                pl.col("entity_type").alias("c_entity_type"),
            ),
            on="i",
        )
        .with_row_index("pair")
    )
    scored = score_pairs(pairs, index.token_weights)
    return scored.filter(pl.col("score") >= threshold).select("row", "entity_id").unique()


def _as_side(names: pl.DataFrame, side: str) -> list[pl.Expr]:
    """A normalised name's columns as one side of a pair frame (q_tokens, q_repeated ...)."""
    return [pl.col(c).alias(f"{side}_{c}") for c in ("tokens", "repeated", "transliterated")]


def perturbed_ofac_sample(watchlist, size: int = 250) -> list[str]:
    """OFAC names, a fixed random sample, with perturb()'s typos. Drawn from the list's own
    sorted distinct names, not the index's: the sample must not move when the index stores
    its rows in another order or merges two spellings."""
    rng = np.random.default_rng(9)
    ofac = watchlist.names.filter(pl.col("list_code") == "ofac")["name"].unique().sort().to_list()
    picked = rng.choice(len(ofac), size=min(size, len(ofac)), replace=False)
    return perturb([ofac[i] for i in picked])


def blocking_report(index, watchlist, threshold: float, sample: int = 250) -> dict[str, float]:
    un = pl.read_csv(EVAL / "positives_un_treated.csv", infer_schema=False)["full_name"].to_list()
    results = {}
    for label, queries, code in (
        ("UN treated", un, "un"),
        ("perturbed OFAC", perturbed_ofac_sample(watchlist, sample), "ofac"),
    ):
        started = time.perf_counter()
        truth = exhaustive(queries, index, code, threshold)
        frame = pl.DataFrame({"row": range(len(queries)), "full_name": queries}).with_columns(
            pl.col("row").cast(pl.Int64)
        )
        found = (
            _entity_ids(screen(frame, index, threshold=threshold, max_matches=50, lists=[code]))
            .explode("ids")
            .drop_nulls("ids")
            .rename({"ids": "entity_id"})
        )
        kept = truth.join(found, on=["row", "entity_id"], how="semi").height
        recall = kept / max(truth.height, 1)
        print(
            f"Blocking recall, {label}: {kept}/{truth.height} = {recall:.4f} "
            f"(every query x {index.names.filter(pl.col('list_code') == code).height} names, "
            f"{time.perf_counter() - started:.1f}s)"
        )
        results[f"blocking_recall_{code}"] = recall
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="an existing snapshot store")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    watchlist = open_watchlist(args.store)
    index = build_index(watchlist)
    summary: dict[str, float] = {}
    summary |= cases_report(index, args.threshold)
    summary |= un_report(index, args.threshold)
    summary |= putin_report(index, args.threshold)
    summary |= false_alert_report(index, args.threshold)
    summary |= blocking_report(index, watchlist, args.threshold)
    print("\nSummary at threshold", args.threshold)
    targets = {
        "cases_f1": ">= 0.90", "reference_f1": "(logicv2)", "strong_wrong": "0",
        "un_recall": ">= 0.99", "un_first": ">= 0.97", "putin_share": ">= 0.90",
        "false_alert_rate": "<= 0.005", "blocking_recall_un": ">= 0.995",
        "blocking_recall_ofac": ">= 0.995",
    }  # fmt: skip
    with pl.Config(tbl_rows=20, float_precision=4, tbl_hide_dataframe_shape=True):
        print(
            pl.DataFrame(
                {
                    "metric": list(summary),
                    "value": [float(v) for v in summary.values()],
                    "target": [targets.get(k, "") for k in summary],
                }
            )
        )


if __name__ == "__main__":
    main()
