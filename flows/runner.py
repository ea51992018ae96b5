"""The embedded runner: executes the deployments' flow runs inside this process.

It registers the deployments (screen-job; refresh-watchlists, rescreen-book and
rescreen-book-catch-up with their crons), then polls Prefect for their scheduled runs, claims each (Scheduled -> Pending, so
two runners never take the same run) and executes it with Prefect's flow engine on its own
event loop in its own thread. Before polling starts, recovery resumes or fails the jobs a
dead process left behind (flows/recovery.py).

Why in-process and not prefect.runner.Runner: a Runner starts a fresh Python process per
flow run, which re-imports the stack and rebuilds the list index for every job (10-30 s on
a loaded 2-core machine, for a job that may take 0.1 s to screen). In-process, every job
and the API's single checks share one cached index per snapshot (flows/engine.py). The
scale-out path (prefect.yaml, workers on a work pool) runs the same flows in processes.

Started once per process: the API's lifespan (embedded mode) and `kyc serve` may both ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flows.shutdown import request_stop
from flows.shutdown import reset as reset_stop
from kyc import settings

logger = logging.getLogger("kyc.runner")

_started: EmbeddedRunner | None = None
_start_lock = threading.Lock()


@dataclass
class EmbeddedRunner:
    """Handle of the running runner thread."""

    thread: threading.Thread | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    loop: asyncio.AbstractEventLoop | None = None
    stopping: asyncio.Event | None = None
    error: BaseException | None = None
    recovered: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling; let the runs in flight end at their next chunk (recovery resumes
        their jobs), cancel what is still running after the grace period; join the thread."""
        global _started
        request_stop()
        if self.loop is not None and self.stopping is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(self.stopping.set)
        if self.thread is not None:
            self.thread.join(timeout)
        reset_stop()  # stopped: nothing of this runner's is left to interrupt
        with _start_lock:
            if _started is self:
                _started = None


def start_embedded_runner(recover: bool = True, timeout: float = 180.0) -> EmbeddedRunner:
    """Start the runner thread (once per process) and wait until it polls."""
    global _started
    with _start_lock:
        if _started is not None and _started.thread and _started.thread.is_alive():
            return _started
        reset_stop()
        handle = EmbeddedRunner()
        handle.thread = threading.Thread(
            target=_thread_main, args=(handle, recover), name="kyc-runner", daemon=True
        )
        handle.thread.start()
        _started = handle
    if not handle.ready.wait(timeout):
        raise RuntimeError(f"the embedded runner did not start within {timeout:.0f} s")
    if handle.error is not None:
        raise RuntimeError(f"the embedded runner failed to start: {handle.error!r}")
    return handle


def _thread_main(handle: EmbeddedRunner, recover: bool) -> None:
    try:
        asyncio.run(_serve(handle, recover))
    except BaseException as error:
        handle.error = error
        logger.exception("the embedded runner stopped with an error")
    finally:
        handle.ready.set()


async def _serve(handle: EmbeddedRunner, recover: bool) -> None:
    from flows.deployments import close_client, prefect_client
    from flows.recovery import recover_jobs

    client = await prefect_client()
    flows_by_deployment = await _register_deployments()
    if recover:
        handle.recovered = await recover_jobs()
    handle.loop, handle.stopping = asyncio.get_running_loop(), asyncio.Event()
    handle.ready.set()
    in_flight: dict[Any, asyncio.Task] = {}
    try:
        while not handle.stopping.is_set():
            await _claim_and_start(client, flows_by_deployment, in_flight)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handle.stopping.wait(), settings.RUNNER_POLL_S)
    finally:
        await _let_runs_end(in_flight)
        await close_client()


async def _let_runs_end(in_flight: dict[Any, asyncio.Task]) -> None:
    """A stop: runs end between chunks (flows/shutdown.py) within the grace period; the
    ones still running then are cancelled (their jobs resume too, from their chunks)."""
    running = [task for task in in_flight.values() if not task.done()]
    if running:
        logger.info("stopping: %d flow run(s) end at their next chunk", len(running))
        _, late = await asyncio.wait(running, timeout=settings.STOP_GRACE_S)
        for task in late:
            logger.info(
                "%s did not end within %.0f s: cancelled", task.get_name(), settings.STOP_GRACE_S
            )
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def register_deployments() -> None:
    """Create or update the deployments now (so the API can start runs before a worker polls)."""
    from flows.deployments import close_client

    async def register() -> None:
        try:
            await _register_deployments()
        finally:
            await close_client()

    asyncio.run(register())


async def _register_deployments() -> dict[Any, Any]:
    """Create or update the deployments; deployment id -> flow."""
    from flows.deployments import REFRESH_WATCHLISTS_DEPLOYMENT, SCREEN_JOB_DEPLOYMENT
    from flows.refresh_watchlists import refresh_watchlists
    from flows.rescreen_book import (
        RESCREEN_BOOK_DEPLOYMENT,
        RESCREEN_CATCH_UP_DEPLOYMENT,
        rescreen_book,
    )
    from flows.screen_job import screen_job

    served = {}
    for flow, name, cron, parameters in (
        (screen_job, SCREEN_JOB_DEPLOYMENT, None, None),
        (refresh_watchlists, REFRESH_WATCHLISTS_DEPLOYMENT, settings.REFRESH_CRON or None, None),
        (rescreen_book, RESCREEN_BOOK_DEPLOYMENT, settings.RESCREEN_CRON or None, None),
        (
            rescreen_book,
            RESCREEN_CATCH_UP_DEPLOYMENT,
            settings.RESCREEN_FULL_CRON or None,
            {"catch_up": True},
        ),
    ):
        deployment = await flow.ato_deployment(name=name, cron=cron, parameters=parameters)
        served[await deployment.aapply()] = flow
    return served


async def _claim_and_start(
    client: Any, flows_by_deployment: dict[Any, Any], in_flight: dict[Any, asyncio.Task]
) -> None:
    """Start the due scheduled runs of our deployments, up to RUNNER_LIMIT at once."""
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Pending

    for run_id in [run_id for run_id, task in in_flight.items() if task.done()]:
        in_flight.pop(run_id)
    free = settings.RUNNER_LIMIT - len(in_flight)
    if free <= 0:
        return
    try:
        runs = await client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(flows_by_deployment),
            scheduled_before=datetime.now(UTC),
            limit=free,
        )
    except Exception:  # Prefect briefly unreachable: try again at the next poll
        logger.warning("could not poll Prefect for scheduled runs", exc_info=True)
        return
    for run in runs:
        if run.id in in_flight or (run.state and run.state.type != StateType.SCHEDULED):
            continue
        claimed = await client.set_flow_run_state(run.id, Pending())
        if claimed.status != SetStateStatus.ACCEPT:
            continue  # another runner took it
        flow = flows_by_deployment[run.deployment_id]
        in_flight[run.id] = asyncio.create_task(_execute(flow, run), name=f"flow-run-{run.id}")


async def _execute(flow: Any, flow_run: Any) -> None:
    """Run one claimed flow run to its end with Prefect's engine (in this process)."""
    from prefect.flow_engine import run_flow

    try:
        if flow.isasync:
            await run_flow(flow, flow_run=flow_run, return_type="state")
        else:
            await asyncio.to_thread(run_flow, flow, flow_run=flow_run, return_type="state")
    except asyncio.CancelledError:
        logger.info("flow run %s stopped by the runner shutting down", flow_run.id)
        raise
    except Exception:
        logger.exception("flow run %s ended with an engine error", flow_run.id)
