"""`kyc keys create/list/revoke`, and the keys it makes working (then not) against the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from api import create_app
from api.config import ApiConfig
from cli.main import app
from kyc import settings


def test_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys_file = tmp_path / "keys.json"
    monkeypatch.setattr(settings, "API_KEYS_FILE", keys_file)
    runner = CliRunner()
    created = runner.invoke(
        app, ["keys", "create", "--tenant", "acme", "--permissions", "kyc:create,kyc:read"]
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("sk_")
    assert token not in keys_file.read_text(), "only a hash is stored"

    listed = runner.invoke(app, ["keys", "list"])
    assert "acme" in listed.stdout and token not in listed.stdout
    key_id = next(word for word in listed.stdout.split() if word.startswith("key_"))

    config = ApiConfig(api_keys_file=keys_file, job_store_uri=str(tmp_path / "jobs"))
    with TestClient(create_app(config)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/kyc/jobs", headers=headers).status_code == 200
        assert client.get("/kyc/watchlists", headers=headers).status_code == 403
        assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
        assert client.get("/kyc/jobs", headers=headers).status_code == 401


def test_unknown_permission_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "API_KEYS_FILE", tmp_path / "keys.json")
    result = CliRunner().invoke(
        app, ["keys", "create", "--tenant", "acme", "--permissions", "kyc:everything"]
    )
    assert result.exit_code == 1
    assert "unknown permission" in result.output
    assert not (tmp_path / "keys.json").exists()
    assert CliRunner().invoke(app, ["keys", "revoke", "key_nope"]).exit_code == 1
