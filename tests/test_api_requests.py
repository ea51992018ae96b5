"""The API's front door, over HTTP against the real app: bad requests, the auth matrix, rate
limits. None of these need a job to run, so no Prefect flow run is started here."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import polars as pl
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id

SECRET = "test-secret-for-hs256-at-least-32-bytes-long"
MAX_ENTITIES = 50
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def rsa_key(home: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (home / "public.pem").write_bytes(pem)
    return key


@pytest.fixture(scope="module")
def config(home: Path, rsa_key: rsa.RSAPrivateKey) -> ApiConfig:
    return ApiConfig(
        job_store_uri=str(home / "jobs"),
        snapshot_dir=home / "snapshots",
        api_keys_file=home / "api_keys.json",
        jwt_secret=SECRET,
        jwt_public_key_file=str(home / "public.pem"),
        max_body_bytes=MAX_BODY,
        max_entities_per_job=MAX_ENTITIES,
    )


@pytest.fixture(scope="module")
def client(config: ApiConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keys(config: ApiConfig) -> dict[str, str]:
    """Bearer headers: every permission, none of them, and another tenant with all of them."""
    store = ApiKeyStore(config.api_keys_file)
    full, _ = store.create("acme", list(PERMISSIONS))
    none, _ = store.create("acme", [])
    other, _ = store.create("globex", list(PERMISSIONS))
    return {"full": full, "none": none, "other": other}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def acme_job(config: ApiConfig) -> str:
    """A job of tenant acme, stored directly (no flow run): what other tenants must not see."""
    store = JobStore(config.job_store_uri)
    meta = JobMeta(job_id=new_job_id(), tenant="acme", status="completed")
    store.create_job(meta, entities_from_records([{"subject": {"full_name": "Ann Example"}}]))
    return meta.job_id


def job_count(config: ApiConfig, tenant: str = "acme") -> int:
    return len(JobStore(config.job_store_uri).list_jobs(tenant, 1000)[0])


def csv_body(rows: list[str]) -> bytes:
    return ("entity_id,full_name,birth_date,nationality,lists\n" + "\n".join(rows) + "\n").encode()


def parquet_body(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def entity(**subject: object) -> dict:
    return {"subject": {"full_name": "Ann Example", **subject}}


# (name, content type, body, expected status, a loc or message fragment that must appear)
BAD_REQUESTS = [
    ("not JSON", "application/json", b"{not json", 400, "body"),
    ("not an object", "application/json", b"[1, 2]", 400, "body"),
    (
        "wrong type",
        "application/json",
        {"entities": [entity(full_name=42)]},
        400,
        "entities[0].subject.full_name",
    ),
    ("entities not a list", "application/json", {"entities": "x"}, 400, "entities"),
    (
        "wrong option type",
        "application/json",
        {"entities": [entity()], "threshold": "high"},
        400,
        "threshold",
    ),
    (
        "threshold out of range",
        "application/json",
        {"entities": [entity()], "threshold": 2},
        400,
        "threshold",
    ),
    (
        "no name nor identifier",
        "application/json",
        {"entities": [{"subject": {"nationality": "US"}}]},
        400,
        "entities[0].subject.full_name",
    ),
    (
        "bad date",
        "application/json",
        {"entities": [entity(), entity(birth_date="15/03/1985")]},
        400,
        "entities[1].subject.birth_date",
    ),
    (
        "impossible date",
        "application/json",
        {"entities": [entity(birth_date="1985-02-30")]},
        400,
        "entities[0].subject.birth_date",
    ),
    (
        "bad nationality",
        "application/json",
        {"entities": [entity(nationality="Narnia")]},
        400,
        "entities[0].subject.nationality",
    ),
    (
        "unknown entity list",
        "application/json",
        {"entities": [{**entity(), "lists": ["ofac", "mi6"]}]},
        400,
        "entities[0].lists",
    ),
    (
        "unknown job list",
        "application/json",
        {"entities": [entity()], "lists": ["mi6"]},
        400,
        "lists",
    ),
    (
        "unknown search type",
        "application/json",
        {"entities": [entity()], "search_type": "psychic"},
        400,
        "search_type",
    ),
    (
        "llm_enhanced",
        "application/json",
        {"entities": [{**entity(), "search_type": "llm_enhanced"}]},
        400,
        "does not ship",
    ),
    (
        "duplicate entity_id",
        "application/json",
        {"entities": [{**entity(), "entity_id": "a"}, {**entity(), "entity_id": "a"}]},
        400,
        "entities[1].entity_id",
    ),
    ("no entities", "application/json", {"entities": []}, 400, "no entities"),
    ("entities missing", "application/json", {"lists": ["un"]}, 400, "entities"),
    (
        "too many entities",
        "application/json",
        {"entities": [entity()] * (MAX_ENTITIES + 1)},
        400,
        f"limit of {MAX_ENTITIES}",
    ),
    (
        "body too large",
        "application/json",
        b'{"entities": [' + b" " * MAX_BODY + b"]}",
        413,
        str(MAX_BODY),
    ),
    ("unsupported type", "application/xml", b"<entities/>", 415, "Content-Type"),
    (
        "bad CSV row",
        "text/csv",
        csv_body(["a,Ann,1980,US,ofac", "b,Bob,1980-13-01,US,un"]),
        400,
        "row 2, column birth_date",
    ),
    (
        "ragged CSV row",
        "text/csv",
        csv_body(["a,Ann,1980,US,ofac", "b,Bob,1980,US,un,extra"]),
        400,
        "row 2",
    ),
    (
        "unknown list in CSV",
        "text/csv",
        csv_body(["a,Ann,1980,US,ofac;kgb"]),
        400,
        "row 1, column lists",
    ),
    ("bad NDJSON line", "application/x-ndjson", b'{"full_name": "Ann"}\n{oops\n', 400, "row 2"),
    (
        "bad Parquet row",
        "application/vnd.apache.parquet",
        parquet_body(pl.DataFrame({"full_name": ["A", None], "nationality": ["US", "US"]})),
        400,
        "row 2, column full_name",
    ),
    ("not Parquet", "application/vnd.apache.parquet", b"PAR1 garbage", 400, "Parquet"),
]


@pytest.mark.parametrize(
    ("content_type", "body", "status", "fragment"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_are_rejected_naming_the_field(
    client: TestClient,
    config: ApiConfig,
    keys: dict[str, str],
    content_type: str,
    body: object,
    status: int,
    fragment: str,
) -> None:
    before = job_count(config)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(
        "/kyc/jobs", content=content, headers={**bearer(keys["full"]), "Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["status"] == "error"
    assert payload["error"] in {"bad_request", "payload_too_large", "unsupported_media_type"}
    assert fragment in json.dumps(payload), payload
    if status == 400:
        assert payload["details"], "a 400 names the field or row in details"
    assert job_count(config) == before, "a rejected request creates no job"


def test_file_options_are_validated(
    client: TestClient, config: ApiConfig, keys: dict[str, str]
) -> None:
    response = client.post(
        "/kyc/jobs?lists=ofac,mi6",
        content=csv_body(["a,Ann,1980,US,ofac"]),
        headers={**bearer(keys["full"]), "Content-Type": "text/csv"},
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["loc"] == "lists"


def test_single_check_bad_subject(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post(
        "/kyc", json={"subject": {"birth_date": "1985-99"}}, headers=bearer(keys["full"])
    )
    assert response.status_code == 400
    locs = [d["loc"] for d in response.json()["details"]]
    assert locs == ["subject.full_name", "subject.birth_date"]
    response = client.post("/kyc", json={"subject": {"full_name": 1}}, headers=bearer(keys["full"]))
    assert response.json()["details"][0]["loc"] == "subject.full_name"


# --- Authentication and authorisation ------------------------------------------------------

ENDPOINTS = [
    ("POST", "/kyc/jobs", "kyc:create"),
    ("GET", "/kyc/jobs", "kyc:read"),
    ("GET", "/kyc/jobs/{job}", "kyc:read"),
    ("GET", "/kyc/jobs/{job}/results", "kyc:export"),
    ("POST", "/kyc/jobs/{job}/cancel", "kyc:create"),
    ("POST", "/kyc", "kyc:create"),
    ("GET", "/kyc/watchlists", "watchlist:read"),
]


def hs256(claims: dict, secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def call(client: TestClient, method: str, path: str, job: str, headers: dict[str, str]):
    body = {"entities": [entity()]} if path == "/kyc/jobs" else {"subject": {"full_name": "Ann"}}
    url = path.format(job=job)
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS)
def test_auth_matrix(
    client: TestClient, keys: dict[str, str], acme_job: str, method: str, path: str, permission: str
) -> None:
    expired = hs256(
        {"tenant": "acme", "permissions": list(PERMISSIONS), "exp": int(time.time()) - 10}
    )
    forged = hs256(
        {"tenant": "acme", "permissions": list(PERMISSIONS), "exp": int(time.time()) + 60},
        "wrong" * 8,
    )
    others = [p for p in PERMISSIONS if p != permission]
    lacking = hs256({"tenant": "acme", "permissions": others, "exp": int(time.time()) + 60})
    cases = {
        "no token": ({}, 401),
        "malformed": ({"Authorization": "Token abc"}, 401),
        "not a JWT": (bearer("abc.def"), 401),
        "unknown key": (bearer("sk_" + "x" * 40), 401),
        "expired JWT": (bearer(expired), 401),
        "bad signature": (bearer(forged), 401),
        "missing permission (key)": (bearer(keys["none"]), 403),
        "missing permission (JWT)": (bearer(lacking), 403),
    }
    for name, (headers, status) in cases.items():
        response = call(client, method, path, acme_job, headers)
        assert response.status_code == status, (name, response.text)
        body = response.json()
        assert body["status"] == "error" and body["error"] in {"unauthorized", "forbidden"}, name
    if "{job}" in path:
        missing_id = new_job_id()
        response = call(client, method, path, acme_job, bearer(keys["other"]))
        missing = call(client, method, path, missing_id, bearer(keys["other"]))
        assert response.status_code == missing.status_code == 404
        # exactly like a job that does not exist: same body but for the id
        assert response.text.replace(acme_job, missing_id) == missing.text


def test_valid_tokens_of_each_kind_are_accepted(
    client: TestClient, keys: dict[str, str], rsa_key, home: Path
) -> None:
    claims = {"tenant": "acme", "scope": "kyc:read watchlist:read", "exp": int(time.time()) + 60}
    rs256 = jwt.encode(claims, rsa_key, algorithm="RS256")
    for token in (keys["full"], hs256(claims), rs256):
        response = client.get("/kyc/jobs", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.headers["X-RateLimit-Limit"]


def test_rs256_from_a_jwks_file(home: Path, rsa_key, config: ApiConfig) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    (home / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}))
    app = create_app(
        ApiConfig(**{**config.__dict__, "jwt_public_key_file": str(home / "jwks.json")})
    )
    token = jwt.encode(
        {"tenant": "acme", "permissions": ["kyc:read"], "exp": int(time.time()) + 60},
        rsa_key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    with TestClient(app) as jwks_client:
        assert jwks_client.get("/kyc/jobs", headers=bearer(token)).status_code == 200


def test_revoked_key_is_refused(client: TestClient, config: ApiConfig) -> None:
    store = ApiKeyStore(config.api_keys_file)
    token, record = store.create("acme", ["kyc:read"])
    assert client.get("/kyc/jobs", headers=bearer(token)).status_code == 200
    assert store.revoke(record.key_id)
    assert client.get("/kyc/jobs", headers=bearer(token)).status_code == 401


def test_keys_are_stored_only_as_hashes(config: ApiConfig, keys: dict[str, str]) -> None:
    text = config.api_keys_file.read_text()
    assert all(token not in text for token in keys.values())


def test_other_tenants_jobs_are_not_listed(
    client: TestClient, keys: dict[str, str], acme_job: str
) -> None:
    listed = client.get("/kyc/jobs", headers=bearer(keys["other"])).json()["jobs"]
    assert acme_job not in [job["job_id"] for job in listed]
    mine = client.get("/kyc/jobs", headers=bearer(keys["full"])).json()["jobs"]
    assert acme_job in [job["job_id"] for job in mine]


def test_open_paths_need_no_token(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/schema/openapi.json").status_code == 200


def test_ready_only_once_warm(client: TestClient) -> None:
    """/health/ready is a readiness probe: 503 while start-up builds the index, then 200."""
    deadline = time.monotonic() + 120
    while (answer := client.get("/health/ready")).status_code == 503:
        assert answer.json()["status"] == "error" and "warming up" in answer.json()["message"]
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.2)
    assert answer.status_code == 200 and answer.json()["ready"] is True
    assert client.get("/health").json()["ready"] is True


# --- Rate limiting ---------------------------------------------------------------------------


def test_rate_limit_per_token(config: ApiConfig, keys: dict[str, str]) -> None:
    app = create_app(
        ApiConfig(**{**config.__dict__, "rate_limit_requests": 3, "rate_limit_window_s": 60})
    )
    with TestClient(app) as limited:
        remaining = [
            limited.get("/kyc/jobs", headers=bearer(keys["full"])).headers["X-RateLimit-Remaining"]
            for _ in range(3)
        ]
        assert remaining == ["2", "1", "0"]
        response = limited.get("/kyc/jobs", headers=bearer(keys["full"]))
        assert response.status_code == 429
        body = response.json()
        assert body["error"] == "rate_limited"
        assert 1 <= body["retry_after"] <= 60
        assert response.headers["Retry-After"] == str(body["retry_after"])
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        # another token has its own budget
        assert limited.get("/kyc/jobs", headers=bearer(keys["other"])).status_code == 200


def test_errors_have_the_one_body(client: TestClient, keys: dict[str, str]) -> None:
    for response in (
        client.get("/no/such/path"),
        client.delete("/kyc/jobs", headers=bearer(keys["full"])),
        client.get("/kyc/jobs?limit=0", headers=bearer(keys["full"])),
    ):
        body = response.json()
        assert set(body) == {"status", "error", "message", "details"}
        assert body["status"] == "error"
    assert (
        client.get("/kyc/jobs?limit=0", headers=bearer(keys["full"])).json()["details"][0]["loc"]
        == "query.limit"
    )


def test_no_snapshot_yet_is_503_and_no_job(
    client: TestClient, config: ApiConfig, keys: dict[str, str]
) -> None:
    before = job_count(config)
    response = client.post("/kyc/jobs", json={"entities": [entity()]}, headers=bearer(keys["full"]))
    assert response.status_code == 503
    assert "snapshot" in response.json()["message"]
    assert job_count(config) == before


def test_internal_errors_say_nothing_of_internals(
    client: TestClient, config: ApiConfig, keys: dict[str, str]
) -> None:
    """A damaged progress file is a 500 with the error body: no traceback, no exception text."""
    store = JobStore(config.job_store_uri)
    meta = JobMeta(job_id=new_job_id(), tenant="acme")
    store.create_job(meta, entities_from_records([{"subject": {"full_name": "Ann Example"}}]))
    (Path(config.job_store_uri) / "jobs" / meta.job_id / "progress.json").write_text("{damaged")
    response = client.get(f"/kyc/jobs/{meta.job_id}", headers=bearer(keys["full"]))
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "error" and body["error"] == "internal_error"
    assert "Traceback" not in response.text and "JSON" not in response.text
