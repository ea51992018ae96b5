"""Webhook events out: flows record them (``notify``), a dispatcher delivers them.

Recording an event writes its deliveries to the outbox (data/webhooks.py) and returns: a
job's completion never waits for a receiver. The dispatcher is a background task of the API
process (started by its lifespan, like the run submitter): every KYC_WEBHOOK_POLL_S it
takes the pending deliveries whose backoff has passed, POSTs each signed body, and logs
the attempt; a 2xx answer delivers it, anything else (an error status, a timeout, no
connection) is retried later with a doubling backoff, up to KYC_WEBHOOK_MAX_ATTEMPTS. Only
what failed is tried again. Pending deliveries survive any restart: they are files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

import httpx
import polars as pl

from data.book import RESCREEN_ORIGIN
from data.jobs import JobMeta, JobProgress, JobStore, utc_now
from data.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Attempt,
    Delivery,
    DeliveryStore,
    RetryPolicy,
    WebhookConfig,
    signature,
)
from kyc import settings

logger = logging.getLogger("kyc.webhooks")

# Deliveries sent at once by one dispatcher (a slow receiver must not hold up the others).
CONCURRENT_SENDS = 8


def notify(tenant: str, event: str, about: str, payload: dict, store_uri: str | None = None) -> int:
    """Record an event for the tenant's subscribed endpoints; how many deliveries it made."""
    store = DeliveryStore(store_uri or settings.JOB_STORE_URI)
    config = WebhookConfig(settings.WEBHOOKS_FILE)
    return len(store.enqueue(config, tenant, event, about, payload))


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        settings.WEBHOOK_BACKOFF_S, settings.WEBHOOK_BACKOFF_MAX_S, settings.WEBHOOK_MAX_ATTEMPTS
    )


class WebhookDispatcher:
    """Delivers the outbox, on the event loop that starts it."""

    def __init__(
        self,
        store: DeliveryStore,
        config: WebhookConfig,
        policy: RetryPolicy,
        poll_s: float = 2.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.config = config
        self.policy = policy
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._serve(), name="kyc-webhook-dispatcher")

    async def stop(self) -> None:
        """Stop polling; a send in flight is abandoned (it is tried again after a restart)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _serve(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while not self._stopping.is_set():
                try:
                    await self.deliver_due(client)
                except Exception:  # the store briefly unreachable: try at the next poll
                    logger.warning("webhook dispatch pass failed", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_s)

    async def deliver_due(self, client: httpx.AsyncClient) -> list[Attempt]:
        """One pass: try every pending delivery whose backoff has passed; the attempts."""
        pending = await asyncio.to_thread(self.store.pending)
        now = time.time()
        due = [
            (tenant, delivery_id)
            for tenant, delivery_id in pending
            if await asyncio.to_thread(self.store.due, tenant, delivery_id, self.policy, now)
        ]
        limit = asyncio.Semaphore(CONCURRENT_SENDS)

        async def one(tenant: str, delivery_id: str) -> Attempt | None:
            async with limit:
                return await self._deliver(client, tenant, delivery_id)

        done = await asyncio.gather(*(one(tenant, delivery_id) for tenant, delivery_id in due))
        return [attempt for attempt in done if attempt is not None]

    async def _deliver(
        self, client: httpx.AsyncClient, tenant: str, delivery_id: str
    ) -> Attempt | None:
        lease_s = self.timeout_s * 3
        if not await asyncio.to_thread(self.store.take_lease, delivery_id, self.owner, lease_s):
            return None  # another dispatcher is sending it
        try:
            delivery = await asyncio.to_thread(self.store.delivery, tenant, delivery_id)
            if delivery is None:
                return None
            number = len(await asyncio.to_thread(self.store.attempts, tenant, delivery_id)) + 1
            attempt = await self._send(client, delivery, number)
            await asyncio.to_thread(self.store.record_attempt, delivery, attempt)
            log = logger.info if attempt.outcome == "delivered" else logger.warning
            log(
                "webhook %s (%s) to %s: attempt %d %s (%s)",
                delivery.delivery_id,
                delivery.event,
                delivery.url,
                number,
                attempt.outcome,
                attempt.status_code or attempt.error,
            )
            return attempt
        finally:
            await asyncio.to_thread(self.store.release_lease, delivery_id)

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery, number: int) -> Attempt:
        """POST the delivery's body, signed now; the attempt as the log records it."""
        endpoint = next(
            (
                e
                for e in self.config.endpoints(delivery.tenant)
                if e.webhook_id == delivery.webhook_id
            ),
            None,
        )
        secret = self.config.secret(delivery.tenant)
        started, at = time.time(), utc_now()
        status_code, error = None, None
        if endpoint is None or secret is None:
            error = "the endpoint was removed"
        else:
            body = delivery.body.encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "kyc-screening-webhooks/1",
                SIGNATURE_HEADER: signature(secret, int(time.time()), body),
                DELIVERY_HEADER: delivery.delivery_id,
                EVENT_HEADER: delivery.event,
            }
            try:
                response = await client.post(endpoint.url, content=body, headers=headers)
                status_code = response.status_code
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"[:500]
        delivered = status_code is not None and 200 <= status_code < 300
        if delivered:
            outcome = "delivered"
        elif endpoint is None or number >= self.policy.max_attempts:
            outcome = "failed"
        else:
            outcome = "retry"
        return Attempt(
            attempt=number,
            at=at,
            at_unix=started,
            status_code=status_code,
            error=error,
            duration_ms=round((time.time() - started) * 1000, 1),
            outcome=outcome,
        )


