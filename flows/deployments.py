"""How the API (and recovery) start, cancel and inspect job runs: by deployment name only.

The same calls work against the embedded runner and against workers on a work pool, since
both serve the same deployments. At most KYC_SUBMIT_CONCURRENCY runs are created at once per
process: one on SQLite, which slows from ~45 to 2-3 creations/s under concurrent writes
(stack-notes.md); several on PostgreSQL, which takes concurrent writers in its stride.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import TYPE_CHECKING, Any

from data.jobs import JobMeta, JobStore, utc_now
from kyc import settings

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

# Deployment names, as `prefect deploy` (prefect.yaml) and the embedded runner create them.
SCREEN_JOB_DEPLOYMENT = "screen-job"
REFRESH_WATCHLISTS_DEPLOYMENT = "refresh-watchlists"
SCREEN_JOB = f"screen_job/{SCREEN_JOB_DEPLOYMENT}"
REFRESH_WATCHLISTS = f"refresh_watchlists/{REFRESH_WATCHLISTS_DEPLOYMENT}"

# State types (Prefect's StateType names) of a run that has not finished.
UNFINISHED_STATES = {"SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"}

# One creation semaphore and one open API client per event loop (the API, the runner and
# recovery may each run their own loop).
_creation_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PrefectClient] = (
    weakref.WeakKeyDictionary()
)
# One refresh started at a time per event loop: "is one running? if not, start one" must not
# interleave with another request's.
_refresh_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _creation_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _creation_slots.get(loop)
    if slots is None:
        slots = _creation_slots[loop] = asyncio.Semaphore(max(settings.SUBMIT_CONCURRENCY, 1))
    return slots


def _refresh_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _refresh_locks.get(loop)
    if lock is None:
        lock = _refresh_locks[loop] = asyncio.Lock()
    return lock


async def prefect_client() -> PrefectClient:
    """A Prefect API client kept open for this event loop (saves a connection per call)."""
    from prefect import get_client

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = get_client()
        await client.__aenter__()
        _clients[loop] = client
    return client


async def close_client() -> None:
    """Close this loop's client (at shutdown of the API or of recovery)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.__aexit__(None, None, None)


def _job_store() -> JobStore:
    return JobStore(settings.JOB_STORE_URI)


async def submit_screen_job(job_id: str, tenant: str, idempotency_key: str | None = None) -> str:
    """Create a flow run of screen-job for a stored job, record it in the job store, return its id.

    Used by recovery and by the rescreen flow; the API creates runs through
    flows/submitter.py, which records them itself so that a cancel arriving meanwhile
    cannot be overwritten.
    """
    flow_run_id = await create_screen_run(job_id, tenant, idempotency_key)
    await asyncio.to_thread(record_run, _job_store(), job_id, flow_run_id)
    return flow_run_id


async def create_screen_run(job_id: str, tenant: str, idempotency_key: str | None = None) -> str:
    """Create a flow run of screen-job for a stored job (KYC_SUBMIT_CONCURRENCY at a time).

    The default Prefect idempotency key is the job id, so creating the run of the same job
    twice (a retry after a crash between run creation and its record, or the API and
    recovery both finding a job without a run) returns the first run.

    This is `run_deployment(SCREEN_JOB, timeout=0, ...)` minus its per-call deployment
    lookup: the deployment id is resolved once per process, halving the Prefect requests
    of an accepted job (the lookup is redone if the deployment was re-created).
    """
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Scheduled

    client = await prefect_client()
    async with _creation_slot():
        for attempt in (1, 2):
            deployment_id = await _deployment_id(client, SCREEN_JOB, refresh=attempt > 1)
            try:
                flow_run = await client.create_flow_run_from_deployment(
                    deployment_id,
                    parameters={"job_id": job_id, "tenant": tenant},
                    state=Scheduled(),
                    name=job_id,
                    tags=[tenant],
                    idempotency_key=idempotency_key or job_id,
                )
                break
            except ObjectNotFound:
                if attempt == 2:
                    raise
    _remember_created(str(flow_run.id))
    return str(flow_run.id)


def _remember_created(flow_run_id: str) -> None:
    now = time.monotonic()
    for old_id in [i for i, t in _created.items() if now - t > CREATED_FRESH_S]:
        _created.pop(old_id, None)
    _created[flow_run_id] = now


_deployment_ids: dict[str, Any] = {}


async def _deployment_id(client: PrefectClient, name: str, refresh: bool = False) -> Any:
    if refresh or name not in _deployment_ids:
        _deployment_ids[name] = (await client.read_deployment_by_name(name)).id
    return _deployment_ids[name]


def record_run(store: JobStore, job_id: str, flow_run_id: str) -> JobMeta | None:
    """Record a job's new flow run (and count the attempt); the job's meta as now stored."""
    meta = store.get_job(job_id)
    if meta is not None and meta.flow_run_id != flow_run_id:
        meta = store.update_job(job_id, flow_run_id=flow_run_id, attempts=meta.attempts + 1)
    return meta


