"""The snapshot store against the real list files and real DuckDB snapshot files."""

from __future__ import annotations

import fcntl
import functools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, WATCHLISTS
from lxml import etree

from data.schema import SourceError
from data.sources import FetchError, UnknownListError, download
from data.store import RefreshError, SnapshotNotFoundError, SnapshotStore

# Every list that has a file under ../shared (the EU list has none).
SHARED_LISTS = {"ofac", "ofac_cons", "un", "uk", "us_csl"}
UN_XML = WATCHLISTS / "un" / "consolidated.xml"


def _link_folder(target: Path, files: dict[str, Path]) -> Path:
    """A source folder made of links to real files: ``target/<name> -> path``."""
    target.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        (target / name).symlink_to(path)
    return target


def _un_variant(folder: Path, edit=None, comment: str | None = None) -> Path:
    """A copy of the real UN XML in ``folder/un/``, optionally edited, as a source folder."""
    un = folder / "un"
    un.mkdir(parents=True, exist_ok=True)
    data = UN_XML.read_bytes()
    if edit is not None:
        tree = etree.fromstring(data)
        edit(tree)
        data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    if comment is not None:  # same content, different bytes: a new version, no changes
        data += f"<!-- {comment} -->\n".encode()
    (un / "consolidated.xml").write_bytes(data)
    return folder


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".staging-")))


# --- the session snapshot of every shared list --------------------------------------------


def test_session_snapshot_holds_every_shared_list(snapshot_store, watchlist):
    stats = snapshot_store.list_stats()
    assert set(stats["list_code"]) == SHARED_LISTS
    assert stats.filter(stats["entries"] <= 0).is_empty()
    counts = dict(zip(stats["list_code"], stats["entries"], strict=True))
    assert counts["ofac"] == 15_443 and counts["un"] == 1_003 and counts["uk"] == 4_688
    # The frames hold exactly what the lists table counts.
    assert watchlist.version == snapshot_store.current_version()
    per_list = watchlist.entries.group_by("list_code").len()
    assert dict(per_list.iter_rows()) == counts
    assert watchlist.names.height == stats["names"].sum()


def test_lists_table_records_the_input_files(watchlist):
    un = watchlist.lists.filter(watchlist.lists["list_code"] == "un").row(0, named=True)
    # The real folder, whichever links lead to it (../shared may itself be a link).
    assert un["source"] == str((WATCHLISTS / "un").resolve())
    assert un["publication_date"] == "2026-02-27"  # the XML's own dateGenerated
    assert un["publication_date_from"] == "list"
    assert un["files"] == [
        {
            "file": "consolidated.xml",
            "sha256": "66b392a4090868d2d39161e8d748efd39138377b0e6e60b7921aa67a4f99c8bf",
        }
    ]


def test_same_inputs_are_unchanged(snapshot_store, watchlist_dir):
    before = snapshot_store.versions()
    report = snapshot_store.refresh(sorted(SHARED_LISTS), from_dir=watchlist_dir)
    assert report.status == "unchanged"
    assert report.version == snapshot_store.current_version() == before[0]
    assert snapshot_store.versions() == before


def test_the_recorded_source_is_the_real_folder_behind_links_and_relative_paths(
    tmp_path, monkeypatch
):
    """A snapshot records where its files really were: a link to the list folder, or a
    path relative to wherever the command ran, would mean nothing once read elsewhere."""
    real = tmp_path / "real"
    _link_folder(real / "un", {UN_XML.name: UN_XML})
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    store = SnapshotStore(tmp_path / "store")
    store.refresh(["un"], from_dir=Path("linked"))
    lists = store.open().lists
    assert lists.filter(lists["list_code"] == "un")["source"].to_list() == [
        str((real / "un").resolve())
    ]


# --- errors ---------------------------------------------------------------------------


def test_unknown_list_code_is_a_clear_error(tmp_path):
    store = SnapshotStore(tmp_path)
    with pytest.raises(UnknownListError, match=r"'sdn'.*ofac, ofac_cons, un, eu, uk, us_csl"):
        store.refresh(["un", "sdn"], from_dir=WATCHLISTS)
    assert store.current_version() is None


def test_only_real_versions_can_be_opened(snapshot_store):
    with pytest.raises(SnapshotNotFoundError, match="not a watchlist snapshot version"):
        snapshot_store.open("../../etc/passwd")
    with pytest.raises(SnapshotNotFoundError, match="0123456789abcdef not found"):
        snapshot_store.open("0123456789abcdef")


