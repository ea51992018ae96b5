"""GET /health: no auth, cheap; says which watchlist snapshot serves."""

from __future__ import annotations

from litestar import Request, get

from api.openapi import OpenOperation
from api.routes.common import state_of
from api.schemas import Health


@get(
    "/health",
    summary="Liveness and the serving watchlist snapshot",
    operation_id="Health",
    operation_class=OpenOperation,
)
async def health(request: Request) -> Health:
    version = state_of(request).snapshots.current_version()
    return Health(status="ok", watchlist_version=version)


ROUTES = [health]
