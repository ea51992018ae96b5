"""A job's documented status from the job store, the one source of truth for a finished job.

The flow records "completed" in the job store itself, as its last step, and its failure hook
records "failed" with the reason; a cancel through the API is recorded before the run stops.
So a terminal status in the store is final, and GET /kyc/jobs and GET /kyc/jobs/{id} read
the same answer. While the store says "processing", Prefect is asked about the run only to
catch a run that failed for good but died before its hook recorded it: that failure is
recorded here, then reported. Every other state of the run means the job will go on: Running,
Scheduled, or Crashed / Cancelled by a stop of the service, which recovery resumes from the
chunks already written. Such a job reads "processing", never "failed" for a while and then
"processing" again. flows.deployments caches Prefect's answers for a moment, so fifty
clients polling one running job cost Prefect one read a second.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from msgspec import UNSET

from api.schemas import JobCreated
from data.jobs import JobMeta, JobProgress, JobStore, utc_now
from flows.deployments import flow_run_state

TERMINAL = ("completed", "failed", "cancelled")

# Before a job's first chunk is measured: a nominal engine rate and the run's start-up time.
NOMINAL_RATE = 16_000.0  # entities per second (the engine's target on 2 cores)
STARTUP_S = 3.0  # a runner picks a new run up in 1.5-3 s (stack-notes.md)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def run_state(flow_run_id: str) -> tuple[str, str | None] | None:
    """(state type, message) of a flow run; None when Prefect cannot say."""
    try:
        return await flow_run_state(flow_run_id)
    except Exception:  # Prefect unreachable or the run unknown: keep the store's view
        return None


async def resolve_status(jobs: JobStore, meta: JobMeta) -> tuple[JobMeta, str, str | None]:
    """(meta as now recorded, job_status, error) of a job."""
    if meta.status in TERMINAL or meta.flow_run_id is None:
        return meta, meta.status, meta.error
    state = await run_state(meta.flow_run_id)
    if state is None or state[0] != "FAILED":
        return meta, "processing", None
    reason = state[1] or "the screening run failed"
    meta = await asyncio.to_thread(_record_failure, jobs, meta, reason)
    return meta, meta.status, meta.error


def _record_failure(jobs: JobStore, meta: JobMeta, reason: str) -> JobMeta:
    """Record a run's failure, unless the job moved on meanwhile (a new run, a cancel)."""
    current = jobs.get_job(meta.job_id) or meta
    if current.status != "processing" or current.flow_run_id != meta.flow_run_id:
        return current
    return jobs.update_job(meta.job_id, status="failed", error=reason, completed_at=utc_now())


def first_estimate(meta: JobMeta) -> str:
    """When a job just accepted should finish: its rows at the nominal rate, plus start-up.
    Given once and kept (JobMeta.estimated_completion) until a chunk is measured."""
    start = parse_iso(meta.created_at) + timedelta(seconds=STARTUP_S)
    return iso(start + timedelta(seconds=meta.total_entities / NOMINAL_RATE))


def estimate_completion(meta: JobMeta, progress: JobProgress) -> str:
    """When a processing job should finish: the remaining rows at the measured rate, or the
    estimate given when it was accepted while nothing is measured yet."""
    if not progress.rate:
        return meta.estimated_completion or first_estimate(meta)
    remaining = max(meta.total_entities - progress.processed, 0)
    measured_at = parse_iso(progress.updated_at) if progress.updated_at else datetime.now(UTC)
    return iso(measured_at + timedelta(seconds=remaining / progress.rate))


async def job_created(jobs: JobStore, meta: JobMeta, just_submitted: bool = False) -> JobCreated:
    """The answer to a job's creation (a submission, its idempotent retry, a re-run); a job
    submitted this instant is processing, so no Prefect call is made for it."""
    status = "processing"
    if not just_submitted:
        meta, status, _ = await resolve_status(jobs, meta)
    return JobCreated(
        status="success",
        job_id=meta.job_id,
        total_entities=meta.total_entities,
        job_status=status,
        created_at=meta.created_at,
        estimated_completion=(meta.estimated_completion or first_estimate(meta))
        if status == "processing"
        else UNSET,
        watchlist_version=meta.watchlist_version,
    )
