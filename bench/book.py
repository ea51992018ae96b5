"""Benchmark: the monitored book, its index, and rescreens reverse and full, in one run.

    uv run python bench/book.py [--rows 1000000] [--upsert 10000] [--skip-full]

1. Book: one monitored job of ``rows`` generated entities (with perturbed names of entries
   listed between the 2021 and 2024 OFAC files mixed in) joins a book; 20 jobs then re-send
   1% of them (upserts). Time to read the book, find what is due, fold its log.
2. Book index: built for the whole book (normalised names, query-side keys), read back, and
   an upsert of ``upsert`` entities (the book's log file and its index segment).
3. Rescreens of that book, each in a process of its own: by reverse screening (the plan of
   data/rescreen.py: book read, book index loaded, reverse screening; then the job's
   forward screen of the entities it holds, with the delta filter) and today's full way
   (KYC_RESCREEN_REVERSE=false: every due entity in the job), for the 2021 -> 2024 OFAC
   update (8,665 entries added or changed) and an update of 500 of the 2024 file's new
   entries (2024 with them left out, then the real 2024 set). Both ways must give the same
   alerts; the table says so.

The book, the index and each rescreen run in a process of their own (the generated book is
handed over as a Parquet file), so each peak of memory (VmHWM) is the store's or the
rescreen's, not the generator's. Each rescreen starts from a freshly built snapshot index (as
after a refresh).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import matching  # noqa: E402
from bench.books import book_frame, newly_listed_names  # noqa: E402
from data.book import BookStore, changed_since, keep_new_matches  # noqa: E402
from data.book_index import BookIndexStore  # noqa: E402
from data.jobs import JobMeta  # noqa: E402
from data.rescreen import QUERY_COLUMNS, PlanOptions, plan_rescreen  # noqa: E402
from data.store import SnapshotStore  # noqa: E402
from kyc import settings  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "watchlists"
OFAC_FILES = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")
CHUNK = 50_000
SMALL_UPDATE = 500


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: a spawned
    child's ru_maxrss starts at its parent's (Linux carries it across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def link_sources(root: Path, ofac: Path) -> Path:
    (root / "ofac").mkdir(parents=True)
    (root / "un").mkdir()
    for name in OFAC_FILES:
        (root / "ofac" / name).symlink_to(ofac / name)
    (root / "un" / "consolidated.xml").symlink_to(SHARED / "un" / "consolidated.xml")
    return root


def without_entries(root: Path, ent_nums: set[int]) -> Path:
    """The 2024 OFAC files (and UN) with these entries' lines left out of every file."""
    (root / "ofac").mkdir(parents=True)
    (root / "un").mkdir()
    for name in OFAC_FILES:
        lines = (SHARED / "ofac" / name).read_bytes().splitlines(keepends=True)
        kept = [line for line in lines if _ent_num(line) not in ent_nums]
        (root / "ofac" / name).write_bytes(b"".join(kept))
    (root / "un" / "consolidated.xml").symlink_to(SHARED / "un" / "consolidated.xml")
    return root


def _ent_num(line: bytes) -> int | None:
    head = line.split(b",", 1)[0].strip()
    return int(head) if head.isdigit() else None


def bench_book(store_root: str, frame_path: str) -> dict:
    """The book alone, in a process of its own (its peak memory its own): one monitored job
    of the whole frame, 20 jobs re-sending 1% of it, reads, what is due, a fold."""
    book, frame = BookStore(store_root), pl.read_parquet(frame_path)
    first = JobMeta(job_id="job-0", tenant="acme", monitor=True, watchlist_version="v1")
    add_s, _ = timed(lambda: book.add_job(first, frame))
    update = frame.sample(fraction=0.01, seed=1).with_columns(pl.col("full_name") + " Jr")

    updates = []
    for n in range(1, 21):
        meta = JobMeta(job_id=f"job-{n}", tenant="acme", monitor=True, watchlist_version="v1")
        updates.append(timed(lambda meta=meta: book.add_job(meta, update))[0])
    book._cache.clear()
    read_s, current = timed(lambda: book.read("acme").height)
    book._cache.clear()
    due_s, due = timed(lambda: book.due("acme", "v2").height)
    compact_s, folded = timed(lambda: book.compact("acme", older_than_s=0))
    book._cache.clear()
    read_after_s, _ = timed(lambda: book.read("acme"))
    lines = [
        (
            f"add a {frame.height:,}-entity monitored job to the book (log + index)",
            f"{add_s:.2f} s",
        ),
        (
            f"upsert {update.height:,} entities (median of 20 jobs, log + index)",
            f"{sorted(updates)[10]:.2f} s",
        ),
        (f"read the book ({current:,} entities, 21 log files)", f"{read_s:.2f} s"),
        (f"entities due against a new version ({due:,})", f"{due_s:.2f} s"),
        (f"fold {folded} log files into one", f"{compact_s:.2f} s"),
        ("read the book after folding", f"{read_after_s:.2f} s"),
    ]
    return {"lines": lines, "peak_mb": peak_mb()}


