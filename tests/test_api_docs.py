"""The interactive API docs work offline: every page under /schema references only URLs of
this app (no CDN), and each of those answers 200, without a token, with the right content
type and the real file (a bundle that defines the UI, not an error page). Where the
machine has Chromium (Debian's package), each page is also rendered headless against the
app over HTTP, on a machine that reaches no CDN: the UI must have drawn the operations."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar.testing import TestClient

from api import create_app
from api.config import ApiConfig

DOC_PAGES = ["/schema", "/schema/redoc", "/schema/swagger", "/schema/elements"]

# What each page's main script must define: proof it is the UI's bundle, not a stub.
UI_BUNDLES = {
    "/schema": ("redoc.standalone.js", b"Redoc"),
    "/schema/redoc": ("redoc.standalone.js", b"Redoc"),
    "/schema/swagger": ("swagger-ui-bundle.js", b"SwaggerUIBundle"),
    "/schema/elements": ("web-components.min.js", b"elements-api"),
}

# What only the UI's own script writes into the page: proof that it ran.
RENDERED_MARKERS = {
    "/schema": 'data-section-id="operation/CreateJob"',
    "/schema/swagger": 'data-path="/kyc/jobs/{job_id}/results"',
    "/schema/elements": 'class="sl-elements-api',
}

CHROMIUM = shutil.which("chromium")

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".json": ("application/json", "application/vnd.oai.openapi+json"),
}

CDN_HOSTS = ["jsdelivr", "unpkg", "redoc.ly", "googleapis", "cdnjs", "gstatic"]


class ReferencedUrls(HTMLParser):
    """Every URL a page makes the browser load: src and href, and the spec URL the
    Elements tag fetches (apiDescriptionUrl)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name in ("src", "href") or name.endswith("url")):
                self.urls.append(value)


def referenced_urls(html: str) -> list[str]:
    parser = ReferencedUrls()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ApiConfig:
    home: Path = tmp_path_factory.mktemp("docs")
    return ApiConfig(
        job_store_uri=str(home / "jobs"),
        snapshot_dir=home / "snapshots",
        api_keys_file=home / "api_keys.json",
    )


@pytest.fixture(scope="module")
def client(config: ApiConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def served(config: ApiConfig) -> Iterator[str]:
    """The app over real HTTP on 127.0.0.1 (uvicorn in a thread), for the browser."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.1)
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    yield base
    server.should_exit = True
    thread.join(30)


@pytest.mark.parametrize("page", DOC_PAGES)
def test_docs_page_loads_only_same_origin_assets(client: TestClient, page: str) -> None:
    response = client.get(page)  # no token: the docs are open
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced_urls(response.text)
    remote = [url for url in urls if not url.startswith("data:") and not _same_origin(url)]
    assert remote == [], f"{page} loads from elsewhere"
    for host in CDN_HOSTS:
        assert host not in response.text, f"{page} mentions {host}"

    bundle_name, marker = UI_BUNDLES[page]
    assets = [url for url in urls if _same_origin(url)]
    bundles = [url for url in assets if url.endswith(bundle_name)]
    assert len(bundles) == 1, f"{page} should load its UI bundle {bundle_name}: {assets}"
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        expected = CONTENT_TYPES[Path(url.split("?")[0]).suffix]
        assert asset.headers["content-type"].startswith(expected), url
        assert len(asset.content) > 1000, f"{url} is not a real bundle"
    assert marker in client.get(bundles[0]).content


def test_docs_assets_are_cached_and_a_missing_one_is_404(client: TestClient) -> None:
    asset = client.get("/schema/assets/swagger-ui/swagger-ui.css")
    assert asset.status_code == 200
    assert "max-age=86400" in asset.headers["cache-control"]
    assert client.get("/schema/assets/swagger-ui/no-such-file.js").status_code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
@pytest.mark.parametrize("page", sorted(RENDERED_MARKERS))
def test_docs_page_renders_in_a_browser(served: str, page: str) -> None:
    command = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu"]
    command += ["--virtual-time-budget=15000", "--dump-dom", f"{served}{page}"]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    assert RENDERED_MARKERS[page] in dom, f"{page} did not render:\n{dom[:2000]}"


def _same_origin(url: str) -> bool:
    """A path on this host: '/x', not '//host/x' or 'https://host/x'."""
    return url.startswith("/") and not url.startswith("//")
