"""Webhooks: per-tenant endpoints and secrets, signed payloads, and a durable delivery outbox.

Configuration (an operator's, `kyc webhooks`): one JSON file (KYC_WEBHOOKS_FILE), written
atomically and readable by its owner only, holding per tenant a signing secret and the URLs
that receive its events. Unlike API keys the secret is kept in clear: it signs every POST.

Deliveries live beside the job store (pyarrow.fs, so ``s3://`` too)::

    webhooks/<tenant>/deliveries/<delivery_id>.json       what to send (written once)
    webhooks/<tenant>/attempts/<delivery_id>/<n>.json      the delivery log, one file per try
    webhooks/pending/<tenant>+<delivery_id>                still to deliver (what is scanned)
    webhooks/leases/<delivery_id>                          a dispatcher is sending it now

An event (a job ended, a rescreen found new alerts) becomes one delivery per subscribed
endpoint, written before anything is sent: a restart loses nothing, the dispatcher finds the
pending markers again. A delivery's id is derived from what it is about (the tenant, the
endpoint, the event, the job), so recording the same event twice (a retried task) makes the
same delivery once, and a receiver deduplicates on the ``X-KYC-Delivery`` header. The body
is fixed when the delivery is made; each attempt signs it anew with the time of sending:

    X-KYC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pyarrow.fs as pafs

from data.api_keys import write_private_json
from data.jobs import files_in, open_root, read_json, utc_now, write_atomically

EVENTS = ("job.completed", "job.failed", "rescreen.alerts", "ping")

SIGNATURE_HEADER = "X-KYC-Signature"
DELIVERY_HEADER = "X-KYC-Delivery"
EVENT_HEADER = "X-KYC-Event"


# --- signatures ---------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-KYC-Signature value of a body sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """What a receiver checks: the HMAC over "<t>.<body>" matches, and t is recent (a
    replayed old delivery is refused). Compared in constant time."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    webhook_id: str
    tenant: str
    url: str
    events: list[str]
    created_at: str = field(default_factory=utc_now)


def check_url(url: str) -> str:
    """An endpoint URL: http(s) with a host, or ValueError saying what is wrong."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.strip()


class WebhookConfig:
    """Endpoints and secrets in one JSON file (re-read on every call: the CLI changes it
    under a running service)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def add(self, tenant: str, url: str, events: list[str] | None = None) -> tuple[Endpoint, str]:
        """A new endpoint for the tenant; (it, the tenant's secret). The tenant gets a
        secret with its first endpoint."""
        tenant = tenant.strip()
        if not tenant:
            raise ValueError("a tenant is required")
        wanted = list(events or [e for e in EVENTS if e != "ping"])
        unknown = sorted(set(wanted) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)}; known: {', '.join(EVENTS)}")
        endpoint = Endpoint("wh_" + secrets.token_hex(6), tenant, check_url(url), wanted)
        with self._lock:
            data = self._read()
            entry = data.setdefault(tenant, {"secret": _new_secret(), "endpoints": []})
            entry["endpoints"].append(asdict(endpoint))
            self._write(data)
        return endpoint, entry["secret"]

    def remove(self, webhook_id: str) -> bool:
        with self._lock:
            data = self._read()
            found = False
            for entry in data.values():
                kept = [e for e in entry["endpoints"] if e["webhook_id"] != webhook_id]
                found |= len(kept) < len(entry["endpoints"])
                entry["endpoints"] = kept
            if found:
                self._write(data)
            return found

    def rotate_secret(self, tenant: str) -> str | None:
        """A new secret for the tenant (None if it has no webhooks); the old one stops."""
        with self._lock:
            data = self._read()
            if tenant not in data:
                return None
            data[tenant]["secret"] = _new_secret()
            self._write(data)
            return data[tenant]["secret"]

    def secret(self, tenant: str) -> str | None:
        entry = self._read().get(tenant)
        return entry["secret"] if entry else None

    def endpoints(self, tenant: str | None = None) -> list[Endpoint]:
        data = self._read()
        tenants = [tenant] if tenant is not None else sorted(data)
        return [
            Endpoint(**endpoint)
            for name in tenants
            for endpoint in data.get(name, {}).get("endpoints", [])
        ]

    def subscribed(self, tenant: str, event: str) -> list[Endpoint]:
        return [e for e in self.endpoints(tenant) if event in e.events]

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("tenants", {})
        except FileNotFoundError:
            return {}

    def _write(self, tenants: dict) -> None:
        write_private_json(self.path, {"tenants": tenants})


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- deliveries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One POST to make: to one endpoint, of one event, with a body fixed at creation."""

    delivery_id: str
    tenant: str
    webhook_id: str
    url: str
    event: str
    body: str
    created_at: str


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery, as the delivery log keeps it."""

    attempt: int
    at: str
    at_unix: float
    status_code: int | None  # the receiver's answer; None when none came
    error: str | None
    duration_ms: float
    outcome: str  # delivered, retry, failed


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again (kyc/settings.py WEBHOOK_*)."""

    backoff_s: float = 10.0
    backoff_max_s: float = 3600.0
    max_attempts: int = 12

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): doubling."""
        return min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s)


