"""The engine against another checkout of itself, alternately, in the same minutes.

    uv run python bench/engine_ab.py --base /path/to/other/worktree [--entities 200000]
        [--rounds 4] [--chunk 50000] [--store-a DIR] [--store-b DIR]

Two worker processes, one per checkout (this one is A, --base is B), each builds its index
once from its own snapshot store; then the same generated entities go through A and B in
turn, round after round, so the machine's load falls on both alike. Per round and engine it
prints CPU seconds (`time.process_time`, both cores' work counted) and wall seconds; at the
end the medians and the A/B ratios of CPU time per entity. On a shared machine CPU time is
the figure to quote: wall time moves with the other engineers' load.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def worker(repo: Path, store: Path | None, queries_path: Path, chunk: int) -> None:
    """Runs inside one checkout: build its index, then screen the queries on each 'go'."""
    sys.path.insert(0, str(repo))
    import polars as pl

    from bench.quality import open_watchlist
    from matching import DEFAULT_THRESHOLD, build_index, screen

    index = build_index(open_watchlist(store))
    queries = pl.read_parquet(queries_path)
    print(json.dumps({"ready": index.size}), flush=True)
    for _ in sys.stdin:
        gc.collect()
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        flagged = 0
        for start in range(0, queries.height, chunk):
            result = screen(
                queries.slice(start, chunk), index, threshold=DEFAULT_THRESHOLD, max_matches=10
            )
            flagged += int(result["is_match"].fill_null(False).sum())
            del result
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
        print(json.dumps({"cpu": cpu, "wall": wall, "flagged": flagged}), flush=True)


def start_worker(repo: Path, store: Path | None, queries: Path, chunk: int) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(repo),
               "--queries", str(queries), "--chunk", str(chunk)]  # fmt: skip
    if store is not None:
        command += ["--store-a", str(store)]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_round(process: subprocess.Popen) -> dict[str, float]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--store-a", type=Path, default=None)
    parser.add_argument("--store-b", type=Path, default=None)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.store_a, args.queries, args.chunk)
        return
    if args.base is None:
        parser.error("--base names the checkout to compare against")

    sys.path.insert(0, str(REPO))
    import polars as pl

    from bench.generate import entities

    queries_path = Path(tempfile.mkdtemp(prefix="kyc-ab-")) / "queries.parquet"
    entities(args.entities).write_parquet(queries_path)
    engines = {
        "A (this checkout)": start_worker(REPO, args.store_a, queries_path, args.chunk),
        f"B ({args.base})": start_worker(args.base.resolve(), args.store_b, queries_path,
                                         args.chunk),
    }  # fmt: skip
    for process in engines.values():
        assert process.stdout is not None
        json.loads(process.stdout.readline())
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    for number in range(args.rounds):
        for name, process in engines.items():
            figures = run_round(process)
            rounds[name].append(figures)
            print(f"round {number + 1} {name}: cpu {figures['cpu']:.1f} s, "
                  f"wall {figures['wall']:.1f} s, flagged {figures['flagged']:,}", flush=True)  # fmt: skip
    for process in engines.values():
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    a, b = (rounds[name] for name in engines)
    cpu_ratios = [x["cpu"] / y["cpu"] for x, y in zip(a, b, strict=True)]
    wall_ratios = [x["wall"] / y["wall"] for x, y in zip(a, b, strict=True)]
    rows = [
        (name, statistics.median(r["cpu"] for r in runs) / args.entities * 1e6,
         statistics.median(r["wall"] for r in runs), runs[-1]["flagged"])
        for name, runs in rounds.items()
    ]  # fmt: skip
    with pl.Config(tbl_rows=10, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        print(pl.DataFrame(rows, schema=["engine", "cpu µs/entity (median)", "wall s (median)",
                                         "flagged"], orient="row"))  # fmt: skip
    print(f"A/B CPU per entity, round by round: {', '.join(f'{r:.3f}' for r in cpu_ratios)}"
          f" (median {statistics.median(cpu_ratios):.3f})")  # fmt: skip
    print(f"A/B wall time, round by round: {', '.join(f'{r:.3f}' for r in wall_ratios)}"
          f" (median {statistics.median(wall_ratios):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
