"""Benchmark of the split-up parts, in one run on this machine (its cores are printed).

1. A --rows-entity job through the screen_job flow (a Prefect server on SQLite started
   here, a local job store and snapshot): the embedded path (chunks one after another in
   this process) against a local Dask cluster of --workers worker processes (the same
   flow with KYC_DASK_ADDRESS), alternately, each after a warm-up that builds its indexes.
   Wall time, CPU time of the processes that screen, and cores busy (CPU / wall).
2. The scheduling overhead per chunk on Dask: each chunk task's time on its worker (Dask's
   task stream) against the task body's own time (Prefect's task run), and the gap between
   a worker's consecutive chunks; as a share of the body's time.
3. A snapshot copied to a worker's cache from S3 (moto's server) and checked, its size;
   the index build and the memory it adds to a worker process.
4. Flow runs created per second by 20 concurrent submitters (flows.deployments, the API's
   code), Prefect on PostgreSQL against SQLite (one at a time, and 20 at once).

    uv run python bench/cluster.py                   # the issue's size (1,000,000 rows)
    uv run python bench/cluster.py --rows 200000     # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
WATCHLISTS = REPO.parent / "shared" / "data" / "watchlists"

HOME = Path(tempfile.mkdtemp(prefix="kyc-bench-cluster-"))
HOME.chmod(0o755)
os.environ.update(
    KYC_DATA_DIR=str(HOME / "data"),
    PREFECT_HOME=str(HOME / "prefect-client"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    KYC_SUBMIT_CONCURRENCY="20",
)
os.environ.pop("PREFECT_API_URL", None)

import polars as pl  # noqa: E402
import psutil  # noqa: E402  (distributed's dependency)
from servers import (  # noqa: E402
    dask_cluster,
    postgres_server,
    prefect_server,
    s3_server,
)

ROWS: list[tuple[str, str, str]] = []


def report(what: str, value: str, note: str = "") -> None:
    ROWS.append((what, value, note))
    print(f"{what:72} {value:>16}  {note}", flush=True)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


# --- 1 and 2: the embedded path against a local Dask cluster ------------------------------


def make_job(store, frame: pl.DataFrame, chunk_size: int) -> str:
    from data.entities import entities_from_records
    from data.jobs import JobMeta, new_job_id

    records = [
        {"entity_id": f"b{i}", "subject": {"full_name": name, "entity_type": kind}}
        for i, (name, kind) in enumerate(frame.select("full_name", "entity_type").iter_rows())
    ]
    meta = JobMeta(job_id=new_job_id(), tenant="bench", chunk_size=chunk_size)
    store.create_job(meta, entities_from_records(records))
    return meta.job_id


def run_flow(job_id: str, store_uri: str, snapshot_root: str) -> float:
    from flows.screen_job import screen_job

    started = time.perf_counter()
    state = asyncio.run(
        screen_job(job_id, "bench", store_uri, snapshot_root, return_state=True)  # type: ignore[call-arg]
    )
    if not state.is_completed():
        raise RuntimeError(f"the benchmark job failed: {state.message}")
    return time.perf_counter() - started


def embedded_and_dask(rows: int, workers: int, chunk_size: int) -> dict[str, float]:
    """Both paths alternately (embedded, Dask, embedded, Dask); the better of each."""
    from distributed import Client, get_task_stream

    from bench.generate import entities
    from data.jobs import JobStore
    from data.store import SnapshotStore
    from flows import engine
    from kyc import settings  # DASK_ADDRESS is set here per run: the flow reads it per run

    snapshots = SnapshotStore(HOME / "snapshots")
    snapshots.refresh(["ofac", "ofac_cons", "un", "uk", "us_csl"], from_dir=WATCHLISTS)
    frame = entities(rows)
    store = JobStore(str(HOME / "jobs"))
    root = str(snapshots.root)
    results: dict[str, float] = {}
    with prefect_server() as prefect:
        os.environ.update(prefect.env)
        env = {**os.environ}
        with dask_cluster(workers, env) as dask:
            worker_pids = list(dask.worker_pids().values())
            started = time.perf_counter()
            engine.get_index(root)
            results["index build, this process (s)"] = time.perf_counter() - started
            rss_before = [psutil.Process(pid).memory_info().rss for pid in worker_pids]
            settings.DASK_ADDRESS = dask.address  # the flow reads it per run
            warm = make_job(store, frame.head(chunk_size * workers * 2), chunk_size)
            warm_up = _with_task_runner(dask.address, lambda: run_flow(warm, store.uri, root))
            rss_after = [psutil.Process(pid).memory_info().rss for pid in worker_pids]
            results["Dask warm-up (index on each worker) (s)"] = warm_up
            results["index memory per worker (MB)"] = statistics.mean(
                (after - before) / 2**20
                for before, after in zip(rss_before, rss_after, strict=True)
            )
            embedded_walls, dask_walls, embedded_cpu, dask_cpu = [], [], [], []
            for _ in range(2):
                settings.DASK_ADDRESS = ""
                job = make_job(store, frame, chunk_size)
                cpu = cpu_seconds([os.getpid()])
                embedded_walls.append(run_flow(job, store.uri, root))
                embedded_cpu.append(cpu_seconds([os.getpid()]) - cpu)

                settings.DASK_ADDRESS = dask.address
                job = make_job(store, frame, chunk_size)
                cpu = cpu_seconds([os.getpid(), *worker_pids])
                with Client(dask.address) as client, get_task_stream(client) as stream:
                    dask_walls.append(
                        _with_task_runner(dask.address, lambda j=job: run_flow(j, store.uri, root))
                    )
                dask_cpu.append(cpu_seconds([os.getpid(), *worker_pids]) - cpu)
                task_stream = stream.data
            settings.DASK_ADDRESS = ""
            best_embedded = min(range(2), key=lambda i: embedded_walls[i])
            best_dask = min(range(2), key=lambda i: dask_walls[i])
            results["embedded: wall (s)"] = embedded_walls[best_embedded]
            results["embedded: cores busy"] = (
                embedded_cpu[best_embedded] / embedded_walls[best_embedded]
            )
            results["Dask: wall (s)"] = dask_walls[best_dask]
            results["Dask: cores busy"] = dask_cpu[best_dask] / dask_walls[best_dask]
            results["all runs (s)"] = embedded_walls + dask_walls  # type: ignore[assignment]
            results.update(asyncio.run(_overhead(job, task_stream)))
    return results


def _with_task_runner(address: str, run):
    """Run with screen_job's task runner pointed at ``address`` (the flow object was made
    at import; its runner is swapped the way Prefect's with_options does)."""
    import flows.screen_job as module
    from flows import fanout

    original = module.screen_job
    module.screen_job = original.with_options(task_runner=fanout.task_runner())
    try:
        return run()
    finally:
        module.screen_job = original


