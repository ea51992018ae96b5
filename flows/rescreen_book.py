"""The ``rescreen_book`` flow: screen every tenant's monitored book again after a list change.

For each tenant with a book it makes one ordinary screening job of that tenant (job store,
screen-job deployment), so the rescreen shows in GET /kyc/jobs and in Prefect's UI and has
all of a job's chunking, resume and recovery. The job is marked ``origin: "rescreen"`` and
holds only the book entries not yet screened against the current snapshot; in delta mode
(KYC_RESCREEN_DELTA) each entry carries the version it was last screened against, and the
job keeps only the matches on list entries added or changed since then (data/book.py).

Idempotent: a tenant is skipped while its rescreen for the current version is processing,
and when its book has nothing left to screen against that version (entries that joined the
book after a completed rescreen, from a job at an older snapshot, get a job of their own).
In delta mode it is also skipped when no list entry was added or changed since its entries
were screened (a rescreen could report nothing); they are then recorded as screened.
Started by the schedule of the rescreen-book deployment and by refresh_watchlists after it
switches to a new snapshot.
"""

from __future__ import annotations

import asyncio

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from data.book import RESCREEN_ORIGIN, BookStore, changed_since, rescreen_entities
from data.jobs import JobMeta, JobStore, new_job_id
from flows.deployments import submit_screen_job
from flows.engine import snapshot_store
from kyc import settings

RESCREEN_BOOK_DEPLOYMENT = "rescreen-book"
RESCREEN_BOOK = f"rescreen_book/{RESCREEN_BOOK_DEPLOYMENT}"


@task(name="rescreen-tenant", task_run_name="rescreen-{tenant}", cache_policy=NO_CACHE)
async def rescreen_tenant(tenant: str, version: str) -> str:
    """Make and submit the tenant's rescreen job for ``version``; what was done, in words."""
    made = await asyncio.to_thread(_make_job, tenant, version)
    if not made.startswith("job "):
        return made
    job_id = made.removeprefix("job ")
    await submit_screen_job(job_id, tenant)
    return made


def _make_job(tenant: str, version: str) -> str:
    """Store the rescreen job (or say why there is none): "job <id>" or a reason."""
    jobs, book = JobStore(settings.JOB_STORE_URI), BookStore(settings.JOB_STORE_URI)
    earlier = book.rescreen_job(tenant, version)
    earlier_meta = jobs.get_job(earlier) if earlier else None
    if earlier_meta is not None and earlier_meta.status == "processing":
        return f"skipped: job {earlier} is still rescreening against this version"
    book.compact(tenant)  # keep the book's log short: a few files, whatever its history
    due = book.due(tenant, version)
    if due.is_empty():
        return "skipped: nothing in the book left to screen against this version"
    if settings.RESCREEN_DELTA and not _anything_new(version, due):
        book.mark_screened(tenant, due.select("entity_id", "source_job_id"), version)
        return "skipped: no list entry was added or changed since the book's last screen"
    meta = JobMeta(
        job_id=new_job_id(),
        tenant=tenant,
        watchlist_version=version,
        origin=RESCREEN_ORIGIN,
        # Each book entity carries its own threshold, lists and search type; these are
        # the defaults for the ones that have none, pinned like any job's.
        search_type=settings.DEFAULT_SEARCH_TYPE,
        threshold=settings.DEFAULT_THRESHOLD,
        max_matches=settings.MAX_MATCHES,
    )
    jobs.create_job(meta, rescreen_entities(due, delta=settings.RESCREEN_DELTA))
    book.record_rescreen(tenant, version, meta.job_id)
    return f"job {meta.job_id}"


def _anything_new(version: str, due: pl.DataFrame) -> bool:
    """Whether a delta rescreen of these book rows could report anything at all."""
    baselines = due["screened_version"].unique().to_list()
    changes, unreachable = changed_since(snapshot_store(), version, baselines)
    return bool(unreachable) or not changes.is_empty()


@flow(name="rescreen_book", persist_result=False)
async def rescreen_book(tenants: list[str] | None = None) -> dict[str, str]:
    """Rescreen the monitored books (of ``tenants``, default all) against the current
    snapshot; tenant -> "job <id>" or why it was skipped."""
    logger = get_run_logger()
    version = snapshot_store().current_version()
    if version is None:
        logger.info("no watchlist snapshot yet: nothing to rescreen against")
        return {}
    book = BookStore(settings.JOB_STORE_URI)
    names = tenants if tenants is not None else await asyncio.to_thread(book.tenants)
    outcomes = {tenant: await rescreen_tenant(tenant, version) for tenant in names}
    for tenant, outcome in outcomes.items():
        logger.info("tenant %s: %s", tenant, outcome)
    await acreate_markdown_artifact(_markdown(version, outcomes), key="rescreen-book")
    return outcomes


def _markdown(version: str, outcomes: dict[str, str]) -> str:
    lines = [f"**Rescreen against snapshot {version}**", "", "| tenant | outcome |", "|---|---|"]
    lines += [f"| {tenant} | {outcome} |" for tenant, outcome in outcomes.items()]
    return "\n".join(lines)
