"""Shared test set-up: where ../shared is, and throwaway homes for our data and for Prefect.

Prefect and kyc/settings.py read their environment at import time, so the temporary homes
are set here, before any test module imports them.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
WATCHLISTS = SHARED / "watchlists"
EVAL = SHARED / "eval"

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="kyc-tests-"))
os.environ["KYC_DATA_DIR"] = str(_SESSION_HOME / "data")
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# The temporary Prefect server needs more than its default 20 s on a loaded 2-core machine.
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def session_home() -> Path:
    """A directory that lives as long as the test session."""
    return _SESSION_HOME


@pytest.fixture(scope="session")
def watchlist_dir() -> Path:
    if not WATCHLISTS.is_dir():
        pytest.fail(f"the shared watchlist files are missing: {WATCHLISTS}")
    return WATCHLISTS


@pytest.fixture(scope="session")
def snapshot_store(session_home: Path, watchlist_dir: Path):
    """A snapshot store refreshed once from ../shared/data/watchlists (every list found there)."""
    from data.sources import SOURCES
    from data.store import SnapshotStore

    store = SnapshotStore(session_home / "snapshots")
    store.refresh(list(SOURCES), from_dir=watchlist_dir)  # the EU list has no file: skipped
    return store


@pytest.fixture(scope="session")
def watchlist(snapshot_store):
    """The session snapshot as Polars frames (data.schema.Watchlist)."""
    return snapshot_store.open()


# The files that take longest (minutes each: servers, clusters, exhaustive scoring), in the
# order two test workers should start them: the longest first, so the short files fill the
# gaps at the end instead of one long file running alone after everything else.
SLOWEST_FILES = ("test_cluster.py", "test_service.py", "test_monitoring.py",
                 "test_matching_quality.py")  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_FILES.index(name) if name in SLOWEST_FILES else len(SLOWEST_FILES)

    items.sort(key=rank)  # stable: every file's tests stay together and in their order


def drop_waiting_runs() -> None:
    """Delete the flow runs other modules left waiting in the session's Prefect (rescreens
    their refreshes scheduled, refreshes test_api_schema's fuzzer started). A module that
    starts an embedded runner (its own or the app's) calls it first: the runner would run
    them against that module's stores, beside its own runs (a second refresh of one store
    is refused). The test files run in two processes, in no fixed order."""
    asyncio.run(_drop_waiting_runs())


async def _drop_waiting_runs() -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    waiting = FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=waiting))
        )
        for run in runs:
            await client.delete_flow_run(run.id)
