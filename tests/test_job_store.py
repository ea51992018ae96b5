"""The job store on a real local filesystem (as a path and as a file:// URI) and on S3 (moto's
stand-alone server, a real S3 HTTP endpoint), through the same pyarrow.fs code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from servers import S3Server, s3_server

from data.jobs import JobMeta, JobStore, new_job_id

MATCH = pl.Struct({"entity_id": pl.Utf8, "confidence_score": pl.Float64})


def entities(count: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": pl.int_range(0, count, eager=True).cast(pl.Int64),
            "entity_id": [f"e{i}" for i in range(count)],
            "full_name": [f"Person {i}" for i in range(count)],
        }
    )


def results_for(frame: pl.DataFrame) -> pl.DataFrame:
    """Result rows as the screen_job flow writes them: every third row matches, row 4 fails."""
    row = pl.col("row")
    return frame.select(
        "row",
        "entity_id",
        status=pl.when(row == 4).then(pl.lit("failed")).otherwise(pl.lit("completed")),
        is_match=row % 3 == 0,
        match_count=pl.when(row % 3 == 0).then(2).otherwise(0).cast(pl.Int64),
        matches=pl.lit([], dtype=pl.List(MATCH)),
        error=pl.when(row == 4).then(pl.lit("no name")).otherwise(None),
    )


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["path", "uri", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "s3":
        return JobStore(request.getfixturevalue("s3").bucket_uri("jobs"))
    root = tmp_path / "jobs"
    return JobStore(str(root) if request.param == "path" else root.as_uri())


def make_job(
    store: JobStore, count: int, chunk_size: int, tenant: str = "acme", **meta: object
) -> JobMeta:
    job = JobMeta(job_id=new_job_id(), tenant=tenant, chunk_size=chunk_size, **meta)
    store.create_job(job, entities(count))
    return job


def write_all_chunks(store: JobStore, job: JobMeta, count: int, chunk_size: int) -> None:
    frame = entities(count)
    chunks = {}
    for chunk, start in enumerate(range(0, count, chunk_size)):
        part = results_for(frame.slice(start, chunk_size))
        chunks[chunk] = store.write_chunk(job.job_id, chunk, part)
    store.write_progress(job.job_id, chunks, rate=100.0)


def test_create_and_read_back(store: JobStore) -> None:
    job = make_job(store, 25, 10, lists=["ofac", "un"], threshold=0.8)
    stored = store.get_job(job.job_id)
    assert stored is not None
    assert stored.total_entities == 25
    assert stored.lists == ["ofac", "un"]
    assert stored.status == "processing"
    assert store.read_entities(job.job_id).equals(entities(25))
    assert store.get_job(new_job_id()) is None
    assert store.get_job("../etc") is None


def test_read_entity_rows_across_row_groups(store: JobStore, monkeypatch) -> None:
    monkeypatch.setattr("data.jobs.ENTITY_ROW_GROUP", 7)
    job = make_job(store, 30, 10)
    part = store.read_entities(job.job_id, 10, 20)
    assert part["row"].to_list() == list(range(10, 20))
    assert store.read_entities(job.job_id, 28, 40)["row"].to_list() == [28, 29]


def test_update_and_active(store: JobStore) -> None:
    job = make_job(store, 3, 10)
    assert store.active_jobs() == [job.job_id]
    updated = store.update_job(job.job_id, flow_run_id="run-1")
    assert updated.flow_run_id == "run-1"
    done = store.update_job(job.job_id, status="completed", completed_at="2026-11-29T10:00:00Z")
    assert done.status == "completed"
    assert store.active_jobs() == []
    with pytest.raises(ValueError):
        store.update_job(job.job_id, status="weird")
    with pytest.raises(KeyError):
        store.update_job(new_job_id(), status="failed")


def test_progress_and_paging(store: JobStore) -> None:
    job = make_job(store, 25, 10)
    assert store.progress(job.job_id).processed == 0
    write_all_chunks(store, job, 25, 10)
    progress = store.progress(job.job_id)
    assert progress.processed == 25
    assert progress.failed == 1
    assert progress.completed == 24
    assert progress.chunks_done == 3
    # rows 0, 3, ..., 24 match: 9 rows with 2 matches each
    assert progress.matches_found == 18
    assert progress.rate == 100.0

    page = store.read_results(job.job_id, offset=8, limit=5)
    assert page["row"].to_list() == [8, 9, 10, 11, 12]
    everything = store.read_results(job.job_id, offset=0, limit=1000)
    assert everything["entity_id"].to_list() == [f"e{i}" for i in range(25)]
    assert store.read_results(job.job_id, offset=25, limit=10).height == 0

    matches = store.read_results(job.job_id, offset=2, limit=4, only_matches=True)
    assert matches["row"].to_list() == [6, 9, 12, 15]
    assert [frame.height for frame in store.iter_results(job.job_id)] == [10, 10, 5]


def test_idempotency_key_is_per_tenant(store: JobStore) -> None:
    job = make_job(store, 2, 10, idempotency_key="req-1")
    found = store.find_by_idempotency_key("acme", "req-1")
    assert found is not None and found.job_id == job.job_id
    assert store.find_by_idempotency_key("other", "req-1") is None
    assert store.find_by_idempotency_key("acme", "req-2") is None


def test_listing_newest_first_with_cursor(store: JobStore) -> None:
    stamps = [f"2026-11-29T10:00:0{i}.000Z" for i in range(5)]
    jobs = [make_job(store, 1, 10, created_at=stamp) for stamp in stamps]
    make_job(store, 1, 10, tenant="other/tenant")
    first, cursor = store.list_jobs("acme", limit=3)
    assert [j.job_id for j in first] == [j.job_id for j in reversed(jobs)][:3]
    assert cursor is not None
    second, cursor = store.list_jobs("acme", limit=3, cursor=cursor)
    assert [j.job_id for j in second] == [jobs[1].job_id, jobs[0].job_id]
    assert cursor is None
    assert len(store.list_jobs("other/tenant")[0]) == 1
    assert store.list_jobs("nobody") == ([], None)


def test_no_temporary_files_counted(store: JobStore, tmp_path: Path) -> None:
    job = make_job(store, 12, 10)
    results_dir = tmp_path / "jobs" / "jobs" / job.job_id / "results"
    results_dir.mkdir(parents=True)
    (results_dir / ".tmp-crashed").write_bytes(b"half a parquet")
    assert store.written_chunks(job.job_id) == []
    store.write_chunk(job.job_id, 1, results_for(entities(12).slice(10)))
    assert store.written_chunks(job.job_id) == [1]
    assert store.chunk_stats(job.job_id, 1).rows == 2


def test_object_store_writes_appear_whole_and_leave_no_temporary_key(s3: S3Server) -> None:
    """On S3 a file is one upload of its final key: a reader racing the writers of
    multi-part files (larger than one 10 MB part) finds each missing or whole, never a part
    of one, and no temporary key is ever listed beside them (a move on S3 is a copy and a
    delete: the old way showed `.tmp-*` keys to every lister)."""
    import threading

    import pyarrow.fs as pafs

    from data.jobs import open_root, write_atomically

    _, fs, root = open_root(s3.bucket_uri("atomic"))
    paths = [f"{root}/results/chunk-{chunk:05d}.parquet" for chunk in range(4)]
    size = 24 * 1024 * 1024
    problems: list[str] = []
    reads: list[int] = []
    done = threading.Event()

    def read_while_writing() -> None:
        try:
            read_until_done()
        except Exception as error:  # the test fails on it rather than a thread warning
            problems.append(repr(error))

    def read_until_done() -> None:
        listing = pafs.FileSelector(root, recursive=True, allow_not_found=True)
        while not done.is_set():
            names = [info.base_name for info in fs.get_file_info(listing)]
            problems.extend(name for name in names if name.startswith(".tmp-"))
            for chunk, path in enumerate(paths):
                try:
                    with fs.open_input_stream(path) as src:
                        payload = src.read()
                except FileNotFoundError:
                    continue
                reads.append(chunk)
                if len(payload) != size or payload.count(bytes([chunk])) != size:
                    problems.append(f"chunk {chunk}: {len(payload)} bytes, not the whole file")

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        for chunk, path in enumerate(paths):
            write_atomically(fs, path, bytes([chunk]) * size)
    finally:
        done.set()
        reader.join(60)
    assert reads, "the reader never found a file"
    assert problems == []
    files = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    assert sorted((i.path, i.size) for i in files if i.type == pafs.FileType.File) == [
        (path, size) for path in paths
    ]


def test_progress_read_while_the_flow_rewrites_it_on_s3(s3: S3Server) -> None:
    """pyarrow reads an S3 object as "its size, then that many bytes": progress.json, which
    the flow rewrites after every chunk with more chunks in it, read torn about one time in
    four under a writer (a 500 to pollers). Such a read is done again."""
    import threading

    store = JobStore(s3.bucket_uri("jobs"))
    job = make_job(store, 1000, 1)
    frame = entities(1000)
    stats = {
        chunk: store.write_chunk(job.job_id, chunk, results_for(frame.slice(chunk, 1)))
        for chunk in range(3)
    }
    store.write_progress(job.job_id, stats, rate=1.0)
    done = threading.Event()

    def rewrite() -> None:
        chunks = dict(stats)
        while not done.is_set():  # the flow: ever more chunks recorded, ever longer JSON
            chunks[len(chunks)] = stats[0]
            store.write_progress(job.job_id, chunks, rate=float(len(chunks)))

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        seen = [store.progress(job.job_id).chunks_done for _ in range(300)]
    finally:
        done.set()
        writer.join(60)
    assert seen == sorted(seen) and seen[-1] > seen[0], "the reads did not follow the writer"