def bench_index(root: str, frame_path: str, upsert: int) -> dict:
    """The index alone, in a process of its own: built for the whole book, read back, one
    upsert."""
    store = BookIndexStore(str(Path(root) / "index-alone"))
    rows = pl.read_parquet(frame_path).with_columns(pl.lit("job-0").alias("source_job_id"))
    build_s, _ = timed(lambda: store.add("acme", rows))
    load_s, loaded = timed(lambda: store.load("acme", rows))
    parts_s, _ = timed(loaded.parts)
    sample = rows.sample(upsert, seed=2).with_columns(
        pl.col("full_name") + " Jr", pl.lit("job-1").alias("source_job_id")
    )
    upsert_s, _ = timed(lambda: store.add("acme", sample))
    lines = [
        (
            f"book index built ({rows.height:,} entities: names normalised, keys)",
            f"{build_s:.2f} s",
        ),
        ("book index read back, and its token matrix made", f"{load_s:.2f} s + {parts_s:.2f} s"),
        (f"book index upsert of {upsert:,} entities", f"{upsert_s:.2f} s"),
    ]
    return {"lines": lines, "peak_mb": peak_mb()}


def rescreen(store_root: str, snapshot_root: str, reverse: bool) -> dict:
    """One rescreen, in a process of its own (its peak memory is its own): the plan
    (book read, and for the reverse way: book index loaded, reverse screening), then the
    job's forward screen of the entities it holds, chunk by chunk, with the delta filter.
    The snapshot index is built first, as a worker builds it after a refresh."""
    snapshots = SnapshotStore(Path(snapshot_root))
    version = snapshots.current_version()
    index_s, index = timed(lambda: matching.build_index(snapshots.open(version)))
    book = BookStore(store_root)
    options = PlanOptions(
        reverse=reverse, threshold=settings.DEFAULT_THRESHOLD, max_matches=settings.MAX_MATCHES
    )
    started = time.perf_counter()
    plan = plan_rescreen(book, snapshots, "acme", version, index, options)
    plan_s = time.perf_counter() - started
    found = []
    for start in range(0, plan.entities.height, CHUNK):
        chunk = plan.entities.slice(start, CHUNK)
        results = matching.screen(
            chunk.select(QUERY_COLUMNS),
            index,
            threshold=settings.DEFAULT_THRESHOLD,
            max_matches=settings.MAX_MATCHES,
        )
        since = chunk["since_version"]
        changes, unreachable = changed_since(snapshots, version, since.unique().to_list())
        kept = keep_new_matches(results, since, changes, unreachable, chunk["known_matches"])
        found.append(alerts(kept.with_columns(chunk["entity_id"])))
    total_s = time.perf_counter() - started
    return {
        "index_s": index_s,
        "plan_s": plan_s,
        "total_s": total_s,
        "stats": plan.stats,
        "peak_mb": peak_mb(),
        "alerts": pl.concat(found).sort("entity_id", "match") if found else pl.DataFrame(),
    }


def alerts(results: pl.DataFrame) -> pl.DataFrame:
    return (
        results.select("entity_id", "matches")
        .explode("matches")
        .drop_nulls("matches")
        .select(
            "entity_id",
            pl.col("matches").struct.field("entity_id").alias("match"),
            pl.col("matches").struct.field("confidence_score").alias("score"),
            pl.col("matches").struct.field("change"),
        )
    )