async def cancel_flow_run(flow_run_id: str) -> None:
    """Cancel a job's run: the job is recorded cancelled, the runner stops the process.

    A run not yet started goes straight to Cancelled; a running one to Cancelling, which
    the runner or worker acts on. A finished run is left as it is.
    """
    from prefect.states import Cancelled, Cancelling

    client = await prefect_client()
    flow_run = await client.read_flow_run(flow_run_id)
    state_type = flow_run.state.type.name if flow_run.state else "SCHEDULED"
    if state_type not in UNFINISHED_STATES:
        return
    job_id = flow_run.parameters.get("job_id")
    if job_id:
        await asyncio.to_thread(_record_cancel, job_id, flow_run_id)
    started = state_type in {"RUNNING", "CANCELLING"}
    state = Cancelling() if started else Cancelled(message="cancelled before it started")
    await client.set_flow_run_state(flow_run_id, state, force=True)


def _record_cancel(job_id: str, flow_run_id: str) -> None:
    store = _job_store()
    meta = store.get_job(job_id)
    if meta is not None and meta.status == "processing":
        store.update_job(job_id, status="cancelled", completed_at=utc_now())


# Runs this process just created, with when: they are Scheduled (or just claimed, which
# maps to the same job status), so the API's answer to the POST itself needs no read.
_created: dict[str, float] = {}
CREATED_FRESH_S = 2.0

# Reads in flight per run id: concurrent pollers of one job share one Prefect request.
_reads: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task] = {}

# Seconds a run's state is reused for other pollers of the same job, and the answers kept.
# An answer older than STATE_TTL_S (but younger than STATE_STALE_S) is still returned at once
# while one read refreshes it in the background: with the read on the request's path, every
# TTL one poller waited a Prefect round trip (tens of ms on a busy server), which was the
# p99 of 50 pollers. The job store's terminal status, read on every request, wins anyway.
STATE_TTL_S = 1.0
STATE_STALE_S = 3.0
_states: dict[str, tuple[float, tuple[str, str | None]]] = {}


async def flow_run_state(flow_run_id: str) -> tuple[str, str | None]:
    """The run's state type name (RUNNING, COMPLETED, CRASHED ...) and message.

    Answers are reused for STATE_TTL_S, refreshed in the background until STATE_STALE_S,
    and concurrent callers share one read in flight.
    """
    now = time.monotonic()
    created = _created.get(flow_run_id)
    if created is not None and now - created < CREATED_FRESH_S:
        return "SCHEDULED", None
    cached = _states.get(flow_run_id)
    if cached and now - cached[0] < STATE_STALE_S:
        if now - cached[0] >= STATE_TTL_S:
            _state_read(flow_run_id)  # refresh for the next caller; this one gets the last answer
        return cached[1]
    return await asyncio.shield(_state_read(flow_run_id))


def _state_read(flow_run_id: str) -> asyncio.Task:
    """The read of a run's state in flight on this loop, started if there is none."""
    key = (asyncio.get_running_loop(), flow_run_id)
    read = _reads.get(key)
    if read is None:
        read = asyncio.ensure_future(_read_state(flow_run_id))
        _reads[key] = read
        read.add_done_callback(lambda done: _read_finished(key, done))
    return read


def _read_finished(key: tuple[asyncio.AbstractEventLoop, str], read: asyncio.Task) -> None:
    _reads.pop(key, None)
    if not read.cancelled():
        read.exception()  # a failed background refresh is not an error: callers keep the cache


async def _read_state(flow_run_id: str) -> tuple[str, str | None]:
    client = await prefect_client()
    flow_run = await client.read_flow_run(flow_run_id)
    state = flow_run.state
    answer = (state.type.name, state.message) if state else ("SCHEDULED", None)
    if len(_states) > 10_000:
        _states.clear()
    _states[flow_run_id] = (time.monotonic(), answer)
    return answer


async def read_flow_run(flow_run_id: str) -> Any | None:
    """The flow run, or None when Prefect does not know it (e.g. a new Prefect database)."""
    from prefect.exceptions import ObjectNotFound

    client = await prefect_client()
    try:
        return await client.read_flow_run(flow_run_id)
    except ObjectNotFound:
        return None


# --- watchlist refreshes started through the API ---------------------------------------


async def start_refresh(lists: list[str] | None, force: bool) -> tuple[str, bool]:
    """A run of the refresh-watchlists deployment: (its id, whether it was already running).

    One refresh at a time: while a run of the deployment is scheduled, pending or running,
    asking again answers that run instead of queueing another (which would only fail on
    the snapshot store's refresh lock)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Scheduled

    client = await prefect_client()
    async with _refresh_lock():
        deployment_id = await _deployment_id(client, REFRESH_WATCHLISTS, refresh=True)
        unfinished = [StateType[name] for name in UNFINISHED_STATES - {"CANCELLING"}]
        running = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished))
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            limit=1,
        )
        if running:
            return str(running[0].id), True
        flow_run = await client.create_flow_run_from_deployment(
            deployment_id,
            parameters={"lists": lists, "force": force},
            state=Scheduled(),
            tags=["api"],
        )
    return str(flow_run.id), False


async def refresh_run_state(flow_run_id: str) -> tuple[str, str | None] | None:
    """(state type, message) of a run of the refresh deployment; None for any other run."""
    run = await read_flow_run(flow_run_id)
    if run is None:
        return None
    deployment_id = await _deployment_id(await prefect_client(), REFRESH_WATCHLISTS)
    if run.deployment_id != deployment_id:
        return None
    return (run.state.type.name, run.state.message) if run.state else ("SCHEDULED", None)
