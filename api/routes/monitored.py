"""The monitored book over REST: list it, read one entity, stop monitoring one (data/book.py).

The book is what rescreens screen again after a list change: the entities of monitored jobs
(``monitor: true``), per tenant, keyed by entity_id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
from litestar import Request, delete, get
from litestar.params import FromPath

from api import cursors
from api.auth import requires
from api.errors import ApiError
from api.openapi import PROTECTED, errors
from api.routes.common import ListCursor, ListLimit, caller, state_of
from api.routes.decisions import as_decision
from api.schemas import (
    MonitoredDetail,
    MonitoredDetailBody,
    MonitoredEntity,
    MonitoredList,
    OpenMatch,
    Removed,
)
from data.entities import SUBJECT_FIELDS


@get(
    "/kyc/monitored",
    operation_id="ListMonitored",
    guards=[requires("kyc:read")],
    summary="The tenant's monitored book, a page at a time, with its size",
    responses=errors(400, *PROTECTED),
)
async def list_monitored(
    request: Request,
    limit: ListLimit = 100,
    cursor: ListCursor = None,
) -> MonitoredList:
    state, principal = state_of(request), caller(request)
    scope = cursors.monitored_scope(principal.tenant)
    start = cursors.offset(cursor, scope)
    book = await asyncio.to_thread(state.book.read, principal.tenant)
    page = book.slice(start, limit)
    return MonitoredList(
        status="success",
        count=book.height,
        entities=[MonitoredEntity(**_entity_fields(row)) for row in page.to_dicts()],
        next_cursor=cursors.next_after(scope, start, limit, book.height),
    )


@get(
    "/kyc/monitored/{entity_id:path}",
    operation_id="GetMonitored",
    guards=[requires("kyc:read")],
    summary="One monitored entity: its subject, last screened snapshot, open matches, decisions",
    responses=errors(400, *PROTECTED, 404),
)
async def get_monitored(request: Request, entity_id: FromPath[str]) -> MonitoredDetailBody:
    state, principal = state_of(request), caller(request)
    entity_id = _book_id(entity_id)
    row = await asyncio.to_thread(_book_row, state.book, principal.tenant, entity_id)
    decided, _ = await asyncio.to_thread(state.decisions.page, principal.tenant, entity_id, 0, 1000)
    detail = MonitoredDetail(
        **_entity_fields(row),
        open_matches=[OpenMatch(**match) for match in row.get("open_matches") or []],
        decisions=[as_decision(decision) for decision in decided],
    )
    return MonitoredDetailBody(status="success", entity=detail)


@delete(
    "/kyc/monitored/{entity_id:path}",
    operation_id="RemoveMonitored",
    guards=[requires("kyc:create")],
    status_code=200,
    summary="Stop monitoring an entity: later rescreens leave it out",
    responses=errors(400, *PROTECTED, 404),
)
async def remove_monitored(request: Request, entity_id: FromPath[str]) -> Removed:
    state, principal = state_of(request), caller(request)
    entity_id = _book_id(entity_id)
    removed = await asyncio.to_thread(state.book.remove, principal.tenant, [entity_id])
    if not removed:
        raise ApiError(404, f"no entity {entity_id} in the monitored book")
    return Removed(status="success", entity_id=entity_id, removed=True)


def _book_id(path_value: str) -> str:
    """The entity id of a path: the rest of it, so ids holding "/" (sent as %2F) work."""
    return path_value.removeprefix("/")


def _book_row(book: Any, tenant: str, entity_id: str) -> dict:
    found = book.read(tenant).filter(pl.col("entity_id") == entity_id)
    if found.is_empty():
        raise ApiError(404, f"no entity {entity_id} in the monitored book")
    return found.row(0, named=True)


def _entity_fields(row: dict) -> dict[str, Any]:
    return {
        "entity_id": row["entity_id"],
        "subject": {name: row[name] for name in SUBJECT_FIELDS if row[name] is not None},
        "screened_version": row["screened_version"],
        "added_at": row["added_at"],
        "source_job_id": row["source_job_id"],
        "lists": row["lists"],
        "search_type": row["search_type"],
        "threshold": row["threshold"],
    }


ROUTES = [list_monitored, get_monitored, remove_monitored]
