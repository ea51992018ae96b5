"""Analysts' decisions: the append-only log, what it suppresses, and its endpoints over HTTP
(the real app, the session's real snapshot). Decisions applied to real jobs and rescreens
are in test_monitoring.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from litestar.testing import TestClient

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from data.book import BookStore
from data.decisions import DecisionStore, NewDecision, subject_hashes, suppress
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id
from matching.frames import MATCH


def _decision(entity: str, match: str, decision: str = "false_positive", **extra) -> NewDecision:
    fields = {
        "entity_id": entity,
        "match_entity_id": match,
        "decision": decision,
        "reason": "reviewed",
        "actor": "key_1",
        "snapshot_version": "v1",
        "entry_hash": f"hash-{match}",
        "subject_hash": "subject-1",
    }
    return NewDecision(**(fields | extra))


# --- the log ------------------------------------------------------------------------------


def test_the_log_only_grows(tmp_path: Path) -> None:
    store = DecisionStore(str(tmp_path))
    first = store.record("acme", _decision("c1", "ofac-1"))
    log = tmp_path / "decisions" / "acme" / "log"
    before = {path.name: path.read_bytes() for path in log.iterdir()}
    revoked = store.revoke("acme", first["decision_id"], "key_2", "mistake")
    assert revoked is not None and revoked["revoked_by"] == "key_2"
    assert revoked["revoke_reason"] == "mistake" and revoked["revoked_at"] is not None
    after = {path.name: path.read_bytes() for path in log.iterdir()}
    assert len(after) == 2 and all(after[name] == data for name, data in before.items())
    assert store.revoke("acme", first["decision_id"], "key_3", "again")["revoked_by"] == "key_2"
    assert len(list(log.iterdir())) == 2, "a second revocation records nothing"
    assert store.revoke("acme", "dec_unknown", "key_2", None) is None
    # Another process (a fresh store) reads the same history.
    again = DecisionStore(str(tmp_path)).get("acme", first["decision_id"])
    assert again == revoked


def test_the_latest_decision_on_a_pair_decides(tmp_path: Path) -> None:
    store = DecisionStore(str(tmp_path))
    cleared = store.record("acme", _decision("c1", "ofac-1"))
    store.record("acme", _decision("c2", "ofac-2"))
    store.record("acme", _decision("c2", "ofac-2", "confirmed"))  # reviewed again: a true hit
    revoked = store.record("acme", _decision("c3", "ofac-3"))
    store.revoke("acme", revoked["decision_id"], "key_1", None)
    store.record("globex", _decision("c4", "ofac-4"))
    suppressing = store.suppressing("acme")
    assert suppressing["decision_id"].to_list() == [cleared["decision_id"]]
    assert store.suppressing("globex")["entity_id"].to_list() == ["c4"]
    assert store.suppressing("initech").is_empty()
    rows, total = store.page("acme", None, 0, 10)
    assert total == 4 and rows[0]["entity_id"] == "c3", "newest first"
    assert [r["entity_id"] for r in store.page("acme", "c2", 0, 10)[0]] == ["c2", "c2"]


def _results(matches: list[list[str]]) -> pl.DataFrame:
    rows = [
        [{"entity_id": match, "list_name": "ofac", "confidence_score": 0.9} for match in row]
        for row in matches
    ]
    return pl.DataFrame(
        {
            "row": list(range(len(matches))),
            "entity_id": [f"c{n + 1}" for n in range(len(matches))],
            "status": ["completed"] * len(matches),
            "is_match": [bool(row) for row in matches],
            "match_count": [len(row) for row in matches],
            "matches": rows,
        },
        schema_overrides={"matches": pl.List(MATCH)},
    )


def test_suppression_holds_while_both_sides_are_unchanged() -> None:
    entities = entities_from_records(
        [
            {"entity_id": "c1", "subject": {"full_name": "Ann Example"}},
            {"entity_id": "c2", "subject": {"full_name": "Bob Example"}},
            {"entity_id": "c3", "subject": {"full_name": "Cid Example"}},
        ]
    )
    subjects = subject_hashes(entities).to_list()
    assert len(set(subjects)) == 3
    results = _results([["ofac-1", "ofac-2"], ["ofac-1"], ["ofac-1"]])
    suppressing = pl.DataFrame(
        {
            "decision_id": ["dec_a", "dec_b", "dec_c"],
            "entity_id": ["c1", "c2", "c3"],
            "match_entity_id": ["ofac-1", "ofac-1", "ofac-1"],
            "entry_hash": ["h1", "h1", "h-old"],  # c3's decision saw another version of it
            "subject_hash": [subjects[0], "another subject", subjects[2]],
        }
    )
    hashes = pl.DataFrame({"match_entity_id": ["ofac-1", "ofac-2"], "entry_hash": ["h1", "h2"]})
    out = suppress(results, entities, suppressing, hashes)
    assert [[m["entity_id"] for m in row] for row in out["matches"].to_list()] == [
        ["ofac-2"],
        ["ofac-1"],  # c2's subject changed since its decision
        ["ofac-1"],  # the entry changed since c3's decision
    ]
    assert out["match_count"].to_list() == [1, 1, 1]
    moved = out["suppressed"].to_list()
    assert [m["decision_id"] for m in moved[0]] == ["dec_a"] and moved[1] == moved[2] == []
    assert out.columns == [*results.columns, "suppressed"]


def test_subject_hashes_follow_every_subject_field() -> None:
    same = entities_from_records(
        [
            {"entity_id": "a", "subject": {"full_name": "Ann", "birth_date": "1970"}},
            {"entity_id": "b", "subject": {"full_name": "Ann", "birth_date": "1970"}},
            {"entity_id": "c", "subject": {"full_name": "Ann", "birth_date": "1971"}},
            {
                "entity_id": "d",
                "subject": {"full_name": "Ann", "birth_date": "1970", "country": "FR"},
            },
        ]
    )
    hashes = subject_hashes(same).to_list()
    assert hashes[0] == hashes[1] and len(set(hashes)) == 3


# --- over HTTP ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, snapshot_store) -> ApiConfig:
    home = tmp_path_factory.mktemp("decisions")
    return ApiConfig(
        job_store_uri=str(home / "jobs"),
        snapshot_dir=snapshot_store.root,
        api_keys_file=home / "api_keys.json",
    )


@pytest.fixture(scope="module")
def client(config: ApiConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tokens(config: ApiConfig) -> dict[str, dict[str, str]]:
    store = ApiKeyStore(config.api_keys_file)
    made = {
        "analyst": store.create("acme", ["kyc:review", "kyc:read", "kyc:create"]),
        "reader": store.create("acme", ["kyc:read", "kyc:create"]),
        "other": store.create("globex", list(PERMISSIONS)),
    }
    return {name: {"Authorization": f"Bearer {token}"} for name, (token, _) in made.items()}


@pytest.fixture(scope="module")
def listed(snapshot_store) -> str:
    """A listed entry's engine id."""
    return snapshot_store.entry_hashes()["match_entity_id"].sort()[0]