def test_a_named_list_missing_from_the_folder_is_an_error(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    only_un = _link_folder(tmp_path / "src" / "un", {UN_XML.name: UN_XML}).parent
    with pytest.raises(
        FetchError, match=r"ofac: .*/src/ofac lacks the required file\(s\) sdn\.csv"
    ):
        store.refresh(["un", "ofac"], from_dir=only_un, explicit=True)
    assert store.current_version() is None
    report = store.refresh(["un", "ofac"], from_dir=only_un)  # not named: skipped
    assert report.skipped == ["ofac"] and report.lists == {"un": 1003}


def test_a_corrupt_file_fails_the_refresh_and_keeps_the_current_snapshot(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    good = store.refresh(["un"], from_dir=WATCHLISTS).version
    broken = _un_variant(tmp_path / "broken")
    xml = broken / "un" / "consolidated.xml"
    xml.write_bytes(xml.read_bytes()[: xml.stat().st_size // 2])  # cut mid-element

    with pytest.raises(SourceError, match=r"consolidated\.xml") as failure:
        store.refresh(["un"], from_dir=broken, explicit=True)
    assert str(xml) in str(failure.value)
    assert store.current_version() == good
    assert store.versions() == [good]
    assert _leftovers(store.root) == []
    assert store.open().entries.height == 1003


def test_an_empty_list_is_refused_even_when_forced(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    good = store.refresh(["un"], from_dir=WATCHLISTS).version
    csl = tmp_path / "src" / "us_csl" / "consolidated.csv"
    csl.parent.mkdir(parents=True)
    with (WATCHLISTS / "us_csl" / "consolidated.csv").open("rb") as full:
        csl.write_bytes(full.readline())  # the header row alone

    with pytest.raises(RefreshError, match="us_csl: the new list is empty"):
        store.refresh(["us_csl"], from_dir=csl.parent.parent, force=True, explicit=True)
    assert store.current_version() == good and store.versions() == [good]
    assert _leftovers(store.root) == []


def test_a_truncated_sdn_csv_names_the_file(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    good = store.refresh(["un"], from_dir=WATCHLISTS).version
    ofac = WATCHLISTS / "ofac"
    folder = _link_folder(
        tmp_path / "src" / "ofac", {n: ofac / n for n in ("alt.csv", "add.csv", "sdn_comments.csv")}
    ).parent
    sdn = (ofac / "sdn.csv").read_bytes()
    cut = sdn.index(b"\r\n", len(sdn) // 2) - 40  # inside a record, in an open quote
    (folder / "ofac" / "sdn.csv").write_bytes(sdn[:cut])

    with pytest.raises(SourceError, match=r"sdn\.csv"):
        store.refresh(["ofac"], from_dir=folder, explicit=True)
    assert store.current_version() == good
    assert _leftovers(store.root) == []
    assert set(store.open().entries["list_code"]) == {"un"}


def test_a_second_refresh_at_the_same_time_is_refused(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    store.root.mkdir()
    with (store.root / ".refresh.lock").open("w") as held:  # as a running refresh holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(RefreshError, match="another refresh is running"):
            store.refresh(["un"], from_dir=WATCHLISTS)
    assert store.refresh(["un"], from_dir=WATCHLISTS).status == "created"


# --- downloading, from a real local HTTP server ------------------------------------------


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(2)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_base():
    handler = functools.partial(_Handler, directory=str(WATCHLISTS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_streams_a_file_and_keeps_its_date(http_base, tmp_path):
    path, last_modified = download(f"{http_base}/un/consolidated.xml", tmp_path / "un.xml", 10)
    assert path.read_bytes() == UN_XML.read_bytes()
    assert int(path.stat().st_mtime) == int(UN_XML.stat().st_mtime)  # from Last-Modified
    served = datetime.fromtimestamp(UN_XML.stat().st_mtime, UTC).date().isoformat()
    assert last_modified == served


def test_download_errors_name_the_url(http_base, tmp_path):
    with pytest.raises(FetchError, match=rf"^{http_base}/un/missing\.xml: HTTP 404$"):
        download(f"{http_base}/un/missing.xml", tmp_path / "x", timeout=10)
    with pytest.raises(FetchError, match=rf"^{http_base}/slow: no answer within 0\.5 s$"):
        download(f"{http_base}/slow", tmp_path / "y", timeout=0.5)


# --- shrink check and diff: the 2024 OFAC set, then the 2021 one --------------------------


@pytest.fixture(scope="module")
def ofac_new_then_old(tmp_path_factory):
    """A store holding the current OFAC set, a refused refresh to 2021, then a forced one."""
    tmp = tmp_path_factory.mktemp("ofac-sets")
    ofac = WATCHLISTS / "ofac"
    names = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")
    new = _link_folder(tmp / "new" / "ofac", {n: ofac / n for n in names}).parent
    _link_folder(new / "un", {UN_XML.name: UN_XML})
    old = _link_folder(
        tmp / "old" / "ofac", {n: ofac / "snapshot_2021-07-07" / n for n in names}
    ).parent
    store = SnapshotStore(tmp / "store")
    first = store.refresh(["ofac", "un"], from_dir=new)
    with pytest.raises(RefreshError) as refused:
        store.refresh(["ofac", "un"], from_dir=old)
    after_refusal = store.current_version()
    forced = store.refresh(["ofac", "un"], from_dir=old, force=True)
    return store, first, str(refused.value), after_refusal, forced


def test_shrinking_list_is_refused_unless_forced(ofac_new_then_old):
    store, first, refused, after_refusal, forced = ofac_new_then_old
    assert "ofac" in refused and "15443 to 8976" in refused and "--force" in refused
    assert after_refusal == first.version
    assert forced.status == "created" and forced.previous_version == first.version
    assert store.current_version() == forced.version
    assert forced.lists == {"ofac": 8976}
    # UN was not in the old folder: skipped, and its rows carried over unchanged.
    assert forced.skipped == ["un"] and forced.carried == ["un"]
    assert store.open().entries.filter(store.open().entries["list_code"] == "un").height == 1003


def test_diff_between_the_ofac_sets_is_plausible(ofac_new_then_old):
    store, first, _, _, forced = ofac_new_then_old
    diff = store.diff(forced.version)
    assert set(diff["list_code"]) == {"ofac"}  # the carried UN list did not change
    assert (diff["previous_version"] == first.version).all()
    counts = forced.changes["ofac"]
    # 15,443 entries in 2024, 8,976 in 2021: removed - added is exactly the difference.
    assert counts["removed"] - counts.get("added", 0) == 15_443 - 8_976
    assert counts["removed"] > 6_000
    assert 0 < counts.get("added", 0) < 3_000  # delisted between 2021 and 2024
    assert 0 < counts["changed"] < 8_976  # kept entries whose rows differ
    # Each diff row names a real entry of the snapshot it belongs to.
    old_ids = set(store.open(forced.version).entries["entry_id"])
    new_ids = set(store.open(first.version).entries["entry_id"])
    added = set(diff.filter(diff["change"] == "added")["entry_id"])
    removed = set(diff.filter(diff["change"] == "removed")["entry_id"])
    assert added == old_ids - new_ids and removed == new_ids - old_ids


def test_diff_finds_exactly_the_edited_entries(tmp_path):
    def edit(root: etree._Element) -> None:
        first = root.find("INDIVIDUALS/INDIVIDUAL")
        first.find("FIRST_NAME").text = "RENAMED"
        entities = root.find("ENTITIES")
        entities.remove(entities.findall("ENTITY")[-1])

    store = SnapshotStore(tmp_path / "store")
    store.refresh(["un"], from_dir=WATCHLISTS)
    tree = etree.parse(str(UN_XML)).getroot()
    renamed = tree.find("INDIVIDUALS/INDIVIDUAL/REFERENCE_NUMBER").text.strip()
    dropped = tree.findall("ENTITIES/ENTITY")[-1].find("REFERENCE_NUMBER").text.strip()

    report = store.refresh(["un"], from_dir=_un_variant(tmp_path / "src", edit=edit), force=True)
    diff = store.diff()
    assert report.changes == {"un": {"changed": 1, "removed": 1}}
    assert sorted(diff.select("entry_id", "change").iter_rows()) == sorted(
        [(renamed, "changed"), (dropped, "removed")]
    )


# --- keeping N snapshots ----------------------------------------------------------------


def test_only_the_last_n_snapshots_are_kept(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    created = []
    for n in range(4):
        source = _un_variant(tmp_path / f"src{n}", comment=f"variant {n}")
        created.append(store.refresh(["un"], from_dir=source, keep=2).version)
        time.sleep(0.01)  # distinct modification times
    assert len(set(created)) == 4
    assert store.versions() == [created[3], created[2]]
    assert store.current_version() == created[3]
    assert store.diff().is_empty()  # same content in different bytes: no entry changed


# --- a reader in another process while a refresh switches the snapshot ------------------

READER = """
import json, sys, time
from pathlib import Path
from data.store import SnapshotStore

store, stop, ready = SnapshotStore(Path(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
versions, reads = [], 0
while not stop.exists():
    watchlist = store.open()
    assert watchlist.entries.height == 1003, watchlist.entries.height
    assert watchlist.names.height > 1003
    reads += 1
    if not versions or versions[-1] != watchlist.version:
        versions.append(watchlist.version)
    ready.touch()
print(json.dumps({"reads": reads, "versions": versions}))
"""


def test_a_reader_process_keeps_reading_while_a_refresh_switches(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    first = store.refresh(["un"], from_dir=WATCHLISTS).version
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(store.root), str(stop), str(ready)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(ready.exists, reader)
        second = store.refresh(["un"], from_dir=_un_variant(tmp_path / "src", comment="next"))
        assert second.status == "created" and store.current_version() == second.version
        reads_before = ready.stat().st_mtime_ns
        _wait_for(lambda: ready.stat().st_mtime_ns > reads_before, reader)
        time.sleep(0.5)  # a few more reads of the new snapshot
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    seen = json.loads(out)
    assert seen["versions"] == [first, second.version]
    assert seen["reads"] >= 3


def _wait_for(condition, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the reader process died: {process.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail("the reader process did not get going")
        time.sleep(0.05)
