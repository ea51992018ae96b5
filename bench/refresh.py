"""Benchmark: refresh every list from ../shared into a fresh snapshot store.

    uv run python bench/refresh.py [--from DIR]

Each list is parsed in a process of its own, so its peak memory (RSS) is its own; then one
more process runs the whole refresh (fetch, hash, parse every list, write, check, publish)
into a new store in a temporary folder. Target: the whole refresh in at most 60 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from data import sources  # noqa: E402
from data.store import SnapshotStore  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "watchlists"
TARGET_S = 60.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def parse_one(code: str, from_dir: Path) -> dict:
    """In a child: fetch and parse one list; time, entries and peak RSS."""
    baseline = _rss_mb()
    with tempfile.TemporaryDirectory() as staging:
        files = sources.fetch([code], from_dir, Path(staging), 60.0, strict=True)
        started = time.perf_counter()
        parsed = sources.SOURCES[code].parse(files[code])
        seconds = time.perf_counter() - started
    return {
        "step": code,
        "entries": parsed.entries.height,
        "names": f"{parsed.names.height:,}",
        "seconds": seconds,
        "rss_mb": _rss_mb(),
        "baseline_mb": baseline,
    }


def refresh_all(codes: list[str], from_dir: Path) -> dict:
    """In a child: the whole refresh into a new store."""
    baseline = _rss_mb()
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        report = SnapshotStore(Path(root)).refresh(codes, from_dir=from_dir)
        seconds = time.perf_counter() - started
        size = SnapshotStore(Path(root)).path(report.version).stat().st_size
    return {
        "step": "refresh (all)",
        "entries": sum(report.lists.values()),
        "seconds": seconds,
        "stages": report.seconds,
        "rss_mb": _rss_mb(),
        "baseline_mb": baseline,
        "snapshot_mb": size / 2**20,
    }


def _in_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="from_dir", type=Path, default=SHARED)
    parser.add_argument("--parse", help="(internal) parse one list in this process")
    parser.add_argument("--refresh", action="store_true", help="(internal) the whole refresh")
    args = parser.parse_args()
    codes = [
        c for c in sources.available_codes() if (args.from_dir / sources.SOURCES[c].FOLDER).is_dir()
    ]
    if args.parse:
        print(json.dumps(parse_one(args.parse, args.from_dir)))
        return
    if args.refresh:
        print(json.dumps(refresh_all(codes, args.from_dir)))
        return

    rows = [_in_child("--parse", code, "--from", str(args.from_dir)) for code in codes]
    total = _in_child("--refresh", "--from", str(args.from_dir))
    print(f"Refresh of {', '.join(codes)} from {args.from_dir}\n")
    print(
        f"{'step':<16}{'entries':>9}{'names':>9}{'seconds':>9}{'peak RSS MB':>13}{'(after imports)':>17}"
    )
    for row in [*rows, total]:
        print(
            f"{row['step']:<16}{row['entries']:>9,}{row.get('names', ''):>9}"
            f"{row['seconds']:>9.2f}{row['rss_mb']:>13.0f}{row['baseline_mb']:>17.0f}"
        )
    stages = ", ".join(f"{k} {v:.2f}" for k, v in total["stages"].items())
    print(f"\nStages of the whole refresh (s): {stages}")
    print(f"Snapshot file: {total['snapshot_mb']:.1f} MB")
    verdict = "OK" if total["seconds"] <= TARGET_S else "TOO SLOW"
    print(f"Total {total['seconds']:.1f} s against a target of {TARGET_S:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
