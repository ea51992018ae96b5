"""The API's run submitter: creates accepted jobs' flow runs in the background, in order.

POST /kyc/jobs answers once the job is stored (job store, status "processing"); creating
its Prefect flow run (~130 ms on SQLite) happens here, so twenty concurrent submissions no
longer queue behind each other's run creation.

Tasks of the API process take jobs from a queue, oldest first, and create their runs:
one task by default (the single writer that Prefect on SQLite needs), several with Prefect
on PostgreSQL (KYC_SUBMIT_CONCURRENCY), which takes concurrent writers. Split up, a sweep
every KYC_SWEEP_S also resumes the jobs whose run crashed with its worker
(flows/recovery.py resume_crashed_jobs). Nothing accepted is lost:
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
from flows.recovery import resume_crashed_jobs, unsubmitted_jobs

logger = logging.getLogger("kyc.submitter")


@dataclass(frozen=True)
class SubmitPolicy:
    """How long and how often a failed run creation is retried (kyc/settings.py SUBMIT_*)."""

    backoff_s: float = 0.5
    backoff_max_s: float = 10.0
    give_up_s: float = 120.0
    concurrency: int = 1  # runs created at once (KYC_SUBMIT_CONCURRENCY)
    sweep_s: float = 0.0  # seconds between sweeps for crashed runs; 0: no sweep


class RunSubmitter:
    """Creates the flow runs of stored jobs on the API's event loop (``concurrency`` at once)."""

    def __init__(self, store: JobStore, snapshot_root: Path | str, policy: SubmitPolicy) -> None:
        self.store = store
        self.snapshot_root = snapshot_root
        self.policy = policy
        self._queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        """Queue the stored jobs that never got a run, then start creating runs."""
        for meta in await asyncio.to_thread(unsubmitted_jobs, self.store, self.snapshot_root):
            logger.info("job %s has no flow run yet: queued", meta.job_id)
            self.submit(meta.job_id)
        self._tasks = [
            asyncio.create_task(self._serve(), name=f"kyc-run-submitter-{number}")
            for number in range(max(self.policy.concurrency, 1))
        ]
        if self.policy.sweep_s > 0:
            self._tasks.append(asyncio.create_task(self._sweep(), name="kyc-crash-sweep"))

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
        if not self._tasks:
            return
        if not await self.drain(drain_s):
            logger.warning(
                "%d jobs still wait for a flow run: created at the next start", self._queue.qsize()
            )
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _serve(self) -> None:
        while True:
            job_id, give_up_at = await self._queue.get()
            try:
                await self._submit(job_id, give_up_at)
            except Exception:  # never let one job stop the submitter
                logger.exception("could not submit job %s", job_id)
            finally:
                self._queue.task_done()

    async def _sweep(self) -> None:
        """Every sweep_s: resume the jobs whose run crashed (a dead worker's, marked by
        Prefect's heartbeat automation), record runs that ended unrecorded."""
        while True:
            await asyncio.sleep(self.policy.sweep_s)
            try:
                await resume_crashed_jobs(self.store.uri, self.snapshot_root)
            except Exception:  # Prefect briefly unreachable: the next sweep tries again
                logger.warning("the sweep for crashed runs failed", exc_info=True)

    async def _submit(self, job_id: str, give_up_at: float) -> None:
        flow_run_id = await self._create_run(job_id, give_up_at)
        if flow_run_id is None:
            return
        # In a thread, like every store call here: on an object store each is a round trip
        # that would stall the API's event loop. A cancel recorded meanwhile is not
        # overwritten: the job store serialises a process's changes to one job.
        recorded = await asyncio.to_thread(record_run, self.store, job_id, flow_run_id)
        if recorded is not None and recorded.status == "cancelled":
            # Cancelled while its run was made. Should this fail, the run still stops before
            # its first chunk: screen_job checks the job's recorded status.
            await cancel_flow_run(flow_run_id)

    async def _create_run(self, job_id: str, give_up_at: float) -> str | None:
        """The new run's id; None when the job needs none (any more) or was failed."""
        delay, attempts = self.policy.backoff_s, 0
        while True:
            meta = await asyncio.to_thread(self.store.get_job, job_id)
            if meta is None or meta.status != "processing" or meta.flow_run_id is not None:
                return None  # cancelled before its run existed, or a run was made elsewhere
            attempts += 1
            try:
                return await create_screen_run(job_id, meta.tenant)
            except Exception as error:
                if time.monotonic() + delay > give_up_at:
                    await asyncio.to_thread(self._give_up, job_id, attempts, error)
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
