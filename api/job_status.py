"""A job's documented fields from what the job store recorded and what Prefect says of its run.

The store's status wins once it is terminal (completed, failed, cancelled): the flow records
it when it ends, so polling a finished job never calls Prefect. While the store still says
"processing", the flow run's state type decides (design.md): a run that crashed or was
cancelled without recording it is reported as such. flows.deployments caches Prefect's
answers for a moment, so fifty clients polling one running job cost Prefect one read a second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from data.jobs import JobMeta, JobProgress
from flows.deployments import flow_run_state

STATE_TO_STATUS = {
    "SCHEDULED": "processing",
    "PENDING": "processing",
    "RUNNING": "processing",
    "PAUSED": "processing",
    "CANCELLING": "processing",
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CRASHED": "failed",
    "CANCELLED": "cancelled",
}
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


async def resolve_status(meta: JobMeta) -> tuple[str, str | None]:
    """(job_status, error) of a job."""
    if meta.status in TERMINAL or meta.flow_run_id is None:
        return meta.status, meta.error
    state = await run_state(meta.flow_run_id)
    if state is None:
        return meta.status, meta.error
    state_type, message = state
    status = STATE_TO_STATUS.get(state_type, "processing")
    error = (message or f"flow run {state_type.lower()}") if status == "failed" else None
    return status, error


def estimate_completion(meta: JobMeta, progress: JobProgress | None) -> str:
    """When a processing job should finish: the remaining rows at the measured rate."""
    now = datetime.now(UTC)
    done = progress.processed if progress else 0
    remaining = max(meta.total_entities - done, 0)
    if progress and progress.rate:
        return iso(now + timedelta(seconds=remaining / progress.rate))
    start = max(parse_iso(meta.created_at), now - timedelta(seconds=STARTUP_S))
    return iso(start + timedelta(seconds=STARTUP_S + remaining / NOMINAL_RATE))
