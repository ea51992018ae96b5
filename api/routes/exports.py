"""GET /exports/{jobId} (api.md, `kyc:export`): the job's PDF report written into the job
store, and a URL that downloads it without a token for one hour.

    {"request_id", "bucket", "key", "presigned_url"}

``request_id`` names the export; the PDF is at ``key`` in ``bucket``: for an s3:// store, the
S3 bucket and object key, and ``presigned_url`` is S3's own (AWS Signature V4); for a local
store, the store's folder and the path under it, and the URL is this API's
GET /exports/download/{key}?expires=..&signature=.. (HMAC-SHA256 of key and expiry with the
server secret, data/signed_urls.py). A changed, expired or foreign signature is a 403.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pyarrow as pa
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from api.auth import requires
from api.errors import ApiError
from api.openapi import errors, with_download
from api.routes.common import AppState, caller, state_of
from api.routes.reports import check_report, finished_job, job_report, rendered
from data.checks import StoredCheck, plausible_id
from data.jobs import write_atomically
from data.signed_urls import SignatureError, presigned_s3_url, s3_location

# Keys an export URL may name: what export() writes, nothing else of the store.
EXPORT_KEY = re.compile(r"exports/[0-9a-f-]{36}/kyc-report-[A-Za-z0-9-]{1,64}\.pdf")


class ExportCreated(msgspec.Struct):
    request_id: str
    bucket: str
    key: str
    presigned_url: str
    expires_at: str  # extension: when presigned_url stops working (ISO UTC)


@get(
    "/exports/{job_id:str}",
    guards=[requires("kyc:export")],
    summary="Export a finished job's (or a stored check's) PDF report; a URL valid one hour",
    operation_id="ExportReport",
    responses=errors(400, 401, 403, 429, 404, 409),
)
async def export(request: Request, job_id: FromPath[str]) -> ExportCreated:
    state, principal = state_of(request), caller(request)
    meta = state.jobs.get_job(job_id) if plausible_id(job_id) else None
    if meta is not None and meta.tenant == principal.tenant:
        meta = await finished_job(state, meta)
        data = await asyncio.to_thread(job_report, state, meta)
    else:  # a stored single check's id is as good (its report has the same sections)
        stored = await asyncio.to_thread(_check_or_404, state, job_id, principal.tenant)
        data = await asyncio.to_thread(check_report, state, stored)
    pdf = await asyncio.to_thread(rendered, data, "pdf")
    request_id = str(uuid.uuid4())
    key = f"exports/{request_id}/kyc-report-{job_id}.pdf"
    await asyncio.to_thread(write_atomically, state.jobs.fs, f"{state.jobs.root}/{key}", pdf)
    return _signed(request, state, request_id, key)


def _check_or_404(state: AppState, identifier: str, tenant: str) -> StoredCheck:
    stored = state.checks.get(tenant, identifier)
    if stored is None:
        raise ApiError(404, f"no job or check {identifier}")
    return stored


def _signed(request: Request, state: AppState, request_id: str, key: str) -> ExportCreated:
    ttl = state.config.export_url_ttl_s
    expires_at = _iso_in(ttl)
    if state.jobs.fs.type_name == "s3":
        location = s3_location(state.jobs.uri, key)
        url = presigned_s3_url(location, ttl, key.rsplit("/", 1)[1])
        return ExportCreated(request_id, location.bucket, location.key, url, expires_at)
    base = state.config.public_url or str(request.base_url)
    url = f"{base.rstrip('/')}/exports/download/{key}?{state.signer.query(key, ttl)}"
    return ExportCreated(request_id, state.jobs.root, key, url, expires_at)


def _iso_in(seconds: int) -> str:
    then = datetime.now(UTC) + timedelta(seconds=seconds)
    return then.isoformat(timespec="seconds").replace("+00:00", "Z")


@get(
    "/exports/download/{key:path}",
    summary="Download an exported report through its signed URL (no token)",
    operation_id="DownloadExport",
    operation_class=with_download(
        ["application/pdf"], "The exported PDF report", query_options=False, public=True
    ),
    responses=errors(400, 403, 404),
)
async def download_export(
    request: Request,
    key: FromPath[str],
    expires: FromQuery[str | None] = None,
    signature: FromQuery[str | None] = None,
) -> Stream:
    state = state_of(request)
    key = key.lstrip("/")
    try:
        state.signer.verify(key, expires, signature)
    except SignatureError as error:
        raise ApiError(403, f"this download link is not valid: {error}") from None
    if not EXPORT_KEY.fullmatch(key):  # signed by us, yet not an export: never served
        raise ApiError(403, "this download link is not valid: it names no export")
    fs, path = state.jobs.fs, f"{state.jobs.root}/{key}"
    try:
        source = await asyncio.to_thread(fs.open_input_stream, path)
    except FileNotFoundError:
        raise ApiError(404, "the exported report is no longer in the store") from None
    return Stream(
        _blocks(source),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{key.rsplit("/", 1)[1]}"'},
    )


def _blocks(source: pa.NativeFile) -> Iterator[bytes]:
    with source:
        while block := source.read(1 << 20):
            yield block


ROUTES = [export, download_export]
