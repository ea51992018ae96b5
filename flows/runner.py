"""The embedded runner: serves the deployments from inside this process, in its own thread.

A Prefect Runner registers the deployments (screen-job; refresh-watchlists with its cron),
then polls for their scheduled runs and executes each in a child process. It gets its own
thread and event loop so the API's loop never waits on it. Before polling starts, recovery
resumes or fails the jobs a dead process left behind (flows/recovery.py).

Started once per process: the API's lifespan (embedded mode) and `kyc serve` may both ask.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from kyc import settings

logger = logging.getLogger("kyc.runner")

_started: EmbeddedRunner | None = None
_start_lock = threading.Lock()


@dataclass
class EmbeddedRunner:
    """Handle of the running runner thread."""

    thread: threading.Thread
    ready: threading.Event = field(default_factory=threading.Event)
    loop: asyncio.AbstractEventLoop | None = None
    runner: object | None = None
    error: BaseException | None = None
    recovered: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop polling, stop the runs in flight (recovery resumes them), join the thread."""
        global _started
        if self.loop is not None and self.runner is not None and self.thread.is_alive():
            stopping = asyncio.run_coroutine_threadsafe(self.runner.astop(), self.loop)
            try:
                stopping.result(timeout)
            except Exception:
                logger.exception("the runner did not stop cleanly")
        self.thread.join(timeout)
        with _start_lock:
            if _started is self:
                _started = None


def start_embedded_runner(recover: bool = True, timeout: float = 120.0) -> EmbeddedRunner:
    """Start the runner thread (once per process) and wait until it polls."""
    global _started
    with _start_lock:
        if _started is not None and _started.thread.is_alive():
            return _started
        handle = EmbeddedRunner(thread=threading.Thread(name="kyc-runner", daemon=True))
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
    from prefect.runner import Runner

    from flows.deployments import (
        REFRESH_WATCHLISTS_DEPLOYMENT,
        SCREEN_JOB_DEPLOYMENT,
        close_client,
    )
    from flows.recovery import recover_jobs
    from flows.refresh_watchlists import refresh_watchlists
    from flows.screen_job import screen_job

    runner = Runner(
        name="kyc-embedded",
        query_seconds=settings.RUNNER_POLL_S,
        limit=settings.RUNNER_LIMIT,
        pause_on_shutdown=False,
    )
    await runner.aadd_flow(screen_job, name=SCREEN_JOB_DEPLOYMENT)
    await runner.aadd_flow(
        refresh_watchlists,
        name=REFRESH_WATCHLISTS_DEPLOYMENT,
        cron=settings.REFRESH_CRON or None,
    )
    if recover:
        handle.recovered = await recover_jobs()
        await close_client()
    handle.loop, handle.runner = asyncio.get_running_loop(), runner
    handle.ready.set()
    await runner.start()
