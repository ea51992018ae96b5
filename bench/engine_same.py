"""The engine's results in this checkout and in another, frame-equal or the first difference.

    uv run python bench/engine_same.py --base /path/to/other/worktree [--entities 50000]
        [--store DIR]

A speed refactor must not change one result. Each checkout screens, in its own process and
from the same snapshot store, a fixed set of inputs: generated entities (bench/generate.py,
at threshold 0 with up to 50 matches, so every candidate that scores shows, and at the
default threshold), the labelled sets bench/quality.py reads (UN treated positives, Putin
spellings, Faker names, perturbed OFAC names), the queries bench/variants.py makes of each
kind of name variation (Korean and Chinese romanisations, Hangul and Hanzi among them) and
cases.csv through score_name_pairs; plus blocking's candidate pairs of the generated
entities. The frames are written as parquet and
compared with polars' assert_frame_equal (exact floats; every column but engine_version, the
code's fingerprint): one line per input, "identical" or the difference.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO.parent / "shared" / "data" / "eval"


def worker(repo: Path, store: Path, entities: int, out: Path) -> None:
    """Runs inside one checkout: every input through its engine, each result a parquet."""
    sys.path.insert(0, str(repo))
    import polars as pl

    from bench.generate import entities as generated
    from bench.generate import faker_names
    from bench.quality import open_watchlist, perturbed_ofac_sample
    from bench.variants import generate, lists_of
    from matching import DEFAULT_THRESHOLD, build_index, score_name_pairs, screen
    from matching.blocking import candidates
    from matching.normalize import normalize_names

    watchlist = open_watchlist(store)
    index = build_index(watchlist)
    batch = generated(entities)
    out.mkdir(parents=True, exist_ok=True)
    # Blocking's pairs first, on a fresh index: its token cache then holds this batch alone.
    normalized = normalize_names(batch["full_name"]).rename({"name": "full_name"})
    queries = (
        batch.join(normalized, on="full_name", how="left", maintain_order="left")
        .select("tokens")
        .with_row_index("qid")
        .with_columns(pl.col("qid").cast(pl.Int64))
    )
    blocked = candidates(queries, index).sort("qid", "name_id")

    def rows(names: list[str]) -> pl.DataFrame:
        return pl.DataFrame({"full_name": names}).with_row_index("row")

    screened = {
        "blocking_candidates": blocked,
        "generated_all": screen(batch, index, threshold=0.0, max_matches=50),
        "generated_default": screen(batch, index, threshold=DEFAULT_THRESHOLD, max_matches=10),
        "un_treated": screen(
            pl.read_csv(EVAL / "positives_un_treated.csv", infer_schema=False)
            .select("full_name")
            .with_row_index("row"),
            index, threshold=0.0, max_matches=50, lists=["un"],
        ),
        "putin": screen(
            rows([line.strip() for line in (EVAL / "putin_names.txt").read_text().splitlines()
                  if line.strip()]),
            index, threshold=0.0, max_matches=50,
        ),
        "faker": screen(faker_names(200).with_row_index("row").select("row", "full_name",
                        "entity_type"), index, threshold=0.0, max_matches=50),
        "perturbed_ofac": screen(rows(perturbed_ofac_sample(watchlist, 1000)), index,
                                 threshold=0.0, max_matches=50, lists=["ofac"]),
    }  # fmt: skip
    # Every kind of name variation bench/variants.py makes from the list names (Korean and
    # Chinese romanisations, Hangul and Hanzi among them), against the whole index.
    varied = [query for queries in generate(lists_of(index), 400).values() for query in queries]
    screened["variants"] = screen(
        pl.DataFrame(
            {
                "row": list(range(len(varied))),
                "full_name": [query.full_name for query in varied],
                "search_type": [query.search_type for query in varied],
                "birth_date": [query.birth_date for query in varied],
                "nationality": [query.nationality for query in varied],
            },
            schema={
                "row": pl.Int64,
                "full_name": pl.Utf8,
                "search_type": pl.Utf8,
                "birth_date": pl.Utf8,
                "nationality": pl.Utf8,
            },
        ),
        index,
        threshold=0.0,
        max_matches=50,
    )
    cases = pl.read_csv(EVAL / "cases.csv")
    screened["cases"] = cases.select(
        score=score_name_pairs(cases["name1"], cases["name2"], index=index)
    )
    for name, frame in screened.items():
        frame.write_parquet(out / f"{name}.parquet")


def run_worker(repo: Path, store: Path, entities: int, out: Path) -> None:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(repo),
               "--store", str(store), "--entities", str(entities), "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp(prefix="kyc-same-store-"))
    if args.worker is not None:
        worker(args.worker, store, args.entities, args.out)
        return
    if args.base is None:
        parser.error("--base names the checkout to compare against")

    import polars as pl
    from polars.testing import assert_frame_equal

    scratch = Path(tempfile.mkdtemp(prefix="kyc-same-"))
    run_worker(args.base.resolve(), store, args.entities, scratch / "b")  # builds the store once
    run_worker(REPO, store, args.entities, scratch / "a")
    differences = 0
    versions = ("", "")
    for path in sorted((scratch / "b").glob("*.parquet")):
        base, ours = pl.read_parquet(path), pl.read_parquet(scratch / "a" / path.name)
        # The engine version is a fingerprint of the code: it differs by design.
        if "engine_version" in base.columns:
            versions = (base["engine_version"][0], ours["engine_version"][0])
            base, ours = base.drop("engine_version"), ours.drop("engine_version")
        try:
            assert_frame_equal(ours, base, check_exact=True)
            print(f"{path.stem:>20}: identical ({ours.height:,} rows)")
        except AssertionError as error:
            differences += 1
            print(f"{path.stem:>20}: DIFFERENT: {str(error).splitlines()[0]}")
    print(f"engine_version: base {versions[0]}, here {versions[1]}")
    print("all identical" if differences == 0 else f"{differences} inputs differ")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
