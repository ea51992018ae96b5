"""Evidence on an s3:// store (moto's stand-alone S3 server): single checks stored and read
back there, and GET /exports/{jobId} answering a real S3 presigned URL that downloads the
PDF with no token."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from servers import S3Server, s3_server

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from data.checks import CheckStore, new_stored_check
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id
from kyc import settings


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def store_uri(s3: S3Server) -> str:
    return s3.bucket_uri("kyc/store")


def test_check_store_round_trip_on_s3(store_uri: str) -> None:
    checks = CheckStore(store_uri)
    answer = b'{"status":"success","check_id":"c1","is_match":false}'
    stored = new_stored_check(
        "6c4b9d2e-0000-4000-8000-000000000001", "acme", {"subject": {}}, answer, "t"
    )
    checks.save(stored)
    again = checks.get("acme", stored.check_id)
    assert again is not None and bytes(again.response) == answer
    assert checks.get("globex", stored.check_id) is None


@pytest.fixture(scope="module")
def client(store_uri: str, snapshot_store, tmp_path_factory) -> Iterator[TestClient]:
    shutil.copytree(snapshot_store.root, settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    home: Path = tmp_path_factory.mktemp("s3-api")
    config = ApiConfig(job_store_uri=store_uri, api_keys_file=home / "keys.json")
    with TestClient(create_app(config), timeout=120) as test_client:
        test_client.headers["Authorization"] = (
            "Bearer " + (ApiKeyStore(config.api_keys_file).create("acme", list(PERMISSIONS))[0])
        )
        yield test_client


def test_single_check_is_stored_on_s3(client: TestClient) -> None:
    posted = client.post("/kyc", json={"subject": {"full_name": "Vladimir Putin"}})
    assert posted.status_code == 200, posted.text
    again = client.get(f"/kyc/{posted.json()['check_id']}")
    assert again.content == posted.content


def test_export_on_s3_is_a_real_presigned_url(client: TestClient, store_uri: str, s3) -> None:
    from flows.screen_job import screen_job

    jobs = JobStore(store_uri)
    meta = JobMeta(job_id=new_job_id(), tenant="acme", chunk_size=2)
    names = ["Vladimir Putin", "Kim Jong Un", "Quentin Zyxwvut"]
    jobs.create_job(meta, entities_from_records([{"subject": {"full_name": n}} for n in names]))
    state = asyncio.run(
        screen_job(
            meta.job_id,
            "acme",
            store_uri=store_uri,
            snapshot_root=str(settings.SNAPSHOT_DIR),
            return_state=True,
        )
    )
    assert state.is_completed(), state.message

    exported = client.get(f"/exports/{meta.job_id}")
    assert exported.status_code == 200, exported.text
    body = msgspec.json.decode(exported.content)
    bucket = store_uri.removeprefix("s3://").split("/", 1)[0]
    assert body["bucket"] == bucket
    assert body["key"] == f"kyc/store/exports/{body['request_id']}/kyc-report-{meta.job_id}.pdf"
    url = body["presigned_url"]
    assert url.startswith(f"http://{s3.endpoint}/{bucket}/kyc/store/exports/")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    download = httpx.get(url, timeout=30)  # no token: the signature is the permission
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
