"""The `refresh_watchlists` flow: rebuild the watchlist snapshot on a schedule or on demand.

Orchestration only: the work is data.store.SnapshotStore.refresh, the same code as
`kyc lists refresh`. One task so the run shows in Prefect's UI with its own state and
retries, and a markdown artifact summarising what changed. When the refresh switched to a
new snapshot, it starts a run of the rescreen-book deployment (flows/rescreen_book.py), by
name, so the monitored books are screened against the new lists wherever flows are served.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.lists import configured_refresh
from flows.rescreen_book import RESCREEN_BOOK


@task(name="refresh-snapshot")
def refresh_snapshot(lists: list[str] | None, from_dir: str | None, force: bool) -> dict:
    """Fetch, parse, write, check and publish a new snapshot; its summary."""
    return configured_refresh(lists, from_dir, force).summary()


@flow(name="refresh_watchlists", log_prints=True)
def refresh_watchlists(
    lists: list[str] | None = None, from_dir: str | None = None, force: bool = False
) -> dict:
    """Refresh the watchlist snapshot: `lists` default to KYC_LISTS, `from_dir` to
    KYC_WATCHLIST_DIR (empty: download from the official URLs)."""
    summary = refresh_snapshot(lists, from_dir, force)
    create_markdown_artifact(_markdown(summary), key="watchlist-refresh")
    print(f"watchlists {summary['status']}: snapshot {summary['version']}")
    if summary["status"] == "created":
        start_rescreen(summary["version"])
    return summary


def start_rescreen(version: str) -> str | None:
    """Start a rescreen of the monitored books; its flow run id, or None if it could not.

    A failure is logged, not raised: the new snapshot serves either way, and the rescreen
    deployment's schedule catches up (a rescreen is idempotent per snapshot version)."""
    from prefect.deployments import run_deployment

    try:
        run = run_deployment(RESCREEN_BOOK, timeout=0, idempotency_key=f"rescreen-{version}")
    except Exception as error:
        get_run_logger().warning("could not start %s: %r", RESCREEN_BOOK, error)
        return None
    print(f"rescreen of the monitored books started: flow run {run.id}")
    return str(run.id)


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
