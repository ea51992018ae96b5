"""The ``screen_job`` flow: one flow run per batch job, one task run per chunk.

The job's entities and results live in the job store; Prefect sees only the job id, the
tenant, task states and a progress artifact. Chunks that a previous run already wrote are
skipped, so re-running a job (after a crash or a restart) resumes where it stopped. The job
store is the one source of truth for a finished job: the flow records "completed" there as
its last step (before Prefect hears of it), its failure hook records "failed" with the
reason. A stop of the service ends a run between chunks (flows/shutdown.py), job unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_run
from prefect.states import Cancelled, State

import matching
from data.book import (
    RESCREEN_ORIGIN,
    BookStore,
    changed_since,
    keep_new_matches,
    resolved_matches,
)
from data.decisions import DecisionStore, suppress
from data.entities import SUBJECT_FIELDS
from data.jobs import ChunkStats, JobMeta, JobStore, utc_now
from flows import fanout
from flows.deployments import record_run
from flows.engine import SnapshotGone, get_index, snapshot_store
from flows.shutdown import INTERRUPTED, stop_requested
from flows.webhooks import record_job_events
from kyc import settings
from reports import job_report_data, render_markdown

logger = logging.getLogger("kyc.screen_job")

# Columns of the entity frame that matching.screen reads: the subject and per-row options.
QUERY_COLUMNS = ("row", *SUBJECT_FIELDS, "lists", "search_type", "threshold")


def _store(store_uri: str | None) -> JobStore:
    return JobStore(store_uri or settings.JOB_STORE_URI)


def _snapshot_root(snapshot_root: str | None) -> str:
    return snapshot_root or settings.SNAPSHOT_URI or str(settings.SNAPSHOT_DIR)


# --- how the run ends, in the job store -------------------------------------------------


def _record(store: JobStore, job_id: str, tenant: str | None, run_id: str, **changes: Any) -> None:
    meta = store.get_job(job_id)
    if meta is None or meta.tenant != tenant:
        return  # not this tenant's job: the run must not touch it
    if meta.flow_run_id not in (None, run_id):
        return  # a newer run owns the job now; this one's ending is not the job's
    if meta.status != "processing":
        return  # cancelled through the API meanwhile: that is the job's end
    store.update_job(job_id, completed_at=utc_now(), **changes)


def _on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    parameters = flow_run.parameters
    store = _store(parameters.get("store_uri"))
    reason = state.message or "the screening run failed"
    _record(
        store,
        parameters["job_id"],
        parameters.get("tenant"),
        str(flow_run.id),
        status="failed",
        error=reason,
    )
    # The job.failed webhook, queued once the failure is recorded (only if it was this
    # run's to record). Best effort: the failure itself is in the job store either way.
    try:
        meta = store.get_job(parameters["job_id"])
        if meta is not None and meta.status == "failed" and meta.error == reason:
            record_job_events(store, parameters["job_id"], "failed")
    except Exception:
        logger.warning("could not queue the job.failed webhook", exc_info=True)


# Crashed and Cancelled runs leave the job "processing" on purpose. A crash is the process
# dying (a kill, out of memory); a stop of the service ends a run between chunks with a
# Cancelled state (flows/shutdown.py). Either way the job resumes from its written chunks,
# and start-up recovery does exactly that. A cancel asked for through the API was recorded
# by flows.deployments.cancel_flow_run before the run stopped.


# --- tasks -----------------------------------------------------------------------------


@task(name="load-watchlist-index", persist_result=False, cache_policy=NO_CACHE)
async def load_engine(snapshot_root: str, version: str | None) -> str:
    """Build (or find cached) the pinned snapshot's index; return its version."""
    engine = await asyncio.to_thread(get_index, snapshot_root, version)
    return engine.version


async def _pinned_version(snapshot_root: str, version: str | None) -> str:
    """The job's snapshot version. Chunks running here need the index in this process, so
    it is built now (a task of its own in the UI); chunks on a Dask cluster build it on
    each worker, once, and this process only checks the version is there."""
    if not fanout.enabled():
        return await load_engine(snapshot_root, version)
    store = snapshot_store(snapshot_root)
    resolved = version or await asyncio.to_thread(store.current_version)
    if resolved is None or resolved not in await asyncio.to_thread(store.versions):
        raise SnapshotGone(f"watchlist snapshot {resolved} is not available")
    return resolved


