"""The watchlist snapshot store: versioned, read-only DuckDB files and a "current" pointer.

Layout of the store's root folder:
    <version>.duckdb     one complete snapshot per content version (never modified)
    CURRENT              the version that serves, one line; replaced atomically
    .refresh.lock        held by the one refresh that may run at a time
    .tmp-* / .staging-*  a refresh in progress (downloads, the snapshot being written)

A refresh writes a NEW file under a temporary name, checks it, renames it into place and
only then switches CURRENT. Readers resolve CURRENT and open the named file read-only, so
they never see a file being written, and any number of processes can read while another
one refreshes. When anything fails, the temporary files go and CURRENT stays as it was.

Shared storage (``open_snapshots("s3://bucket/snapshots", cache_dir)``, any pyarrow
filesystem URI): the same layout on the object store, plus ``<version>.sha256`` (the file's
SHA-256, as ``sha256sum`` prints it), and the local folder becomes this machine's cache.
DuckDB opens only local files, so a reader copies a version into the cache once per
machine (one process copies, the others wait on a lock), checks it against its SHA-256 and
only then renames it to ``<version>.duckdb``: no process ever opens a half-copied file. A
refresh builds and checks the file locally, then uploads the file, its hash and last the
CURRENT pointer (one PUT each, each appearing whole).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs

from data import sources
from data.jobs import COPY_BLOCK, open_root, write_atomically
from data.schema import LIST_CODES, TABLES, ParsedList, SourceError, Watchlist
from data.snapshot_build import LISTS_SCHEMA, write_snapshot

POINTER = "CURRENT"
_VERSION = re.compile(r"[0-9a-f]{16}")  # the first 16 hex digits of the content hash
_PREVIOUS_COLUMNS = ["list_code", "entries", "parser_version", "files"]
# What `kyc lists show` and GET /kyc/watchlists tell of each list (list_stats).
STATS_COLUMNS = [
    "list_code",
    "name",
    "entries",
    "names",
    "identifiers",
    "publication_date",
    "publication_date_from",
    "fetched_at",
    "latest_listed_on",
]


class RefreshError(Exception):
    """A refresh was refused or failed; the current snapshot was left as it was."""


class SnapshotNotFoundError(LookupError):
    """There is no such snapshot (or no snapshot at all yet)."""


class SnapshotCopyError(RuntimeError):
    """A snapshot copied from shared storage does not match its recorded SHA-256."""


# Every way a refresh fails on its inputs or checks: callers report these as one line.
REFRESH_ERRORS = (SourceError, sources.FetchError, sources.UnknownListError, RefreshError)


@dataclass
class RefreshReport:
    """What a refresh did."""

    status: str  # "created" or "unchanged"
    version: str
    previous_version: str | None
    lists: dict[str, int] = field(default_factory=dict)  # list read now -> entries
    carried: list[str] = field(default_factory=list)  # lists copied from the previous snapshot
    skipped: list[str] = field(default_factory=list)  # asked for, but no files in the folder
    changes: dict[str, dict[str, int]] = field(default_factory=dict)  # list -> change -> count
    seconds: dict[str, float] = field(default_factory=dict)  # stage ("parse:ofac" ...) -> s

    def summary(self) -> dict[str, object]:
        """A small JSON-friendly summary (for flow results and logs)."""
        return {
            "status": self.status,
            "version": self.version,
            "previous_version": self.previous_version,
            "lists": self.lists,
            "carried": self.carried,
            "skipped": self.skipped,
            "changes": self.changes,
            "seconds": round(self.seconds.get("total", 0.0), 2),
        }


# The list codes of each snapshot version read so far, by store location and version.
_LOADED_LISTS: dict[tuple[str, str], frozenset[str]] = {}


class SnapshotStore:
    """Versioned watchlist snapshots under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        """Where the snapshots live, for messages."""
        return str(self.root)

    # --- reading ---------------------------------------------------------------------

    def current_version(self) -> str | None:
        try:
            return (self.root / POINTER).read_text().strip() or None
        except FileNotFoundError:
            return None

    def versions(self) -> list[str]:
        """Versions on disk, newest first."""
        files = sorted(self._snapshot_files(), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.stem for p in files if _VERSION.fullmatch(p.stem)]

    def path(self, version: str) -> Path:
        """The local file of a version; anything that is not a version (say "../x") is refused."""
        if not _VERSION.fullmatch(version):
            raise SnapshotNotFoundError(f"{version!r} is not a watchlist snapshot version")
        return self.root / f"{version}.duckdb"

    def local_file(self, version: str) -> Path | None:
        """The version's file on this machine, to open read-only; None if there is none."""
        path = self.path(version)
        return path if path.is_file() else None

    def open(self, version: str | None = None) -> Watchlist:
        """The whole snapshot as Polars frames (the current one unless a version is given)."""
        with self._connect(version) as (con, resolved):
            frames = {name: con.sql(f"SELECT * FROM {name}").pl() for name in TABLES}
            lists = con.sql("SELECT * FROM lists ORDER BY list_code").pl()
        return Watchlist(version=resolved, lists=lists, **frames)

    def list_stats(self, version: str | None = None) -> pl.DataFrame:
        """One row per list, the STATS_COLUMNS: counts, publication date and what says so,
        the refresh time (fetched_at) and the newest listing date in the list.

        A snapshot made before publication dates were recorded gives them as null."""
        with self._connect(version) as (con, _):
            stats = con.sql(
                """
                SELECT l.*, (SELECT max(e.listed_on) FROM entries e
                             WHERE e.list_code = l.list_code) AS latest_listed_on
                FROM lists l ORDER BY l.list_code
                """
            ).pl()
        missing = [pl.lit(None, pl.Utf8).alias(c) for c in STATS_COLUMNS if c not in stats.columns]
        return stats.with_columns(missing).select(STATS_COLUMNS)

    def loaded_lists(self, version: str) -> frozenset[str]:
        """The list codes a snapshot holds (cached: a snapshot file never changes)."""
        key = (self.location, version)
        if key not in _LOADED_LISTS:
            with self._connect(version) as (con, _):
                codes = frozenset(
                    code for (code,) in con.sql("SELECT list_code FROM lists").fetchall()
                )
            if len(_LOADED_LISTS) >= 32:
                _LOADED_LISTS.clear()
            _LOADED_LISTS[key] = codes
        return _LOADED_LISTS[key]

    def entry_hashes(
        self, version: str | None = None, match_keys: list[str] | None = None
    ) -> pl.DataFrame:
        """The content hash of entries (all, or those of ``match_keys``): match_entity_id (the
        engine's "<list_code>-<entry_id>"), entry_hash. The hash changes whenever anything
        of the entry changes, which is what a snapshot diff compares."""
        query = (
            "SELECT list_code || '-' || entry_id AS match_entity_id, content_hash AS entry_hash"
            " FROM entry_hashes"
        )
        with self._connect(version) as (con, _):
            if match_keys is None:
                return con.sql(query).pl()
            wanted = pl.DataFrame(
                {"match_entity_id": match_keys}, schema={"match_entity_id": pl.Utf8}
            )
            con.register("wanted", wanted.to_arrow())
            where = "WHERE list_code || '-' || entry_id IN (SELECT match_entity_id FROM wanted)"
            return con.sql(f"{query} {where}").pl()

    def diff(self, version: str | None = None) -> pl.DataFrame:
        """Entries added, removed or changed by a snapshot against the one it replaced."""
        with self._connect(version) as (con, _):
            return con.sql("SELECT * FROM diff ORDER BY list_code, change, entry_id").pl()

    @contextmanager
    def _connect(self, version: str | None) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
        """A read-only connection to a snapshot, closed afterwards."""
        resolved = version or self.current_version()
        if resolved is None:
            raise SnapshotNotFoundError(
                f"no watchlist snapshot in {self.location} yet: run `kyc lists refresh`"
            )
        path = self.local_file(resolved)
        if version is None and path is None:
            resolved = self.current_version() or resolved  # switched and pruned meanwhile
            path = self.local_file(resolved)
        if path is None:
            raise SnapshotNotFoundError(
                f"watchlist snapshot {resolved} not found in {self.location}"
            )
        con = duckdb.connect(str(path), read_only=True)
        try:
            yield con, resolved
        finally:
            con.close()

    # --- refreshing ------------------------------------------------------------------

    def refresh(
        self,
        codes: Iterable[str],
        from_dir: Path | None = None,
        force: bool = False,
        max_shrink: float = 0.2,
        keep: int = 5,
        *,
        explicit: bool = False,
        timeout: float = 120.0,
        retry: sources.RetryPolicy = sources.ONE_ATTEMPT,
    ) -> RefreshReport:
        """Build a new snapshot of the given lists and make it current.

        ``from_dir`` is an offline folder (one sub-folder per source), else the lists are
        downloaded (``timeout`` per attempt; ``retry`` says how transient failures are
        retried). A list missing from the folder is skipped unless ``explicit`` (the
        caller named it); lists of the current snapshot that are not re-read are carried
        over unchanged. Raises RefreshError, SourceError, FetchError or UnknownListError;
        in every failure the current snapshot is left untouched.
        """
        codes = sources.check_codes(codes)
        if keep < 2:
            raise ValueError("keep at least 2 snapshots: readers may still open the previous one")
        self.root.mkdir(parents=True, exist_ok=True)
        with self._refresh_lock():
            self._remove_leftovers()
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
            try:
                started = time.perf_counter()
                files = sources.fetch(
                    codes, from_dir, staging / "files", timeout, strict=explicit, retry=retry
                )
                fetch_seconds = time.perf_counter() - started
                report = self._build(codes, files, from_dir, staging, force, max_shrink)
                report.seconds = {"fetch": fetch_seconds, **report.seconds}
                if report.status == "created":
                    self._publish(staging / f"{report.version}.duckdb", report.version)
                    self._prune(keep)
                    report.changes = _change_counts(self.diff(report.version))
                report.seconds["total"] = time.perf_counter() - started
                return report
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def _build(
        self,
        codes: list[str],
        files: dict[str, sources.FetchedFiles],
        from_dir: Path | None,
        staging: Path,
        force: bool,
        max_shrink: float,
    ) -> RefreshReport:
        """Parse the fetched lists and write and check ``staging/<version>.duckdb``."""
        previous = self.current_version()
        previous_lists = self._lists_table(previous)
        carried = [c for c in previous_lists["list_code"] if c not in files]
        skipped = [c for c in codes if c not in files]
        if not files and not carried:
            raise RefreshError(f"no list could be loaded from {from_dir}: none of {codes} found")

        fresh = _list_rows(files, from_dir)
        inputs = [fresh, previous_lists.filter(pl.col("list_code").is_in(carried))]
        version = _content_version(
            pl.concat([f.select("list_code", "parser_version", "files") for f in inputs])
        )
        report = RefreshReport("unchanged", version, previous, carried=carried, skipped=skipped)
        if version == previous:
            return report

        parsed = [self._parse(code, paths, report.seconds) for code, paths in files.items()]
        fresh = _with_counts(fresh, parsed)
        report.lists = dict(zip(fresh["list_code"], fresh["entries"], strict=True))

        step = time.perf_counter()
        temp = staging / f"{version}.duckdb"
        meta = {
            "version": version,
            "created_at": _now(),
            "parser_version": sources.PARSER_VERSION,
            "previous_version": previous,
        }
        write_snapshot(temp, parsed, fresh, meta, self._previous_path(previous), carried)
        report.seconds["write"] = time.perf_counter() - step
        _check(temp, previous_lists, force, max_shrink)
        report.status = "created"
        return report

    def _parse(self, code: str, paths: dict[str, Path], seconds: dict[str, float]) -> ParsedList:
        step = time.perf_counter()
        try:
            parsed = sources.SOURCES[code].parse(paths)
        except SourceError:
            raise
        except Exception as exc:  # a parser bug: still name the list and its files
            names = ", ".join(str(p) for p in paths.values())
            raise RefreshError(f"{code}: the parser failed on {names}: {exc!r}") from exc
        seconds[f"parse:{code}"] = time.perf_counter() - step
        if parsed.list_code != code:
            raise RefreshError(f"{code}: the parser returned list_code {parsed.list_code!r}")
        return parsed

    def _lists_table(self, version: str | None) -> pl.DataFrame:
        if version is None or self.local_file(version) is None:
            return pl.DataFrame(schema={c: LISTS_SCHEMA[c] for c in _PREVIOUS_COLUMNS})
        with self._connect(version) as (con, _):
            return con.sql(f"SELECT {', '.join(_PREVIOUS_COLUMNS)} FROM lists").pl()

    def _previous_path(self, previous: str | None) -> Path | None:
        return None if previous is None else self.local_file(previous)

    def _publish(self, temp: Path, version: str) -> None:
        """Move the finished file into place, then switch the pointer atomically."""
        _fsync(temp)
        os.replace(temp, self.path(version))
        pointer_temp = self.root / f".tmp-{POINTER}-{os.getpid()}"
        pointer_temp.write_text(version + "\n")
        _fsync(pointer_temp)
        os.replace(pointer_temp, self.root / POINTER)
        _fsync(self.root)  # make the renames durable

    def _prune(self, keep: int) -> None:
        """Delete all but the newest ``keep`` snapshots; never the current one."""
        current = self.current_version()
        for version in self.versions()[keep:]:
            if version != current:
                self.path(version).unlink(missing_ok=True)

    def _snapshot_files(self) -> list[Path]:
        return [p for p in self.root.glob("*.duckdb") if not p.name.startswith(".")]

    def _remove_leftovers(self) -> None:
        """Temporary files of a refresh that died (we hold the lock: none is running)."""
        for path in self.root.glob(".tmp-*"):
            path.unlink(missing_ok=True)
        for path in self.root.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def _refresh_lock(self) -> Iterator[None]:
        with (self.root / ".refresh.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RefreshError(f"another refresh is running on {self.root}") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


# Snapshot versions kept in a machine's cache of shared storage (the newest copied first).
CACHED_COPIES = 5

# Seconds a shared store's CURRENT is reused: a job accepted within this long of a refresh
# may still be pinned to the version before it.
CURRENT_TTL_S = 2.0


class SharedSnapshotStore(SnapshotStore):
    """Snapshots on shared storage (any pyarrow filesystem URI), read through a local cache.

    ``root`` (the cache) holds complete, checked copies only, plus what a refresh stages;
    the shared store is the truth for CURRENT and the versions there are.
    """

    def __init__(self, uri: str, cache_dir: Path) -> None:
        super().__init__(cache_dir)
        self.uri, self.fs, self.remote = open_root(uri)
        self.last_copy_seconds: float | None = None  # of this store's last copy to the cache
        self._current: tuple[float, str | None] | None = None  # (read at, version)

    @property
    def location(self) -> str:
        return self.uri.split("?", 1)[0]

    def current_version(self) -> str | None:
        """CURRENT as read at most CURRENT_TTL_S ago: the API asks for it on every job and
        health check, and each read is a round trip to the shared store."""
        now = time.monotonic()
        if self._current is not None and now - self._current[0] < CURRENT_TTL_S:
            return self._current[1]
        try:
            with self.fs.open_input_stream(f"{self.remote}/{POINTER}") as src:
                version = src.read().decode().strip() or None
        except FileNotFoundError:
            version = None
        self._current = (now, version)
        return version

    def versions(self) -> list[str]:
        selector = pafs.FileSelector(self.remote, allow_not_found=True)
        files = [
            info
            for info in self.fs.get_file_info(selector)
            if info.base_name.endswith(".duckdb") and _VERSION.fullmatch(info.base_name[:-7])
        ]
        # Object stores date objects to the second: of two versions published in the same
        # second, the current one is the newer (a refresh takes far longer than that).
        current = self.current_version()
        files.sort(
            key=lambda info: (info.mtime_ns or 0, info.base_name[:-7] == current), reverse=True
        )
        return [info.base_name[:-7] for info in files]

    def local_file(self, version: str) -> Path | None:
        path = self.path(version)
        return path if path.is_file() else self._copy_to_cache(version)

    def _copy_to_cache(self, version: str) -> Path | None:
        """Copy a version from shared storage, checked against its SHA-256 (None: no such
        version there). Under a lock per version: one process copies, the others wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(version)
        with _exclusive(self.root / f".fetch-{version}.lock"):
            if target.is_file():
                return target  # another process copied it meanwhile
            expected = self._recorded_sha256(version)
            if expected is None:
                return None
            partial = self.root / f".fetch-{version}.partial"
            started = time.perf_counter()
            try:
                digest = _copy_hashing(self.fs, f"{self.remote}/{version}.duckdb", partial)
            except FileNotFoundError:
                partial.unlink(missing_ok=True)
                return None  # pruned from shared storage meanwhile
            if digest != expected:
                partial.unlink(missing_ok=True)
                raise SnapshotCopyError(
                    f"watchlist snapshot {version} copied from {self.location} has SHA-256 "
                    f"{digest}, not the recorded {expected}: the copy was discarded"
                )
            _fsync(partial)
            os.replace(partial, target)
            _fsync(self.root)
            self.last_copy_seconds = time.perf_counter() - started
        self._prune_cache(keep=version)
        return target

    def _recorded_sha256(self, version: str) -> str | None:
        try:
            with self.fs.open_input_stream(f"{self.remote}/{version}.sha256") as src:
                return src.read().decode().split()[0]
        except (FileNotFoundError, IndexError):
            return None

    def _publish(self, temp: Path, version: str) -> None:
        """Upload the checked file and its SHA-256, keep it as this machine's copy, and only
        then switch the shared CURRENT (readers never look for a version before that)."""
        digest = _sha256(temp)
        write_atomically(self.fs, f"{self.remote}/{version}.duckdb", temp)
        sha_line = f"{digest}  {version}.duckdb\n".encode()
        write_atomically(self.fs, f"{self.remote}/{version}.sha256", sha_line)
        _fsync(temp)
        os.replace(temp, self.path(version))
        write_atomically(self.fs, f"{self.remote}/{POINTER}", f"{version}\n".encode())
        self._current = (time.monotonic(), version)

    def _prune(self, keep: int) -> None:
        current = self.current_version()
        for version in self.versions()[keep:]:
            if version != current:
                for suffix in (".duckdb", ".sha256"):
                    with contextlib.suppress(FileNotFoundError):
                        self.fs.delete_file(f"{self.remote}/{version}{suffix}")
        self._prune_cache(keep=current)

    def _prune_cache(self, keep: str | None) -> None:
        """Keep the CACHED_COPIES newest copies (and ``keep``). A process that still has a
        deleted copy open reads on: the file goes when it closes it."""
        copies = sorted(self._snapshot_files(), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in copies[CACHED_COPIES:]:
            if path.stem != keep:
                path.unlink(missing_ok=True)
                (self.root / f".fetch-{path.stem}.lock").unlink(missing_ok=True)


def open_snapshots(location: str | Path, cache_dir: Path) -> SnapshotStore:
    """The snapshot store at ``location``: empty for the local folder ``cache_dir``; a path
    or a file:// URI for that local folder; any other pyarrow filesystem URI (s3://...) for
    shared storage, read through the local cache ``cache_dir``."""
    text = str(location)
    if not text:
        return SnapshotStore(Path(cache_dir))
    if "://" not in text:
        return SnapshotStore(Path(text))
    if text.startswith("file://"):
        return SnapshotStore(Path(pafs.FileSystem.from_uri(text)[1]))
    return SharedSnapshotStore(text, Path(cache_dir))


# --- helpers -------------------------------------------------------------------------

_DATE_FROM = {"list": "stated in the list", "last_modified": "publisher's Last-Modified"}


def publication_text(row: dict) -> str:
    """A list's publication date as people read it, saying where it comes from; for a list
    that states none, that it does not, and the newest listing date the list holds."""
    if row.get("publication_date"):
        source = _DATE_FROM.get(row.get("publication_date_from") or "", "source unrecorded")
        return f"{row['publication_date']} ({source})"
    newest = row.get("latest_listed_on")
    return "not stated by the list" + (f"; newest listing {newest}" if newest else "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if need be), waiting for it."""
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _copy_hashing(fs: pafs.FileSystem, source: str, target: Path) -> str:
    """Copy a file of ``fs`` to a local path; its SHA-256."""
    digest = hashlib.sha256()
    with fs.open_input_stream(source) as src, target.open("wb") as out:
        while block := src.read(COPY_BLOCK):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _list_rows(files: dict[str, sources.FetchedFiles], from_dir: Path | None) -> pl.DataFrame:
    """The `lists` rows of the lists read now, before parsing (counts come later)."""
    fetched_at = _now()
    rows = [
        {
            "list_code": code,
            "name": LIST_CODES[code],
            "source": sources.source_location(code, from_dir),
            "fetched_at": fetched_at,
            "parser_version": sources.PARSER_VERSION,
            "files": [{"file": n, "sha256": _sha256(p)} for n, p in sorted(paths.items())],
            "last_modified": paths.last_modified,
        }
        for code, paths in files.items()
    ]
    columns = ["list_code", "name", "source", "fetched_at", "parser_version", "files"]
    schema = {**{c: LISTS_SCHEMA[c] for c in columns}, "last_modified": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def _with_counts(rows: pl.DataFrame, parsed: list[ParsedList]) -> pl.DataFrame:
    """Add each list's counts and publication date: the one its file states, else the
    download's Last-Modified, else none (a local file's time is only when it was copied)."""
    counts = pl.DataFrame(
        {
            "list_code": [p.list_code for p in parsed],
            "entries": [p.entries.height for p in parsed],
            "names": [p.names.height for p in parsed],
            "identifiers": [p.identifiers.height for p in parsed],
            "own_date": [p.publication_date for p in parsed],
        },
        schema={c: LISTS_SCHEMA[c] for c in ("list_code", "entries", "names", "identifiers")}
        | {"own_date": pl.Utf8},
    )
    return (
        rows.join(counts, on="list_code", how="left", maintain_order="left")
        .with_columns(
            publication_date=pl.coalesce("own_date", "last_modified"),
            publication_date_from=pl.when(pl.col("own_date").is_not_null())
            .then(pl.lit("list"))
            .when(pl.col("last_modified").is_not_null())
            .then(pl.lit("last_modified")),
        )
        .select(LISTS_SCHEMA.names())
    )


def _content_version(lists: pl.DataFrame) -> str:
    """A hash of every list's parser version and file hashes: same inputs, same version."""
    digest = hashlib.sha256()
    for row in lists.sort("list_code").iter_rows(named=True):
        files = " ".join(
            f"{f['file']}={f['sha256']}" for f in sorted(row["files"], key=lambda f: f["file"])
        )
        digest.update(f"{row['list_code']} {row['parser_version']} {files}\n".encode())
    return digest.hexdigest()[:16]


def _check(path: Path, previous_lists: pl.DataFrame, force: bool, max_shrink: float) -> None:
    """Refuse an empty list, an entry id given twice (the diff keys on it), or a list that
    shrank by more than max_shrink (unless forced)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        new = con.sql("SELECT list_code, entries FROM lists").pl()
        twice = con.sql(
            "SELECT list_code, entry_id FROM entries GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    for code, entry_id in twice:
        raise RefreshError(f"{code}: entry id {entry_id!r} occurs more than once")
    for code in new.filter(pl.col("entries") == 0)["list_code"]:
        raise RefreshError(f"{code}: the new list is empty; refusing to replace the snapshot")
    if force:
        return
    compared = new.join(
        previous_lists.select("list_code", pl.col("entries").alias("before")), on="list_code"
    ).filter(pl.col("entries") < pl.col("before") * (1 - max_shrink))
    for code, after, before in compared.select("list_code", "entries", "before").iter_rows():
        raise RefreshError(
            f"{code}: would shrink from {before} to {after} entries"
            f" ({1 - after / before:.0%}, more than {max_shrink:.0%}); use --force if expected"
        )


def _change_counts(diff: pl.DataFrame) -> dict[str, dict[str, int]]:
    counts = diff.group_by("list_code", "change").len().sort("list_code", "change")
    result: dict[str, dict[str, int]] = {}
    for code, change, n in counts.iter_rows():
        result.setdefault(code, {})[change] = n
    return result


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
