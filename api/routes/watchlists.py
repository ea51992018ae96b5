"""GET /kyc/watchlists: the loaded lists, the configured lists that are missing, the version."""

from __future__ import annotations

import asyncio

from litestar import Request, get
from msgspec import UNSET, UnsetType

from api.auth import requires
from api.openapi import errors
from api.routes.common import state_of
from api.schemas import ScreenedList, WatchlistInfo, Watchlists
from data.store import SnapshotNotFoundError, SnapshotStore


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


ROUTES = [watchlists]
