"""Benchmark: the monitored book and the delta filter of rescreens.

    uv run python bench/book.py [--rows 1000000] [--chunk 50000]

1. Book: one monitored job of ``rows`` entities joins a book, then 20 jobs each re-sending
   1% of them (upserts); time to read the book, find what is due, fold its log, read again.
2. Delta: a snapshot of the 2021 OFAC set + UN, then the 2024 set; one chunk of generated
   entities screened against the new snapshot, and the delta filter a rescreen adds to it
   (changed_since + keep_new_matches) measured as a share of the screening time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import matching  # noqa: E402
from bench.generate import entities  # noqa: E402
from data.book import BookStore, changed_since, keep_new_matches  # noqa: E402
from data.entities import ENTITY_SCHEMA  # noqa: E402
from data.jobs import JobMeta  # noqa: E402
from data.store import SnapshotStore  # noqa: E402
from kyc import settings  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "watchlists"
OFAC_FILES = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")


def entity_frame(n: int) -> pl.DataFrame:
    """n generated entities in the canonical entity frame, entity_id c<row>."""
    frame = entities(n)
    return frame.with_columns(
        pl.format("c{}", pl.col("row")).alias("entity_id"),
        *[
            pl.lit(None, dtype).alias(c)
            for c, dtype in ENTITY_SCHEMA.items()
            if c not in frame and c != "entity_id"
        ],
    ).select([pl.col(c).cast(dtype) for c, dtype in ENTITY_SCHEMA.items()])


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def bench_book(rows: int, root: Path) -> list[tuple[str, str]]:
    book = BookStore(str(root / "jobs"))
    frame = entity_frame(rows)
    first = JobMeta(job_id="job-0", tenant="acme", monitor=True, watchlist_version="v1")
    add_s, _ = timed(lambda: book.add_job(first, frame))
    update = frame.sample(fraction=0.01, seed=1).with_columns(pl.col("full_name") + " Jr")
    updates = []
    for n in range(1, 21):
        meta = JobMeta(job_id=f"job-{n}", tenant="acme", monitor=True, watchlist_version="v2")
        updates.append(timed(lambda meta=meta: book.add_job(meta, update))[0])
    read_s, current = timed(lambda: book.read("acme"))
    due_s, due = timed(lambda: book.due("acme", "v2"))
    compact_s, folded = timed(lambda: book.compact("acme", older_than_s=0))
    read_after_s, _ = timed(lambda: book.read("acme"))
    return [
        (f"add a {rows:,}-entity monitored job", f"{add_s:.2f} s"),
        (f"upsert {update.height:,} entities (median of 20 jobs)", f"{sorted(updates)[10]:.3f} s"),
        (f"read the book ({current.height:,} entities, 21 log files)", f"{read_s:.2f} s"),
        (f"entities due against a new version ({due.height:,})", f"{due_s:.2f} s"),
        (f"fold {folded} log files into one", f"{compact_s:.2f} s"),
        ("read the book after folding", f"{read_after_s:.2f} s"),
    ]


def link_sources(root: Path, ofac: Path) -> Path:
    (root / "ofac").mkdir(parents=True)
    (root / "un").mkdir()
    for name in OFAC_FILES:
        (root / "ofac" / name).symlink_to(ofac / name)
    (root / "un" / "consolidated.xml").symlink_to(SHARED / "un" / "consolidated.xml")
    return root


def bench_delta(chunk: int, root: Path) -> list[tuple[str, str]]:
    snapshots = SnapshotStore(root / "snapshots")
    old = link_sources(root / "old", SHARED / "ofac" / "snapshot_2021-07-07")
    new = link_sources(root / "new", SHARED / "ofac")
    before = snapshots.refresh(["ofac", "un"], from_dir=old).version
    after = snapshots.refresh(["ofac", "un"], from_dir=new)
    index = matching.build_index(snapshots.open(after.version))
    queries = entity_frame(chunk).drop("entity_id")
    screen_s, results = timed(
        lambda: matching.screen(
            queries, index, threshold=settings.DEFAULT_THRESHOLD, max_matches=settings.MAX_MATCHES
        )
    )
    since = pl.Series([before] * chunk)

    def delta() -> pl.DataFrame:
        changes, unreachable = changed_since(snapshots, after.version, [before])
        return keep_new_matches(results, since, changes, unreachable)

    delta_s, kept = timed(delta)
    changed = sum(c.get("added", 0) + c.get("changed", 0) for c in after.changes.values())
    return [
        (f"screen a {chunk:,}-entity chunk (2024 OFAC + UN)", f"{screen_s:.2f} s"),
        (f"delta filter on it ({changed:,} entries added or changed)", f"{delta_s:.3f} s"),
        ("delta filter / screening", f"{delta_s / screen_s:.1%}"),
        (
            "matches kept / screened",
            f"{kept['match_count'].sum():,} / {results['match_count'].sum():,}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lines = bench_book(args.rows, Path(tmp)) + bench_delta(args.chunk, Path(tmp))
    print("| measure | value |\n|---|---:|")
    for measure, value in lines:
        print(f"| {measure} | {value} |")


if __name__ == "__main__":
    main()
