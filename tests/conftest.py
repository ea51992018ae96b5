"""Shared test set-up: where ../shared is, and a throwaway data directory per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
WATCHLISTS = SHARED / "watchlists"
EVAL = SHARED / "eval"


@pytest.fixture(scope="session")
def watchlist_dir() -> Path:
    if not WATCHLISTS.is_dir():
        pytest.fail(f"the shared watchlist files are missing: {WATCHLISTS}")
    return WATCHLISTS