@task(
    name="screen-chunk",
    task_run_name="chunk-{chunk}",
    retries=2,
    retry_delay_seconds=2,
    persist_result=False,
    cache_policy=NO_CACHE,
)
async def screen_chunk(
    store_uri: str | None, snapshot_root: str, job_id: str, chunk: int, chunk_size: int
) -> ChunkStats:
    """Screen rows [chunk * chunk_size, (chunk + 1) * chunk_size) and write their results.

    Only small values travel as parameters: the index comes from this process's cache.
    """
    return await asyncio.to_thread(
        _screen_chunk, store_uri, snapshot_root, job_id, chunk, chunk_size
    )


def _screen_chunk(
    store_uri: str | None, snapshot_root: str, job_id: str, chunk: int, chunk_size: int
) -> ChunkStats:
    store = _store(store_uri)
    meta = _stored_meta(store, job_id)
    engine = get_index(snapshot_root, meta.watchlist_version)
    start = chunk * chunk_size
    entities = store.read_entities(job_id, start, start + chunk_size)
    queries = entities.select([c for c in QUERY_COLUMNS if c in entities.columns])
    # The options pinned when the job was accepted; the defaults only for jobs stored
    # before options were pinned.
    results = matching.screen(
        queries,
        engine.index,
        threshold=settings.DEFAULT_THRESHOLD if meta.threshold is None else meta.threshold,
        max_matches=settings.MAX_MATCHES if meta.max_matches is None else meta.max_matches,
        lists=meta.lists,
        search_type=meta.search_type or settings.DEFAULT_SEARCH_TYPE,
    )
    if "since_version" in entities.columns:  # a delta rescreen: only the new matches
        results = _new_matches_only(results, entities, snapshot_root, engine)
    if "open_matches" in entities.columns:  # a rescreen: earlier matches on entries gone
        listed = engine.index.entries["entity_id"]
        results = results.with_columns(resolved_matches(entities["open_matches"], listed))
    results = results.with_columns(entities["entity_id"]).select(
        "row", "entity_id", pl.exclude("row", "entity_id")
    )
    results = _suppressed(results, entities, meta, store.uri, snapshot_root)
    return store.write_chunk(job_id, chunk, results)


def _new_matches_only(
    results: pl.DataFrame, entities: pl.DataFrame, snapshot_root: str, engine: Any
) -> pl.DataFrame:
    since = entities["since_version"]
    snapshots = snapshot_store(snapshot_root)
    changes, unreachable = changed_since(snapshots, engine.version, since.unique().to_list())
    known = entities["known_matches"] if "known_matches" in entities.columns else None
    return keep_new_matches(results, since, changes, unreachable, known)


@functools.lru_cache(maxsize=8)
def _decisions(store_uri: str) -> DecisionStore:
    """One decision store per root and process: it remembers the log files it has read, so
    each chunk reads only the decisions made since the last one."""
    return DecisionStore(store_uri)


def _suppressed(
    results: pl.DataFrame, entities: pl.DataFrame, meta: JobMeta, store_uri: str, snapshot_root: str
) -> pl.DataFrame:
    """The matches analysts cleared (false positives whose entry and subject are as they
    were) moved from ``matches`` to ``suppressed``, with their decision ids. The decisions
    live beside the job store (data/decisions.py)."""
    suppressing = _decisions(store_uri).suppressing(meta.tenant)
    matched = (
        results.select(pl.col("matches").list.eval(pl.element().struct.field("entity_id")))
        .to_series()
        .explode()
        .drop_nulls()
        .unique()
    )
    decided = matched.filter(matched.is_in(suppressing["match_entity_id"].implode()))
    hashes = snapshot_store(snapshot_root).entry_hashes(meta.watchlist_version, decided.to_list())
    return suppress(results, entities, suppressing, hashes)


@task(
    name="update-monitored-book",
    retries=2,
    retry_delay_seconds=2,
    persist_result=False,
    cache_policy=NO_CACHE,
)
async def update_book(store_uri: str | None, job_id: str) -> None:
    """A monitored job's entities join the book; a rescreen's are marked screened again."""
    await asyncio.to_thread(_update_book, store_uri, job_id)