class DeliveryStore:
    """The outbox and the delivery log under one root URI (the job store's)."""

    def __init__(self, uri: str) -> None:
        self.uri, self.fs, root = open_root(uri)
        self.root = f"{root}/webhooks"

    # --- making deliveries ---------------------------------------------------------------

    def enqueue(
        self, config: WebhookConfig, tenant: str, event: str, about: str, payload: dict
    ) -> list[Delivery]:
        """One delivery per endpoint of the tenant subscribed to ``event``; ``about`` names
        what the event is about (a job id) and makes the delivery's id. Recording an event
        that was recorded already adds nothing."""
        made = []
        for endpoint in config.subscribed(tenant, event):
            delivery_id = delivery_id_for(tenant, endpoint.webhook_id, event, about)
            path = self._delivery_path(tenant, delivery_id)
            if self._exists(path):
                continue
            body = json.dumps(
                {"event": event, "delivery_id": delivery_id, "tenant": tenant, **payload},
                separators=(",", ":"),
                sort_keys=True,
            )
            delivery = Delivery(
                delivery_id, tenant, endpoint.webhook_id, endpoint.url, event, body, utc_now()
            )
            write_atomically(self.fs, path, json.dumps(asdict(delivery)).encode())
            write_atomically(self.fs, self._pending_path(tenant, delivery_id), b"")
            made.append(delivery)
        return made

    # --- the dispatcher's side -----------------------------------------------------------

    def pending(self) -> list[tuple[str, str]]:
        """(tenant, delivery_id) of every delivery still to make, oldest first by id order."""
        marks = files_in(self.fs, f"{self.root}/pending")
        # The tenant is quoted (a "+" in it is "%2B"), so the first "+" separates.
        return [(unquote(m.split("+", 1)[0]), m.split("+", 1)[1]) for m in marks if "+" in m]

    def delivery(self, tenant: str, delivery_id: str) -> Delivery | None:
        data = self._read_json(self._delivery_path(tenant, delivery_id))
        return Delivery(**data) if data else None

    def attempts(self, tenant: str, delivery_id: str) -> list[Attempt]:
        directory = f"{self._tenant_dir(tenant)}/attempts/{delivery_id}"
        found = [self._read_json(f"{directory}/{name}") for name in files_in(self.fs, directory)]
        return [Attempt(**data) for data in found if data]

    def due(self, tenant: str, delivery_id: str, policy: RetryPolicy, now: float) -> bool:
        """Whether a pending delivery should be tried now (its backoff has passed)."""
        tried = self.attempts(tenant, delivery_id)
        if not tried:
            return True
        last = tried[-1]
        return now >= last.at_unix + policy.delay_after(last.attempt)

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        """Log a try; a delivered or finally failed delivery leaves the outbox."""
        directory = f"{self._tenant_dir(delivery.tenant)}/attempts/{delivery.delivery_id}"
        write_atomically(
            self.fs, f"{directory}/{attempt.attempt:04d}.json", json.dumps(asdict(attempt)).encode()
        )
        if attempt.outcome in ("delivered", "failed"):
            self._delete(self._pending_path(delivery.tenant, delivery.delivery_id))

    def take_lease(self, delivery_id: str, owner: str, seconds: float) -> bool:
        """Claim a delivery for ``seconds`` (one sender at a time across processes, best
        effort: object stores have no atomic create; receivers deduplicate on the id)."""
        path = f"{self.root}/leases/{delivery_id}"
        held = self._read_json(path)
        now = time.time()
        if held and held["owner"] != owner and held["until"] > now:
            return False
        write_atomically(
            self.fs, path, json.dumps({"owner": owner, "until": now + seconds}).encode()
        )
        return (self._read_json(path) or {}).get("owner") == owner

    def release_lease(self, delivery_id: str) -> None:
        self._delete(f"{self.root}/leases/{delivery_id}")

    # --- the delivery log, for operators -------------------------------------------------

    def log(self, tenant: str, limit: int = 50) -> list[tuple[Delivery, list[Attempt]]]:
        """The tenant's latest deliveries (newest first) with their attempts."""
        names = files_in(self.fs, f"{self._tenant_dir(tenant)}/deliveries")
        found = [self.delivery(tenant, name.removesuffix(".json")) for name in names]
        latest = sorted((d for d in found if d), key=lambda d: d.created_at, reverse=True)
        return [(d, self.attempts(tenant, d.delivery_id)) for d in latest[:limit]]

    # --- files ---------------------------------------------------------------------------

    def _tenant_dir(self, tenant: str) -> str:
        return f"{self.root}/{quote(tenant, safe='')}"

    def _delivery_path(self, tenant: str, delivery_id: str) -> str:
        return f"{self._tenant_dir(tenant)}/deliveries/{delivery_id}.json"

    def _pending_path(self, tenant: str, delivery_id: str) -> str:
        return f"{self.root}/pending/{quote(tenant, safe='')}+{delivery_id}"

    def _exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def _delete(self, path: str) -> None:
        if self._exists(path):
            self.fs.delete_file(path)

    def _read_json(self, path: str) -> dict | None:
        return read_json(self.fs, path)


def delivery_id_for(tenant: str, webhook_id: str, event: str, about: str) -> str:
    digest = hashlib.sha256(f"{tenant}\0{webhook_id}\0{event}\0{about}".encode()).hexdigest()
    return f"dlv_{digest[:24]}"
