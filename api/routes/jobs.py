"""Batch jobs: create (JSON or a file body), poll with paged results, list, download, cancel.

Creating a job validates every row and stores the entities in the job store, then answers;
the job's Prefect flow run (screen-job deployment) is created right after in the background
by the app's run submitter (flows/submitter.py). Everything else reads the
job store (and, while a job runs, the flow run's state): see api/job_status.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Any

import msgspec
import polars as pl
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, QueryParameter
from litestar.response import Stream
from msgspec import UNSET

from api import cursors
from api.auth import requires
from api.errors import ApiError
from api.job_status import (
    TERMINAL,
    estimate_completion,
    first_estimate,
    job_created,
    resolve_status,
)
from api.openapi import PROTECTED, errors, job_links, with_download, with_request_body
from api.routes.common import (
    AppState,
    Options,
    caller,
    checked,
    decode_json_object,
    options_from,
    owned_job,
    require_snapshot,
    serving_snapshot,
    state_of,
)
from api.routes.watchlists import screened_lists
from api.schemas import JobCreated, JobList, JobRequest, JobStatus, JobSummary, RescreenInfo
from data.book import RESCREEN_ORIGIN
from data.entities import BLANKS, entities_from_records, read_entities
from data.jobs import JobMeta, JobProgress, new_job_id, utc_now
from data.results import iter_result_bytes, result_json
from kyc import settings

# Body Content-Types a job accepts, and the entity format each one is.
BODY_FORMATS = {
    "application/json": "json",
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}

# Result download formats and their media types.
DOWNLOADS = {
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


Limit = Annotated[int, QueryParameter(ge=1, le=10_000, description="Results per page")]

CURSOR_NOTE = (
    "next_cursor of the previous page, passed back as given: opaque, and valid only for the "
    "job (or job list) and filter it was issued for; any other cursor is a 400"
)

FILE_BODY_NOTE = (
    "A JSON body as below; or a file body (text/csv, application/x-ndjson, "
    "application/vnd.apache.parquet), one entity per row, with columns named after the subject "
    "fields plus entity_id, lists (';'-separated in CSV) and search_type; job options then "
    "come as query parameters (with a JSON body they apply where the body sets none)."
)


@post(
    "/kyc/jobs",
    guards=[requires("kyc:create")],
    status_code=200,
    summary="Create a batch screening job",
    operation_id="CreateJob",
    operation_class=with_request_body(JobRequest, FILE_BODY_NOTE, job_links()),
    responses=errors(400, *PROTECTED, 413, 415, 503),
)
async def create_job(
    request: Request,
    lists: Annotated[
        str | None, QueryParameter(description="File bodies: comma-separated list codes")
    ] = None,
    list_name: Annotated[
        str | None, QueryParameter(description="File bodies: one list code")
    ] = None,
    search_type: Annotated[
        str | None, QueryParameter(description="File bodies: the search type")
    ] = None,
    # Read as text and parsed here: Litestar would take "null" for no threshold at all.
    threshold: Annotated[str | None, QueryParameter(description="File bodies: 0-1")] = None,
    monitor: Annotated[
        bool, QueryParameter(description="File bodies: add to the monitored book")
    ] = False,
    idempotency_key: Annotated[
        str | None, HeaderParameter(name="Idempotency-Key", max_length=255)
    ] = None,
) -> JobCreated:
    state, principal = state_of(request), caller(request)
    fmt = _body_format(request.content_type[0])
    query = _query_options(lists, list_name, search_type, threshold, monitor)
    # Validated first, also when retried: an Idempotency-Key never makes a bad request good.
    entities, options, version = await _parsed(request, state, fmt, query)
    if not idempotency_key:
        return await _accept(state, principal.tenant, entities, options, version, None)
    # One request per tenant and key at a time, so two retries racing make one job.
    lock = state.idempotency_locks.setdefault((principal.tenant, idempotency_key), asyncio.Lock())
    async with lock:
        existing = state.jobs.find_by_idempotency_key(principal.tenant, idempotency_key)
        if existing is not None:  # a retry: the first job, whatever this body says
            return await job_created(state.jobs, existing)
        return await _accept(state, principal.tenant, entities, options, version, idempotency_key)


def _body_format(content_type: str) -> str:
    if content_type == "":  # a client that sends no type at all means JSON
        return "json"
    if content_type not in BODY_FORMATS:
        raise ApiError(
            415, f"unsupported Content-Type {content_type!r}; use one of {', '.join(BODY_FORMATS)}"
        )
    return BODY_FORMATS[content_type]


def _query_options(
    lists: str | None,
    list_name: str | None,
    search_type: str | None,
    threshold: str | None,
    monitor: bool,
) -> Options:
    codes = lists.split(",") if lists is not None else None  # a blank code is an error
    return Options(codes, list_name, search_type, _number(threshold, "threshold"), monitor)


def _number(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip(BLANKS))
    except ValueError:
        detail = {"loc": f"query.{name}", "message": "expected a number from 0 to 1"}
        raise ApiError(400, "invalid request parameters", [detail]) from None


async def _parsed(
    request: Request, state: AppState, fmt: str, query: Options
) -> tuple[pl.DataFrame, Options, str]:
    """The validated entities and options, and the snapshot they were checked against."""
    version, loaded_lists = serving_snapshot(state)
    body = await request.body()
    # One body parsed at a time: parsing holds the GIL in long C calls, and thirty bodies
    # parsed at once made the event loop wait its turn behind all of them (polls stalled).
    async with state.parse_slot:
        entities, options = await asyncio.to_thread(
            _parse_job, body, fmt, query, state.config.max_entities_per_job, loaded_lists
        )
    return entities, options, require_snapshot(version)


async def _accept(
    state: AppState,
    tenant: str,
    entities: pl.DataFrame,
    options: Options,
    version: str,
    key: str | None,
) -> JobCreated:
    meta = JobMeta(
        job_id=new_job_id(),
        tenant=tenant,
        lists=options.lists,
        search_type=options.search_type or settings.DEFAULT_SEARCH_TYPE,
        threshold=state.config.default_threshold
        if options.threshold is None
        else options.threshold,
        max_matches=state.config.max_matches,
        monitor=options.monitor,
        watchlist_version=version,
        idempotency_key=key,
        total_entities=entities.height,
    )
    meta = replace(meta, estimated_completion=first_estimate(meta))
    await asyncio.to_thread(state.jobs.create_job, meta, entities)
    # Stored, so accepted: the flow run is created in the background (flows/submitter.py).
    state.submitter.submit(meta.job_id)
    return await job_created(state.jobs, meta, just_submitted=True)


def _parse_job(
    body: bytes, fmt: str, query: Options, max_entities: int, loaded_lists: frozenset[str]
) -> tuple[Any, Options]:
    """Validate a whole job body (runs in a worker thread: a big file takes a second)."""
    query = checked(query, loaded_lists)  # checked whatever the body: never ignored silently
    if fmt == "json":
        data = decode_json_object(body)
        options = _under(options_from(data, loaded_lists), query)
        records = data.get("entities")
        if records is None:
            raise ApiError(
                400, "entities is required", [{"loc": "entities", "message": "required"}]
            )
        if isinstance(records, list) and len(records) > max_entities:
            raise _too_many(len(records), max_entities)
        return entities_from_records(records, loaded_lists=loaded_lists), options
    options = query
    entities = read_entities(body, fmt, loaded_lists)  # type: ignore[arg-type]
    if entities.height > max_entities:
        raise _too_many(entities.height, max_entities)
    return entities, options


def _under(body: Options, query: Options) -> Options:
    """A JSON body's options, the query's where the body sets none."""
    return Options(
        body.lists if body.lists is not None else query.lists,
        None,
        body.search_type or query.search_type,
        body.threshold if body.threshold is not None else query.threshold,
        body.monitor or query.monitor,
    )


def _too_many(count: int, limit: int) -> ApiError:
    message = f"{count} entities exceed the limit of {limit} per job"
    return ApiError(400, message, [{"loc": "entities", "message": message}])


@get(
    "/kyc/jobs/{job_id:str}",
    guards=[requires("kyc:read")],
    operation_id="GetJob",
    summary="A job's status, counts and (when completed) a page of results",
    responses=errors(400, *PROTECTED, 404),
)
async def get_job(
    request: Request,
    job_id: FromPath[str],
    limit: Limit = 1000,
    cursor: Annotated[str | None, QueryParameter(description=CURSOR_NOTE)] = None,
    only_matches: FromQuery[bool] = False,
    include_suppressed: Annotated[
        bool, QueryParameter(description="Also show the matches decisions left out")
    ] = False,
) -> JobStatus:
    state = state_of(request)
    meta = owned_job(state, job_id, caller(request))
    scope = cursors.results_scope(job_id, only_matches)
    offset = int(cursors.position(cursor, scope) or 0)
    body = await job_status(state, meta)
    if body.job_status == "completed":
        page = await asyncio.to_thread(
            state.jobs.read_results, job_id, offset, limit + 1, only_matches
        )
        more = page.height > limit
        page = page.head(limit)
        lines = (
            result_json(page, include_suppressed).to_list()
            if page.height and "matches" in page.columns
            else []
        )
        body.results = msgspec.Raw(("[" + ",".join(lines) + "]").encode())  # type: ignore[assignment]
        body.next_cursor = cursors.issue(scope, offset + limit) if more else None
    return body


async def job_status(state: AppState, meta: JobMeta) -> JobStatus:
    """The documented job fields (without results) from the store and the flow run's state."""
    meta, status, error = await resolve_status(state.jobs, meta)
    progress = state.jobs.progress(meta.job_id)
    return JobStatus(
        status="success",
        job_id=meta.job_id,
        job_status=status,
        total_entities=meta.total_entities,
        processed_entities=progress.processed,
        completed_entities=progress.completed,
        failed_entities=progress.failed,
        matches_found=progress.matches_found,
        created_at=meta.created_at,
        updated_at=progress.updated_at or meta.updated_at or meta.created_at,
        watchlist_version=meta.watchlist_version,
        engine_version=progress.engine_version or UNSET,
        origin=meta.origin or UNSET,
        rerun_of=meta.rerun_of or UNSET,
        lists_screened=screened_lists(state.snapshots, meta.watchlist_version, meta.lists),
        suppressed_matches=progress.suppressed,
        **_rescreen_fields(meta, progress),
        completed_at=(meta.completed_at or meta.updated_at or utc_now())
        if status in TERMINAL
        else UNSET,
        estimated_completion=estimate_completion(meta, progress)
        if status == "processing"
        else UNSET,
        error=(error or "the job failed") if status == "failed" else UNSET,
    )