def in_child(function, *args) -> dict:
    """Run ``function(*args)`` in a fresh process (spawned: no memory shared with this one)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def bench_update(
    label: str, root: Path, before: Path, after: Path, frame: pl.DataFrame, skip_full: bool
) -> list[tuple[str, str]]:
    snapshots = SnapshotStore(root / "snapshots")
    old = snapshots.refresh(["ofac", "un"], from_dir=before).version
    new = snapshots.refresh(["ofac", "un"], from_dir=after)
    changed = sum(c.get("added", 0) + c.get("changed", 0) for c in new.changes.values())
    book = BookStore(str(root / "store"))
    meta = JobMeta(job_id="job-0", tenant="acme", monitor=True, watchlist_version=old)
    book.add_job(meta, frame, engine_version=matching.ENGINE_VERSION)  # log and index
    rev = in_child(rescreen, book.uri, str(root / "snapshots"), True)
    stats = rev["stats"]
    lines = [
        (
            f"{label} ({changed:,} entries added or changed): reverse rescreen, plan"
            f" ({stats['reverse_candidates']:,} reverse candidates, {stats['screened']:,} in"
            " the job) + the job's screen",
            f"{rev['plan_s']:.2f} + {rev['total_s'] - rev['plan_s']:.2f} = {rev['total_s']:.2f} s,"
            f" peak {rev['peak_mb']:,.0f} MB",
        ),
    ]
    if skip_full:
        return lines
    full = in_child(rescreen, book.uri, str(root / "snapshots"), False)
    same = rev["alerts"].equals(full["alerts"])
    lines += [
        (
            f"{label}: today's full rescreen, plan + the job's screen ({full['stats']['screened']:,})",
            f"{full['plan_s']:.2f} + {full['total_s'] - full['plan_s']:.2f} = {full['total_s']:.2f} s,"
            f" peak {full['peak_mb']:,.0f} MB",
        ),
        (
            f"{label}: full / reverse; the alerts ({rev['alerts'].height:,})",
            f"{full['total_s'] / rev['total_s']:.1f}x, {'identical' if same else 'DIFFERENT'}",
        ),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--upsert", type=int, default=10_000)
    parser.add_argument("--skip-full", action="store_true", help="no full rescreens")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old = link_sources(root / "2021", SHARED / "ofac" / "snapshot_2021-07-07")
        new = link_sources(root / "2024", SHARED / "ofac")
        probe = SnapshotStore(root / "probe")
        probe.refresh(["ofac", "un"], from_dir=old)
        version = probe.refresh(["ofac", "un"], from_dir=new).version
        added = probe.diff(version).filter(
            (pl.col("change") == "added") & (pl.col("list_code") == "ofac")
        )
        rng = np.random.default_rng(5)
        frame = book_frame(args.rows, newly_listed_names(probe, version, "ofac", 2_000, rng))
        small = set(
            rng.choice(
                added["entry_id"].cast(pl.Int64).to_numpy(), SMALL_UPDATE, replace=False
            ).tolist()
        )
        mid = without_entries(root / "2024-minus", small)

        frame_path = str(root / "book.parquet")
        frame.write_parquet(frame_path)
        book = in_child(bench_book, str(root / "book"), frame_path)
        index = in_child(bench_index, str(root), frame_path, args.upsert)
        lines = [
            *book["lines"],
            ("peak memory of the book's process", f"{book['peak_mb']:,.0f} MB"),
            *index["lines"],
            ("peak memory of the index's process", f"{index['peak_mb']:,.0f} MB"),
        ]
        lines += bench_update("2021 -> 2024", root / "big", old, new, frame, args.skip_full)
        lines += bench_update(
            f"{SMALL_UPDATE} new entries", root / "small", mid, new, frame, args.skip_full
        )
        lines.append(
            (
                "peak memory of this process (the generated book, the rescreens' set-up)",
                f"{peak_mb():,.0f} MB",
            )
        )
    print("| measure | value |\n|---|---:|")
    for measure, value in lines:
        print(f"| {measure} | {value} |")


if __name__ == "__main__":
    main()
