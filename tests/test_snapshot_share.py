"""Snapshots on shared storage (moto's stand-alone S3 server) read through per-machine caches.

Two cache folders stand for two machines: what one refresh publishes, the other copies once,
checks against its SHA-256, and opens only when whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from servers import S3Server, s3_server
from test_store import _un_variant

from data.store import (
    POINTER,
    SharedSnapshotStore,
    SnapshotCopyError,
    SnapshotNotFoundError,
    SnapshotStore,
    open_snapshots,
)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def published(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(shared URI, version): the UN list refreshed onto S3 from the machine "builder"."""
    uri = s3.bucket_uri("snapshots")
    source = _un_variant(tmp_path_factory.mktemp("un-source"))
    builder = open_snapshots(uri, tmp_path_factory.mktemp("builder-cache"))
    report = builder.refresh(["un"], from_dir=source)
    return uri, report.version


def remote_names(s3: S3Server, uri: str) -> list[str]:
    _, path = pafs.FileSystem.from_uri(uri)
    selector = pafs.FileSelector(path.rstrip("/"), allow_not_found=True)
    return sorted(info.base_name for info in s3.filesystem().get_file_info(selector))


def test_locations_pick_the_store(tmp_path: Path) -> None:
    assert type(open_snapshots("", tmp_path)) is SnapshotStore
    assert open_snapshots("", tmp_path).root == tmp_path
    assert open_snapshots(str(tmp_path / "x"), tmp_path).root == tmp_path / "x"
    assert open_snapshots((tmp_path / "y").as_uri(), tmp_path).root == tmp_path / "y"


def test_a_refresh_publishes_the_file_its_hash_and_then_current(
    s3: S3Server, published: tuple[str, str]
) -> None:
    uri, version = published
    assert remote_names(s3, uri) == sorted([POINTER, f"{version}.duckdb", f"{version}.sha256"])
    store = open_snapshots(uri, Path("/nonexistent-cache-never-used"))
    assert isinstance(store, SharedSnapshotStore)
    assert store.current_version() == version
    assert store.versions() == [version]


def test_another_machine_copies_once_checks_and_reads(
    published: tuple[str, str], tmp_path: Path
) -> None:
    uri, version = published
    machine = SharedSnapshotStore(uri, tmp_path)
    assert machine.list_stats()["list_code"].to_list() == ["un"]
    assert machine.last_copy_seconds is not None
    copy = tmp_path / f"{version}.duckdb"
    first_inode = copy.stat().st_ino
    again = SharedSnapshotStore(uri, tmp_path)
    assert again.open().version == version
    assert again.last_copy_seconds is None  # the cached copy was used as it is
    assert copy.stat().st_ino == first_inode
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [copy.name]


def test_processes_of_one_machine_copy_a_version_once(
    published: tuple[str, str], tmp_path: Path
) -> None:
    uri, version = published
    stores = [SharedSnapshotStore(uri, tmp_path) for _ in range(4)]
    paths: list[Path | None] = []
    threads = [
        threading.Thread(target=lambda s=s: paths.append(s.local_file(version))) for s in stores
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert paths == [tmp_path / f"{version}.duckdb"] * 4
    assert sum(store.last_copy_seconds is not None for store in stores) == 1


def test_a_copy_that_does_not_match_its_hash_is_never_opened(
    s3: S3Server, published: tuple[str, str], tmp_path: Path
) -> None:
    """The shared file damaged after publishing: the copy is refused and discarded."""
    uri, version = published
    damaged = s3.bucket_uri("damaged")
    fs, source = pafs.FileSystem.from_uri(uri)
    _, target = pafs.FileSystem.from_uri(damaged)
    for name in (POINTER, f"{version}.sha256"):
        pafs.copy_files(f"{source}/{name}", f"{target}/{name}", fs, fs)
    with fs.open_output_stream(f"{target}/{version}.duckdb") as out:
        out.write(b"not the snapshot that was hashed")
    store = SharedSnapshotStore(damaged, tmp_path)
    with pytest.raises(SnapshotCopyError, match="SHA-256"):
        store.open()
    assert not (tmp_path / f"{version}.duckdb").exists()
    assert not (tmp_path / f".fetch-{version}.partial").exists()


def test_a_half_copy_left_by_a_killed_process_is_ignored(
    published: tuple[str, str], tmp_path: Path
) -> None:
    uri, version = published
    (tmp_path / f".fetch-{version}.partial").write_bytes(b"the first megabytes of a copy")
    store = SharedSnapshotStore(uri, tmp_path)
    assert store.versions() == [version]
    assert store.open().lists["list_code"].to_list() == ["un"]
    assert store.last_copy_seconds is not None


def test_unknown_versions_and_empty_stores(s3: S3Server, tmp_path: Path) -> None:
    store = SharedSnapshotStore(s3.bucket_uri("empty"), tmp_path)
    assert store.current_version() is None
    assert store.versions() == []
    assert store.local_file("0123456789abcdef") is None
    with pytest.raises(SnapshotNotFoundError, match="kyc lists refresh"):
        store.open()


def test_a_second_refresh_diffs_against_the_shared_previous_and_prunes(
    s3: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A new machine refreshes: it reads the previous snapshot from shared storage for the
    diff, and keeps only ``keep`` versions there."""
    uri = s3.bucket_uri("chain")
    versions = []
    for i in range(3):
        source = _un_variant(tmp_path_factory.mktemp(f"un-{i}"), comment=f"variant {i}")
        machine = open_snapshots(uri, tmp_path_factory.mktemp(f"machine-{i}"))
        versions.append(machine.refresh(["un"], from_dir=source, keep=2).version)
        time.sleep(1.1)  # S3 dates objects to the second; real refreshes are minutes apart
    assert len(set(versions)) == 3
    reader = open_snapshots(uri, tmp_path_factory.mktemp("reader"))
    assert reader.current_version() == versions[-1]
    assert reader.versions() == [versions[2], versions[1]]
    assert reader.diff().height == 0  # same entries, other bytes: a new version, no changes
    assert f"{versions[0]}.duckdb" not in remote_names(s3, uri)
