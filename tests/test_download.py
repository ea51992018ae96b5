"""Official downloads retry what may pass (connection errors, timeouts, 408, 429, 5xx) with
an exponential backoff and a bounded number of attempts, against a real HTTP server on
127.0.0.1 that fails on cue; a 404 fails at once. Each failure names the URL."""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import WATCHLISTS

from data.sources import SOURCES, FetchError, RetryPolicy, download
from data.store import SnapshotStore

UN_XML = WATCHLISTS / "un" / "consolidated.xml"

# What the server does instead of answering, once per request, until the plan runs out.
DROP = "drop"  # close the connection without a word (a reset, a dying proxy)
SLOW = "slow"  # answer after SLOW_S seconds, past the client's timeout
SLOW_S = 1.5


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class _FlakyHandler(SimpleHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        plan = self.server.plans.get(self.path)
        step = plan.pop(0) if plan else None
        if step == DROP:
            self.close_connection = True
            return
        if step == SLOW:
            time.sleep(SLOW_S)
        elif isinstance(step, Failure):
            self.send_response(step.status)
            for name, value in step.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class FlakyServer(ThreadingHTTPServer):
    """Serves ../shared's list files; a path with a plan fails as planned first."""

    daemon_threads = True

    def __init__(self) -> None:
        handler = functools.partial(_FlakyHandler, directory=str(WATCHLISTS))
        super().__init__(("127.0.0.1", 0), handler)
        self.plans: dict[str, list[object]] = {}
        self.hits: Counter[str] = Counter()

    def url(self, case: str, steps: list[object], path: str = "/un/consolidated.xml") -> str:
        """The URL of a file that fails with ``steps`` (one per request) before it serves."""
        target = f"{path}?case={case}"
        self.plans[target] = list(steps)
        return f"http://127.0.0.1:{self.server_address[1]}{target}"

    def requests(self, url: str) -> int:
        return self.hits[url.split(str(self.server_address[1]), 1)[1]]


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    running = FlakyServer()
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


FAST = RetryPolicy(attempts=3, backoff_s=0.2, backoff_max_s=1.0, retry_after_max_s=5.0)


def timed_download(url: str, path: Path, policy: RetryPolicy, timeout: float = 10) -> float:
    started = time.monotonic()
    download(url, path, timeout=timeout, retry=policy)
    return time.monotonic() - started


def test_two_failures_then_the_file(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("flaky", [Failure(503), DROP])
    elapsed = timed_download(url, tmp_path / "un.xml", FAST)
    assert (tmp_path / "un.xml").read_bytes() == UN_XML.read_bytes()
    assert server.requests(url) == 3
    assert elapsed >= 0.2 + 0.4, "waited 0.2 s, then twice that, before the retries"


def test_a_timeout_is_retried(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("slow-once", [SLOW])
    timed_download(url, tmp_path / "un.xml", FAST, timeout=0.5)
    assert (tmp_path / "un.xml").read_bytes() == UN_XML.read_bytes()
    assert server.requests(url) == 2


def test_always_failing_gives_up_after_the_attempts(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("down", [Failure(502)] * 10)
    started = time.monotonic()
    with pytest.raises(FetchError) as failure:
        download(url, tmp_path / "x", timeout=10, retry=FAST)
    elapsed = time.monotonic() - started
    assert str(failure.value) == f"{url}: HTTP 502 (3 attempts)"
    assert server.requests(url) == 3
    assert 0.6 <= elapsed < 5, "two backoffs (0.2 + 0.4 s), no more"


def test_the_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=6, backoff_s=5, backoff_max_s=30, retry_after_max_s=60)
    assert [policy.wait_s(retry, None) for retry in range(1, 6)] == [5, 10, 20, 30, 30]


def test_a_refused_connection_is_retried_and_named(tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there
    url = f"http://127.0.0.1:{port}/un/consolidated.xml"
    started = time.monotonic()
    with pytest.raises(FetchError, match=rf"^{url}: .*\(3 attempts\)$"):
        download(url, tmp_path / "x", timeout=10, retry=FAST)
    assert time.monotonic() - started >= 0.6


def test_a_404_fails_at_once(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("missing", [], path="/un/missing.xml")
    started = time.monotonic()
    with pytest.raises(FetchError) as failure:
        download(url, tmp_path / "x", timeout=10, retry=FAST)
    assert str(failure.value) == f"{url}: HTTP 404"
    assert server.requests(url) == 1
    assert time.monotonic() - started < 0.2, "no backoff before a permanent failure"


def test_retry_after_is_honoured(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("rate-limited", [Failure(429, {"Retry-After": "1"})])
    elapsed = timed_download(url, tmp_path / "un.xml", FAST)
    assert server.requests(url) == 2
    assert elapsed >= 1.0, "the server's 1 s, not the 0.2 s backoff"


def test_retry_after_beyond_the_limit_fails_at_once(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("closed-for-an-hour", [Failure(503, {"Retry-After": "3600"})])
    started = time.monotonic()
    with pytest.raises(FetchError) as failure:
        download(url, tmp_path / "x", timeout=10, retry=FAST)
    assert str(failure.value) == (
        f"{url}: HTTP 503; the server asks to retry in 3600 s, longer than the 5 s a download waits"
    )
    assert server.requests(url) == 1
    assert time.monotonic() - started < 1


def test_one_attempt_by_default(server: FlakyServer, tmp_path: Path) -> None:
    url = server.url("no-policy", [Failure(503)])
    with pytest.raises(FetchError) as failure:
        download(url, tmp_path / "x", timeout=10)
    assert str(failure.value) == f"{url}: HTTP 503"
    assert server.requests(url) == 1


def test_a_refresh_survives_a_flaky_publisher(
    server: FlakyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole download path: SnapshotStore.refresh passes its policy to each file."""
    url = server.url("publisher", [Failure(500), Failure(503, {"Retry-After": "0"})])
    monkeypatch.setitem(SOURCES["un"].FILES, "consolidated.xml", url)
    store = SnapshotStore(tmp_path / "store")
    report = store.refresh(["un"], timeout=10, retry=FAST)
    assert report.status == "created" and report.lists == {"un": 1003}
    assert server.requests(url) == 3
