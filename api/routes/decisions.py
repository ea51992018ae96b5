"""Analysts' decisions (kyc:review): record, list, read and revoke (data/decisions.py).

A false positive suppresses its pair in the tenant's later jobs and rescreens until the
list entry or the entity's subject changes; revoking is recorded, never erased.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, QueryParameter

from api import cursors
from api.auth import requires
from api.errors import ApiError
from api.openapi import PROTECTED, errors, with_request_body
from api.routes.common import (
    ListCursor,
    ListLimit,
    caller,
    decode_json_object,
    decode_struct,
    state_of,
)
from api.schemas import Decision, DecisionBody, DecisionList, DecisionRequest
from data import decisions as decision_log


@post(
    "/kyc/decisions",
    operation_id="CreateDecision",
    guards=[requires("kyc:review")],
    status_code=201,
    summary="Record a decision on a reported pair (false positive or confirmed)",
    operation_class=with_request_body(DecisionRequest, "The pair, the decision and why"),
    responses=errors(400, *PROTECTED, 404),
)
async def create_decision(request: Request) -> DecisionBody:
    state, principal = state_of(request), caller(request)
    body = decode_struct(decode_json_object(await request.body()), DecisionRequest, "decision")
    try:
        row = await asyncio.to_thread(
            decision_log.decide,
            state.decision_stores(),
            principal.tenant,
            decision_log.DecisionRequest(**msgspec.structs.asdict(body)),
            principal.actor,
        )
    except decision_log.UnknownReference as error:
        raise ApiError(
            404, error.message, [{"loc": error.field, "message": error.message}]
        ) from None
    return DecisionBody(status="success", decision=as_decision(row))


@get(
    "/kyc/decisions",
    operation_id="ListDecisions",
    guards=[requires("kyc:review")],
    summary="The tenant's decisions, newest first (revoked ones too)",
    responses=errors(400, *PROTECTED),
)
async def list_decisions(
    request: Request,
    entity_id: Annotated[str | None, QueryParameter(description="Only this entity's")] = None,
    limit: ListLimit = 100,
    cursor: ListCursor = None,
) -> DecisionList:
    state, principal = state_of(request), caller(request)
    scope = cursors.decisions_scope(principal.tenant, entity_id)
    start = cursors.offset(cursor, scope)
    rows, total = await asyncio.to_thread(
        state.decisions.page, principal.tenant, entity_id, start, limit
    )
    return DecisionList(
        status="success",
        count=total,
        decisions=[as_decision(row) for row in rows],
        next_cursor=cursors.next_after(scope, start, limit, total),
    )


@get(
    "/kyc/decisions/{decision_id:str}",
    operation_id="GetDecision",
    guards=[requires("kyc:review")],
    summary="One decision",
    responses=errors(400, *PROTECTED, 404),
)
async def get_decision(request: Request, decision_id: FromPath[str]) -> DecisionBody:
    state, principal = state_of(request), caller(request)
    row = await asyncio.to_thread(state.decisions.get, principal.tenant, decision_id)
    if row is None:
        raise ApiError(404, f"no decision {decision_id}")
    return DecisionBody(status="success", decision=as_decision(row))


@delete(
    "/kyc/decisions/{decision_id:str}",
    operation_id="RevokeDecision",
    guards=[requires("kyc:review")],
    status_code=200,
    summary="Revoke a decision (the revocation is recorded; the decision stays in the log)",
    responses=errors(400, *PROTECTED, 404),
)
async def revoke_decision(
    request: Request,
    decision_id: FromPath[str],
    reason: Annotated[
        str | None, QueryParameter(max_length=4000, description="Why it is revoked")
    ] = None,
) -> DecisionBody:
    state, principal = state_of(request), caller(request)
    row = await asyncio.to_thread(
        state.decisions.revoke, principal.tenant, decision_id, principal.actor, reason
    )
    if row is None:
        raise ApiError(404, f"no decision {decision_id}")
    return DecisionBody(status="success", decision=as_decision(row))


def as_decision(row: dict) -> Decision:
    return Decision(
        decision_id=row["decision_id"],
        entity_id=row["entity_id"],
        match_entity_id=row["match_entity_id"],
        decision=row["decision"],
        reason=row["reason"],
        decided_by=row["actor"],
        decided_at=row["at"],
        watchlist_version=row["snapshot_version"],
        job_id=row["job_id"],
        active=row["revoked_at"] is None,
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        revoke_reason=row["revoke_reason"],
    )


ROUTES = [create_decision, list_decisions, get_decision, revoke_decision]