def _update_book(store_uri: str | None, job_id: str) -> None:
    store = _store(store_uri)
    meta = _stored_meta(store, job_id)
    outcome = [
        chunk.select("row", "matches", *(["resolved"] if "resolved" in chunk.columns else []))
        for chunk in store.iter_results(job_id)
    ]
    results = pl.concat(outcome, how="diagonal_relaxed") if outcome else None
    engine = store.progress(job_id).engine_version
    BookStore(store.uri).record_screened_job(meta, store.read_entities(job_id), results, engine)


@task(
    name="record-webhook-events",
    retries=2,
    retry_delay_seconds=2,
    persist_result=False,
    cache_policy=NO_CACHE,
)
async def record_events(store_uri: str | None, job_id: str, status: str) -> int:
    """Queue the job's webhook events (data/webhooks.py): files, delivered by the API's
    dispatcher; the job never waits for a receiver."""
    return await asyncio.to_thread(record_job_events, _store(store_uri), job_id, status)


def _stored_meta(store: JobStore, job_id: str) -> JobMeta:
    meta = store.get_job(job_id)
    if meta is None:  # deleted under a running flow: the run fails with this reason
        raise ValueError(f"job {job_id} is not in the job store")
    return meta


@task(name="publish-report-summary", persist_result=False, cache_policy=NO_CACHE)
async def publish_summary(store_uri: str | None, snapshot_root: str, job_id: str) -> None:
    """The report's summary as a markdown artifact of the run (`report-<job_id>` in the UI).

    Evidence for people watching Prefect, not the job's outcome: a summary that cannot be
    made is logged, and the job still completes (its full report is rendered on demand)."""
    try:
        markdown = await asyncio.to_thread(_summary_markdown, store_uri, snapshot_root, job_id)
    except Exception as error:
        get_run_logger().warning("job %s: no report summary artifact: %r", job_id, error)
        return
    await acreate_markdown_artifact(
        markdown=markdown,
        key=f"report-{job_id}".lower(),
        description=f"Screening report summary of job {job_id}",
    )


def _summary_markdown(store_uri: str | None, snapshot_root: str, job_id: str) -> str:
    store = _store(store_uri)
    meta = _stored_meta(store, job_id)  # completed: the run recorded it just before
    data = job_report_data(store, snapshot_store(snapshot_root), meta, settings.DEFAULT_THRESHOLD)
    return render_markdown(data)


# --- the flow --------------------------------------------------------------------------


