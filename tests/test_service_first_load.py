"""`kyc serve`'s first load of the lists: a bad source is one clear error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.service import ServiceError, ensure_watchlists
from kyc import settings


def test_a_broken_source_folder_is_one_clear_error(
    tmp_path: Path, watchlist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "lists" / "un"
    folder.mkdir(parents=True)
    xml = (watchlist_dir / "un" / "consolidated.xml").read_bytes()
    (folder / "consolidated.xml").write_bytes(xml[: len(xml) // 2])  # truncated download
    monkeypatch.setattr(settings, "SNAPSHOT_DIR", tmp_path / "snapshots")
    monkeypatch.setattr(settings, "LISTS", ["un"])

    with pytest.raises(ServiceError, match=r"could not load the watchlists: .*consolidated\.xml"):
        ensure_watchlists(tmp_path / "lists")
