"""A job's chunk tasks fanned out on a Dask cluster, through Prefect's Dask task runner.

With KYC_DASK_ADDRESS naming a scheduler (a long-lived cluster: one started per flow run
costs tens of seconds), screen_job submits every chunk task at once and records each
chunk as its result arrives; without it the chunks run one after another in the flow's
process, as in the embedded default. A Dask worker process keeps its snapshot indexes
across chunks and jobs (flows/engine.py), so only its first chunk of a version pays for
the index.

A chunk's result file is the unit of resume, and a chunk counts once: results are kept by
chunk number, and a chunk task whose worker died is run again (Dask reschedules it on
another worker; if that run fails too, it is submitted afresh, up to CHUNK_RESUBMITS times).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kyc import settings

logger = logging.getLogger("kyc.fanout")

# Fresh submissions of a chunk whose task failed on the cluster (its own retries and Dask's
# rescheduling after a lost worker come first).
CHUNK_RESUBMITS = 2

# Seconds between checks for a cancel while the chunks run.
STOP_CHECK_S = 1.0


def enabled() -> bool:
    """Whether chunks fan out on a Dask cluster (KYC_DASK_ADDRESS is set)."""
    return bool(settings.DASK_ADDRESS)


def task_runner() -> Any:
    """The flow's task runner: prefect-dask's, connected to KYC_DASK_ADDRESS; None (Prefect's
    default) without one."""
    if not enabled():
        return None
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=settings.DASK_ADDRESS)


async def run_chunks(
    task: Any,
    chunks: list[int],
    parameters: Callable[[int], dict[str, Any]],
    record: Callable[[int, Any], Awaitable[None]],
    stop: Callable[[], str | None],
) -> str | None:
    """Submit ``task`` for every chunk to the flow's task runner and ``record`` each result
    as it arrives (in the flow's event loop). None when every chunk is recorded; the reason
    ``stop`` gave when it gave one first (a cancel, a stop of the service: the chunks still
    queued are cancelled, those running finish on their workers and are written)."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[tuple[Any, int]] = asyncio.Queue()
    attempts = dict.fromkeys(chunks, 0)
    pending: dict[Any, int] = {}

    def submit(chunk: int) -> None:
        future = task.submit(**parameters(chunk))
        pending[future] = chunk
        future.add_done_callback(
            lambda done: loop.call_soon_threadsafe(arrived.put_nowait, (done, chunk))
        )

    for chunk in chunks:
        submit(chunk)
    try:
        while pending:
            if (reason := await asyncio.to_thread(stop)) is not None:
                return reason  # checked after every chunk, and every STOP_CHECK_S meanwhile
            try:
                future, chunk = await asyncio.wait_for(arrived.get(), STOP_CHECK_S)
            except TimeoutError:
                continue
            pending.pop(future, None)
            try:
                result = await asyncio.to_thread(future.result)
            except Exception as error:
                if attempts[chunk] >= CHUNK_RESUBMITS:
                    raise
                attempts[chunk] += 1
                logger.warning("chunk %d failed on the cluster (%r): submitted again", chunk, error)
                submit(chunk)
                continue
            await record(chunk, result)
        return None
    finally:
        _cancel(pending)


def _cancel(pending: dict[Any, int]) -> None:
    """Cancel the chunk tasks still queued on the cluster (a stop, or a failed chunk)."""
    for future in pending:
        wrapped = getattr(future, "wrapped_future", None)
        if wrapped is not None:
            with contextlib.suppress(Exception):
                wrapped.cancel()