@flow(
    name="screen_job",
    flow_run_name="{job_id}",
    persist_result=False,
    on_failure=[_on_failure],
    task_runner=fanout.task_runner(),  # Dask with KYC_DASK_ADDRESS, else Prefect's default
)
async def screen_job(
    job_id: str,
    tenant: str,
    store_uri: str | None = None,
    snapshot_root: str | None = None,
) -> dict[str, int] | State:
    """Screen every entity of a stored job against its pinned snapshot, chunk by chunk.

    ``store_uri`` and ``snapshot_root`` default to the configured ones (tests pass theirs).
    """
    logger = get_run_logger()
    store = _store(store_uri)
    meta = _checked_meta(store, job_id, tenant)
    if meta.flow_run_id is None and current_run.parent_flow_run_id:
        # A child run of another flow (a rescreen's): no one recorded a run for the job, so
        # this one does, and recovery resumes the job if the process dies under it.
        meta = record_run(store, job_id, str(current_run.id)) or meta
    chunk_size = store.chunk_size(job_id) or settings.CHUNK_SIZE  # a resumed run keeps its split
    total_chunks = math.ceil(meta.total_entities / chunk_size)
    done = _finished_chunks(store, job_id)
    todo = [chunk for chunk in range(total_chunks) if chunk not in done]
    logger.info(
        "job %s: %d entities, %d chunks of %d, %d already done",
        job_id,
        meta.total_entities,
        total_chunks,
        chunk_size,
        len(done),
    )
    started_at = store.progress(job_id).started_at or utc_now()  # a resumed run keeps it
    progress = store.write_progress(
        job_id,
        done,
        rate=None,
        chunk_size=chunk_size,
        engine_version=matching.ENGINE_VERSION,
        started_at=started_at,
    )
    artifact = await acreate_progress_artifact(
        progress=_percent(progress.processed, meta.total_entities),
        key=f"job-{job_id}".lower(),
        description=f"Screening job {job_id} ({meta.total_entities} entities)",
    )
    root = _snapshot_root(snapshot_root)
    version = await _pinned_version(root, meta.watchlist_version)
    if meta.watchlist_version is None:
        store.update_job(job_id, watchlist_version=version)
    started, processed_here = time.monotonic(), 0

    async def record(chunk: int, stats: ChunkStats) -> None:
        nonlocal progress, processed_here
        done[chunk] = stats
        processed_here += stats.rows
        rate = processed_here / max(time.monotonic() - started, 1e-6)
        progress = store.write_progress(
            job_id,
            done,
            rate,
            chunk_size=chunk_size,
            engine_version=matching.ENGINE_VERSION,
            started_at=started_at,
        )
        await aupdate_progress_artifact(
            artifact, _percent(progress.processed, meta.total_entities), _describe(progress)
        )

    def parameters(chunk: int) -> dict[str, Any]:
        return dict(
            store_uri=store.uri,
            snapshot_root=root,
            job_id=job_id,
            chunk=chunk,
            chunk_size=chunk_size,
        )

    def stop_reason() -> str | None:
        """Why the run must end before its next chunk (a cancel, a stop), or None."""
        if _cancelled(store, job_id):
            return "cancelled through the API"
        return INTERRUPTED if stop_requested() else None

    async def one_by_one() -> str | None:
        for chunk in todo:
            if (reason := stop_reason()) is not None:
                return reason
            await record(chunk, await screen_chunk(**parameters(chunk)))
        return None

    if fanout.enabled():
        stopped = await fanout.run_chunks(screen_chunk, todo, parameters, record, stop_reason)
    else:
        stopped = await one_by_one()
    if stopped is not None:
        logger.info("job %s: %s (%d of %d chunks done)", job_id, stopped, len(done), total_chunks)
        return Cancelled(message=stopped)
    if meta.monitor or meta.origin == RESCREEN_ORIGIN:  # a re-run leaves the book alone
        await update_book(store_uri, job_id)
    # The webhook events first: a crash between the two resumes the job, which completes
    # and records the same events again (they are keyed by the job: delivered once).
    await record_events(store_uri, job_id, "completed")
    await asyncio.to_thread(
        _record, store, job_id, tenant, str(current_run.id), status="completed", error=None
    )
    await publish_summary(store_uri, root, job_id)
    return {
        "processed": progress.processed,
        "failed": progress.failed,
        "matches_found": progress.matches_found,
    }


def _cancelled(store: JobStore, job_id: str) -> bool:
    """Cancel asked through the API (flows.deployments.cancel_flow_run records it first).

    Checked between chunks, so a run stops within one chunk wherever it executes."""
    meta = store.get_job(job_id)
    return meta is not None and meta.status == "cancelled"


def _checked_meta(store: JobStore, job_id: str, tenant: str) -> JobMeta:
    meta = store.get_job(job_id)
    if meta is None:
        raise ValueError(f"job {job_id} is not in the job store")
    if meta.tenant != tenant:
        raise ValueError(f"job {job_id} does not belong to tenant {tenant}")
    return meta


def _finished_chunks(store: JobStore, job_id: str) -> dict[int, ChunkStats]:
    """Chunks already written, with their counts (from progress.json, else the chunk)."""
    recorded = store.recorded_chunks(job_id)
    return {
        chunk: recorded.get(chunk) or store.chunk_stats(job_id, chunk)
        for chunk in store.written_chunks(job_id)
    }


def _percent(processed: int, total: int) -> float:
    return 100.0 if total == 0 else round(100.0 * processed / total, 2)


def _describe(progress: Any) -> str:
    return (
        f"{progress.processed} processed, {progress.failed} failed, "
        f"{progress.matches_found} matches, {progress.rate or 0:.0f} entities/s"
    )
