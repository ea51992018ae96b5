"""Evidence over HTTP, against the real app, the embedded runner's real Prefect flow runs and
the session's real snapshot: stored single checks, reports (HTML parsed, PDF pages turned
into images and read), exports with signed URLs, re-runs, publication dates."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pypdfium2
import pytest
from conftest import drop_waiting_runs
from litestar.testing import TestClient
from lxml import html as lxml_html

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id
from data.signed_urls import UrlSigner, load_or_create_secret
from kyc import settings
from matching import ENGINE_VERSION

TENANT = "evidence-co"
UNLISTED = ["Quentin Zyxwvut", "Marigold Pennyfeather", "Oswin Quillbrook"]
# Every section a report has (a rescreen's adds "Rescreen"), by id and by heading.
SECTIONS = {
    "summary": "Summary",
    "input": "Input",
    "lists": "Lists screened",
    "engine": "Engine and options",
    "counts": "Counts",
    "scores": "Best confidence score per entity",
    "per-list": "Matches per list",
    "per-program": "Matches per sanctions program",
    "matches": "Matches",
}


@pytest.fixture(scope="module")
def served_snapshot(snapshot_store) -> str:
    shutil.copytree(snapshot_store.root, settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    return snapshot_store.current_version()


@pytest.fixture(scope="module")
def client(served_snapshot: str) -> Iterator[TestClient]:
    drop_waiting_runs()  # the app's runner would run other modules' waiting runs
    with TestClient(create_app(ApiConfig(), embedded_runner=True), timeout=120) as test_client:
        yield test_client


def bearer(tenant: str, permissions: list[str]) -> dict[str, str]:
    token, _ = ApiKeyStore(settings.API_KEYS_FILE).create(tenant, permissions)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def headers() -> dict[str, str]:
    return bearer(TENANT, list(PERMISSIONS))


@pytest.fixture(scope="module")
def other_tenant() -> dict[str, str]:
    return bearer("someone-else", list(PERMISSIONS))


@pytest.fixture(scope="module")
def listed(watchlist) -> list[str]:
    """Primary names of listed people and organisations of several lists."""
    entries = watchlist.entries.sort("list_code", "entry_id")
    picks = entries.group_by("list_code", maintain_order=True).head(2)
    return picks["primary_name"].to_list()


def wait_finished(client: TestClient, headers: dict[str, str], job_id: str) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        body = client.get(f"/kyc/jobs/{job_id}", headers=headers, params={"limit": 1}).json()
        if body["job_status"] != "processing":
            return body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still processing")


@pytest.fixture(scope="module")
def finished_job(client: TestClient, headers: dict[str, str], listed: list[str]) -> dict:
    names = [*listed, *UNLISTED]
    entities = [{"entity_id": f"e{i}", "subject": {"full_name": n}} for i, n in enumerate(names)]
    created = client.post(
        "/kyc/jobs",
        json={"entities": entities, "threshold": 0.75, "search_type": "composite"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    job = wait_finished(client, headers, created.json()["job_id"])
    assert job["job_status"] == "completed", job
    return job


def error_of(response) -> dict:
    body = response.json()
    assert body["status"] == "error" and body["message"] and isinstance(body["details"], list)
    return body


def unstarted_job() -> str:
    """A job accepted into the store whose run has not started: still processing."""
    meta = JobMeta(job_id=new_job_id(), tenant=TENANT)
    JobStore(settings.JOB_STORE_URI).create_job(
        meta, entities_from_records([{"subject": {"full_name": "Ann Example"}}])
    )
    return meta.job_id


# --- single checks ------------------------------------------------------------------------


def test_a_single_check_is_stored_and_read_back_by_its_tenant_only(
    client, headers, other_tenant, listed
):
    posted = client.post("/kyc", json={"subject": {"full_name": listed[0]}}, headers=headers)
    assert posted.status_code == 200, posted.text
    check_id = posted.json()["check_id"]
    again = client.get(f"/kyc/{check_id}", headers=headers)
    assert again.status_code == 200
    assert again.content == posted.content  # the same body, byte for byte
    assert again.json()["is_match"] is True and again.json()["engine_version"] == ENGINE_VERSION

    foreign = client.get(f"/kyc/{check_id}", headers=other_tenant)
    assert foreign.status_code == 404 and error_of(foreign)["error"] == "not_found"
    unknown = client.get("/kyc/00000000-0000-0000-0000-000000000000", headers=headers)
    assert unknown.status_code == 404 and error_of(unknown)["error"] == "not_found"
    reader_only = bearer(TENANT, ["kyc:create"])
    assert client.get(f"/kyc/{check_id}", headers=reader_only).status_code == 403


def test_the_routes_beside_kyc_are_not_taken_for_check_ids(client, headers):
    assert client.get("/kyc/jobs", headers=headers).json()["status"] == "success"
    assert "lists" in client.get("/kyc/watchlists", headers=headers).json()


# --- reports --------------------------------------------------------------------------------


def _text(element) -> str:
    return " ".join(element.text_content().split())


def test_job_report_html_has_every_section_and_the_facts(
    client, headers, finished_job, served_snapshot
):
    job_id = finished_job["job_id"]
    response = client.get(f"/kyc/jobs/{job_id}/report", params={"format": "html"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = lxml_html.fromstring(response.content)
    sections = {s.get("id"): s for s in page.iter("section")}
    assert set(SECTIONS) <= set(sections)
    for section_id, heading in SECTIONS.items():
        assert _text(sections[section_id].find("h2")) == heading

    summary = _text(sections["summary"])
    assert TENANT in summary and job_id in summary
    for label in ("Submitted", "Started", "Completed", "Duration"):
        assert label in summary
    assert finished_job["created_at"] in summary
    assert "not finished" not in summary and "not recorded" not in summary

    stored = JobStore(settings.JOB_STORE_URI)
    with stored.fs.open_input_stream(f"{stored.root}/jobs/{job_id}/entities.parquet") as src:
        checksum = hashlib.sha256(src.read()).hexdigest()
    input_text = _text(sections["input"])
    assert checksum in input_text and str(finished_job["total_entities"]) in input_text

    lists = _text(sections["lists"])
    assert served_snapshot in lists
    assert "2026-02-27 (stated in the list)" in lists  # UN dateGenerated
    assert "2025-04-14 (stated in the list)" in lists  # UK Last Updated
    assert "not stated by the list" in lists  # OFAC's legacy CSVs

    engine = _text(sections["engine"])
    assert ENGINE_VERSION in engine and "0.75" in engine and "composite" in engine

    counts = [int(td.text_content().replace(",", "")) for td in sections["counts"].iter("td")]
    matched, not_matched, failed, matches = counts
    assert failed == finished_job["failed_entities"] == 0
    assert matched + not_matched == finished_job["completed_entities"]
    assert matches == finished_job["matches_found"] and matched >= len(UNLISTED)

    plot = sections["scores"].find(".//img").get("src")
    assert plot.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(plot.split(",", 1)[1])
    histogram = sections["scores"].find(".//table")
    assert sum(int(td.text_content()) for td in histogram.findall(".//tr")[1].findall("td")) == (
        matched
    )
    per_list = {
        _text(row.findall("td")[0]): int(_text(row.findall("td")[1]).replace(",", ""))
        for row in sections["per-list"].findall(".//tr")[1:]
    }
    assert sum(per_list.values()) == matches and {"ofac", "un", "uk"} <= set(per_list)
    assert len(sections["per-program"].findall(".//tr")) > 2

    rows = sections["matches"].xpath("./table/tr[td]")
    assert len(rows) == matches  # under the cap, every match is listed
    scores = [float(_text(row.findall("td")[3])) for row in rows]
    assert scores == sorted(scores, reverse=True)
    contributions = _text(rows[-1].findall("td")[5])
    assert "base" in contributions and "name score" in contributions and "total" in contributions


def test_job_report_pdf_pages_show_every_section(client, headers, finished_job, served_snapshot):
    job_id = finished_job["job_id"]
    response = client.get(f"/kyc/jobs/{job_id}/report", params={"format": "pdf"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = read_pdf(response.content)
    for heading in SECTIONS.values():
        assert heading in text, heading
    for fact in (
        TENANT,
        job_id,
        served_snapshot,
        ENGINE_VERSION,
        "2026-02-27 (stated in the list)",
    ):
        assert fact in text, fact


def read_pdf(content: bytes) -> str:
    """Every page rendered to an image (each must show something) and its text, joined."""
    document = pypdfium2.PdfDocument(content)
    texts = []
    for page in document:
        image = page.render(scale=1).to_pil().convert("L")
        assert image.size[0] > 500 and image.getextrema()[0] < 100, "a blank page"
        texts.append(page.get_textpage().get_text_range())
    assert len(texts) >= 1
    return " ".join(" ".join(texts).split())


def test_reports_of_an_unfinished_or_unknown_job(client, headers, other_tenant, finished_job):
    pending = unstarted_job()
    unfinished = client.get(f"/kyc/jobs/{pending}/report", headers=headers)
    assert unfinished.status_code == 409 and error_of(unfinished)["error"] == "conflict"
    assert client.get(f"/exports/{pending}", headers=headers).status_code == 409
    unknown = client.get(f"/kyc/jobs/{new_job_id()}/report", headers=headers)
    assert unknown.status_code == 404
    foreign = client.get(f"/kyc/jobs/{finished_job['job_id']}/report", headers=other_tenant)
    assert foreign.status_code == 404
    bad_format = client.get(
        f"/kyc/jobs/{finished_job['job_id']}/report", params={"format": "doc"}, headers=headers
    )
    assert bad_format.status_code == 400


def test_single_check_report_in_both_formats(client, headers, other_tenant, listed):
    posted = client.post(
        "/kyc", json={"subject": {"full_name": listed[0]}, "threshold": 0.7}, headers=headers
    ).json()
    check_id = posted["check_id"]
    page = client.get(f"/kyc/{check_id}/report", headers=headers)
    assert page.status_code == 200
    sections = {s.get("id"): s for s in lxml_html.fromstring(page.content).iter("section")}
    assert set(SECTIONS) <= set(sections)
    assert check_id in _text(sections["summary"]) and "0.7" in _text(sections["engine"])
    assert len(sections["matches"].xpath("./table/tr[td]")) == posted["match_count"]
    pdf = client.get(f"/kyc/{check_id}/report", params={"format": "pdf"}, headers=headers)
    assert check_id in read_pdf(pdf.content)
    assert client.get(f"/kyc/{check_id}/report", headers=other_tenant).status_code == 404


# --- exports ----------------------------------------------------------------------------------


def _without_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_export_gives_a_signed_url_that_needs_no_token(client, headers, finished_job):
    job_id = finished_job["job_id"]
    exported = client.get(f"/exports/{job_id}", headers=headers)
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert set(body) >= {"request_id", "bucket", "key", "presigned_url"}
    assert body["key"] == f"exports/{body['request_id']}/kyc-report-{job_id}.pdf"
    assert body["bucket"] == JobStore(settings.JOB_STORE_URI).root
    query = parse_qs(urlsplit(body["presigned_url"]).query)
    assert int(query["expires"][0]) - time.time() == pytest.approx(3600, abs=60)

    download = client.get(_without_host(body["presigned_url"]))  # no Authorization header
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF") and job_id in read_pdf(download.content)


def test_changed_expired_or_foreign_signatures_are_refused(client, headers, finished_job, listed):
    job_id = finished_job["job_id"]
    body = client.get(f"/exports/{job_id}", headers=headers).json()
    url = urlsplit(body["presigned_url"])
    query = parse_qs(url.query)
    signature, expires = query["signature"][0], query["expires"][0]

    tampered = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    changed = client.get(f"{url.path}?expires={expires}&signature={tampered}")
    later = client.get(f"{url.path}?expires={int(expires) + 3600}&signature={signature}")
    # Another export's key (a single check's report) under this export's signature.
    check_id = client.post("/kyc", json={"subject": {"full_name": listed[0]}}, headers=headers)
    other = client.get(f"/exports/{check_id.json()['check_id']}", headers=headers).json()
    foreign = client.get(
        f"/exports/download/{other['key']}?expires={expires}&signature={signature}"
    )
    signer = UrlSigner(load_or_create_secret("", settings.EXPORT_URL_SECRET_FILE))
    expired = client.get(f"{url.path}?{signer.query(body['key'], -5)}")
    unsigned = client.get(url.path)
    for refused in (changed, later, foreign, expired, unsigned):
        assert refused.status_code == 403, refused.text
        assert error_of(refused)["error"] == "forbidden"
    assert "expired" in expired.json()["message"]
    assert client.get(_without_host(other["presigned_url"])).status_code == 200


def test_exports_of_another_tenant_or_unknown_ids_are_404(
    client, headers, other_tenant, finished_job
):
    foreign = client.get(f"/exports/{finished_job['job_id']}", headers=other_tenant)
    assert foreign.status_code == 404 and error_of(foreign)["error"] == "not_found"
    assert client.get(f"/exports/{new_job_id()}", headers=headers).status_code == 404
    no_permission = bearer(TENANT, ["kyc:read"])
    assert (
        client.get(f"/exports/{finished_job['job_id']}", headers=no_permission).status_code == 403
    )


# --- re-runs, job fields, the run's artifact -----------------------------------------------


def test_rerun_makes_a_new_job_with_identical_results(
    client, headers, finished_job, served_snapshot
):
    job_id = finished_job["job_id"]
    created = client.post(f"/kyc/jobs/{job_id}/rerun", headers=headers)
    assert created.status_code == 200, created.text
    rerun = wait_finished(client, headers, created.json()["job_id"])
    assert rerun["job_status"] == "completed"
    assert rerun["rerun_of"] == job_id and rerun["origin"] == "rerun"
    assert rerun["watchlist_version"] == served_snapshot
    assert rerun["engine_version"] == finished_job["engine_version"] == ENGINE_VERSION
    original = client.get(f"/kyc/jobs/{job_id}/results?format=parquet", headers=headers)
    again = client.get(f"/kyc/jobs/{rerun['job_id']}/results?format=parquet", headers=headers)
    assert original.status_code == again.status_code == 200
    assert again.content == original.content
    assert pl.read_parquet(original.content)["is_match"].any()


def test_rerun_refusals(client, headers, other_tenant, finished_job):
    assert client.post(f"/kyc/jobs/{unstarted_job()}/rerun", headers=headers).status_code == 409
    assert client.post(f"/kyc/jobs/{new_job_id()}/rerun", headers=headers).status_code == 404
    foreign = client.post(f"/kyc/jobs/{finished_job['job_id']}/rerun", headers=other_tenant)
    assert foreign.status_code == 404


def test_a_job_shows_its_lists_with_their_dates(client, headers, finished_job):
    lists = {item["code"]: item for item in finished_job["lists_screened"]}
    assert lists["un"]["publication_date"] == "2026-02-27"
    assert lists["un"]["publication_date_from"] == "list"
    assert lists["ofac"]["publication_date"] is None and lists["ofac"]["refreshed_at"]


def test_watchlists_give_publication_date_and_refresh_time(client, headers):
    body = client.get("/kyc/watchlists", headers=headers).json()
    lists = {item["code"]: item for item in body["lists"]}
    assert lists["uk"]["publication_date"] == "2025-04-14"
    assert lists["uk"]["publication_date_from"] == "list"
    assert lists["us_csl"]["publication_date"] is None
    assert lists["us_csl"]["latest_listed_on"] == "2022-04-21"
    assert all(item["refreshed_at"] for item in lists.values())


def test_the_run_publishes_the_report_summary_as_markdown(finished_job):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> list:
        async with get_client() as prefect:
            key = f"report-{finished_job['job_id']}"
            return await prefect.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    artifacts = asyncio.run(read())
    assert len(artifacts) == 1 and artifacts[0].type == "markdown"
    markdown = artifacts[0].data
    assert finished_job["job_id"] in markdown and "## Lists screened" in markdown
    assert "2026-02-27 (stated in the list)" in markdown and ENGINE_VERSION in markdown
