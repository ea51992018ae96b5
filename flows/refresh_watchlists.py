"""The `refresh_watchlists` flow: rebuild the watchlist snapshot on a schedule or on demand.

Orchestration only: the work is data.store.SnapshotStore.refresh, the same code as
`kyc lists refresh`. One task so the run shows in Prefect's UI with its own state and
retries, and a markdown artifact summarising what changed.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from data.store import SnapshotStore
from kyc import settings


@task(name="refresh-snapshot")
def refresh_snapshot(lists: list[str] | None, from_dir: str | None, force: bool) -> dict:
    """Fetch, parse, write, check and publish a new snapshot; its summary."""
    folder = from_dir or settings.WATCHLIST_DIR or None
    report = SnapshotStore(settings.SNAPSHOT_DIR).refresh(
        lists or settings.LISTS,
        from_dir=Path(folder) if folder else None,
        force=force,
        max_shrink=settings.MAX_LIST_SHRINK,
        keep=settings.SNAPSHOTS_KEEP,
        explicit=bool(lists),
        timeout=settings.DOWNLOAD_TIMEOUT_S,
    )
    return report.summary()


@flow(name="refresh_watchlists", log_prints=True)
def refresh_watchlists(
    lists: list[str] | None = None, from_dir: str | None = None, force: bool = False
) -> dict:
    """Refresh the watchlist snapshot: `lists` default to KYC_LISTS, `from_dir` to
    KYC_WATCHLIST_DIR (empty: download from the official URLs)."""
    summary = refresh_snapshot(lists, from_dir, force)
    create_markdown_artifact(_markdown(summary), key="watchlist-refresh")
    print(f"watchlists {summary['status']}: snapshot {summary['version']}")
    return summary


def _markdown(summary: dict) -> str:
    lines = [
        f"**Snapshot {summary['version']}** ({summary['status']};"
        f" previous {summary['previous_version']})",
        "",
        "| list | entries | added | removed | changed |",
        "|---|---:|---:|---:|---:|",
    ]
    for code, entries in summary["lists"].items():
        changes = summary["changes"].get(code, {})
        counts = " | ".join(str(changes.get(c, 0)) for c in ("added", "removed", "changed"))
        lines.append(f"| {code} | {entries} | {counts} |")
    if summary["skipped"]:
        lines.append(f"\nSkipped (no files): {', '.join(summary['skipped'])}")
    return "\n".join(lines)
