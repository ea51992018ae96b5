"""The matching index of a watchlist snapshot, built once per version per process.

Building an index takes seconds and a job pins its snapshot version, so every chunk of a job
(and every single check of the API) reuses one index: in the embedded runner, in a Prefect
worker's flow-run process, and in every Dask worker process, which keeps it across chunks
and jobs. Two versions stay cached (a job pinned to the previous snapshot still runs after
a refresh); each index is hundreds of MB in every process that holds it, so no more. The
lock makes two threads asking for the same new version build it once.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matching
from data.store import SnapshotStore, open_snapshots
from kyc import settings

# Indexes kept per process: the current snapshot and the previous one, least recently used
# out first.
CACHED_VERSIONS = 2


@dataclass(frozen=True)
class Engine:
    """A pinned snapshot and its matching index."""

    version: str
    watchlist: Any  # data.schema.Watchlist
    index: Any  # matching.WatchlistIndex
    build_seconds: float = 0.0  # copy to the cache (if any), open and index


class SnapshotGone(LookupError):
    """The pinned snapshot version is no longer on disk (or never was)."""


_cache: OrderedDict[tuple[str, str], Engine] = OrderedDict()
_cache_lock = threading.Lock()
_build_locks: dict[tuple[str, str], threading.Lock] = {}
_built: list[str] = []  # every version this process built an index of, in order


def snapshot_store(location: Path | str | None = None) -> SnapshotStore:
    """The snapshots at ``location`` (default: KYC_SNAPSHOT_URI, else the local folder
    KYC_SNAPSHOT_DIR), read through this machine's cache (KYC_SNAPSHOT_DIR)."""
    return open_snapshots(location or settings.SNAPSHOT_URI, settings.SNAPSHOT_DIR)


def get_index(snapshot_root: Path | str | None = None, version: str | None = None) -> Engine:
    """The engine for ``version`` (None = the current snapshot) of the snapshots at
    ``snapshot_root`` (default: the configured ones), built on first use."""
    root = str(snapshot_root or "")
    if version is not None and (engine := _cached((root, version))) is not None:
        return engine  # a pinned version already built: no store access at all
    store = snapshot_store(snapshot_root)
    version = version or store.current_version()
    if version is None:
        raise SnapshotGone("no watchlist snapshot has been loaded yet")
    key = (root, version)
    with _cache_lock:
        build_lock = _build_locks.setdefault(key, threading.Lock())
    with build_lock:
        if (engine := _cached(key)) is not None:
            return engine
        engine = _build(store, version)
        with _cache_lock:
            _cache[key] = engine
            while len(_cache) > CACHED_VERSIONS:
                _cache.popitem(last=False)
            _build_locks.pop(key, None)
            _built.append(version)
        return engine


def _cached(key: tuple[str, str]) -> Engine | None:
    with _cache_lock:
        engine = _cache.get(key)
        if engine is not None:
            _cache.move_to_end(key)
        return engine


def _build(store: SnapshotStore, version: str) -> Engine:
    started = time.perf_counter()
    try:
        watchlist = store.open(version)
    except (FileNotFoundError, LookupError) as error:
        raise SnapshotGone(f"watchlist snapshot {version} is not available: {error}") from error
    index = matching.build_index(watchlist)
    return Engine(version, watchlist, index, build_seconds=time.perf_counter() - started)


def cache_report() -> dict[str, Any]:
    """What this process holds and has built: the pid, the cached versions (least recently
    used first) and every version it built an index of. The stack tests ask each Dask
    worker (Client.run) to see that a worker builds a version once and keeps it."""
    with _cache_lock:
        return {
            "pid": os.getpid(),
            "cached": [version for _, version in _cache],
            "built": list(_built),
        }
