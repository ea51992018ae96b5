"""GET /kyc/watchlists: the loaded lists, the configured lists that are missing, the version;
POST /kyc/watchlists/refresh starts a refresh (a run of the refresh-watchlists deployment,
which starts the rescreen of the monitored books when it makes a new snapshot)."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from msgspec import UNSET, UnsetType

from api.auth import requires
from api.errors import ApiError
from api.openapi import errors, with_request_body
from api.routes.common import (
    Options,
    checked,
    decode_json_object,
    decode_struct,
    serving_snapshot,
    state_of,
)
from api.schemas import RefreshRequest, RefreshRun, ScreenedList, WatchlistInfo, Watchlists
from data.store import SnapshotNotFoundError, SnapshotStore
from flows.deployments import refresh_run_state, start_refresh


@get(
    "/kyc/watchlists",
    guards=[requires("watchlist:read")],
    operation_id="ListWatchlists",
    summary="Loaded lists (code, name, counts, publication date, refresh time), configured lists not loaded, version",
    responses=errors(401, 403, 429),
)
async def watchlists(request: Request) -> Watchlists:
    config = state_of(request).config
    store = state_of(request).snapshots
    version = store.current_version()
    if version is None:
        return Watchlists(status="success", version=None, lists=[], missing=list(config.lists))
    stats = await asyncio.to_thread(store.list_stats, version)
    lists = [
        WatchlistInfo(
            code=row["list_code"],
            name=row["name"],
            entries=int(row["entries"] or 0),
            names=int(row["names"] or 0),
            identifiers=int(row["identifiers"] or 0),
            publication_date=row["publication_date"],
            publication_date_from=row["publication_date_from"],
            refreshed_at=row["fetched_at"],
            latest_listed_on=row["latest_listed_on"],
            source_date=row["publication_date"],
        )
        for row in stats.iter_rows(named=True)
    ]
    loaded = {info.code for info in lists}
    missing = [code for code in config.lists if code not in loaded]
    return Watchlists(status="success", version=version, lists=lists, missing=missing)


# A snapshot's screened lists by (store location, version): a snapshot never changes.
_SCREENED: dict[tuple[str, str], tuple[ScreenedList, ...]] = {}


def _snapshot_lists(store: SnapshotStore, version: str) -> tuple[ScreenedList, ...]:
    """A snapshot's lists with their dates."""
    key = (store.location, version)
    if key not in _SCREENED:
        if len(_SCREENED) >= 64:
            _SCREENED.clear()
        _SCREENED[key] = _read_lists(store, version)
    return _SCREENED[key]


def _read_lists(store: SnapshotStore, version: str) -> tuple[ScreenedList, ...]:
    stats = store.list_stats(version)
    return tuple(
        ScreenedList(
            code=row["list_code"],
            publication_date=row["publication_date"],
            publication_date_from=row["publication_date_from"],
            refreshed_at=row["fetched_at"],
        )
        for row in stats.iter_rows(named=True)
    )


def screened_lists(
    store: SnapshotStore, version: str | None, codes: list[str] | None
) -> list[ScreenedList] | UnsetType:
    """The lists a job screened (``codes``, or all) with their dates; UNSET when the pinned
    snapshot is gone (pruned) or not chosen yet."""
    if version is None:
        return UNSET
    try:
        lists = _snapshot_lists(store, version)
    except SnapshotNotFoundError:
        return UNSET
    return [line for line in lists if codes is None or line.code in codes]


# A refresh run's state type (Prefect's StateType) as the API says it; the rest: processing.
REFRESH_STATUS = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "CRASHED": "failed",
    "CANCELLED": "cancelled",
}


@post(
    "/kyc/watchlists/refresh",
    operation_id="RefreshWatchlists",
    guards=[requires("watchlist:run")],
    status_code=202,
    summary="Start a refresh of the watchlists; answers its run id",
    operation_class=with_request_body(RefreshRequest, "Optional: lists, force"),
    responses=errors(400, 401, 403, 429, 503),
)
async def refresh(request: Request) -> RefreshRun:
    body = await request.body()
    options = decode_struct(
        decode_json_object(body) if body.strip() else {}, RefreshRequest, "refresh request"
    )
    _, loaded = serving_snapshot(state_of(request))
    lists = None if options.lists is None else checked(Options(lists=options.lists), loaded).lists
    try:
        run_id, already = await start_refresh(lists, options.force)
    except Exception as error:  # Prefect unreachable, or its deployment not registered
        raise ApiError(
            503, f"could not start the refresh: {type(error).__name__}: {error}"
        ) from None
    return RefreshRun(
        status="success", run_id=run_id, run_status="processing", already_running=already
    )


@get(
    "/kyc/watchlists/refresh/{run_id:str}",
    operation_id="GetRefresh",
    guards=[requires("watchlist:run")],
    summary="How a refresh started through the API is doing",
    responses=errors(400, 401, 403, 404, 429, 503),
)
async def refresh_status(run_id: FromPath[str]) -> RefreshRun:
    try:
        uuid.UUID(run_id)
    except ValueError:
        raise ApiError(404, f"no refresh run {run_id}") from None
    try:
        state = await refresh_run_state(run_id)
    except Exception as error:
        raise ApiError(503, f"Prefect is unreachable: {type(error).__name__}") from None
    if state is None:
        raise ApiError(404, f"no refresh run {run_id}")
    status = REFRESH_STATUS.get(state[0], "processing")
    error = (state[1] or "the refresh failed") if status == "failed" else msgspec.UNSET
    return RefreshRun(status="success", run_id=run_id, run_status=status, error=error)


ROUTES = [watchlists, refresh, refresh_status]
