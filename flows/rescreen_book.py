"""The ``rescreen_book`` flow: screen every tenant's monitored book again after a list change.

For each tenant with a book it plans the rescreen (data/rescreen.py: reverse screening of
the entries added or changed since each entity's last screen, or a full rescreen where the
reverse way cannot vouch for the result), stores it as an ordinary screening job of that
tenant (``origin: "rescreen"``, so it shows in GET /kyc/jobs with its snapshot versions)
and runs that job's ``screen_job`` flow as a child run, so it has all of a job's chunking,
resume and recovery. The job keeps only the matches that are new to each entity, says why
(``change``), and records the resolved ones; when it completes, every due book entry is
marked screened against the new snapshot, and the job's webhooks are queued.

Idempotent: a tenant is skipped while its rescreen for the current version is processing,
and when its book has nothing left to screen against that version. When no list entry was
added or changed since its entries were screened (and none of their open matches left the
lists), they are recorded as screened without a job. The catch-up run (``catch_up``, on
KYC_RESCREEN_FULL_CRON) screens every entity in full and reports every match not reported
before. Each run leaves an artifact with per-tenant counts: entities due, pairs scored, new
alerts, resolved, suppressed.
"""

from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE

import matching
from data.book import RESCREEN_ORIGIN, BookStore
from data.jobs import JobMeta, JobStore, new_job_id
from data.rescreen import PlanOptions, plan_rescreen
from flows.engine import get_index, snapshot_store
from flows.screen_job import screen_job
from kyc import settings

RESCREEN_BOOK_DEPLOYMENT = "rescreen-book"
RESCREEN_BOOK = f"rescreen_book/{RESCREEN_BOOK_DEPLOYMENT}"
# The weekly catch-up: the same flow with catch_up=True, on its own schedule.
RESCREEN_CATCH_UP_DEPLOYMENT = "rescreen-book-catch-up"


@task(name="plan-rescreen", task_run_name="plan-{tenant}", cache_policy=NO_CACHE)
async def make_rescreen_job(tenant: str, version: str, catch_up: bool) -> dict:
    """Plan and store the tenant's rescreen job for ``version``: {"job_id": ...} with its
    counts, or {"skipped": why}."""
    return await asyncio.to_thread(_make_job, tenant, version, catch_up)


def _make_job(tenant: str, version: str, catch_up: bool) -> dict:
    jobs, book = JobStore(settings.JOB_STORE_URI), BookStore(settings.JOB_STORE_URI)
    earlier = book.rescreen_job(tenant, version)
    earlier_meta = jobs.get_job(earlier) if earlier else None
    if earlier_meta is not None and earlier_meta.status == "processing":
        return {"skipped": f"job {earlier} is still rescreening against this version"}
    book.compact(tenant)  # keep the book's log short: a few files, whatever its history
    snapshots = snapshot_store()
    engine = get_index(None, version)
    options = PlanOptions(
        delta=settings.RESCREEN_DELTA,
        reverse=settings.RESCREEN_REVERSE,
        catch_up=catch_up,
        threshold=settings.DEFAULT_THRESHOLD,
        max_matches=settings.MAX_MATCHES,
    )
    plan = plan_rescreen(book, snapshots, tenant, version, engine.index, options)
    counts = {"due": plan.stats.get("due", 0), "pairs": plan.stats.get("pairs", 0)}
    if plan.covered.is_empty():
        return {"skipped": "nothing in the book left to screen against this version", **counts}
    if plan.entities.is_empty():
        book.mark_screened(tenant, plan.covered, version, matching.ENGINE_VERSION)
        return {"skipped": "no list entry was added or changed for the book's entities", **counts}
    meta = JobMeta(
        job_id=new_job_id(),
        tenant=tenant,
        watchlist_version=version,
        origin=RESCREEN_ORIGIN,
        from_version=plan.from_version,
        rescreen_mode=plan.mode,
        rescreen_stats=plan.stats,
        # Each book entity carries its own threshold, lists and search type; these are
        # the defaults for the ones that have none, pinned like any job's.
        search_type=settings.DEFAULT_SEARCH_TYPE,
        threshold=settings.DEFAULT_THRESHOLD,
        max_matches=settings.MAX_MATCHES,
    )
    jobs.create_job(meta, plan.entities)
    book.record_rescreen(tenant, version, meta.job_id, plan.covered)
    return {"job_id": meta.job_id, "mode": plan.mode, **counts}


@flow(name="rescreen_book", persist_result=False)
async def rescreen_book(
    tenants: list[str] | None = None, catch_up: bool = False
) -> dict[str, dict]:
    """Rescreen the monitored books (of ``tenants``, default all) against the current
    snapshot; tenant -> what was done (the job and its counts, or why it was skipped)."""
    logger = get_run_logger()
    version = snapshot_store().current_version()
    if version is None:
        logger.info("no watchlist snapshot yet: nothing to rescreen against")
        return {}
    book = BookStore(settings.JOB_STORE_URI)
    names = tenants if tenants is not None else await asyncio.to_thread(book.tenants)
    outcomes = {}
    for tenant in names:
        outcome = await make_rescreen_job(tenant, version, catch_up)
        if "job_id" in outcome:
            await screen_job(job_id=outcome["job_id"], tenant=tenant, return_state=True)
            outcome |= _job_counts(outcome["job_id"])
        logger.info("tenant %s: %s", tenant, outcome)
        outcomes[tenant] = outcome
    await acreate_table_artifact(
        table=_table(outcomes),
        key="rescreen-book",
        description=f"Rescreen against snapshot {version}" + (" (catch-up)" if catch_up else ""),
    )
    return outcomes


def _job_counts(job_id: str) -> dict:
    jobs = JobStore(settings.JOB_STORE_URI)
    meta, progress = jobs.get_job(job_id), jobs.progress(job_id)
    return {
        "status": meta.status if meta else "unknown",
        "screened": meta.total_entities if meta else 0,
        "new_alerts": progress.matches_found,
        "resolved": progress.resolved,
        "suppressed": progress.suppressed,
    }


def _table(outcomes: dict[str, dict]) -> list[dict]:
    """One row per tenant: entities due, pairs scored, new alerts, resolved, suppressed."""
    return [
        {
            "tenant": tenant,
            "job": outcome.get("job_id", ""),
            "mode": outcome.get("mode", ""),
            "entities due": outcome.get("due", 0),
            "pairs scored": outcome.get("pairs", 0),
            "entities screened": outcome.get("screened", 0),
            "new alerts": outcome.get("new_alerts", 0),
            "resolved": outcome.get("resolved", 0),
            "suppressed": outcome.get("suppressed", 0),
            "outcome": outcome.get("status") or outcome.get("skipped", ""),
        }
        for tenant, outcome in outcomes.items()
    ]
