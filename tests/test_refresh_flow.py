"""The refresh_watchlists flow as a real Prefect flow run (temporary server, throwaway home)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WATCHLISTS

from data.store import SnapshotStore
from flows.refresh_watchlists import refresh_watchlists
from kyc import settings


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "SNAPSHOT_DIR", tmp_path / "snapshots")
    return tmp_path / "snapshots"


def test_flow_refreshes_the_snapshot(snapshot_dir):
    state = refresh_watchlists(lists=["un"], from_dir=str(WATCHLISTS), return_state=True)
    assert state.type.value == "COMPLETED", state.message
    summary = state.result()
    assert summary["status"] == "created" and summary["lists"] == {"un": 1003}
    store = SnapshotStore(snapshot_dir)
    assert store.current_version() == summary["version"]
    assert store.open().entries.height == 1003


def test_a_failing_refresh_fails_the_flow_run_and_names_the_code(snapshot_dir):
    state = refresh_watchlists(lists=["sdn"], from_dir=str(WATCHLISTS), return_state=True)
    assert state.type.value == "FAILED"
    assert "unknown list code 'sdn'" in state.message
    assert SnapshotStore(snapshot_dir).current_version() is None
