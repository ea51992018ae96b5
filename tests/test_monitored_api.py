"""The monitored book over HTTP: GET /kyc/monitored (paged, counted), GET and DELETE of one
entity, tenants apart. The book itself is made as monitored jobs make it (data/book.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from api import create_app
from api.config import ApiConfig
from data.api_keys import ApiKeyStore
from data.book import BookStore
from data.entities import entities_from_records
from data.jobs import JobMeta


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ApiConfig:
    home = tmp_path_factory.mktemp("monitored")
    return ApiConfig(
        job_store_uri=str(home / "jobs"),
        snapshot_dir=home / "snapshots",
        api_keys_file=home / "api_keys.json",
    )


@pytest.fixture(scope="module")
def tokens(config: ApiConfig) -> dict[str, dict[str, str]]:
    store = ApiKeyStore(config.api_keys_file)
    made = {
        "acme": store.create("acme", ["kyc:read", "kyc:create"]),
        "acme_reader": store.create("acme", ["kyc:read"]),
        "globex": store.create("globex", ["kyc:read", "kyc:create"]),
    }
    return {name: {"Authorization": f"Bearer {token}"} for name, (token, _) in made.items()}


@pytest.fixture(scope="module")
def client(config: ApiConfig) -> Iterator[TestClient]:
    book = BookStore(config.job_store_uri)
    records = [
        {"entity_id": f"c{n:02d}", "subject": {"full_name": f"Customer {n}", "country": "FR"}}
        for n in range(25)
    ]
    meta = JobMeta(job_id="job-1", tenant="acme", monitor=True, watchlist_version="v1")
    book.add_job(meta, entities_from_records(records))
    other = JobMeta(job_id="job-2", tenant="globex", monitor=True, watchlist_version="v1")
    book.add_job(other, entities_from_records([{"entity_id": "g1", "subject": {"full_name": "G"}}]))
    with TestClient(create_app(config)) as test_client:
        yield test_client


def test_the_book_pages_with_its_count(client: TestClient, tokens: dict) -> None:
    seen, cursor = [], None
    while True:
        url = "/kyc/monitored?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=tokens["acme"]).json()
        assert page["count"] == 25
        seen += [entity["entity_id"] for entity in page["entities"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"c{n:02d}" for n in range(25)]
    first = client.get("/kyc/monitored?limit=1", headers=tokens["acme"]).json()["entities"][0]
    assert first["subject"] == {"full_name": "Customer 0", "country": "FR"}
    assert first["screened_version"] == "v1" and first["source_job_id"] == "job-1"
    bad = client.get("/kyc/monitored?cursor=xyz", headers=tokens["acme"])
    assert bad.status_code == 400 and bad.json()["details"][0]["loc"] == "query.cursor"
    globex = client.get("/kyc/monitored", headers=tokens["globex"]).json()
    assert [entity["entity_id"] for entity in globex["entities"]] == ["g1"]


def test_one_entity_and_its_removal(client: TestClient, tokens: dict, config: ApiConfig) -> None:
    one = client.get("/kyc/monitored/c03", headers=tokens["acme"])
    assert one.status_code == 200
    entity = one.json()["entity"]
    assert entity["entity_id"] == "c03" and entity["subject"]["full_name"] == "Customer 3"
    assert entity["open_matches"] == [] and entity["decisions"] == []
    assert client.get("/kyc/monitored/c03", headers=tokens["globex"]).status_code == 404
    assert client.delete("/kyc/monitored/c03", headers=tokens["globex"]).status_code == 404
    assert client.delete("/kyc/monitored/c03", headers=tokens["acme_reader"]).status_code == 403
    removed = client.delete("/kyc/monitored/c03", headers=tokens["acme"])
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert client.get("/kyc/monitored/c03", headers=tokens["acme"]).status_code == 404
    assert client.delete("/kyc/monitored/c03", headers=tokens["acme"]).status_code == 404
    assert "c03" not in BookStore(config.job_store_uri).read("acme")["entity_id"].to_list()
    assert client.get("/kyc/monitored", headers=tokens["acme"]).json()["count"] == 24


def test_ids_with_any_character(client: TestClient, tokens: dict, config: ApiConfig) -> None:
    meta = JobMeta(job_id="job-3", tenant="acme", monitor=True, watchlist_version="v1")
    odd = "c/with space#1"
    BookStore(config.job_store_uri).add_job(
        meta, entities_from_records([{"entity_id": odd, "subject": {"full_name": "Odd"}}])
    )
    response = client.get("/kyc/monitored/c%2Fwith%20space%231", headers=tokens["acme"])
    assert response.status_code == 200, response.text
    assert response.json()["entity"]["entity_id"] == odd