@pytest.fixture(scope="module")
def acme_job(config: ApiConfig, snapshot_store) -> str:
    """A job of acme (stored, not run) whose entity j1 a decision can name; and c1 in the
    book of acme."""
    meta = JobMeta(
        job_id=new_job_id(),
        tenant="acme",
        status="completed",
        watchlist_version=snapshot_store.current_version(),
        monitor=True,
    )
    records = [{"entity_id": "j1", "subject": {"full_name": "Ann Example"}}]
    JobStore(config.job_store_uri).create_job(meta, entities_from_records(records))
    book_records = [{"entity_id": "c1", "subject": {"full_name": "Cid Example"}}]
    BookStore(config.job_store_uri).add_job(meta, entities_from_records(book_records))
    return meta.job_id


BAD_BODIES = [
    ({}, "entity_id"),
    ({"entity_id": "c1", "match_entity_id": "x", "decision": "maybe", "reason": "r"}, "decision"),
    ({"entity_id": "c1", "match_entity_id": "x", "decision": "confirmed"}, "reason"),
    ({"entity_id": "c1", "match_entity_id": "x", "decision": "confirmed", "reason": ""}, "reason"),
    ({"entity_id": 7, "match_entity_id": "x", "decision": "confirmed", "reason": "r"}, "entity_id"),
    (
        {"entity_id": "c1", "match_entity_id": "x", "decision": "confirmed", "reason": "r", "y": 1},
        "y",
    ),
]


@pytest.mark.parametrize(("body", "loc"), BAD_BODIES)
def test_bad_bodies_are_400_naming_the_field(
    client: TestClient, tokens: dict, acme_job: str, body: dict, loc: str
) -> None:
    response = client.post("/kyc/decisions", json=body, headers=tokens["analyst"])
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["loc"] == loc


def test_not_json_is_400(client: TestClient, tokens: dict) -> None:
    response = client.post("/kyc/decisions", content=b"{no", headers=tokens["analyst"])
    assert response.status_code == 400 and response.json()["details"][0]["loc"] == "body"


