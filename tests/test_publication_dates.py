"""Publication dates: each list's own date, read by its parser or given by its publisher's
server, stored in the snapshot beside the refresh time, shown by `kyc lists show` and
GET /kyc/watchlists. A local file's modification time is never taken for one."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import WATCHLISTS
from typer.testing import CliRunner

from cli.main import app
from data.sources import SOURCES
from data.store import SnapshotStore, publication_text
from kyc import settings

# What each real list in ../shared/data/watchlists states of itself.
STATED = {"un": "2026-02-27", "uk": "2025-04-14"}
# Lists whose files state no date: offline, none is shown, with the newest listing instead.
UNSTATED = {"ofac": None, "ofac_cons": None, "us_csl": "2022-04-21"}


def test_every_shared_list_has_its_publication_date_or_says_it_has_none(snapshot_store):
    stats = {row["list_code"]: row for row in snapshot_store.list_stats().iter_rows(named=True)}
    assert set(stats) == set(STATED) | set(UNSTATED)
    for code, date in STATED.items():
        assert stats[code]["publication_date"] == date, code
        assert stats[code]["publication_date_from"] == "list"
    for code, newest in UNSTATED.items():
        assert stats[code]["publication_date"] is None, code
        assert stats[code]["publication_date_from"] is None
        assert stats[code]["latest_listed_on"] == newest
    for row in stats.values():  # the refresh time is always beside it
        assert datetime.fromisoformat(row["fetched_at"]).tzinfo is not None
    assert publication_text(stats["un"]) == "2026-02-27 (stated in the list)"
    assert publication_text(stats["us_csl"]) == "not stated by the list; newest listing 2022-04-21"
    assert publication_text(stats["ofac"]) == "not stated by the list"


class _Handler(SimpleHTTPRequestHandler):
    """Serves ../shared/data/watchlists; /bare/... answers without a Last-Modified header."""

    def send_header(self, keyword: str, value: str) -> None:
        if not (self.path.startswith("/bare/") and keyword == "Last-Modified"):
            super().send_header(keyword, value)

    def translate_path(self, path: str) -> str:
        return super().translate_path(path.removeprefix("/bare"))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def publisher():
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(WATCHLISTS))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _serve_ofac_from(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ofac = SOURCES["ofac"]
    urls = {name: f"{base}/ofac/{name}" for name in ofac.FILES}
    monkeypatch.setattr(ofac, "FILES", urls)


def test_a_download_dates_an_undated_list_by_the_publishers_last_modified(
    publisher, tmp_path, monkeypatch
):
    _serve_ofac_from(publisher, monkeypatch)
    store = SnapshotStore(tmp_path / "store")
    store.refresh(["ofac"], from_dir=None, timeout=30)
    row = store.list_stats().row(0, named=True)
    served = datetime.fromtimestamp((WATCHLISTS / "ofac" / "sdn.csv").stat().st_mtime, UTC)
    assert row["publication_date"] == served.date().isoformat()
    assert row["publication_date_from"] == "last_modified"
    assert "publisher's Last-Modified" in publication_text(row)


def test_no_last_modified_means_no_date_not_the_download_time(publisher, tmp_path, monkeypatch):
    _serve_ofac_from(f"{publisher}/bare", monkeypatch)
    store = SnapshotStore(tmp_path / "store")
    store.refresh(["ofac"], from_dir=None, timeout=30)
    row = store.list_stats().row(0, named=True)
    assert row["publication_date"] is None and row["publication_date_from"] is None


def test_a_carried_list_keeps_its_date(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    store.refresh(["un"], from_dir=WATCHLISTS)
    first = store.list_stats().row(0, named=True)
    store.refresh(["uk"], from_dir=WATCHLISTS)  # un is carried over from the first snapshot
    carried = store.list_stats().filter(list_code="un").row(0, named=True)
    assert carried["publication_date"] == "2026-02-27"
    assert carried["fetched_at"] == first["fetched_at"]


def test_lists_show_prints_both_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "SNAPSHOT_DIR", tmp_path / "snapshots")
    runner = CliRunner()
    refreshed = runner.invoke(
        app, ["lists", "refresh", "--from", str(WATCHLISTS), "--list", "un", "--list", "ofac"]
    )
    assert refreshed.exit_code == 0, refreshed.output
    shown = runner.invoke(app, ["lists", "show"], terminal_width=220)
    assert shown.exit_code == 0, shown.output
    fetched = SnapshotStore(tmp_path / "snapshots").list_stats()["fetched_at"].to_list()
    un_line = next(line for line in shown.output.splitlines() if "│ un " in line)
    ofac_line = next(line for line in shown.output.splitlines() if "│ ofac " in line)
    assert "2026-02-27 (stated in the list)" in un_line and fetched[1] in un_line
    assert "not stated by the list" in ofac_line and fetched[0] in ofac_line