def dispatcher_from_settings() -> WebhookDispatcher:
    return WebhookDispatcher(
        DeliveryStore(settings.JOB_STORE_URI),
        WebhookConfig(settings.WEBHOOKS_FILE),
        retry_policy(),
        settings.WEBHOOK_POLL_S,
        settings.WEBHOOK_TIMEOUT_S,
    )


# --- the events of jobs ---------------------------------------------------------------------


def job_payload(meta: JobMeta, progress: JobProgress, status: str) -> dict:
    """A job's summary as its webhook events carry it (the fields of GET /kyc/jobs/{id})."""
    job = {
        "job_id": meta.job_id,
        "job_status": status,
        "origin": meta.origin,
        "total_entities": meta.total_entities,
        "processed_entities": progress.processed,
        "failed_entities": progress.failed,
        "matches_found": progress.matches_found,
        "suppressed_matches": progress.suppressed,
        "watchlist_version": meta.watchlist_version,
        "error": meta.error if status == "failed" else None,
    }
    if meta.origin == RESCREEN_ORIGIN:
        job |= {
            "from_version": meta.from_version,
            "to_version": meta.watchlist_version,
            "resolved": progress.resolved,
        }
    return {"occurred_at": utc_now(), "job": job}


def alerts_of(store: JobStore, job_id: str, limit: int) -> tuple[list[dict], bool]:
    """A rescreen's new alerts, at most ``limit`` (and whether there were more): one per
    (entity, list entry), with why it is new."""
    alerts: list[pl.DataFrame] = []
    taken = 0
    for chunk in store.iter_results(job_id):
        rows = (
            chunk.filter(pl.col("is_match").fill_null(False))
            .select("entity_id", "matches")
            .explode("matches")
            .select(
                "entity_id",
                pl.col("matches").struct.field("entity_id").alias("match_entity_id"),
                pl.col("matches").struct.field("list_name"),
                pl.col("matches").struct.field("confidence_score"),
                pl.col("matches").struct.field("matched_name"),
                *_change_fields(chunk),
            )
        )
        alerts.append(rows.head(limit + 1 - taken))
        taken += alerts[-1].height
        if taken > limit:
            break
    frame = pl.concat(alerts, how="diagonal_relaxed") if alerts else pl.DataFrame()
    return frame.head(limit).to_dicts(), taken > limit


def _change_fields(chunk: pl.DataFrame) -> list[pl.Expr]:
    fields = chunk.schema["matches"].inner.to_schema()  # type: ignore[union-attr]
    return [pl.col("matches").struct.field(f) for f in ("change", "changed_parts") if f in fields]


def record_job_events(store: JobStore, job_id: str, status: str) -> int:
    """Record a finished job's webhook events: job.completed or job.failed, and for a
    rescreen that found new alerts, rescreen.alerts. How many deliveries they made."""
    meta = store.get_job(job_id)
    if meta is None:
        return 0
    progress = store.progress(job_id)
    payload = job_payload(meta, progress, status)
    made = notify(meta.tenant, f"job.{status}", job_id, payload, store.uri)
    if status == "completed" and meta.origin == RESCREEN_ORIGIN and progress.matches_found:
        alerts, truncated = alerts_of(store, job_id, settings.WEBHOOK_MAX_ALERTS)
        extra = {"alerts": alerts, "alerts_truncated": truncated}
        made += notify(meta.tenant, "rescreen.alerts", job_id, payload | extra, store.uri)
    return made
