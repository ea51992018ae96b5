"""The matching index of a watchlist snapshot, built once per version per process.

Building an index takes seconds and a job pins its snapshot version, so every chunk of a job
(and every single check of the API) reuses one index. A few versions stay cached (a job
pinned to the previous snapshot can still run after a refresh); the lock makes two threads
asking for the same new version build it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matching
from data.store import SnapshotStore

# Indexes kept per process: the current snapshot, the previous one, and one spare.
CACHED_VERSIONS = 3


@dataclass(frozen=True)
class Engine:
    """A pinned snapshot and its matching index."""

    version: str
    watchlist: Any  # data.schema.Watchlist
    index: Any  # matching.WatchlistIndex


class SnapshotGone(LookupError):
    """The pinned snapshot version is no longer on disk (or never was)."""


_cache: OrderedDict[tuple[str, str], Engine] = OrderedDict()
_cache_lock = threading.Lock()
_build_locks: dict[tuple[str, str], threading.Lock] = {}


def get_index(snapshot_root: Path | str, version: str | None = None) -> Engine:
    """The engine for ``version`` (None = the current snapshot), built on first use."""
    store = SnapshotStore(Path(snapshot_root))
    version = version or store.current_version()
    if version is None:
        raise SnapshotGone("no watchlist snapshot has been loaded yet")
    key = (str(snapshot_root), version)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        build_lock = _build_locks.setdefault(key, threading.Lock())
    with build_lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        engine = _build(store, version)
        with _cache_lock:
            _cache[key] = engine
            while len(_cache) > CACHED_VERSIONS:
                _cache.popitem(last=False)
            _build_locks.pop(key, None)
        return engine


def _build(store: SnapshotStore, version: str) -> Engine:
    try:
        watchlist = store.open(version)
    except (FileNotFoundError, LookupError) as error:
        raise SnapshotGone(f"watchlist snapshot {version} is not available: {error}") from error
    return Engine(version=version, watchlist=watchlist, index=matching.build_index(watchlist))
