"""A refresh of the watchlist snapshot as the service is configured (kyc/settings.py).

One place where the settings meet data.store.SnapshotStore.refresh, for every caller:
the refresh_watchlists flow, `kyc lists refresh` and `kyc serve`'s first load.
"""

from __future__ import annotations

from pathlib import Path

from data.sources import RetryPolicy
from data.store import RefreshReport, open_snapshots
from kyc import settings


def source_folder(from_dir: Path | str | None) -> Path | None:
    """The offline folder to read the lists from (None: download from the publishers)."""
    folder = from_dir or settings.WATCHLIST_DIR or None
    return Path(folder) if folder else None


def configured_refresh(
    lists: list[str] | None, from_dir: Path | str | None, force: bool = False
) -> RefreshReport:
    """Build a new snapshot of ``lists`` (default: KYC_LISTS; named lists must all be found)
    and make it current, or say why not (data.store.REFRESH_ERRORS)."""
    return open_snapshots(settings.SNAPSHOT_URI, settings.SNAPSHOT_DIR).refresh(
        lists or settings.LISTS,
        from_dir=source_folder(from_dir),
        force=force,
        max_shrink=settings.MAX_LIST_SHRINK,
        keep=settings.SNAPSHOTS_KEEP,
        explicit=bool(lists),
        timeout=settings.DOWNLOAD_TIMEOUT_S,
        retry=RetryPolicy(
            settings.DOWNLOAD_ATTEMPTS,
            settings.DOWNLOAD_BACKOFF_S,
            settings.DOWNLOAD_BACKOFF_MAX_S,
            settings.DOWNLOAD_RETRY_AFTER_MAX_S,
        ),
    )
