"""The API's run submitter: creates accepted jobs' flow runs in the background, in order.

POST /kyc/jobs answers once the job is stored (job store, status "processing"); creating
its Prefect flow run (~130 ms on SQLite, serialised per process) happens here, so twenty
concurrent submissions no longer queue behind each other's run creation.

One task per API process takes jobs from a queue, oldest first, and creates their runs one
at a time (the single writer that Prefect on SQLite needs). Nothing accepted is lost:
- a creation that fails (Prefect unreachable, a transient error) is retried with a doubling
  backoff; a job still without a run ``give_up_s`` after it was queued is failed with the
  reason in the job store, never left processing;
- a job cancelled before its run exists is skipped; one cancelled while its run was being
  created gets that run cancelled;
- at start-up the queue is filled with the stored processing jobs that have no run (an API
  process died before creating them), in every mode; whatever is still queued at shutdown
  is found again the same way at the next start (flows/recovery.py also creates them).
A run created twice for one job (two API processes, or the API and recovery) is one run:
its Prefect idempotency key is the job id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from data.jobs import JobStore, utc_now
from flows.deployments import cancel_flow_run, create_screen_run, record_run
from flows.recovery import unsubmitted_jobs

logger = logging.getLogger("kyc.submitter")


@dataclass(frozen=True)
class SubmitPolicy:
    """How long and how often a failed run creation is retried (kyc/settings.py SUBMIT_*)."""

    backoff_s: float = 0.5
    backoff_max_s: float = 10.0
    give_up_s: float = 120.0


class RunSubmitter:
    """Creates the flow runs of stored jobs, one at a time, on the API's event loop."""

    def __init__(self, store: JobStore, snapshot_root: Path, policy: SubmitPolicy) -> None:
        self.store = store
        self.snapshot_root = snapshot_root
        self.policy = policy
        self._queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Queue the stored jobs that never got a run, then start creating runs."""
        for meta in await asyncio.to_thread(unsubmitted_jobs, self.store, self.snapshot_root):
            logger.info("job %s has no flow run yet: queued", meta.job_id)
            self.submit(meta.job_id)
        self._task = asyncio.create_task(self._serve(), name="kyc-run-submitter")

    def submit(self, job_id: str) -> None:
        """Queue a stored job for its run; returns at once."""
        self._queue.put_nowait((job_id, time.monotonic() + self.policy.give_up_s))

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued job has its run (or was failed); False on timeout."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, drain_s: float = 5.0) -> None:
        """Create the queued runs for up to ``drain_s``, then stop (the rest wait for a start)."""
        if self._task is None:
            return
        if not await self.drain(drain_s):
            logger.warning(
                "%d jobs still wait for a flow run: created at the next start", self._queue.qsize()
            )
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _serve(self) -> None:
        while True:
            job_id, give_up_at = await self._queue.get()
            try:
                await self._submit(job_id, give_up_at)
            except Exception:  # never let one job stop the submitter
                logger.exception("could not submit job %s", job_id)
            finally:
                self._queue.task_done()

    async def _submit(self, job_id: str, give_up_at: float) -> None:
        flow_run_id = await self._create_run(job_id, give_up_at)
        if flow_run_id is None:
            return
        # Recorded without an await between its read and write: a cancel handled on this
        # loop cannot interleave and be overwritten (both write job.json).
        recorded = record_run(self.store, job_id, flow_run_id)
        if recorded is not None and recorded.status == "cancelled":
            # Cancelled while its run was made. Should this fail, the run still stops before
            # its first chunk: screen_job checks the job's recorded status.
            await cancel_flow_run(flow_run_id)

    async def _create_run(self, job_id: str, give_up_at: float) -> str | None:
        """The new run's id; None when the job needs none (any more) or was failed."""
        delay, attempts = self.policy.backoff_s, 0
        while True:
            meta = self.store.get_job(job_id)
            if meta is None or meta.status != "processing" or meta.flow_run_id is not None:
                return None  # cancelled before its run existed, or a run was made elsewhere
            attempts += 1
            try:
                return await create_screen_run(job_id, meta.tenant)
            except Exception as error:
                if time.monotonic() + delay > give_up_at:
                    self._give_up(job_id, attempts, error)
                    return None
                logger.warning(
                    "creating the run of job %s failed (%r); retry in %.1f s", job_id, error, delay
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.policy.backoff_max_s)

    def _give_up(self, job_id: str, attempts: int, error: Exception) -> None:
        reason = (
            f"could not create the job's flow run ({attempts} attempts over "
            f"{self.policy.give_up_s:.0f} s; Prefect unreachable?): {type(error).__name__}: "
            f"{str(error)[:300]}"
        )
        meta = self.store.get_job(job_id)
        if meta is not None and meta.status == "processing" and meta.flow_run_id is None:
            self.store.update_job(job_id, status="failed", error=reason, completed_at=utc_now())
            logger.error("job %s failed: %s", job_id, reason)
