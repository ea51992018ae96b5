"""`kyc keys create/list/revoke`, and the keys it makes working (then not) against the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from api import create_app
from api.config import ApiConfig
from cli.main import app
from data.api_keys import ApiKeyStore
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


KYC = str(Path(sys.executable).parent / "kyc")


def run_kyc(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real `kyc` command in ``cwd``, with no KYC_ variable but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KYC_")}
    return subprocess.run(
        [KYC, *args], cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_create_says_where_the_key_was_stored(tmp_path: Path) -> None:
    """Run in the wrong folder without KYC_DATA_DIR, the key lands in that folder's ./var:
    the command names the absolute keys file and its data directory, so it shows at once."""
    wrong_folder = tmp_path / "somewhere-else"
    wrong_folder.mkdir()
    created = run_kyc(["keys", "create", "--tenant", "acme"], cwd=wrong_folder)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("sk_") and "\n" not in token, "stdout holds the key alone"

    data_dir = wrong_folder.resolve() / "var"
    keys_file = data_dir / "api_keys.json"
    assert f"Stored in {keys_file}, the keys file of the data directory {data_dir}" in (
        created.stderr
    )
    assert "KYC_DATA_DIR" in created.stderr
    assert ApiKeyStore(keys_file).lookup(token) is not None, "the file named holds the key"

    listed = run_kyc(["keys", "list"], cwd=wrong_folder)
    assert f"Keys of {keys_file}" in listed.stderr

    service_dir = (tmp_path / "service-data").resolve()
    elsewhere = run_kyc(
        ["keys", "create", "--tenant", "acme"], cwd=wrong_folder, KYC_DATA_DIR=str(service_dir)
    )
    assert f"Stored in {service_dir / 'api_keys.json'}, " in elsewhere.stderr
    assert ApiKeyStore(service_dir / "api_keys.json").lookup(elsewhere.stdout.strip())


def test_a_separate_keys_file_is_named_with_its_setting(tmp_path: Path) -> None:
    keys_file = (tmp_path / "secrets" / "keys.json").resolve()
    created = run_kyc(
        ["keys", "create", "--tenant", "acme"],
        cwd=tmp_path,
        KYC_DATA_DIR=str(tmp_path / "data"),
        KYC_API_KEYS_FILE=str(keys_file),
    )
    assert created.returncode == 0, created.stderr
    assert f"Stored in {keys_file} (KYC_API_KEYS_FILE; the data directory is " in created.stderr
    revoked = run_kyc(
        ["keys", "revoke", "key_nope"], cwd=tmp_path, KYC_API_KEYS_FILE=str(keys_file)
    )
    assert revoked.returncode == 1
    assert f"no key key_nope in {keys_file}" in revoked.stderr


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("KYC_CHUNK_SIZE", "10k", "KYC_CHUNK_SIZE='10k' is not a whole number"),
        ("KYC_DEFAULT_THRESHOLD", "high", "KYC_DEFAULT_THRESHOLD='high' is not a number"),
        ("KYC_STORE_CHECKS", "flase", "KYC_STORE_CHECKS='flase' is not true or false"),
    ],
)
def test_a_setting_that_cannot_be_read_is_named(
    tmp_path: Path, setting: str, value: str, message: str
) -> None:
    """A mistyped KYC_* value stops the command with one line naming it, no traceback; a
    misspelt switch is never quietly read as false."""
    result = run_kyc(["lists", "show"], cwd=tmp_path, **{setting: value})
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"kyc: {message}"), result.stderr
    assert "Traceback" not in result.stderr


def test_switches_read_the_usual_spellings(tmp_path: Path) -> None:
    for spelling in ("off", "0", "No", "FALSE"):
        result = run_kyc(["lists", "show"], cwd=tmp_path, KYC_STORE_CHECKS=spelling)
        assert "KYC_STORE_CHECKS" not in result.stderr, result.stderr