async def _overhead(job_id: str, task_stream: list[dict]) -> dict[str, float]:
    """Per chunk: Dask's time for the task against the body's own time (Prefect's task
    run), and the idle gap between a worker's consecutive tasks."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        TaskRunFilter,
        TaskRunFilterName,
    )

    async with get_client() as client:
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[job_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="chunk-")),
            limit=200,
        )
    bodies = [run.total_run_time.total_seconds() for run in task_runs if run.total_run_time]
    chunks = task_stream  # the cluster ran nothing but this job's chunk tasks meanwhile
    durations = [
        sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute")
        for t in chunks
    ]
    by_worker: dict[str, list[tuple[float, float]]] = {}
    for t in chunks:
        for s in t["startstops"]:
            if s["action"] == "compute":
                by_worker.setdefault(t["worker"], []).append((s["start"], s["stop"]))
    gaps = [
        later[0] - earlier[1]
        for spans in by_worker.values()
        for earlier, later in zip(sorted(spans), sorted(spans)[1:], strict=False)
    ]
    body = statistics.mean(bodies)
    task = statistics.mean(durations)
    gap = statistics.mean(gaps) if gaps else 0.0
    return {
        "chunks": len(bodies),
        "chunk body (Prefect task run) (s)": body,
        "chunk on its worker (Dask) (s)": task,
        "gap between a worker's chunks (s)": gap,
        "overhead per chunk (% of the body)": 100 * (task - body + gap) / body,
    }


# --- 3: a snapshot copied to a worker ----------------------------------------------------


def snapshot_copy() -> dict[str, float]:
    from data.store import SharedSnapshotStore, open_snapshots

    with s3_server() as s3:
        uri = s3.bucket_uri("snapshots")
        builder = open_snapshots(uri, HOME / "builder-cache")
        started = time.perf_counter()
        report_ = builder.refresh(["ofac", "ofac_cons", "un", "uk", "us_csl"], from_dir=WATCHLISTS)
        publish = time.perf_counter() - started
        copies = []
        for attempt in range(3):
            worker = SharedSnapshotStore(uri, HOME / f"worker-cache-{attempt}")
            worker.local_file(report_.version)
            copies.append(worker.last_copy_seconds or 0.0)
        size = (HOME / "worker-cache-0" / f"{report_.version}.duckdb").stat().st_size
    return {
        "snapshot size (MB)": size / 2**20,
        "refresh and publish to S3 (s)": publish,
        "copy to a worker's cache, checked (s, best of 3)": min(copies),
    }


# --- 4: run creation, PostgreSQL against SQLite -----------------------------------------


def run_creation(submitters: int = 20, runs: int = 200) -> dict[str, tuple[float, float, float]]:
    """(runs/s, p50 s, p99 s) per setup."""
    outcome = {}
    with postgres_server() as postgres:
        for label, database, concurrency in (
            ("SQLite, one at a time (the default)", None, 1),
            ("SQLite, 20 at once", None, submitters),
            ("PostgreSQL, 20 at once", postgres, submitters),
        ):
            with prefect_server(database) as prefect:
                outcome[label] = _create_runs(prefect.env, concurrency, submitters, runs)
    return outcome


def _create_runs(env: dict[str, str], concurrency: int, submitters: int, runs: int):
    import subprocess

    script = f"""
