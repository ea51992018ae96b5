"""Jobs and checks end to end: the real app over HTTP, the embedded runner executing real
Prefect flow runs, the session's real watchlist snapshot and the real matching engine."""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pytest
from conftest import drop_waiting_runs
from litestar.testing import TestClient

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from kyc import settings
from matching import ENGINE_VERSION

UNLISTED = ["Quentin Zyxwvut", "Marigold Pennyfeather", "Oswin Quillbrook"]


@pytest.fixture(scope="module")
def served_snapshot(snapshot_store) -> str:
    """The session snapshot where the API and the flow runs look for it (settings)."""
    shutil.copytree(snapshot_store.root, settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    version = snapshot_store.current_version()
    assert version is not None
    return version


@pytest.fixture(scope="module")
def client(served_snapshot: str) -> Iterator[TestClient]:
    drop_waiting_runs()  # the app's runner would run other modules' waiting runs
    with TestClient(create_app(ApiConfig(), embedded_runner=True), timeout=60) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def headers() -> dict[str, str]:
    token, _ = ApiKeyStore(settings.API_KEYS_FILE).create("acme", list(PERMISSIONS))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def listed(watchlist) -> pl.DataFrame:
    """A few listed individuals: list code, entry id and primary name."""
    people = watchlist.entries.filter(pl.col("entity_type") == "individual")
    return (
        people.sort("list_code", "entry_id").head(3).select("list_code", "entry_id", "primary_name")
    )


def wait_until_finished(client: TestClient, headers: dict[str, str], job_id: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = client.get(f"/kyc/jobs/{job_id}", headers=headers).json()
        if body["job_status"] != "processing":
            return body
        assert "estimated_completion" in body and "completed_at" not in body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still processing after 180 s")


def test_single_check_finds_a_listed_person(
    client: TestClient, headers: dict[str, str], listed: pl.DataFrame, served_snapshot: str
) -> None:
    person = listed.row(0, named=True)
    response = client.post(
        "/kyc", json={"subject": {"full_name": person["primary_name"]}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["is_match"] is True
    assert body["watchlist_version"] == served_snapshot
    assert body["engine_version"] == ENGINE_VERSION
    assert body["match_count"] == len(body["matches"]) >= 1
    found = {m["entity_id"]: m for m in body["matches"]}
    expected = f"{person['list_code']}-{person['entry_id']}"
    assert expected in found, list(found)  # other lists may carry the same person too
    assert found[expected]["list_name"] == person["list_code"]
    assert found[expected]["confidence_score"] >= 0.9
    assert isinstance(found[expected]["details"], dict)
    assert body["processing_time_ms"] > 0

    unlisted = client.post(
        "/kyc",
        json={"subject": {"full_name": UNLISTED[0]}, "list_name": person["list_code"]},
        headers=headers,
    ).json()
    assert unlisted["is_match"] is False and unlisted["lists_checked"] == [person["list_code"]]


def test_json_job_from_submission_to_results(
    client: TestClient, headers: dict[str, str], listed: pl.DataFrame, served_snapshot: str
) -> None:
    names = [*listed["primary_name"].to_list(), *UNLISTED]
    entities = [
        {"entity_id": f"e{i}", "subject": {"full_name": name}} for i, name in enumerate(names)
    ]
    response = client.post(
        "/kyc/jobs", json={"entities": entities, "threshold": 0.8}, headers=headers
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "success" and created["job_status"] == "processing"
    assert created["total_entities"] == 6
    assert created["created_at"].endswith("Z") and created["estimated_completion"].endswith("Z")

    job = wait_until_finished(client, headers, created["job_id"])
    assert job["job_status"] == "completed", job
    assert job["processed_entities"] == job["completed_entities"] == 6
    assert job["failed_entities"] == 0
    assert job["watchlist_version"] == served_snapshot
    assert job["engine_version"] == ENGINE_VERSION
    assert job["completed_at"].endswith("Z") and "estimated_completion" not in job
    results = job["results"]
    assert [r["entity_id"] for r in results] == [f"e{i}" for i in range(6)]
    assert [r["is_match"] for r in results[:3]] == [True, True, True], "listed names match"
    matched = [r["entity_id"] for r in results if r["is_match"]]
    assert job["matches_found"] == sum(r["match_count"] for r in results)
    assert job["next_cursor"] is None

    # paging and only_matches
    page = client.get(f"/kyc/jobs/{created['job_id']}?limit=4", headers=headers).json()
    assert len(page["results"]) == 4 and page["next_cursor"]
    rest = client.get(
        f"/kyc/jobs/{created['job_id']}?limit=4&cursor={page['next_cursor']}", headers=headers
    ).json()
    assert [r["entity_id"] for r in rest["results"]] == ["e4", "e5"] and rest["next_cursor"] is None
    hits = client.get(f"/kyc/jobs/{created['job_id']}?only_matches=true", headers=headers).json()
    assert [r["entity_id"] for r in hits["results"]] == matched

    # downloads in three formats
    url = f"/kyc/jobs/{created['job_id']}/results"
    ndjson = client.get(url, headers=headers)
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["entity_id"] for line in ndjson.text.splitlines()] == [
        f"e{i}" for i in range(6)
    ]
    csv = client.get(url, headers={**headers, "Accept": "text/csv"})
    table = pl.read_csv(csv.content)
    assert set(table["entity_id"]) == {f"e{i}" for i in range(6)}
    # one row per match, and one for each entity without a match
    assert table.height == job["matches_found"] + 6 - len(matched)
    parquet = client.get(f"{url}?format=parquet", headers=headers)
    assert pl.read_parquet(io.BytesIO(parquet.content))["entity_id"].to_list() == [
        f"e{i}" for i in range(6)
    ]

    listing = client.get("/kyc/jobs", headers=headers).json()
    assert listing["jobs"][0]["job_id"] == created["job_id"]  # newest first


def test_csv_upload_job(client: TestClient, headers: dict[str, str], listed: pl.DataFrame) -> None:
    name = listed["primary_name"][0].replace('"', "")
    body = f'entity_id,full_name,nationality\nc1,"{name}",\nc2,{UNLISTED[1]},GB\n'.encode()
    response = client.post(
        "/kyc/jobs?threshold=0.8", content=body, headers={**headers, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    job = wait_until_finished(client, headers, response.json()["job_id"])
    assert job["job_status"] == "completed"
    assert [r["entity_id"] for r in job["results"]] == ["c1", "c2"]
    assert job["results"][0]["is_match"] is True


def test_idempotency_key_returns_the_first_job(client: TestClient, headers: dict[str, str]) -> None:
    body = {"entities": [{"subject": {"full_name": UNLISTED[2]}}]}
    keyed = {**headers, "Idempotency-Key": "retry-1"}
    first = client.post("/kyc/jobs", json=body, headers=keyed).json()
    again = client.post("/kyc/jobs", json=body, headers=keyed).json()
    other_body = client.post(
        "/kyc/jobs", json={"entities": body["entities"] * 2}, headers=keyed
    ).json()
    assert first["job_id"] == again["job_id"] == other_body["job_id"]
    listed = [job["job_id"] for job in client.get("/kyc/jobs", headers=headers).json()["jobs"]]
    assert listed.count(first["job_id"]) == 1
    fresh = client.post(
        "/kyc/jobs", json=body, headers={**headers, "Idempotency-Key": "retry-2"}
    ).json()
    assert fresh["job_id"] != first["job_id"]


def test_cancel_a_job(client: TestClient, headers: dict[str, str]) -> None:
    entities = [{"subject": {"full_name": f"{UNLISTED[0]} {i}"}} for i in range(3)]
    created = client.post("/kyc/jobs", json={"entities": entities}, headers=headers).json()
    cancelled = client.post(f"/kyc/jobs/{created['job_id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["job_status"] == "cancelled"
    time.sleep(2)
    assert (
        client.get(f"/kyc/jobs/{created['job_id']}", headers=headers).json()["job_status"]
        == "cancelled"
    )
    download = client.get(f"/kyc/jobs/{created['job_id']}/results", headers=headers)
    assert download.status_code == 409


def test_watchlists(
    client: TestClient, headers: dict[str, str], served_snapshot: str, snapshot_store
) -> None:
    body = client.get("/kyc/watchlists", headers=headers).json()
    assert body["version"] == served_snapshot
    codes = snapshot_store.list_stats()["list_code"].to_list()
    assert [item["code"] for item in body["lists"]] == codes
    assert all(item["entries"] > 0 and item["names"] >= item["entries"] for item in body["lists"])


def test_concurrent_retries_make_one_job(client: TestClient, headers: dict[str, str]) -> None:
    body = {"entities": [{"subject": {"full_name": UNLISTED[1]}}]}
    keyed = {**headers, "Idempotency-Key": "race-1"}
    with ThreadPoolExecutor(5) as pool:
        responses = list(
            pool.map(lambda _: client.post("/kyc/jobs", json=body, headers=keyed), range(5))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["job_id"] for r in responses}) == 1


@pytest.mark.timeout(180)
def test_job_status_follows_the_flow_run_state(
    tmp_path, headers: dict[str, str], served_snapshot: str
) -> None:
    """A job the store still records as processing reads "failed" only when its run failed
    for good, and then the store records it, so the job list agrees at once. A run crashed or
    stopped with the service resumes: its job reads "processing", never "failed" for a while.
    """
    from prefect import flow, get_client
    from prefect.states import Cancelled, Completed, Crashed, Failed, Running

    from data.entities import entities_from_records
    from data.jobs import JobMeta, JobStore, new_job_id

    @flow(name="state-probe")
    def probe() -> None: ...

    def run_in(state) -> str:
        with get_client(sync_client=True) as prefect:
            return str(prefect.create_flow_run(probe, state=state).id)

    store = JobStore(str(tmp_path / "jobs"))
    entities = entities_from_records([{"subject": {"full_name": "Ann Example"}}])
    expected = {
        "running": (Running(), "processing", None),
        "crashed": (Crashed(message="worker lost"), "processing", None),
        "stopped": (Cancelled(message="interrupted by a stop"), "processing", None),
        "completed, not yet recorded": (Completed(), "processing", None),
        "failed": (Failed(message="chunk 3 failed"), "failed", "chunk 3 failed"),
    }
    jobs = {}
    for name, (state, _, _) in expected.items():
        meta = JobMeta(job_id=new_job_id(), tenant="acme", flow_run_id=run_in(state))
        store.create_job(meta, entities)
        jobs[name] = meta.job_id
    with TestClient(create_app(ApiConfig(job_store_uri=store.uri))) as probe_client:
        for name, (_, status, error) in expected.items():
            body = probe_client.get(f"/kyc/jobs/{jobs[name]}", headers=headers).json()
            assert body["job_status"] == status, (name, body)
            assert body.get("error") == error, (name, body)
            assert ("completed_at" in body) == (status != "processing")
        listed = probe_client.get("/kyc/jobs", headers=headers).json()["jobs"]
    statuses = {job["job_id"]: job["job_status"] for job in listed}
    assert {name: statuses[job_id] for name, job_id in jobs.items()} == {
        name: status for name, (_, status, _) in expected.items()
    }


def test_a_burst_of_submissions_is_accepted_and_completes(
    client: TestClient, headers: dict[str, str]
) -> None:
    """Run creation happens behind the answers: every POST is accepted, every job runs."""
    count = 8
    bodies = [
        {"entities": [{"subject": {"full_name": f"{UNLISTED[2]} {i}"}}]} for i in range(count)
    ]
    with ThreadPoolExecutor(count) as pool:
        responses = list(
            pool.map(lambda b: client.post("/kyc/jobs", json=b, headers=headers), bodies)
        )
    assert [r.status_code for r in responses] == [200] * count, [r.text for r in responses]
    assert {r.json()["job_status"] for r in responses} == {"processing"}
    job_ids = {r.json()["job_id"] for r in responses}
    assert len(job_ids) == count
    for job_id in job_ids:
        job = wait_until_finished(client, headers, job_id)
        assert job["job_status"] == "completed", job
        assert job["processed_entities"] == 1


def test_a_stored_job_without_a_run_gets_one_when_the_api_starts(
    client: TestClient, headers: dict[str, str], served_snapshot: str
) -> None:
    """An API process that died between storing a job and creating its run: the next API
    start creates it (in every mode, split-up included, where no worker recovery runs); a
    job that cannot run any more is failed with the reason."""
    from data.entities import entities_from_records
    from data.jobs import JobMeta, JobStore, new_job_id

    store = JobStore(settings.JOB_STORE_URI)
    entities = entities_from_records([{"subject": {"full_name": UNLISTED[0]}}])
    stranded = JobMeta(job_id=new_job_id(), tenant="acme", watchlist_version=served_snapshot)
    unrunnable = JobMeta(job_id=new_job_id(), tenant="acme", watchlist_version="deleted-snapshot")
    for meta in (stranded, unrunnable):
        store.create_job(meta, entities)

    with TestClient(create_app(ApiConfig())):  # an API start, no runner of its own
        pass  # its shutdown waits until the queued runs are created
    assert store.get_job(stranded.job_id).flow_run_id is not None
    job = wait_until_finished(client, headers, stranded.job_id)  # the module's runner runs it
    assert job["job_status"] == "completed", job
    failed = client.get(f"/kyc/jobs/{unrunnable.job_id}", headers=headers).json()
    assert failed["job_status"] == "failed" and "deleted-snapshot" in failed["error"]


def test_cancel_while_the_run_is_being_created(client: TestClient, headers: dict[str, str]) -> None:
    """Cancel right behind a burst: the run of the cancelled job is not created yet, or is
    cancelled once it is; either way the job ends cancelled and nothing screens it."""
    count = 5
    bodies = [
        {"entities": [{"subject": {"full_name": f"{UNLISTED[1]} {i}"}}]} for i in range(count)
    ]
    with ThreadPoolExecutor(count) as pool:
        responses = list(
            pool.map(lambda b: client.post("/kyc/jobs", json=b, headers=headers), bodies)
        )
    last = responses[-1].json()["job_id"]
    cancelled = client.post(f"/kyc/jobs/{last}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["job_status"] == "cancelled"
    for response in responses[:-1]:
        assert wait_until_finished(client, headers, response.json()["job_id"])["job_status"] == (
            "completed"
        )
    job = client.get(f"/kyc/jobs/{last}", headers=headers).json()
    assert job["job_status"] == "cancelled" and job["processed_entities"] == 0, job


# --- hardening: what a black-box test found ------------------------------------------------


def test_a_list_the_snapshot_does_not_hold_is_refused_never_screened_clean(
    client: TestClient, headers: dict[str, str], snapshot_store
) -> None:
    """The shared folder has no EU file: "eu" is known but not loaded."""
    loaded = set(snapshot_store.list_stats()["list_code"])
    assert "eu" not in loaded
    subject = {"full_name": "Vladimir Putin"}
    for body in ({"subject": subject, "lists": ["eu"]}, {"subject": subject, "list_name": "eu"}):
        response = client.post("/kyc", json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert "'eu' is not loaded" in response.json()["details"][0]["message"]
    before = len(client.get("/kyc/jobs?limit=1000", headers=headers).json()["jobs"])
    job_level = {"entities": [{"subject": subject}], "lists": ["ofac", "eu"]}
    entity_level = {"entities": [{"subject": subject, "lists": ["eu"]}]}
    for body in (job_level, entity_level):
        response = client.post("/kyc/jobs", json=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["loc"] in ("lists", "entities[0].lists")
    csv = {**headers, "Content-Type": "text/csv"}
    response = client.post("/kyc/jobs?lists=eu", content=b"full_name\nAnn Example\n", headers=csv)
    assert response.status_code == 400, response.text
    after = len(client.get("/kyc/jobs?limit=1000", headers=headers).json()["jobs"])
    assert after == before, "a refused request created a job"
    checked = client.post("/kyc", json={"subject": subject}, headers=headers).json()
    assert set(checked["lists_checked"]) == loaded
    listing = client.get("/kyc/watchlists", headers=headers).json()
    assert "eu" in listing["missing"]
    assert all("source" not in item for item in listing["lists"]), "a server path leaked"


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/kyc", "application/json", b'{"subject": {"full_name": "\xff\xfe"}}'),
        ("/kyc/jobs", "application/json", b'{"entities": [{"subject": {"full_name": "\xff"}}]}'),
        ("/kyc/jobs", "application/x-ndjson", b'{"full_name": "\xffAnn"}\n'),
        ("/kyc/jobs", "text/csv", b"full_name\n\xffAnn\n"),
        ("/kyc", "application/json", b'{"subject": ' + b"[" * 992 + b"]" * 992 + b"}"),
        ("/kyc/jobs", "application/json", b'{"entities": ' + b"[" * 992 + b"]" * 992 + b"}"),
        ("/kyc/jobs", "application/json", b"[" * 5000 + b"]" * 5000),
    ],
)
def test_undecodable_and_deep_bodies_are_400(
    client: TestClient, headers: dict[str, str], path: str, content_type: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers={**headers, "Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"


def test_json_sent_as_text_plain_is_415(client: TestClient, headers: dict[str, str]) -> None:
    plain = {**headers, "Content-Type": "text/plain"}
    job = json.dumps({"entities": [{"subject": {"full_name": "Ann Example"}}]})
    assert client.post("/kyc/jobs", content=job, headers=plain).status_code == 415
    check = json.dumps({"subject": {"full_name": "Ann Example"}})
    response = client.post("/kyc", content=check, headers=plain)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_job_rows_follow_the_single_checks_rules(
    client: TestClient, headers: dict[str, str]
) -> None:
    for name in ("😀😀", "!!!", "Mr."):
        check = client.post("/kyc", json={"subject": {"full_name": name}}, headers=headers)
        job = client.post(
            "/kyc/jobs", json={"entities": [{"subject": {"full_name": name}}]}, headers=headers
        )
        assert check.status_code == job.status_code == 400, (name, check.text, job.text)


def test_cursors_are_opaque_and_bound_to_their_job_and_filter(
    client: TestClient, headers: dict[str, str], listed: pl.DataFrame
) -> None:
    names = [*listed["primary_name"].to_list(), *UNLISTED]
    entities = [{"entity_id": f"p{i}", "subject": {"full_name": n}} for i, n in enumerate(names)]
    jobs = [
        client.post("/kyc/jobs", json={"entities": entities}, headers=headers).json()["job_id"]
        for _ in range(2)
    ]
    for job_id in jobs:
        assert wait_until_finished(client, headers, job_id)["job_status"] == "completed"
    first, second = jobs
    page = client.get(f"/kyc/jobs/{first}?limit=2", headers=headers).json()
    cursor = page["next_cursor"]
    assert cursor and not cursor.isdigit()
    following = client.get(f"/kyc/jobs/{first}?limit=2&cursor={cursor}", headers=headers)
    assert [r["entity_id"] for r in following.json()["results"]] == ["p2", "p3"]
    refused = [
        f"/kyc/jobs/{second}?limit=2&cursor={cursor}",  # another job
        f"/kyc/jobs/{first}?limit=2&only_matches=true&cursor={cursor}",  # another filter
        f"/kyc/jobs/{first}?cursor=garbage",
        f"/kyc/jobs/{first}?cursor=2",  # the old plain offsets
        f"/kyc/jobs/{first}?cursor={cursor[:-2]}",  # damaged
        "/kyc/jobs?cursor=garbage",
        f"/kyc/jobs?cursor={cursor}",  # a results cursor on the job list
    ]
    for url in refused:
        response = client.get(url, headers=headers)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["details"][0]["loc"] == "query.cursor"
    listing = client.get("/kyc/jobs?limit=1", headers=headers).json()
    more = client.get(f"/kyc/jobs?limit=1&cursor={listing['next_cursor']}", headers=headers)
    assert more.status_code == 200
    assert more.json()["jobs"][0]["job_id"] != listing["jobs"][0]["job_id"]


def test_the_first_estimate_holds_until_a_chunk_is_measured(
    client: TestClient, headers: dict[str, str]
) -> None:
    """The estimate given at acceptance is stored with the job and read back unchanged,
    however often and late a client polls, until a chunk's rate is measured."""
    from api.job_status import estimate_completion
    from data.jobs import JobProgress, JobStore

    entities = [{"subject": {"full_name": f"{UNLISTED[0]} {i}"}} for i in range(20)]
    created = client.post("/kyc/jobs", json={"entities": entities}, headers=headers).json()
    meta = JobStore(settings.JOB_STORE_URI).get_job(created["job_id"])
    assert meta is not None and meta.estimated_completion == created["estimated_completion"]
    unmeasured = JobProgress()
    first = estimate_completion(meta, unmeasured)
    time.sleep(1.1)
    assert estimate_completion(meta, unmeasured) == first == created["estimated_completion"]
    measured = JobProgress(processed=10, rate=5.0, updated_at=meta.created_at)
    assert estimate_completion(meta, measured) != first  # 10 left at 5/s after creation


# --- Watchlist refreshes over REST (watchlist:run) ------------------------------------------


def test_a_refresh_started_over_rest_runs_the_deployment(
    client: TestClient, headers: dict[str, str], watchlist_dir, monkeypatch
) -> None:
    """POST /kyc/watchlists/refresh starts a run of the refresh-watchlists deployment and
    answers its id; GET .../refresh/{run_id} follows it to the end. The run reads the shared
    files the served snapshot was made of, so it publishes nothing new."""
    monkeypatch.setattr(settings, "WATCHLIST_DIR", str(watchlist_dir))
    reader, _ = ApiKeyStore(settings.API_KEYS_FILE).create("acme", ["kyc:read", "watchlist:read"])
    refused = client.post("/kyc/watchlists/refresh", headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
    unknown = client.post("/kyc/watchlists/refresh", json={"lists": ["nope"]}, headers=headers)
    assert unknown.status_code == 400 and "lists" in unknown.text
    before = client.get("/kyc/watchlists", headers=headers).json()["version"]

    started = client.post("/kyc/watchlists/refresh", json={"lists": ["un"]}, headers=headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    assert started.json()["run_status"] == "processing"
    deadline = time.monotonic() + 240
    while (run := client.get(f"/kyc/watchlists/refresh/{run_id}", headers=headers).json())[
        "run_status"
    ] == "processing":
        assert time.monotonic() < deadline, f"refresh run {run_id} still processing"
        time.sleep(1)
    assert run["run_status"] == "completed", run
    assert client.get("/kyc/watchlists", headers=headers).json()["version"] == before
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/kyc/watchlists/refresh/{missing}", headers=headers).status_code == 404