def test_unknown_ids_are_404(client: TestClient, tokens: dict, acme_job: str, listed: str) -> None:
    base = {"decision": "false_positive", "reason": "not our customer"}
    cases = [
        ({"entity_id": "nobody", "match_entity_id": listed}, "entity_id"),
        ({"entity_id": "c1", "match_entity_id": "ofac-no-such-entry"}, "match_entity_id"),
        ({"entity_id": "j1", "match_entity_id": listed, "job_id": new_job_id()}, "job_id"),
        ({"entity_id": "j9", "match_entity_id": listed, "job_id": acme_job}, "entity_id"),
    ]
    for body, loc in cases:
        response = client.post("/kyc/decisions", json=base | body, headers=tokens["analyst"])
        assert response.status_code == 404, (body, response.text)
        assert response.json()["details"][0]["loc"] == loc
    # Another tenant cannot decide on acme's job or book entity.
    response = client.post(
        "/kyc/decisions",
        json=base | {"entity_id": "j1", "match_entity_id": listed, "job_id": acme_job},
        headers=tokens["other"],
    )
    assert response.status_code == 404
    for method in ("get", "delete"):
        response = getattr(client, method)("/kyc/decisions/dec_nope", headers=tokens["analyst"])
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_review_needs_its_own_permission(client: TestClient, tokens: dict) -> None:
    for method, path in (
        ("post", "/kyc/decisions"),
        ("get", "/kyc/decisions"),
        ("get", "/kyc/decisions/dec_x"),
        ("delete", "/kyc/decisions/dec_x"),
    ):
        kwargs = {"json": {}} if method == "post" else {}
        response = getattr(client, method)(path, headers=tokens["reader"], **kwargs)
        assert response.status_code == 403, (method, path)
        assert "kyc:review" in response.json()["message"]
        assert getattr(client, method)(path, **kwargs).status_code == 401


def test_decide_list_revoke(
    client: TestClient, tokens: dict, acme_job: str, listed: str, snapshot_store
) -> None:
    on_job = client.post(
        "/kyc/decisions",
        json={
            "entity_id": "j1",
            "match_entity_id": listed,
            "decision": "false_positive",
            "reason": "other birth date",
            "job_id": acme_job,
        },
        headers=tokens["analyst"],
    )
    assert on_job.status_code == 201, on_job.text
    decided = on_job.json()["decision"]
    assert decided["active"] and decided["decided_by"].startswith("key_")
    assert decided["watchlist_version"] == snapshot_store.current_version()
    on_book = client.post(
        "/kyc/decisions",
        json={
            "entity_id": "c1",
            "match_entity_id": listed,
            "decision": "confirmed",
            "reason": "ok",
        },
        headers=tokens["analyst"],
    ).json()["decision"]
    assert on_book["job_id"] is None

    page = client.get("/kyc/decisions?limit=1", headers=tokens["analyst"]).json()
    assert page["count"] == 2 and page["decisions"][0]["decision_id"] == on_book["decision_id"]
    second = client.get(
        f"/kyc/decisions?limit=1&cursor={page['next_cursor']}", headers=tokens["analyst"]
    ).json()
    assert second["decisions"][0]["decision_id"] == decided["decision_id"]
    assert second["next_cursor"] is None
    mismatched = client.get(
        f"/kyc/decisions?entity_id=c1&cursor={page['next_cursor']}", headers=tokens["analyst"]
    )
    assert mismatched.status_code == 400, "a cursor is bound to its filter"
    only = client.get("/kyc/decisions?entity_id=j1", headers=tokens["analyst"]).json()
    assert [d["entity_id"] for d in only["decisions"]] == ["j1"]
    assert client.get("/kyc/decisions", headers=tokens["other"]).json()["count"] == 0

    revoked = client.delete(
        f"/kyc/decisions/{decided['decision_id']}?reason=cleared too fast",
        headers=tokens["analyst"],
    )
    assert revoked.status_code == 200
    body = revoked.json()["decision"]
    assert not body["active"] and body["revoke_reason"] == "cleared too fast"
    assert body["reason"] == "other birth date", "the decision itself is kept"
    kept = client.get(f"/kyc/decisions/{decided['decision_id']}", headers=tokens["analyst"])
    assert kept.json()["decision"]["revoked_at"] == body["revoked_at"]
    other = client.delete(f"/kyc/decisions/{decided['decision_id']}", headers=tokens["other"])
    assert other.status_code == 404, "another tenant's decision is not found"
