"""schemathesis against the app's own OpenAPI schema: no 5xx, and every response conforms.

Requests go to the real app (ASGI), authenticated, against the session's real snapshot. The
checks are the conformance ones; "schema-valid data must be accepted" is left out on
purpose: the schema says `nationality` is a string, the API also insists on ISO alpha-2.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import schemathesis
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
def runner() -> Iterator[None]:
    """The embedded runner, so the deployments exist and fuzzed jobs really run."""
    from flows.runner import start_embedded_runner

    handle = start_embedded_runner()
    yield
    handle.stop()


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
