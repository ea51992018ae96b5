"""Benchmark of single checks: POST /kyc over HTTP against matching.check() in this process.

Starts the whole service (`kyc serve`, as bench/jobs.py does) on free ports with a
throwaway data directory, then sends --checks single checks one after another (generated
names, one in a hundred listed) and prints, beside the engine's own check() on the same
names in this process, the round trip and the server's processing_time_ms: what the API
adds to the engine's time.

    uv run python bench/checks.py [--checks 500]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jobs import Service, listed_names, people, percentile

WARM_UP = 50


def over_http(service: Service, key: str, names: list[str]) -> tuple[list[float], list[float]]:
    """Round trips and server processing times (ms) of one check per name, in turn."""
    headers = {"Authorization": f"Bearer {key}"}
    round_trips, processing = [], []
    with httpx.Client(base_url=service.url, headers=headers, timeout=60) as client:
        for i, name in enumerate(names):
            started = time.perf_counter()
            response = client.post("/kyc", json={"subject": {"full_name": name}})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if i >= WARM_UP:
                round_trips.append(elapsed)
                processing.append(response.json()["processing_time_ms"])
    return round_trips, processing


def in_process(home: Path, names: list[str]) -> list[float]:
    """matching.check() on the same names with the index in memory, as the API holds it."""
    import matching
    from data.store import SnapshotStore

    index = matching.build_index(SnapshotStore(home / "snapshots").open())
    options = {"threshold": matching.DEFAULT_THRESHOLD, "max_matches": 10}
    matching.check(pl.DataFrame({"full_name": [names[0]]}), index, **options)
    gc.collect()
    gc.freeze()
    times = []
    for i, name in enumerate(names):
        started = time.perf_counter()
        matching.check(pl.DataFrame({"full_name": [name]}), index, **options)
        if i >= WARM_UP:
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=500)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="kyc-bench-checks-"))
    with Service(home, chunk_size=50_000) as service:
        key = service.create_key()
        names = people(args.checks + WARM_UP, listed_names(home))["full_name"].to_list()
        round_trips, processing = over_http(service, key, names)
    engine = in_process(home, names)
    rows = [
        (what, f"{percentile(values, 0.5):.1f} ms", f"{percentile(values, 0.99):.1f} ms")
        for what, values in [
            ("matching.check() in this process", engine),
            ("POST /kyc: server processing_time_ms", processing),
            ("POST /kyc: round trip over HTTP", round_trips),
        ]
    ]
    with pl.Config(tbl_rows=10, fmt_str_lengths=50, tbl_hide_dataframe_shape=True):
        print(pl.DataFrame(rows, schema=["measure", "p50", "p99"], orient="row"))
    ratio = percentile(round_trips, 0.5) / percentile(engine, 0.5)
    print(f"round trip / engine at p50: {ratio:.1f}x (targets: the engine 5 / 20 ms)")


if __name__ == "__main__":
    main()
