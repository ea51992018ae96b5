"""The run submitter when Prefect is down: `kyc serve --mode api` (the split-up API alone) as
a subprocess, pointed at a Prefect URL where nothing listens.

Jobs are still accepted at once (stored, "processing"); a job cancelled before its run
exists ends cancelled; a job whose run cannot be created is failed with the reason once the
submitter gives up, and so is a job an earlier API process stored but never made a run for.
No job is left processing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id

pytestmark = pytest.mark.timeout(300)

KYC = str(Path(sys.executable).parent / "kyc")
GIVE_UP_S = 3.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def api_alone(tmp_path_factory: pytest.TempPathFactory, snapshot_store):
    """(url, API key, job store) of `kyc serve --mode api` with Prefect unreachable."""
    home = tmp_path_factory.mktemp("api-alone")
    shutil.copytree(snapshot_store.root, home / "snapshots")
    store = JobStore(str(home / "jobs"))
    # Stored by an API process that died before creating its run.
    orphan = JobMeta(job_id=new_job_id(), tenant="acme", watchlist_version=current(snapshot_store))
    store.create_job(orphan, entities_from_records([{"subject": {"full_name": "Ann Example"}}]))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_", "PREFECT_"))}
    env.update(
        KYC_DATA_DIR=str(home),
        KYC_API_PORT=str(port),
        KYC_SUBMIT_BACKOFF_S="0.2",
        KYC_SUBMIT_GIVE_UP_S=str(GIVE_UP_S),
        PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api",  # nothing listens there
        PREFECT_CLIENT_MAX_RETRIES="0",
        PREFECT_HOME=str(home / "prefect"),
    )
    command = [KYC, "keys", "create", "--tenant", "acme", "--permissions", "kyc:create,kyc:read"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    key = next(word for word in out.stdout.split() if word.startswith("sk_"))
    log = (home / "serve.log").open("ab")
    process = subprocess.Popen(
        [KYC, "serve", "--mode", "api"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, url, home)
        yield url, key, store, orphan.job_id
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def current(snapshot_store) -> str:
    version = snapshot_store.current_version()
    assert version is not None
    return version


def wait_healthy(process: subprocess.Popen, url: str, home: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail((home / "serve.log").read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail("kyc serve --mode api did not start")


def wait_finished(url: str, key: str, job_id: str) -> dict:
    deadline = time.monotonic() + GIVE_UP_S + 60
    while time.monotonic() < deadline:
        job = httpx.get(
            f"{url}/kyc/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30
        ).json()
        if job["job_status"] != "processing":
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} still processing")


def test_prefect_down_jobs_are_accepted_then_cancelled_or_failed(api_alone) -> None:
    url, key, store, orphan = api_alone
    headers = {"Authorization": f"Bearer {key}"}
    body = {"entities": [{"subject": {"full_name": "Ann Example"}}]}

    started = time.perf_counter()
    kept = httpx.post(f"{url}/kyc/jobs", json=body, headers=headers, timeout=30)
    cancelled = httpx.post(f"{url}/kyc/jobs", json=body, headers=headers, timeout=30)
    assert time.perf_counter() - started < GIVE_UP_S, "accepting must not wait for Prefect"
    assert kept.status_code == cancelled.status_code == 200, (kept.text, cancelled.text)
    assert kept.json()["job_status"] == "processing"
    kept_id, cancelled_id = kept.json()["job_id"], cancelled.json()["job_id"]
    polled = httpx.get(f"{url}/kyc/jobs/{kept_id}", headers=headers, timeout=30).json()
    assert polled["job_status"] == "processing" and "estimated_completion" in polled

    answer = httpx.post(f"{url}/kyc/jobs/{cancelled_id}/cancel", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["job_status"] == "cancelled"

    for job_id in (kept_id, orphan):
        job = wait_finished(url, key, job_id)
        assert job["job_status"] == "failed", job
        assert "could not create the job's flow run" in job["error"], job
        assert "completed_at" in job
    time.sleep(1)  # the submitter has reached the cancelled job by now (it is queued last)
    assert wait_finished(url, key, cancelled_id)["job_status"] == "cancelled"
    assert store.get_job(cancelled_id).flow_run_id is None
    assert store.active_jobs() == [], "no job is left processing"
