"""POST /kyc: screen one subject synchronously against the cached index of the current
snapshot; GET /kyc/{check_id}: the same answer again, later (data/checks.py stores it).

The answer is encoded once, stored as those bytes (before it is sent: an answered check is
always on record) and sent as those bytes, so a later GET returns the same body exactly."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

import msgspec
import polars as pl
from litestar import Request, Response, get, post
from litestar.params import FromPath

from api.auth import Principal, requires
from api.config import ApiConfig
from api.errors import ApiError
from api.openapi import PROTECTED, errors, with_request_body
from api.routes.common import (
    AppState,
    caller,
    decode_json_object,
    options_from,
    require_snapshot,
    serving_snapshot,
    state_of,
)
from api.schemas import CheckRequest, CheckResult
from data.checks import StoredCheck, new_stored_check
from data.entities import entities_from_records
from data.jobs import utc_now
from kyc import settings
from matching.version import ENGINE_VERSION

if TYPE_CHECKING:
    from flows.engine import Engine


@post(
    "/kyc",
    guards=[requires("kyc:create")],
    status_code=200,
    summary="Screen one subject now",
    operation_id="CheckSubject",
    operation_class=with_request_body(CheckRequest, "One subject"),
    responses=errors(400, 401, 403, 429, 413, 415, 503),
)
async def check(request: Request) -> Response[CheckResult]:
    state, principal = state_of(request), caller(request)
    received_at = utc_now()
    if request.content_type[0] not in ("application/json", ""):
        raise ApiError(415, "POST /kyc takes a JSON body (application/json)")
    version, loaded_lists = serving_snapshot(state)
    data = decode_json_object(await request.body())
    options = options_from(data, loaded_lists)
    record = {
        "subject": data.get("subject"),
        "lists": options.lists,
        "search_type": options.search_type,
    }
    if record["subject"] is None:
        raise ApiError(400, "subject is required", [{"loc": "subject", "message": "required"}])
    entity = entities_from_records([record], prefix="", loaded_lists=loaded_lists)
    version = require_snapshot(version)
    started = time.perf_counter()
    threshold = state.config.default_threshold if options.threshold is None else options.threshold
    engine, result = await asyncio.to_thread(_screen, state.config, version, entity, threshold)
    row = result.row(0, named=True)
    if row["status"] != "completed":
        raise ApiError(
            400,
            row.get("error") or "the subject could not be screened",
            [{"loc": "subject", "message": row.get("error") or "could not be screened"}],
        )
    matches = [
        m | {"details": msgspec.json.decode(m["details"] or "{}")} for m in row["matches"] or []
    ]
    answer = CheckResult(
        status="success",
        check_id=str(uuid.uuid4()),
        is_match=bool(row["is_match"]),
        match_count=len(matches),
        matches=matches,  # type: ignore[arg-type]  # plain dicts in the Match shape
        lists_checked=options.lists or sorted(loaded_lists),
        watchlist_version=engine.version,
        engine_version=ENGINE_VERSION,
        processing_time_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    body = msgspec.json.encode(answer)
    if state.config.store_checks:
        search_type = options.search_type or settings.DEFAULT_SEARCH_TYPE
        screened = {**record, "search_type": search_type, "threshold": threshold}
        stored = new_stored_check(answer.check_id, principal.tenant, screened, body, received_at)
        await asyncio.to_thread(state.checks.save, stored)
    return Response(content=body, media_type="application/json")


@get(
    "/kyc/{check_id:str}",
    guards=[requires("kyc:read")],
    summary="A stored single check: the same body as its POST /kyc answer",
    operation_id="GetCheck",
    responses=errors(400, *PROTECTED, 404),
)
async def stored_check(request: Request, check_id: FromPath[str]) -> Response[CheckResult]:
    stored = await asyncio.to_thread(owned_check, state_of(request), check_id, caller(request))
    return Response(content=bytes(stored.response), media_type="application/json")


def owned_check(state: AppState, check_id: str, principal: Principal) -> StoredCheck:
    """The caller's stored check; another tenant's is a 404 exactly like a missing one."""
    stored = state.checks.get(principal.tenant, check_id)
    if stored is None:
        raise ApiError(404, f"no check {check_id}")
    return stored


def _screen(
    config: ApiConfig, version: str, entity: pl.DataFrame, threshold: float
) -> tuple[Engine, pl.DataFrame]:
    """The engine of the snapshot the request was validated against (built once per
    process) and its verdict."""
    import matching
    from flows.engine import SnapshotGone, get_index

    try:
        engine = get_index(config.snapshot_location, version)
    except SnapshotGone as error:
        raise ApiError(503, f"no watchlist snapshot is available: {error}") from None
    lists = entity["lists"][0]
    result = matching.check(
        entity,
        engine.index,
        threshold=threshold,
        max_matches=config.max_matches,
        lists=list(lists) if lists is not None else None,
        search_type=entity["search_type"][0] or settings.DEFAULT_SEARCH_TYPE,
    )
    return engine, result


ROUTES = [check, stored_check]
