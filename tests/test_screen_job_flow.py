"""The screen_job flow as real Prefect flow runs (the session's temporary Prefect server)
against the session's real watchlist snapshot and a job store in a temporary folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id

CHUNK = 4


@pytest.fixture(scope="module")
def job_store(tmp_path_factory: pytest.TempPathFactory) -> JobStore:
    return JobStore(tmp_path_factory.mktemp("jobs").as_uri())


@pytest.fixture(scope="module")
def listed_names(watchlist) -> list[str]:
    """Primary names of a few listed individuals of the session snapshot."""
    people = watchlist.entries.filter(pl.col("entity_type") == "individual")
    return people.sort("list_code", "entry_id")["primary_name"].head(4).to_list()


def records(listed: list[str]) -> list[dict]:
    """Listed names mixed with names nobody lists; one entity screens only a bogus list."""
    unlisted = ["Quentin Zyxwvut", "Marigold Pennyfeather", "Oswin Quillbrook", "Ysolde Varkany"]
    rows = [
        {"entity_id": f"e{i}", "subject": {"full_name": name}}
        for i, name in enumerate([*listed, *unlisted, *listed[:2], "Tamsin Oakenshield"])
    ]
    return rows


def make_job(store: JobStore, listed: list[str], **meta: object) -> JobMeta:
    frame = entities_from_records(records(listed))
    job = JobMeta(job_id=new_job_id(), tenant="acme", chunk_size=CHUNK, **meta)
    store.create_job(job, frame)
    return job


def run_flow(store: JobStore, snapshot_store, job: JobMeta):
    from flows.screen_job import screen_job

    return asyncio.run(
        screen_job(
            job.job_id,
            job.tenant,
            store_uri=store.uri,
            snapshot_root=str(snapshot_store.root),
            return_state=True,
        )
    )


def test_job_screens_every_chunk(job_store: JobStore, snapshot_store, listed_names) -> None:
    job = make_job(job_store, listed_names)
    state = run_flow(job_store, snapshot_store, job)
    assert state.is_completed(), state.message

    meta = job_store.get_job(job.job_id)
    assert meta.status == "completed"
    assert meta.completed_at is not None
    assert meta.watchlist_version == snapshot_store.current_version()
    progress = job_store.progress(job.job_id)
    assert progress.processed == progress.completed + progress.failed == 11
    assert progress.chunks_done == 3
    assert progress.rate and progress.rate > 0

    results = job_store.read_results(job.job_id, 0, 100)
    assert results["entity_id"].to_list() == [f"e{i}" for i in range(11)]
    assert results["row"].to_list() == list(range(11))
    listed_rows = results.filter(pl.col("entity_id").is_in(["e0", "e1", "e2", "e3", "e8", "e9"]))
    assert listed_rows["is_match"].all(), "a listed primary name must match itself"
    assert progress.matches_found == results["match_count"].sum()
    assert results.filter(pl.col("entity_id") == "e0")["matches"][0][0]["confidence_score"] > 0.9

    from prefect import get_client

    async def artifact_progress() -> float:
        async with get_client() as client:
            artifact = await client.read_latest_artifacts()
            return {a.key: a.data for a in artifact}[f"job-{job.job_id}"]

    assert asyncio.run(artifact_progress()) == 100.0


def test_job_resumes_after_written_chunks(
    job_store: JobStore, snapshot_store, listed_names
) -> None:
    """Chunk 1 was written by an earlier run: this run screens chunks 0 and 2 only."""
    job = make_job(job_store, listed_names)
    earlier = job_store.read_entities(job.job_id, CHUNK, 2 * CHUNK).select(
        "row",
        "entity_id",
        status=pl.lit("completed"),
        is_match=pl.lit(False),
        match_count=pl.lit(0, dtype=pl.Int64),
        error=pl.lit("written by an earlier run"),
    )
    job_store.write_chunk(job.job_id, 1, earlier)

    state = run_flow(job_store, snapshot_store, job)
    assert state.is_completed(), state.message
    results = job_store.read_results(job.job_id, 0, 100)
    assert results["row"].to_list() == list(range(11))
    errors = results["error"].to_list()
    assert errors[CHUNK : 2 * CHUNK] == ["written by an earlier run"] * CHUNK
    assert results["is_match"][0], "chunk 0 was screened by this run"
    assert job_store.progress(job.job_id).processed == 11


def test_missing_snapshot_fails_with_reason(
    job_store: JobStore, snapshot_store, listed_names
) -> None:
    job = make_job(job_store, listed_names, watchlist_version="no-such-version")
    state = run_flow(job_store, snapshot_store, job)
    assert state.is_failed()
    meta = job_store.get_job(job.job_id)
    assert meta.status == "failed"
    assert "no-such-version" in meta.error
    assert job.job_id not in job_store.active_jobs()


def test_wrong_tenant_is_refused(job_store: JobStore, snapshot_store, listed_names) -> None:
    from flows.screen_job import screen_job

    job = make_job(job_store, listed_names)
    state = asyncio.run(
        screen_job(job.job_id, "intruder", store_uri=job_store.uri, return_state=True)
    )
    assert state.is_failed()
    assert "tenant" in state.message
    assert job_store.get_job(job.job_id).status == "processing", "the job itself is untouched"


def test_store_uri_is_a_path_too(tmp_path: Path) -> None:
    assert JobStore(str(tmp_path)).uri == tmp_path.as_uri()


def test_cancelled_job_stops_before_the_next_chunk(
    job_store: JobStore, snapshot_store, listed_names
) -> None:
    job = make_job(job_store, listed_names)
    job_store.update_job(job.job_id, status="cancelled")  # what cancel_flow_run records
    state = run_flow(job_store, snapshot_store, job)
    assert state.is_cancelled()
    assert job_store.written_chunks(job.job_id) == []
    assert job_store.get_job(job.job_id).status == "cancelled"


def test_a_resumed_run_keeps_the_options_pinned_at_acceptance(
    job_store: JobStore, snapshot_store, listed_names, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned threshold 0.99 and one match per entity: a worker configured otherwise (a
    lower default threshold, more matches) screens every chunk the pinned way."""
    from kyc import settings

    monkeypatch.setattr(settings, "DEFAULT_THRESHOLD", 0.3)
    monkeypatch.setattr(settings, "MAX_MATCHES", 50)
    job = make_job(job_store, listed_names, threshold=0.99, max_matches=1)
    state = run_flow(job_store, snapshot_store, job)
    assert state.is_completed(), state.message
    results = job_store.read_results(job.job_id, 0, 100).explode("matches")
    scores = results["matches"].struct.field("confidence_score").drop_nulls()
    assert scores.len() > 0 and scores.min() >= 0.99
    assert results.group_by("row").len()["len"].max() == 1


def test_a_stop_of_the_service_ends_the_run_between_chunks(
    job_store: JobStore, snapshot_store, listed_names
) -> None:
    """The job stays processing, resumable; the run says it was interrupted by a stop."""
    from flows import shutdown

    job = make_job(job_store, listed_names)
    shutdown.request_stop()
    try:
        state = run_flow(job_store, snapshot_store, job)
    finally:
        shutdown.reset()
    assert state.is_cancelled()
    assert state.message == shutdown.INTERRUPTED
    assert job_store.get_job(job.job_id).status == "processing"
    assert job.job_id in job_store.active_jobs()
    resumed = run_flow(job_store, snapshot_store, job)
    assert resumed.is_completed(), resumed.message
    assert job_store.get_job(job.job_id).status == "completed"
