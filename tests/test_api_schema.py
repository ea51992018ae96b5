"""schemathesis against the app's own OpenAPI schema: no 5xx, and every response conforms.

Requests go to the real app (ASGI), authenticated, against the session's real snapshot. The
checks are the conformance ones; "schema-valid data must be accepted" is left out on
purpose: the schema says `nationality` is a string, the API also insists on ISO alpha-2.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from conftest import drop_waiting_runs
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from api.config import ApiConfig
from data.api_keys import PERMISSIONS, ApiKeyStore
from kyc import settings as kyc_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Generated cases per operation: enough to find shape mistakes, bounded in time.
EXAMPLES = 25


@pytest.fixture(scope="module")
def runner(watchlist_dir) -> Iterator[None]:
    """The embedded runner, so the deployments exist and fuzzed jobs really run. Fuzzed
    refreshes (POST /kyc/watchlists/refresh) read the shared files the session snapshot was
    made of: the same content, so they change nothing (and never reach for the network)."""
    from flows.runner import start_embedded_runner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kyc_settings, "WATCHLIST_DIR", str(watchlist_dir))
        drop_waiting_runs()  # other modules' waiting runs would run on the session's store
        handle = start_embedded_runner()
        yield
        handle.stop()
        drop_waiting_runs()  # refreshes the fuzzer started and the runner did not reach


def test_every_operation_conforms(snapshot_store, runner: None) -> None:
    shutil.copytree(snapshot_store.root, kyc_settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    token, _ = ApiKeyStore(kyc_settings.API_KEYS_FILE).create("fuzz", list(PERMISSIONS))
    app = create_app(ApiConfig())
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    schema.app = app
    headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            conforms()
        except Exception as error:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {error}")
    if failures:
        pytest.fail("\n\n".join(failures))


# --- what the black-box test found in the schema ------------------------------------------


@pytest.fixture(scope="module")
def served(snapshot_store):
    shutil.copytree(snapshot_store.root, kyc_settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    app = create_app(ApiConfig())
    return app, app.openapi_schema.to_schema()


def test_health_is_declared_open_and_the_rest_protected(served) -> None:
    _, schema = served
    assert schema["paths"]["/health"]["get"]["security"] == []
    assert "security" not in schema["paths"]["/kyc/jobs"]["post"]  # the global bearer
    assert schema["security"] == [{"bearer": []}]


def test_job_request_needs_an_entity_with_a_name_or_an_identifier(served) -> None:
    _, schema = served
    body = schema["paths"]["/kyc/jobs"]["post"]["requestBody"]["content"]["application/json"]
    entities = body["schema"]["properties"]["entities"]
    assert entities["minItems"] == 1
    subject = entities["items"]["properties"]["subject"]
    required = {branch["required"][0] for branch in subject["anyOf"]}
    assert required == {
        "full_name",
        "document_id",
        "identifiers",
        "wallet_address",
        "imo_number",
        "call_sign",
    }


def test_the_schema_offers_only_the_lists_the_snapshot_holds(served, snapshot_store) -> None:
    _, schema = served
    loaded = set(snapshot_store.list_stats()["list_code"])
    assert "eu" not in loaded
    text = json.dumps(schema["paths"]["/kyc"]["post"]["requestBody"])
    assert "[uU][nN]" in text and "[eE][uU]" not in text
    query = {p["name"]: p for p in schema["paths"]["/kyc/jobs"]["post"]["parameters"]}
    assert "[eE][uU]" not in query["lists"]["schema"]["pattern"]


def test_every_error_response_has_our_body_and_a_created_job_links_on(served) -> None:
    _, schema = served
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for code, response in operation.get("responses", {}).items():
                if code.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, code)
    links = schema["paths"]["/kyc/jobs"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "GetJob",
        "CancelJob",
        "DownloadResults",
    }
    assert "400" in schema["paths"]["/kyc/jobs/{job_id}/cancel"]["post"]["responses"]


def test_options_lists_every_method_of_a_path(served) -> None:
    from litestar.testing import TestClient

    app, _ = served
    token, _ = ApiKeyStore(kyc_settings.API_KEYS_FILE).create("options", list(PERMISSIONS))
    with TestClient(app) as client:
        allow = client.options("/kyc/jobs", headers={"Authorization": f"Bearer {token}"})
    assert allow.status_code == 204
    assert set(allow.headers["allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS", "POST"}
