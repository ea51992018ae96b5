"""create_app(): the Litestar app of api.md, wired to the job store, auth and error handling."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api import docs_ui
from api.auth import AuthConfig, Authenticator, AuthMiddleware
from api.config import ApiConfig
from api.errors import EXCEPTION_HANDLERS
from api.ratelimit import RateLimiter
from api.request_schema import offering_lists
from api.routes import (
    checks,
    decisions,
    exports,
    health,
    jobs,
    monitored,
    options,
    reports,
    rerun,
    watchlists,
)
from api.routes.common import AppState
from data.api_keys import ApiKeyStore
from data.book import BookStore
from data.checks import CheckStore
from data.decisions import DecisionStore
from data.jobs import JobStore
from data.schema import LIST_CODES
from data.signed_urls import UrlSigner, load_or_create_secret
from data.store import open_snapshots
from data.webhooks import DeliveryStore, WebhookConfig
from flows.submitter import RunSubmitter, SubmitPolicy
from flows.webhooks import WebhookDispatcher, retry_policy
from kyc import settings

API_VERSION = "1.0.0"

ROUTES = [
    *jobs.ROUTES,
    *rerun.ROUTES,
    *checks.ROUTES,
    *reports.ROUTES,
    *exports.ROUTES,
    *watchlists.ROUTES,
    *decisions.ROUTES,
    *monitored.ROUTES,
    *health.ROUTES,
]

logger = logging.getLogger("kyc.api")


def create_app(
    config: ApiConfig | None = None,
    embedded_runner: bool = False,
    submit_policy: SubmitPolicy | None = None,
) -> Litestar:
    """The API. With ``embedded_runner`` its lifespan also starts the embedded runner in this
    process (flows/runner.py), which is how the tests run jobs without a worker; `kyc serve`
    runs that runner in a child process instead (cli/service.py).

    Its lifespan runs the run submitter (flows/submitter.py) that creates accepted jobs'
    flow runs; ``submit_policy`` (default: kyc/settings.py SUBMIT_*) says how it retries."""
    config = config or ApiConfig()
    policy = submit_policy or default_submit_policy(sweep=False)
    submitter = RunSubmitter(JobStore(config.job_store_uri), config.snapshot_location, policy)
    dispatcher = WebhookDispatcher(
        DeliveryStore(config.job_store_uri),
        WebhookConfig(config.webhooks_file),
        retry_policy(),
        settings.WEBHOOK_POLL_S,
        settings.WEBHOOK_TIMEOUT_S,
    )
    authenticator = Authenticator(
        AuthConfig(
            keys=ApiKeyStore(config.api_keys_file),
            jwt_secret=config.jwt_secret,
            jwt_public_key_file=config.jwt_public_key_file,
            tenant_claim=config.jwt_tenant_claim,
            audience=config.jwt_audience,
            issuer=config.jwt_issuer,
        )
    )
    limiter = RateLimiter(config.rate_limit_requests, config.rate_limit_window_s)
    app = Litestar(
        # Shared paths' own OPTIONS handlers first, so Litestar makes none of its own.
        route_handlers=[*options.for_shared_paths(ROUTES), *ROUTES, *docs_ui.asset_routers()],
        middleware=[DefineMiddleware(AuthMiddleware, authenticator=authenticator, limiter=limiter)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=config.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="KYC screening API",
            version=API_VERSION,
            description="Batch and single KYC sanctions screening. See docs/api.md.",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key (sk_...) or a JWT (HS256 / RS256)",
                    )
                }
            ),
            security=[{"bearer": []}],
            path=docs_ui.SCHEMA_PATH,
            render_plugins=docs_ui.render_plugins(),
        ),
        lifespan=[_lifespan(embedded_runner, config.snapshot_location, submitter, dispatcher)],
        state=_state(config, submitter),
        debug=False,
    )
    # The schema is made now, offering the list codes of the snapshot serving at start-up.
    with offering_lists(_serving_lists(config)):
        app.openapi_schema  # noqa: B018  (generated and cached by the app on first access)
    return app


def _serving_lists(config: ApiConfig) -> frozenset[str]:
    store = open_snapshots(config.snapshot_location, config.snapshot_dir)
    version = store.current_version()
    return store.loaded_lists(version) if version else frozenset(LIST_CODES)


def default_submit_policy(sweep: bool) -> SubmitPolicy:
    """kyc/settings.py's SUBMIT_* (and SWEEP_S when ``sweep``: the split-up API's sweep for
    crashed runs; embedded, start-up recovery does that instead)."""
    return SubmitPolicy(
        settings.SUBMIT_BACKOFF_S,
        settings.SUBMIT_BACKOFF_MAX_S,
        settings.SUBMIT_GIVE_UP_S,
        concurrency=settings.SUBMIT_CONCURRENCY,
        sweep_s=settings.SWEEP_S if sweep else 0.0,
    )


def _state(config: ApiConfig, submitter: RunSubmitter) -> Any:
    from litestar.datastructures import State

    jobs = JobStore(config.job_store_uri)
    snapshots = open_snapshots(config.snapshot_location, config.snapshot_dir)
    secret = load_or_create_secret(config.export_url_secret, config.export_url_secret_file)
    kyc = AppState(
        config=config,
        jobs=jobs,
        submitter=submitter,
        snapshots=snapshots,
        checks=CheckStore(config.job_store_uri),
        signer=UrlSigner(secret),
        book=BookStore(config.job_store_uri),
        decisions=DecisionStore(config.job_store_uri),
    )
    return State({"kyc": kyc})


def _warm_up(snapshot_location: str, warm: threading.Event) -> None:
    """Build the current snapshot's matching index (and its single-check tables) now, not
    on the first POST /kyc; then import Prefect's client and freeze what start-up made out
    of the garbage collector.

    Why freeze: the API process holds ~170,000 long-lived objects (Litestar, Prefect,
    pydantic); every full collection walked them all, a ~100 ms stop of the event loop
    that was the p99 of 50 clients polling a job. Frozen objects are never scanned again.
    """
    import polars as pl

    import matching
    from flows.engine import get_index

    try:
        engine = get_index(snapshot_location)
        # One single check now makes the index's one-entity tables (a few seconds).
        probe = pl.DataFrame({"full_name": ["start-up check"]})
        matching.check(probe, engine.index, threshold=1.0, max_matches=1)
    except Exception as error:  # no snapshot yet: the first check will say so
        logger.info("no matching index warmed at start-up: %s", error)
    import prefect.client.orchestration  # noqa: F401  (imported at the first job anyway)

    gc.collect()
    gc.freeze()
    warm.set()


def _lifespan(
    embedded_runner: bool,
    snapshot_location: str,
    submitter: RunSubmitter,
    dispatcher: WebhookDispatcher,
) -> Callable[[Litestar], Any]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runner = None
        warm = app.state.kyc.warm
        asyncio.get_running_loop().run_in_executor(None, _warm_up, snapshot_location, warm)
        if embedded_runner:
            from flows.runner import start_embedded_runner

            runner = start_embedded_runner()
        await submitter.start()
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()
            await submitter.stop()
            if runner is not None:
                runner.stop()
            try:
                from flows.deployments import close_client

                await close_client()
            except Exception:  # Prefect never used in this process: nothing to close
                pass

    return lifespan