def _rescreen_fields(meta: JobMeta, progress: JobProgress) -> dict[str, Any]:
    """A rescreen job's versions, resolved count and how it was made (api.md extensions)."""
    if meta.origin != RESCREEN_ORIGIN:
        return {}
    stats = meta.rescreen_stats or {}
    return {
        "from_version": meta.from_version,
        "to_version": meta.watchlist_version,
        "resolved_matches": progress.resolved,
        "rescreen": RescreenInfo(
            mode=meta.rescreen_mode,
            entities_due=stats.get("due", 0),
            entities_screened=stats.get("screened", meta.total_entities),
            reverse_candidates=stats.get("reverse_candidates", 0),
            pairs=stats.get("pairs", 0),
        ),
    }


@get(
    "/kyc/jobs",
    guards=[requires("kyc:read")],
    operation_id="ListJobs",
    summary="The caller's jobs, newest first",
    responses=errors(400, *PROTECTED),
)
async def list_jobs(
    request: Request,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, QueryParameter(description=CURSOR_NOTE)] = None,
) -> JobList:
    state, principal = state_of(request), caller(request)
    scope = cursors.jobs_scope(principal.tenant)
    after = cursors.position(cursor, scope)
    jobs, next_key = await asyncio.to_thread(
        state.jobs.list_jobs, principal.tenant, limit, None if after is None else str(after)
    )
    next_cursor = None if next_key is None else cursors.issue(scope, next_key)
    summaries = [
        JobSummary(
            job_id=meta.job_id,
            job_status=meta.status,
            total_entities=meta.total_entities,
            created_at=meta.created_at,
            watchlist_version=meta.watchlist_version,
            completed_at=meta.completed_at or UNSET,
            origin=meta.origin or UNSET,
            from_version=meta.from_version if meta.origin == RESCREEN_ORIGIN else UNSET,
        )
        for meta in jobs
    ]
    return JobList(status="success", jobs=summaries, next_cursor=next_cursor)


