"""POST /kyc/jobs/{job_id}/rerun: the same entities and options, against the same pinned
snapshot, as a new job. While the engine version is the same, its results are the
original's, byte for byte in the Parquet download (tests/test_evidence_service.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from litestar import Request, post
from litestar.params import FromPath

from api.auth import requires
from api.errors import ApiError
from api.job_status import first_estimate, job_created, resolve_status
from api.openapi import errors
from api.routes.common import caller, owned_job, state_of
from api.schemas import JobCreated
from data.jobs import JobMeta, new_job_id

RERUN_ORIGIN = "rerun"


@post(
    "/kyc/jobs/{job_id:str}/rerun",
    guards=[requires("kyc:create")],
    status_code=200,
    summary="Re-run a finished job: same entities, options and pinned snapshot, as a new job",
    operation_id="RerunJob",
    responses=errors(400, 401, 403, 429, 404, 409),
)
async def rerun_job(request: Request, job_id: FromPath[str]) -> JobCreated:
    state = state_of(request)
    original = owned_job(state, job_id, caller(request))
    original, status, _ = await resolve_status(state.jobs, original)
    if status == "processing":
        raise ApiError(409, f"job {job_id} is still processing; re-run it once it has finished")
    version = original.watchlist_version
    snapshots = state.snapshots
    if version is None or not snapshots.path(version).is_file():
        raise ApiError(
            409,
            f"job {job_id} was screened against snapshot {version}, which is no longer kept"
            " (KYC_SNAPSHOTS_KEEP): it cannot be re-run identically",
        )
    meta = JobMeta(
        job_id=new_job_id(),
        tenant=original.tenant,
        total_entities=original.total_entities,
        lists=original.lists,
        search_type=original.search_type,
        threshold=original.threshold,
        max_matches=original.max_matches,
        watchlist_version=version,
        # The original's split, so the results come in the same chunks.
        chunk_size=state.jobs.chunk_size(job_id) or original.chunk_size,
        origin=RERUN_ORIGIN,
        rerun_of=original.job_id,
    )
    meta = replace(meta, estimated_completion=first_estimate(meta))
    await asyncio.to_thread(state.jobs.copy_job, meta, original.job_id)
    state.submitter.submit(meta.job_id)
    return await job_created(state.jobs, meta, just_submitted=True)


ROUTES = [rerun_job]
