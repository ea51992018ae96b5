"""`kyc lists refresh` and `kyc lists show`, in-process (CliRunner) and as a real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, WATCHLISTS
from typer.testing import CliRunner

from cli.main import app
from kyc import settings

runner = CliRunner()


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the command at an empty store of its own."""
    monkeypatch.setattr(settings, "SNAPSHOT_DIR", tmp_path / "snapshots")
    return tmp_path / "snapshots"


def test_refresh_then_show(snapshot_dir):
    result = runner.invoke(
        app, ["lists", "refresh", "--from", str(WATCHLISTS), "--list", "un", "--list", "ofac_cons"]
    )
    assert result.exit_code == 0, result.output
    assert "created snapshot" in result.output
    assert "un: 1,003 entries" in result.output and "ofac_cons: 442 entries" in result.output

    version = (snapshot_dir / "CURRENT").read_text().strip()
    shown = runner.invoke(app, ["lists", "show"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert version in shown.output
    un_line = next(line for line in shown.output.splitlines() if "│ un " in line)
    assert "1,003" in un_line and "2026-02-27" in un_line
    # Configured lists the snapshot lacks are named: they are never screened.
    not_loaded = next(line for line in shown.output.splitlines() if "not loaded" in line)
    assert "eu" in not_loaded and "ofac" in not_loaded and "un" not in not_loaded.split(":")[-1]

    again = runner.invoke(
        app, ["lists", "refresh", "--from", str(WATCHLISTS), "--list", "un", "--list", "ofac_cons"]
    )
    assert again.exit_code == 0 and f"unchanged: the sources are those of snapshot {version}" in (
        again.output
    )


def test_unknown_list_code_is_one_line_and_exit_1(snapshot_dir):
    result = runner.invoke(app, ["lists", "refresh", "--from", str(WATCHLISTS), "--list", "sdn"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: unknown list code 'sdn': known codes are ofac, ofac_cons, un, eu, uk, us_csl"
    )
    assert not snapshot_dir.exists() or not (snapshot_dir / "CURRENT").exists()


def test_missing_folder_is_one_line(snapshot_dir, tmp_path):
    result = runner.invoke(app, ["lists", "refresh", "--from", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere: no such folder" in result.stderr
    assert "Traceback" not in result.output


def test_show_without_a_snapshot_as_a_real_command(tmp_path):
    kyc = Path(sys.executable).parent / "kyc"
    env = {**os.environ, "KYC_SNAPSHOT_DIR": str(tmp_path / "empty")}
    done = subprocess.run(
        [str(kyc), "lists", "show"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: no watchlist snapshot in")
    assert "Traceback" not in done.stderr