@get(
    "/kyc/jobs/{job_id:str}/results",
    guards=[requires("kyc:export")],
    operation_id="DownloadResults",
    summary="Download all results of a completed job as CSV, NDJSON or Parquet",
    operation_class=with_download(list(DOWNLOADS.values()), "All results, streamed"),
    responses=errors(400, *PROTECTED, 404, 409),
)
async def download_results(
    request: Request,
    job_id: FromPath[str],
    format: Annotated[
        str | None, QueryParameter(description="csv, ndjson or parquet (else by Accept)")
    ] = None,
) -> Stream:
    state = state_of(request)
    meta = owned_job(state, job_id, caller(request))
    fmt = _download_format(format, request.headers.get("accept", ""))
    meta, status, _ = await resolve_status(state.jobs, meta)
    if status != "completed":
        raise ApiError(409, f"job {job_id} is {status}; results are downloadable once it completes")
    chunks = iter_result_bytes(state.jobs.iter_results(job_id), fmt)  # type: ignore[arg-type]
    filename = f"kyc-results-{job_id}.{fmt}"
    return Stream(
        chunks,
        media_type=DOWNLOADS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _download_format(requested: str | None, accept: str) -> str:
    if requested is not None:
        requested = requested.strip(BLANKS)
        if requested.lower() not in DOWNLOADS:
            detail = {"loc": "query.format", "message": "expected csv, ndjson or parquet"}
            raise ApiError(400, "unknown format", [detail])
        return requested.lower()
    for media in (part.split(";")[0].strip() for part in accept.split(",")):
        for fmt, media_type in DOWNLOADS.items():
            if media == media_type:
                return fmt
    return "ndjson"


@post(
    "/kyc/jobs/{job_id:str}/cancel",
    guards=[requires("kyc:create")],
    status_code=200,
    operation_id="CancelJob",
    summary="Cancel a job that is still processing",
    responses=errors(400, *PROTECTED, 404, 409),
)
async def cancel_job(request: Request, job_id: FromPath[str]) -> JobStatus:
    state = state_of(request)
    meta = owned_job(state, job_id, caller(request))
    meta, status, _ = await resolve_status(state.jobs, meta)
    if status in ("completed", "failed"):
        raise ApiError(409, f"job {job_id} already {status}")
    if status == "processing":
        meta = await _cancel(state, meta)
    return await job_status(state, meta)


async def _cancel(state: AppState, meta: JobMeta) -> JobMeta:
    """Record a processing job cancelled and stop its run, if it has one yet."""
    meta = state.jobs.get_job(meta.job_id) or meta
    if meta.status == "processing" and meta.flow_run_id is None:
        # No run yet: recorded now, with no await between read and write, so the submitter
        # (same event loop) either skips the job or sees it cancelled and cancels its run.
        return state.jobs.update_job(meta.job_id, status="cancelled", completed_at=utc_now())
    if meta.flow_run_id:
        from flows.deployments import cancel_flow_run

        await cancel_flow_run(meta.flow_run_id)
    meta = state.jobs.get_job(meta.job_id) or meta
    if meta.status == "processing":
        meta = state.jobs.update_job(meta.job_id, status="cancelled", completed_at=utc_now())
    return meta


ROUTES = [create_job, get_job, list_jobs, download_results, cancel_job]
