"""GET /health (alive, and which watchlist snapshot serves) and GET /health/ready (warm: a
load balancer's readiness probe). No auth, cheap."""

from __future__ import annotations

from litestar import Request, get

from api.errors import ApiError
from api.openapi import OpenOperation, errors
from api.routes.common import state_of
from api.schemas import Health


@get(
    "/health",
    summary="Liveness and the serving watchlist snapshot",
    operation_id="Health",
    operation_class=OpenOperation,
)
async def health(request: Request) -> Health:
    state = state_of(request)
    version = state.snapshots.current_version()
    return Health(status="ok", watchlist_version=version, ready=state.warm.is_set())


@get(
    "/health/ready",
    summary="Ready: the matching index is built and start-up is over (503 until then)",
    operation_id="Ready",
    operation_class=OpenOperation,
    responses=errors(503),
)
async def ready(request: Request) -> Health:
    """An API process answers from its first second, but for its first ~10 s it builds the
    matching index in a thread that holds the interpreter: requests then take seconds.
    A load balancer (and `kyc cluster up`) sends traffic only once this says 200."""
    state = state_of(request)
    if not state.warm.is_set():
        raise ApiError(503, "warming up: the matching index is being built; retry shortly")
    return Health(status="ok", watchlist_version=state.snapshots.current_version(), ready=True)


ROUTES = [health, ready]
