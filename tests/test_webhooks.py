"""Webhooks against a real HTTP receiver on localhost: signatures, retries of what failed,
one accepted delivery per event, the outbox surviving a restart, the operator command."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from data.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    DeliveryStore,
    RetryPolicy,
    WebhookConfig,
    signature,
    verify_signature,
)
from flows.webhooks import WebhookDispatcher
from kyc import settings

FAST = RetryPolicy(backoff_s=0.05, backoff_max_s=0.2, max_attempts=4)


@dataclass
class Receiver:
    """An HTTP receiver that answers ``failures`` 500s first, then 200; it keeps every
    request and, like a real receiver, accepts each delivery id once."""

    url: str
    failures: int
    requests: list[dict] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": body})
            failing = len(state.requests) <= state.failures
            if not failing and self.headers[DELIVERY_HEADER] not in state.accepted:
                state.accepted.append(self.headers[DELIVERY_HEADER])
            self.send_response(500 if failing else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _dispatch_until_idle(store: DeliveryStore, config: WebhookConfig, rounds: int = 40) -> int:
    """Dispatch passes (a fresh dispatcher each time, as after restarts) until nothing is
    pending; the number of attempts made."""

    async def passes() -> int:
        made = 0
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(rounds):
                made += len(await WebhookDispatcher(store, config, FAST).deliver_due(client))
                if not store.pending():
                    return made
                await asyncio.sleep(0.05)
        return made

    return asyncio.run(passes())


def test_a_receiver_failing_twice_gets_the_alert_once(tmp_path: Path, receiver: Receiver) -> None:
    config = WebhookConfig(tmp_path / "webhooks.json")
    _, secret = config.add("acme", receiver.url)
    store = DeliveryStore(str(tmp_path / "jobs"))
    payload = {"job": {"job_id": "job-1", "job_status": "completed", "matches_found": 2}}
    made = store.enqueue(config, "acme", "job.completed", "job-1", payload)
    again = store.enqueue(config, "acme", "job.completed", "job-1", payload)
    assert len(made) == 1 and again == [], "the same event twice is one delivery"
    assert receiver.requests == [], "recording an event sends nothing"

    assert _dispatch_until_idle(store, config) == 3
    assert len(receiver.requests) == 3, "only the failed tries are repeated"
    assert receiver.accepted == [made[0].delivery_id], "accepted exactly once"
    ids = {request["headers"][DELIVERY_HEADER] for request in receiver.requests}
    assert ids == {made[0].delivery_id}, "every try carries the id to deduplicate on"
    bodies = {request["body"] for request in receiver.requests}
    assert len(bodies) == 1, "the body is fixed when the event is recorded"
    body = json.loads(next(iter(bodies)))
    assert body["event"] == "job.completed" and body["job"]["job_id"] == "job-1"
    assert body["delivery_id"] == made[0].delivery_id and body["tenant"] == "acme"
    for request in receiver.requests:
        assert verify_signature(secret, request["headers"][SIGNATURE_HEADER], request["body"])

    outcomes = [a.outcome for a in store.attempts("acme", made[0].delivery_id)]
    assert outcomes == ["retry", "retry", "delivered"]
    assert [a.status_code for a in store.attempts("acme", made[0].delivery_id)] == [500, 500, 200]
    assert store.pending() == []
    assert _dispatch_until_idle(store, config) == 0 and len(receiver.requests) == 3


def test_a_wrong_signature_is_detectable(tmp_path: Path) -> None:
    body = b'{"event":"job.completed"}'
    now = int(time.time())
    header = signature("whsec_right", now, body)
    assert verify_signature("whsec_right", header, body)
    assert not verify_signature("whsec_wrong", header, body), "another secret"
    assert not verify_signature("whsec_right", header, body + b" "), "a changed body"
    old = signature("whsec_right", now - 3600, body)
    assert not verify_signature("whsec_right", old, body), "a replayed old delivery"
    assert not verify_signature("whsec_right", "t=abc,v1=00", body)
    assert not verify_signature("whsec_right", "", body)


def test_the_outbox_survives_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    """Deliveries recorded while no dispatcher runs (the service down, the receiver down)
    are sent by the next one; a failed try is remembered across the restart."""
    receiver.failures = 1
    config = WebhookConfig(tmp_path / "webhooks.json")
    config.add("acme", receiver.url)
    DeliveryStore(str(tmp_path / "jobs")).enqueue(config, "acme", "job.failed", "job-9", {})

    async def one_pass() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            dispatcher = WebhookDispatcher(DeliveryStore(str(tmp_path / "jobs")), config, FAST)
            await dispatcher.deliver_due(client)

    asyncio.run(one_pass())  # the first try fails; then the "service" stops
    reopened = DeliveryStore(str(tmp_path / "jobs"))  # a new process
    (tenant, delivery_id), *_ = reopened.pending()
    assert tenant == "acme" and len(reopened.attempts(tenant, delivery_id)) == 1
    time.sleep(0.1)
    assert _dispatch_until_idle(reopened, config) == 1
    assert [a.attempt for a in reopened.attempts("acme", delivery_id)] == [1, 2]
    assert receiver.accepted == [delivery_id]


def test_a_receiver_that_never_answers_ends_failed(tmp_path: Path) -> None:
    config = WebhookConfig(tmp_path / "webhooks.json")
    config.add("acme", "http://127.0.0.1:9/unreachable")  # the discard port: refused
    store = DeliveryStore(str(tmp_path / "jobs"))
    (made,) = store.enqueue(config, "acme", "job.completed", "job-1", {})
    assert _dispatch_until_idle(store, config) == FAST.max_attempts
    attempts = store.attempts("acme", made.delivery_id)
    assert [a.outcome for a in attempts] == ["retry"] * (FAST.max_attempts - 1) + ["failed"]
    assert all(a.status_code is None and a.error for a in attempts)
    assert store.pending() == [], "a finally failed delivery leaves the outbox; the log keeps it"


def test_events_go_to_their_tenant_and_subscribers_only(tmp_path: Path) -> None:
    config = WebhookConfig(tmp_path / "webhooks.json")
    config.add("acme", "https://acme.example/all")
    config.add("acme", "https://acme.example/alerts", ["rescreen.alerts"])
    config.add("globex", "https://globex.example/all")
    store = DeliveryStore(str(tmp_path / "jobs"))
    made = store.enqueue(config, "acme", "job.completed", "job-1", {})
    assert [d.url for d in made] == ["https://acme.example/all"]
    alerts = store.enqueue(config, "acme", "rescreen.alerts", "job-2", {})
    assert sorted(d.url for d in alerts) == [
        "https://acme.example/alerts",
        "https://acme.example/all",
    ]
    assert store.enqueue(config, "initech", "job.completed", "job-3", {}) == []
    with pytest.raises(ValueError, match="unknown event"):
        config.add("acme", "https://acme.example/x", ["job.exploded"])
    with pytest.raises(ValueError, match="not an http"):
        config.add("acme", "ftp://acme.example/x")


def test_the_operator_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    from cli.main import app

    receiver.failures = 0
    monkeypatch.setattr(settings, "WEBHOOKS_FILE", tmp_path / "webhooks.json")
    monkeypatch.setattr(settings, "JOB_STORE_URI", str(tmp_path / "jobs"))
    cli = CliRunner()
    added = cli.invoke(
        app, ["webhooks", "add", "--tenant", "acme", "--url", receiver.url, "--events", "ping"]
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[0]
    assert secret.startswith("whsec_")
    assert (tmp_path / "webhooks.json").stat().st_mode & 0o077 == 0, "owner-only file"
    listed = cli.invoke(app, ["webhooks", "list"])
    assert receiver.url in listed.stdout and secret not in listed.stdout
    webhook_id = next(word for word in listed.stdout.split() if word.startswith("wh_"))

    assert cli.invoke(app, ["webhooks", "test", "--tenant", "acme"]).exit_code == 0
    delivered = cli.invoke(app, ["webhooks", "deliver"])
    assert delivered.exit_code == 0 and "1 attempts" in delivered.stdout
    assert verify_signature(
        secret, receiver.requests[0]["headers"][SIGNATURE_HEADER], receiver.requests[0]["body"]
    )
    log = cli.invoke(app, ["webhooks", "deliveries", "--tenant", "acme"])
    assert "ping" in log.stdout and "delivered" in log.stdout

    rotated = cli.invoke(app, ["webhooks", "rotate-secret", "--tenant", "acme"])
    assert rotated.exit_code == 0 and rotated.stdout.strip() != secret
    assert cli.invoke(app, ["webhooks", "remove", webhook_id]).exit_code == 0
    assert cli.invoke(app, ["webhooks", "remove", webhook_id]).exit_code == 1
    assert cli.invoke(app, ["webhooks", "test", "--tenant", "acme"]).exit_code == 1
    bad = cli.invoke(app, ["webhooks", "add", "--tenant", "acme", "--url", "not a url"])
    assert bad.exit_code == 1 and "not an http" in bad.output
