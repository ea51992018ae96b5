"""The split-up stack on one machine, for real: `kyc cluster up`, then jobs through it.

PostgreSQL, moto's S3 server (job store, books, snapshots), the Prefect server on
PostgreSQL with basic auth, a Dask scheduler and two workers, two API processes and a
Prefect process worker on prefect.yaml's pool, each a process group that `kyc cluster
down` stops (and the fixture kills whatever is left, whatever the tests did). The tests run
in this order on the one stack (a start costs a minute or two here):

1. a 30,000-entity job (three chunks) submitted to API A and read through API B equals the embedded
   run of the same rows (this process, no Dask), pair for pair and score for score;
2. 20 concurrent submissions to each API: none lost, none duplicated, p99 <= 2 s (held on
   two more APIs whose store is a shared folder: moto's S3 server is the bottleneck);
3. SIGKILL of a Dask worker in the middle of a job: it completes, each entity once;
4. a rescreen of a monitored book fans out the same way (both workers screen its chunks);
5. SIGKILL of the Prefect worker and its flow run in the middle of a job, then a new
   worker: Prefect's heartbeat automation crashes the silent run, the API's sweep resumes
   the job, and it completes with each entity once.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import polars as pl
import psutil
import pytest
from conftest import REPO, WATCHLISTS

from cli import stack
from data.jobs import JobStore

sys.path.insert(0, str(REPO))  # bench/generate.py makes the rows

pytestmark = pytest.mark.timeout(2400)

CHUNK_SIZE = 10_000
BIG_JOB = 30_000  # three chunks: the two workers share them; more proves no more
UP_TIMEOUT_S = 900  # every part on a loaded 2-core machine (about 2 min when quiet)
JOB_TIMEOUT_S = 600
PARQUET = "application/vnd.apache.parquet"
OFAC_2021 = WATCHLISTS / "ofac" / "snapshot_2021-07-07"


@dataclass
class Stack:
    folder: Path
    env: dict[str, str]
    apis: list[str]
    token: str = ""
    started: list[subprocess.Popen] = field(default_factory=list)  # parts a test added

    @property
    def jobs(self) -> JobStore:
        return JobStore(self.env["KYC_JOB_STORE_URI"])

    @property
    def dask_address(self) -> str:
        return self.env["KYC_DASK_ADDRESS"]

    def parts(self) -> dict[str, int]:
        state = json.loads((self.folder / "cluster.json").read_text())
        return {part["name"]: part["pid"] for part in state["parts"]}

    def kyc(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [stack.executable("kyc"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def logs(self, pattern: str = "*") -> str:
        logs = sorted(self.folder.glob(f"logs/{pattern}.log"))
        return "\n".join(stack.tail(log, 3000) for log in logs)

    def answered(self, api: int, response: httpx.Response) -> dict:
        port = self.apis[api].rsplit(":", 1)[1]
        assert response.status_code == 200, f"{response.text}\n{self.logs(f'api-{port}')}"
        return response.json()

    # --- the API ---------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def submit(self, api: int, frame: pl.DataFrame, **params: str) -> str:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        response = httpx.post(
            f"{self.apis[api]}/kyc/jobs",
            content=buffer.getvalue(),
            params=params,
            headers={**self.headers(), "Content-Type": PARQUET},
            timeout=120,
        )
        return self.answered(api, response)["job_id"]

    def job(self, api: int, job_id: str) -> dict:
        response = httpx.get(
            f"{self.apis[api]}/kyc/jobs/{job_id}",
            params={"limit": 1},
            headers=self.headers(),
            timeout=60,
        )
        return self.answered(api, response)

    def wait_finished(self, api: int, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(api, job_id)
            if job["job_status"] != "processing":
                return job
            time.sleep(1)
        pytest.fail(f"job {job_id} still processing after {timeout:.0f} s\n{self.logs()}")

    def wait_chunks(self, job_id: str, at_least: int, timeout: float = JOB_TIMEOUT_S) -> int:
        """Chunks written so far, once there are ``at_least`` (read from the S3 store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            written = len(self.jobs.written_chunks(job_id))
            if written >= at_least:
                return written
            time.sleep(0.2)
        pytest.fail(
            f"job {job_id}: fewer than {at_least} chunks after {timeout:.0f} s\n{self.logs()}"
        )

    # --- Dask ------------------------------------------------------------------------

    def worker_reports(self) -> dict[str, dict]:
        """What each Dask worker process built and holds (flows.engine.cache_report)."""
        from distributed import Client

        from flows.engine import cache_report

        with Client(self.dask_address, timeout=60) as client:
            return client.run(cache_report)


def generated(count: int, listed: list[str], prefix: str = "e") -> pl.DataFrame:
    """Generated people and companies (bench/generate.py), every 50th a listed name."""
    from bench.generate import entities

    frame = entities(count)
    row = pl.int_range(0, count, eager=True)
    names = pl.Series(listed).gather(row % len(listed))
    return frame.select(
        entity_id=prefix + row.cast(pl.Utf8),
        full_name=pl.when(row % 50 == 0).then(names).otherwise(pl.col("full_name")),
        entity_type=pl.col("entity_type"),
    )


def results(store: JobStore, job_id: str) -> pl.DataFrame:
    return pl.concat(list(store.iter_results(job_id)), how="diagonal_relaxed").sort("row")


def pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """(row, listed entry, score) of every reported match."""
    return (
        frame.select("row", "matches")
        .explode("matches")
        .drop_nulls("matches")
        .select(
            "row",
            pl.col("matches").struct.field("entity_id").alias("match"),
            pl.col("matches").struct.field("confidence_score").alias("score"),
        )
        .sort("row", "match")
    )


def assert_each_entity_once(store: JobStore, job_id: str, expected: pl.DataFrame) -> None:
    found = results(store, job_id)
    assert found["row"].is_duplicated().sum() == 0, "an entity appears twice in the results"
    assert found.height == expected.height, f"{found.height} results for {expected.height} rows"
    assert found["entity_id"].to_list() == expected["entity_id"].to_list()


@pytest.fixture(scope="module")
def cluster(snapshot_store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`kyc cluster up` on free ports in a throwaway folder; `down` (and kills) afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kyc-cluster-"))
    folder.chmod(0o755)  # PostgreSQL's user must reach its data folder inside
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_", "PREFECT_"))}
    base.update(KYC_CHUNK_SIZE=str(CHUNK_SIZE), KYC_REFRESH_CRON="", KYC_RESCREEN_CRON="")
    apis = [stack.free_port(), stack.free_port()]
    command = [stack.executable("kyc"), "cluster", "up", "--dir", str(folder)]
    command += ["--from", str(WATCHLISTS), "--api-ports", ",".join(map(str, apis))]
    for option in ("--postgres-port", "--s3-port", "--prefect-port", "--dask-port"):
        command += [option, str(stack.free_port())]
    running = Stack(folder, {}, [f"http://127.0.0.1:{port}" for port in apis])
    try:
        up = subprocess.run(command, env=base, capture_output=True, text=True, timeout=UP_TIMEOUT_S)
        assert up.returncode == 0, f"kyc cluster up failed:\n{up.stdout}\n{up.stderr}"
        running.env = {**base, **_env_file(folder / "cluster.env")}
        os.environ.update(stack.S3_CREDENTIALS)  # this process reads the S3 job store
        key = running.kyc(
            "keys", "create", "--tenant", "acme", "--permissions", "kyc:create,kyc:read,kyc:export"
        )
        running.token = next(word for word in key.stdout.split() if word.startswith("sk_"))
        yield running
    finally:
        for process in running.started:
            stack.stop_group(process.pid, timeout=5, descendants=True)
        subprocess.run(
            [stack.executable("kyc"), "cluster", "down", "--dir", str(folder)],
            env=base,
            capture_output=True,
            timeout=300,
        )
        _kill_leftovers(folder)
        kept = tmp_path_factory.mktemp("cluster-logs")  # pytest keeps its last few runs
        shutil.copytree(folder / "logs", kept, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def _env_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _kill_leftovers(folder: Path) -> None:
    """Whatever `down` did not stop (it failed, or `up` died half-way)."""
    state = folder / "cluster.json"
    if state.exists():
        for part in json.loads(state.read_text())["parts"]:
            stack.stop_group(part["pid"], timeout=2, first=signal.SIGKILL)


@pytest.fixture(scope="module")
def listed(snapshot_store) -> list[str]:
    names = snapshot_store.open().names
    return names.filter(pl.col("kind") == "primary")["name"].head(3000).to_list()


# --- 1. a job through A, read through B, equal to the embedded run -----------------------


def test_a_job_through_api_a_read_through_api_b_equals_the_embedded_run(
    cluster: Stack, listed: list[str], snapshot_store, tmp_path: Path
) -> None:
    frame = generated(BIG_JOB, listed)
    job_id = cluster.submit(0, frame)
    job = cluster.wait_finished(1, job_id)
    assert job["job_status"] == "completed", job
    assert job["processed_entities"] == BIG_JOB
    assert job["watchlist_version"] == snapshot_store.current_version(), (
        "the stack's snapshot (built from the same files) should have the session's version"
    )
    stack_results = results(cluster.jobs, job_id)

    embedded = _embedded_run(cluster.jobs, job_id, snapshot_store, tmp_path)
    assert stack_results.height == embedded.height == BIG_JOB
    assert pairs(stack_results).equals(pairs(embedded)), "the matches or scores differ"
    assert pairs(embedded).height > BIG_JOB // 100, "too few matches to compare"
    assert stack_results.drop("matches").equals(embedded.drop("matches"))
    assert stack_results.equals(embedded)  # details too

    download = httpx.get(
        f"{cluster.apis[1]}/kyc/jobs/{job_id}/results",
        params={"format": "parquet"},
        headers=cluster.headers(),
        timeout=120,
    )
    assert download.status_code == 200, download.text
    assert pl.read_parquet(io.BytesIO(download.content))["entity_id"].n_unique() == BIG_JOB


def _embedded_run(stack_jobs: JobStore, job_id: str, snapshot_store, folder: Path) -> pl.DataFrame:
    """The same stored rows screened by the embedded path: screen_job in this process
    (Prefect's temporary server, chunks one after another, no Dask), on a local store."""
    import asyncio

    from data.jobs import JobMeta, new_job_id
    from flows import fanout
    from flows.screen_job import screen_job

    assert not fanout.enabled(), "this process must run the embedded path"
    local = JobStore(str(folder / "jobs"))
    meta = JobMeta(job_id=new_job_id(), tenant="acme", chunk_size=CHUNK_SIZE)
    local.create_job(meta, stack_jobs.read_entities(job_id))
    state = asyncio.run(
        screen_job(
            meta.job_id,
            "acme",
            store_uri=local.uri,
            snapshot_root=str(snapshot_store.root),
            return_state=True,
        )
    )
    assert state.is_completed(), state.message
    return results(local, meta.job_id)


# --- 2. two APIs, twenty concurrent submissions each -------------------------------------


def test_two_apis_take_twenty_concurrent_submissions_each(cluster: Stack, tmp_path: Path) -> None:
    """Both of the stack's APIs (the job store on S3), then two more API processes on the same
    Prefect whose job store is a folder they share: 20 concurrent submissions to each API,
    none lost, none duplicated (one flow run per job, created 8 at a time on PostgreSQL).

    The p99 <= 2 s is held where the store is not the bottleneck: moto's S3 server is one
    Python process serving ~70 requests/s on a loaded 2-core machine, and a job takes four
    PUTs to store, so 40 jobs queue 2+ s there whatever the API does (real S3 takes such
    PUTs in parallel, ~20 ms each). The S3 burst's p99 is in the failure message."""
    on_s3 = _burst(cluster, cluster.apis, tmp_path)
    folder = tmp_path / "shared-job-store"
    env = {**cluster.env, "KYC_JOB_STORE_URI": str(folder)}
    ports = [stack.free_port(), stack.free_port()]
    logs = [cluster.folder / "logs" / f"api-{port}.log" for port in ports]
    processes = [stack.start_api(port, env, log) for port, log in zip(ports, logs, strict=True)]
    cluster.started += processes
    for port, process, log in zip(ports, processes, logs, strict=True):
        stack.wait_api(port, process, log)
    apis = [f"http://127.0.0.1:{port}" for port in ports]
    latencies = _burst(cluster, apis, tmp_path)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    assert p99 <= 2.0, (
        f"p99 {p99:.2f} s, median {statistics.median(latencies):.2f} s "
        f"(on S3 through moto: p99 {on_s3[-1]:.2f} s)"
    )


def _burst(cluster: Stack, apis: list[str], tmp_path: Path) -> list[float]:
    """20 concurrent submissions to each of two APIs; checks none is lost or duplicated,
    then cancels them (they need no worker time); the sorted latencies."""

    # One client, its connections opened before the clock starts: 40 clients' connection
    # set-up is the test's CPU on the same two cores, not the API's latency.
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    client = httpx.Client(headers=cluster.headers(), timeout=60, limits=limits)

    def post(number: int) -> tuple[float, str]:
        body = {"entities": [{"entity_id": f"c{number}", "subject": {"full_name": "Anna Schmidt"}}]}
        started = time.perf_counter()
        response = client.post(f"{apis[number % 2]}/kyc/jobs", json=body)
        assert response.status_code == 200, response.text
        return time.perf_counter() - started, response.json()["job_id"]

    with client, ThreadPoolExecutor(40) as pool:
        list(pool.map(lambda number: client.get(f"{apis[number % 2]}/health"), range(40)))
        answers = list(pool.map(post, range(40)))
    job_ids = [job_id for _, job_id in answers]
    assert len(set(job_ids)) == 40, "a submission was given another's job"
    for api in apis:  # both APIs list all 40 (one shared store), none twice
        listed = httpx.get(
            f"{api}/kyc/jobs", params={"limit": 1000}, headers=cluster.headers(), timeout=60
        ).json()["jobs"]
        ids = [job["job_id"] for job in listed]
        assert set(job_ids) <= set(ids) and len(ids) == len(set(ids))
    deadline = time.monotonic() + 120  # runs are created in the background
    while len(runs := _prefect_runs(cluster, {"name": {"any_": job_ids}})) < 40:
        assert time.monotonic() < deadline, f"{len(runs)} flow runs for 40 jobs after 120 s"
        time.sleep(1)
    assert sorted(run["name"] for run in runs) == sorted(job_ids), "one flow run per job"
    for number, job_id in enumerate(job_ids):  # cancelled through the other API
        response = httpx.post(
            f"{apis[(number + 1) % 2]}/kyc/jobs/{job_id}/cancel",
            headers=cluster.headers(),
            timeout=60,
        )
        assert response.status_code in (200, 409), response.text  # 409: it already finished
    return sorted(seconds for seconds, _ in answers)


def _prefect_runs(cluster: Stack, flow_runs: dict) -> list[dict]:
    """Flow runs read from the stack's Prefect server over its REST API (basic auth)."""
    url = cluster.env["PREFECT_API_URL"] + "/flow_runs/filter"
    body = {"flow_runs": flow_runs, "limit": 200}
    response = httpx.post(
        url,
        json=body,
        headers=stack.auth_headers(cluster.env["PREFECT_API_AUTH_STRING"]),
        timeout=60,  # a loaded Prefect server answers in seconds, not httpx's default 5
    )
    assert response.status_code == 200, response.text
    return response.json()


# --- 3. a Dask worker SIGKILLed in the middle of a job -----------------------------------


def test_a_dask_worker_killed_mid_job_loses_no_entity(cluster: Stack, listed: list[str]) -> None:
    from distributed import Client

    frame = generated(60_000, listed, prefix="k")  # six chunks: a killed worker's are redone
    job_id = cluster.submit(0, frame)
    written = cluster.wait_chunks(job_id, 1)
    with Client(cluster.dask_address, timeout=60) as client:
        busy = [worker for worker, keys in client.processing().items() if keys]
        assert busy, "no Dask worker was running a chunk"
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
    os.kill(pid, signal.SIGKILL)
    assert written < 6, "the job finished before the worker could be killed"

    job = cluster.wait_finished(1, job_id)
    assert job["job_status"] == "completed", job
    assert job["processed_entities"] == frame.height
    assert_each_entity_once(cluster.jobs, job_id, frame)


# --- 4. a rescreen of a monitored book fans out the same way ----------------------------


def test_a_rescreen_of_a_monitored_book_fans_out(
    cluster: Stack, listed: list[str], tmp_path: Path
) -> None:
    frame = generated(40_000, listed, prefix="m")
    job_id = cluster.submit(1, frame, monitor="true")
    assert cluster.wait_finished(0, job_id)["job_status"] == "completed"

    # A new snapshot: OFAC as published in 2021 (entries added, changed and removed).
    folder = tmp_path / "ofac-2021"
    (folder / "ofac").mkdir(parents=True)
    for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"):
        (folder / "ofac" / name).symlink_to(OFAC_2021 / name)
    refreshed = cluster.kyc("lists", "refresh", "--list", "ofac", "--from", str(folder), "--force")
    assert refreshed.returncode == 0, refreshed.stderr
    new_version = cluster.kyc("lists", "show").stdout.split("snapshot ")[1].split()[0]

    # The weekly catch-up screens the whole book (a reverse rescreen screens only the few
    # entities a changed entry could match): the rescreen that needs the cluster's width.
    started = subprocess.run(
        [stack.executable("prefect"), "deployment", "run", "rescreen_book/rescreen-book-catch-up"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stdout + started.stderr

    rescreen = _wait_rescreen_job(cluster, new_version)
    job = cluster.wait_finished(0, rescreen["job_id"])
    assert job["job_status"] == "completed", job
    assert job["processed_entities"] == frame.height
    assert len(cluster.jobs.written_chunks(rescreen["job_id"])) == frame.height // CHUNK_SIZE
    reports = cluster.worker_reports()
    assert len(reports) == 2
    for worker, report in reports.items():
        assert new_version in report["built"], f"{worker} screened no chunk of the rescreen"
        assert report["built"].count(new_version) == 1, f"{worker} built the index twice"
        assert len(report["cached"]) <= 2


def _wait_rescreen_job(cluster: Stack, version: str, timeout: float = JOB_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = httpx.get(
            f"{cluster.apis[0]}/kyc/jobs", params={"limit": 100}, headers=cluster.headers()
        ).json()["jobs"]
        for job in jobs:
            if job.get("origin") == "rescreen" and job.get("watchlist_version") == version:
                return job
        time.sleep(1)
    pytest.fail(f"no rescreen job against {version} after {timeout:.0f} s\n{cluster.logs()}")


# --- 5. the Prefect worker SIGKILLed in the middle of a job ------------------------------


def test_a_prefect_worker_killed_mid_job_then_a_new_one_completes_it(
    cluster: Stack, listed: list[str]
) -> None:
    frame = generated(80_000, listed, prefix="w")  # eight chunks: most are left at the kill
    job_id = cluster.submit(0, frame)
    written = cluster.wait_chunks(job_id, 1)
    # The worker and its flow-run process (a session of its own): a machine lost.
    worker = psutil.Process(cluster.parts()["prefect-worker"])
    flow_runs = worker.children(recursive=True)
    assert flow_runs, "the Prefect worker has no flow-run process"
    for process in (worker, *flow_runs):
        process.kill()
    assert written < 8, "the job finished before the worker could be killed"
    assert cluster.job(1, job_id)["job_status"] == "processing"

    log = cluster.folder / "logs" / "prefect-worker-2.log"
    cluster.started.append(stack.start_prefect_worker("kyc-pool", cluster.env, log))
    job = cluster.wait_finished(1, job_id, timeout=JOB_TIMEOUT_S + 300)
    assert job["job_status"] == "completed", job
    assert_each_entity_once(cluster.jobs, job_id, frame)
    assert cluster.jobs.get_job(job_id).attempts == 2, "the job resumed in a second run"
