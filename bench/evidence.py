"""Benchmarks of issue #13's evidence: the report of a 1,000,000-entity job, and what
storing each single check costs POST /kyc.

    uv run python bench/evidence.py [--rows 1000000] [--checks 1000]

1. Report: a job store holding a finished 1,000,000-entity job (generated names, one in a
   hundred listed; the results of its first 50,000 screened by the real engine against the
   shared lists and repeated as its 20 chunks of 50,000, so the report reads a million real
   result rows). The report (gather + HTML + PDF) is made in a fresh process, which prints
   its wall time and peak memory (ru_maxrss); a 10,000-entity job's report, same run, is
   the baseline.
2. Checks: two services started side by side, one storing checks (the default) and one with
   KYC_STORE_CHECKS=false; the same names are sent alternately to each (the order swapped
   every request), so both see the same machine load. Also CheckStore.save() alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import entities as generated_entities
from bench.jobs import WATCHLISTS, Service, listed_names, people, percentile

CHUNK = 50_000
WARM_UP = 50


# --- 1. the report of a big job -----------------------------------------------------------


def build_job(root: Path, rows: int, screened: pl.DataFrame, version: str) -> str:
    """A finished job of ``rows`` entities whose chunks repeat ``screened`` (CHUNK rows)."""
    from data.jobs import JobMeta, JobStore, new_job_id

    store = JobStore(str(root))
    chunk = min(CHUNK, rows)
    frame = generated_entities(rows).with_columns(entity_id="g" + pl.col("row").cast(pl.Utf8))
    meta = JobMeta(
        job_id=new_job_id(),
        tenant="bench",
        chunk_size=chunk,
        status="processing",
        watchlist_version=version,
    )
    store.create_job(meta, frame)
    chunks = {}
    for index in range(rows // chunk):
        results = screened.with_columns(
            pl.col("row") + index * chunk,
            entity_id="g" + (pl.col("row") + index * chunk).cast(pl.Utf8),
        )
        chunks[index] = store.write_chunk(meta.job_id, index, results)
    import matching

    store.write_progress(
        meta.job_id,
        chunks,
        rate=None,
        chunk_size=CHUNK,
        engine_version=matching.ENGINE_VERSION,
        started_at=meta.created_at,
    )
    store.update_job(meta.job_id, status="completed", completed_at=meta.created_at)
    return meta.job_id


def screened_chunk(snapshots: Path) -> pl.DataFrame:
    """CHUNK generated entities (one in a hundred a listed name) screened by the engine."""
    import matching
    from data.store import SnapshotStore

    watchlist = SnapshotStore(snapshots).open()
    index = matching.build_index(watchlist)
    listed = watchlist.names.filter(pl.col("kind") == "primary")["name"].head(5000)
    queries = generated_entities(CHUNK)
    picks = listed.gather((queries["row"] // 100) % listed.len())
    queries = queries.with_columns(
        pl.when(pl.col("row") % 100 == 0)
        .then(picks)
        .otherwise(pl.col("full_name"))
        .alias("full_name")
    )
    results = matching.screen(queries, index, threshold=0.8, max_matches=10)
    return results.with_columns(entity_id=pl.lit("")).select(
        "row", "entity_id", pl.exclude("row", "entity_id")
    )


def report_in_fresh_process(store: Path, snapshots: Path, job_id: str) -> dict:
    command = [sys.executable, __file__, "render", str(store), str(snapshots), job_id]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(store: str, snapshots: str, job_id: str) -> None:
    """(Child process) gather and render one job's report; print time, size and peak RSS."""
    started = time.perf_counter()
    from data.jobs import JobStore
    from data.store import SnapshotStore
    from reports import job_report_data, render_html, render_pdf

    jobs = JobStore(store)
    data = job_report_data(jobs, SnapshotStore(Path(snapshots)), jobs.get_job(job_id), 0.8)
    gathered = time.perf_counter()
    html = render_html(data)
    pdf = render_pdf(data, html)
    finished = time.perf_counter()
    peak_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": finished - started,
                "gather_s": gathered - started,
                "render_s": finished - gathered,
                "peak_mb": peak_mb,
                "pdf_bytes": len(pdf),
                "matches": data.matches_total,
                "listed": len(data.matches),
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that forked it)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def report_bench(rows: int) -> list[tuple[str, str, str]]:
    from data.sources import SOURCES
    from data.store import SnapshotStore

    home = Path(tempfile.mkdtemp(prefix="kyc-bench-evidence-"))
    snapshots = home / "snapshots"
    SnapshotStore(snapshots).refresh(list(SOURCES), from_dir=WATCHLISTS)
    screened = screened_chunk(snapshots)
    version = SnapshotStore(snapshots).current_version() or ""
    small = build_job(home / "small", CHUNK // 5, screened.head(CHUNK // 5), version)
    big = build_job(home / "big", rows, screened, version)
    out = []
    for label, store, job in (("10,000", home / "small", small), (f"{rows:,}", home / "big", big)):
        runs = [report_in_fresh_process(store, snapshots, job) for _ in range(2)]
        best = min(runs, key=lambda r: r["seconds"])
        out.append(
            (
                f"report of a {label}-entity job ({best['matches']:,} matches, "
                f"{best['listed']} listed)",
                " / ".join(f"{r['seconds']:.2f} s" for r in runs)
                + f" (gather {best['gather_s']:.2f} + render {best['render_s']:.2f})",
                f"{max(r['peak_mb'] for r in runs):,.0f} MB peak, PDF {best['pdf_bytes'] / 1e6:.1f} MB",
            )
        )
    return out


# --- 2. POST /kyc with storage and without -----------------------------------------------


def checks_bench(count: int) -> list[tuple[str, str, str]]:
    home = Path(tempfile.mkdtemp(prefix="kyc-bench-checks-"))
    storing, plain = Service(home / "storing", 50_000), Service(home / "plain", 50_000)
    (home / "storing").mkdir()
    (home / "plain").mkdir()
    plain.env["KYC_STORE_CHECKS"] = "false"
    with storing, plain:
        clients = []
        for service in (storing, plain):
            headers = {"Authorization": f"Bearer {service.create_key()}"}
            clients.append(httpx.Client(base_url=service.url, headers=headers, timeout=60))
        names = people(count + WARM_UP, listed_names(home / "storing"))["full_name"].to_list()
        times: list[list[float]] = [[], []]
        for i, name in enumerate(names):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for which in order:
                started = time.perf_counter()
                clients[which].post(
                    "/kyc", json={"subject": {"full_name": name}}
                ).raise_for_status()
                if i >= WARM_UP:
                    times[which].append((time.perf_counter() - started) * 1000)
        for client in clients:
            client.close()
    save = save_times(home / "store", count)
    rows = [
        (label, f"{percentile(values, 0.5):.2f} ms", f"{percentile(values, 0.99):.2f} ms")
        for label, values in (
            ("POST /kyc round trip, checks stored (default)", times[0]),
            ("POST /kyc round trip, KYC_STORE_CHECKS=false", times[1]),
            ("CheckStore.save() alone, local store", save),
        )
    ]
    p50 = percentile(times[0], 0.5) - percentile(times[1], 0.5)
    p99 = percentile(times[0], 0.99) - percentile(times[1], 0.99)
    rows.append(("storing costs (difference)", f"{p50:+.2f} ms", f"{p99:+.2f} ms"))
    return rows


def save_times(root: Path, count: int) -> list[float]:
    from data.checks import CheckStore, new_stored_check

    store = CheckStore(str(root))
    answer = json.dumps({"status": "success", "matches": [{"x": "y" * 400}] * 3}).encode()
    times = []
    for _ in range(count):
        check = new_stored_check(str(uuid.uuid4()), "bench", {"subject": {}}, answer, "t")
        started = time.perf_counter()
        store.save(check)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "render":
        render(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--only", choices=["report", "checks"], default=None)
    args = parser.parse_args()
    rows = []
    if args.only in (None, "report"):
        rows += report_bench(args.rows)
    if args.only in (None, "checks"):
        rows += checks_bench(args.checks)
    with pl.Config(tbl_rows=20, fmt_str_lengths=90, tbl_hide_dataframe_shape=True):
        print(pl.DataFrame(rows, schema=["measure", "p50 / time", "p99 / memory"], orient="row"))


if __name__ == "__main__":
    main()
