"""The report of a job or of a single check, as HTML or PDF (extension of api.md):
GET /kyc/jobs/{job_id}/report and GET /kyc/{check_id}/report, `kyc:export`."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from api.auth import requires
from api.errors import ApiError
from api.job_status import resolve_status
from api.openapi import errors, with_download
from api.routes.checks import owned_check
from api.routes.common import AppState, caller, owned_job, state_of
from data.checks import StoredCheck
from data.jobs import JobMeta
from reports import check_report_data, job_report_data, render_html, render_pdf
from reports.model import ReportData

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
Format = Annotated[str, QueryParameter(description="html or pdf", pattern="^(html|pdf)$")]


async def finished_job(state: AppState, meta: JobMeta) -> JobMeta:
    """The job as recorded, if it has finished (a report of a job still processing would be
    a guess); the job store is the one truth of a finished job."""
    meta, status, _ = await resolve_status(state.jobs, meta)
    if status == "processing":
        raise ApiError(409, f"job {meta.job_id} is still processing; its report comes once it ends")
    return meta


def job_report(state: AppState, meta: JobMeta) -> ReportData:
    snapshots = state.snapshots
    return job_report_data(
        state.jobs,
        snapshots,
        meta,
        state.config.default_threshold,
        state.config.report_max_matches,
    )


def check_report(state: AppState, stored: StoredCheck) -> ReportData:
    snapshots = state.snapshots
    return check_report_data(stored, snapshots, state.config.default_threshold)


def rendered(data: ReportData, fmt: str) -> bytes:
    html = render_html(data)
    return render_pdf(data, html) if fmt == "pdf" else html.encode()


def _response(content: bytes, fmt: str, kind: str, identifier: str) -> Response[bytes]:
    disposition = "inline" if fmt == "html" else "attachment"
    filename = f"kyc-report-{kind}-{identifier}.{fmt}"
    return Response(
        content=content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@get(
    "/kyc/jobs/{job_id:str}/report",
    guards=[requires("kyc:export")],
    summary="A finished job's report (HTML or PDF)",
    operation_id="GetJobReport",
    operation_class=with_download(list(MEDIA_TYPES.values()), "The report", query_options=False),
    responses=errors(400, 401, 403, 429, 404, 409),
)
async def job_report_route(
    request: Request, job_id: FromPath[str], format: Format = "html"
) -> Response[bytes]:
    state = state_of(request)
    meta = await finished_job(state, owned_job(state, job_id, caller(request)))
    data = await asyncio.to_thread(job_report, state, meta)
    content = await asyncio.to_thread(rendered, data, format)
    return _response(content, format, "job", job_id)


@get(
    "/kyc/{check_id:str}/report",
    guards=[requires("kyc:export")],
    summary="A stored single check's report (HTML or PDF)",
    operation_id="GetCheckReport",
    operation_class=with_download(list(MEDIA_TYPES.values()), "The report", query_options=False),
    responses=errors(400, 401, 403, 429, 404),
)
async def check_report_route(
    request: Request, check_id: FromPath[str], format: Format = "html"
) -> Response[bytes]:
    state = state_of(request)
    stored = await asyncio.to_thread(owned_check, state, check_id, caller(request))
    data = await asyncio.to_thread(check_report, state, stored)
    content = await asyncio.to_thread(rendered, data, format)
    return _response(content, format, "check", check_id)


ROUTES = [job_report_route, check_report_route]