import asyncio, os, statistics, time, json
os.environ.update({env!r})
os.environ["KYC_SUBMIT_CONCURRENCY"] = "{concurrency}"
from flows.runner import register_deployments
from flows.deployments import create_screen_run, close_client

async def main():
    latencies = []
    async def submitter(number):
        for i in range({runs} // {submitters}):
            started = time.perf_counter()
            await create_screen_run(f"bench-{{number}}-{{i}}-{{time.time_ns()}}", "bench")
            latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(submitter(n) for n in range({submitters})))
    wall = time.perf_counter() - started
    await close_client()
    latencies.sort()
    print(json.dumps([len(latencies) / wall, latencies[len(latencies) // 2],
                      latencies[int(0.99 * (len(latencies) - 1))]]))

register_deployments()
asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    import json

    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["jobs", "snapshot", "runs"])
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(
        f"cores: {cores}, rows: {args.rows:,}, Dask workers: {args.workers}, "
        f"chunk: {args.chunk_size:,}",
        flush=True,
    )
    if "jobs" not in args.skip:
        measured = embedded_and_dask(args.rows, args.workers, args.chunk_size)
        for what, value in measured.items():
            shown = (
                ", ".join(f"{v:.1f}" for v in value) if isinstance(value, list) else f"{value:.2f}"
            )
            report(what, shown)
        report(
            "embedded wall / Dask wall (same run)",
            f"{measured['embedded: wall (s)'] / measured['Dask: wall (s)']:.2f}x",
            f"{args.rows / measured['Dask: wall (s)']:,.0f} entities/s on Dask",
        )
    if "snapshot" not in args.skip:
        for what, value in snapshot_copy().items():
            report(what, f"{value:.2f}")
    if "runs" not in args.skip:
        for label, (rate, p50, p99) in run_creation().items():
            report(
                f"flow runs created, 20 submitters: {label}",
                f"{rate:.1f}/s",
                f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
            )


if __name__ == "__main__":
    main()
