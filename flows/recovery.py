"""Start-up recovery: no accepted job is left stuck in "processing" by a dead process.

Runs before the embedded runner starts polling, so every screen-job run still Pending or
Running at that moment belonged to a process that is gone (open-source Prefect has no
zombie detection by default). For each job the store still records as processing:

- no flow run (crash between storing the job and creating its run): create it (the API
  does the same at its start-up, see unsubmitted_jobs, for the split-up mode);
- run Scheduled: leave it, the runner picks it up;
- run Pending / Running / Paused / Cancelling: resubmit, and mark the dead run Crashed with
  the id of the run that resumes the job;
- run Crashed, or Cancelled by a stop of the service: resubmit (it resumes from its written
  chunks), and say on the old run which run resumed it;
- run Completed or Failed but not recorded (the process died in the state hook): record it.

A job is failed with a reason instead when it cannot run again: its pinned snapshot is gone
or it has already been tried too often.

Split up, runs Pending or Running may be alive on other machines, so the API's periodic
sweep (resume_crashed_jobs) does the same except that it leaves those alone: a dead
worker's runs become Crashed through Prefect's heartbeat automation (flows/zombies.py),
and then resume like any crashed run.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from data.jobs import JobMeta, JobStore, utc_now
from flows.deployments import read_flow_run, submit_screen_job
from kyc import settings

logger = logging.getLogger("kyc.recovery")

DEAD_STATES = {"PENDING", "RUNNING", "PAUSED", "CANCELLING"}


async def recover_jobs(
    store_uri: str | None = None,
    snapshot_root: Path | str | None = None,
    runs_may_be_alive: bool = False,
) -> dict:
    """Resume or fail every job left processing; return job id -> what was done.

    With ``runs_may_be_alive`` (workers elsewhere), runs Pending, Running, Paused or
    Cancelling are left as they are."""
    store = JobStore(store_uri or settings.JOB_STORE_URI)
    root = snapshot_root or settings.SNAPSHOT_URI or settings.SNAPSHOT_DIR
    outcomes: dict[str, str] = {}
    for job_id in await asyncio.to_thread(store.active_jobs):
        meta = await asyncio.to_thread(store.get_job, job_id)
        if meta is None or meta.status != "processing":
            continue
        try:
            outcomes[job_id] = await _recover(store, root, meta, runs_may_be_alive)
        except Exception as error:  # one bad job must not stop the others' recovery
            logger.exception("recovery of job %s failed", job_id)
            outcomes[job_id] = f"recovery error: {error!r}"
    acted = {job: what for job, what in outcomes.items() if not what.startswith("left ")}
    if acted:
        logger.info("recovered jobs: %s", acted)
    return outcomes


async def resume_crashed_jobs(store_uri: str, snapshot_root: Path | str) -> dict:
    """The split-up sweep: resume the jobs whose run crashed, record runs that ended
    unrecorded, and leave every run that may be alive; job id -> what was done."""
    return await recover_jobs(store_uri, snapshot_root, runs_may_be_alive=True)


def unsubmitted_jobs(store: JobStore, snapshot_root: Path | str) -> list[JobMeta]:
    """Jobs recorded processing whose flow run was never created, ready to get one.

    Safe wherever workers run (no run exists that could be alive), so the API calls it at
    start-up in every mode: an API process that died between storing a job and creating its
    run leaves such jobs, and in split-up mode no worker recovery would ever see them. A job
    that cannot run any more is failed with the reason here, as recovery does.
    """
    ready = []
    for job_id in store.active_jobs():
        meta = store.get_job(job_id)
        if meta is None or meta.status != "processing" or meta.flow_run_id is not None:
            continue
        problem = _why_not_runnable(snapshot_root, meta)
        if problem is None:
            ready.append(meta)
        else:
            reason = f"could not start the job (its flow run was never created): {problem}"
            store.update_job(job_id, status="failed", error=reason, completed_at=utc_now())
    return sorted(ready, key=lambda meta: meta.created_at)


async def _recover(
    store: JobStore, root: Path | str, meta: JobMeta, runs_may_be_alive: bool = False
) -> str:
    if meta.flow_run_id is None and runs_may_be_alive:
        return "left to the run submitter"  # the API creates it (unsubmitted_jobs)
    run = await read_flow_run(meta.flow_run_id) if meta.flow_run_id else None
    if run is None:
        return await _resubmit(store, root, meta, "its flow run was never created")
    state = run.state.type.name if run.state else "SCHEDULED"
    if state == "SCHEDULED":
        return "left scheduled"
    if state in DEAD_STATES and runs_may_be_alive:
        return f"left {state.lower()}"  # it may be alive on another machine
    if state == "COMPLETED" and _all_chunks_written(store, meta):
        store.update_job(meta.job_id, status="completed", completed_at=utc_now())
        return "recorded completed"
    if state == "FAILED":
        reason = run.state.message or "the screening run failed"
        store.update_job(meta.job_id, status="failed", error=reason, completed_at=utc_now())
        return "recorded failed"
    why = (
        f"its run was left {state} by a dead process"
        if state in DEAD_STATES
        else f"its run ended {state}"
    )
    outcome = await _resubmit(store, root, meta, why)
    resumed_by = store.get_job(meta.job_id)
    if resumed_by is not None and resumed_by.flow_run_id != meta.flow_run_id:
        await _link_to_resuming_run(run, state, str(resumed_by.flow_run_id))
    return outcome


async def _link_to_resuming_run(run: Any, state: str, new_run_id: str) -> None:
    """Say on the interrupted run which run resumes its job: the Prefect UI shows both,
    and without this nothing tied the Crashed (or stopped) run to the one that finished."""
    from prefect.states import Cancelled, Crashed

    from flows.deployments import prefect_client

    if state in DEAD_STATES or state == "CRASHED":
        said = "the service stopped while this run was active"
        ended = Crashed(message=f"{said}; the job resumed as flow run {new_run_id}")
    else:
        said = (run.state.message if run.state else None) or "stopped"
        ended = Cancelled(message=f"{said}; resumed as flow run {new_run_id}")
    client = await prefect_client()
    await client.set_flow_run_state(run.id, ended, force=True)


async def _resubmit(store: JobStore, root: Path | str, meta: JobMeta, why: str) -> str:
    problem = _why_not_runnable(root, meta)
    if problem is not None:
        reason = f"could not resume the job ({why}): {problem}"
        store.update_job(meta.job_id, status="failed", error=reason, completed_at=utc_now())
        return f"failed: {reason}"
    # A fresh idempotency key per attempt: Prefect would otherwise hand back the dead run.
    key = meta.job_id if meta.flow_run_id is None else f"{meta.job_id}:{meta.attempts + 1}"
    run_id = await submit_screen_job(meta.job_id, meta.tenant, idempotency_key=key)
    return f"resubmitted as {run_id} ({why})"


def _why_not_runnable(root: Path | str, meta: JobMeta) -> str | None:
    from flows.engine import snapshot_store

    if meta.attempts >= settings.MAX_JOB_ATTEMPTS:
        return f"gave up after {meta.attempts} runs"
    version = meta.watchlist_version
    if version is not None and version not in snapshot_store(root).versions():
        return f"its pinned watchlist snapshot {version} is no longer available"
    return None


def _all_chunks_written(store: JobStore, meta: JobMeta) -> bool:
    size = store.chunk_size(meta.job_id) or max(meta.total_entities, 1)
    expected = -(-meta.total_entities // size)
    return len(store.written_chunks(meta.job_id)) >= expected
