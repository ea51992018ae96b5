"""The job store: each batch job's entities, results and progress, as Parquet and JSON files.

Everything goes through pyarrow's filesystem layer, so a local directory, ``file:///...`` and
``s3://bucket/prefix`` differ only in the URI. Layout under the root::

    jobs/<job_id>/job.json                      JobMeta
    jobs/<job_id>/entities.parquet              the canonical entity frame (data/entities.py)
    jobs/<job_id>/results/chunk-00000.parquet   matching.screen output + entity_id, per chunk
    jobs/<job_id>/progress.json                 counts after the last written chunk
    tenants/<tenant>/jobs/<newest-first key>    empty markers: list a tenant's jobs in order
    tenants/<tenant>/idempotency/<key hash>     the job id a request's Idempotency-Key made
    active/<job_id>                             jobs still processing (what recovery scans)

Every file is written whole or not at all (write_atomically: one PUT on an object store, a
temporary name renamed into place on a filesystem), so a crash never leaves a half-written
chunk behind under a name that counts. Chunk ``i`` always holds input rows
``[i * chunk_size, (i + 1) * chunk_size)`` and progress.json keeps each chunk's counts, so
reading a page of results opens only the chunks that page covers.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq

JOB_STATUSES = ("processing", "completed", "failed", "cancelled")

# Rows per Parquet row group of entities.parquet: a chunk task reads only the groups it covers.
ENTITY_ROW_GROUP = 10_000

# Listing keys sort newest first: a timestamp counted down from this many microseconds.
_FAR_FUTURE_US = 10**17


def open_root(uri: str) -> tuple[str, pafs.FileSystem, str]:
    """A store's root as (URI, filesystem, path): a plain path becomes a file:// URI, so
    local folders and s3://bucket/prefix go through the same pyarrow filesystem calls."""
    if "://" not in uri:
        uri = Path(uri).resolve().as_uri()
    fs, root = pafs.FileSystem.from_uri(uri)
    return uri, fs, root.rstrip("/")


# Filesystems that are object stores: there a PUT of the final key is atomic by itself (the
# object appears only once complete) and a "move" is a copy plus a delete, which is not.
OBJECT_STORES = frozenset({"s3", "gcs", "abfs"})

# Bytes per read when a local file is streamed to a store (a snapshot is ~100 MB).
COPY_BLOCK = 8 * 1024 * 1024

# Reads of a JSON file that a writer replaced meanwhile, before the error is raised.
TORN_READ_ATTEMPTS = 5

# Small files written at once on object stores (a new job's meta and index entries).
_PARALLEL_WRITES = ThreadPoolExecutor(8, thread_name_prefix="kyc-store-write")


def write_atomically(fs: pafs.FileSystem, path: str, payload: bytes | Path) -> None:
    """Write ``path`` (bytes, or a local file's content streamed) so that a reader sees the
    old file or the new one, never half of one.

    On an object store, one upload of the final key: S3 shows an object only when its PUT
    (or its multipart upload) completes, and an upload that fails or dies is never
    completed. A temporary key and a move would cost a PUT, a server-side copy and a
    delete, and leave the temporary key behind if the writer died between them.
    On a local or network filesystem, a temporary name beside ``path`` renamed into place.
    """
    if fs.type_name in OBJECT_STORES:
        _write(fs, path, payload)
        return
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
    _write(fs, tmp, payload)
    fs.move(tmp, path)


def _write(fs: pafs.FileSystem, path: str, payload: bytes | Path) -> None:
    with fs.open_output_stream(path) as out:
        if isinstance(payload, Path):
            with payload.open("rb") as source:
                while block := source.read(COPY_BLOCK):
                    out.write(block)
        else:
            out.write(payload)


def read_json(fs: pafs.FileSystem, path: str) -> dict | None:
    """A JSON file of a store, or None when there is none. On S3, pyarrow asks for an
    object's size, then reads that many bytes: a file replaced between the two
    (progress.json after every chunk) reads torn, so such a read is done again."""
    for attempt in range(1, TORN_READ_ATTEMPTS + 1):
        try:
            with fs.open_input_stream(path) as src:
                return json.loads(src.read())
        except FileNotFoundError:
            return None
        except (ValueError, OSError):  # torn (JSON or UTF-8), or the range is gone
            if attempt == TORN_READ_ATTEMPTS:
                raise
    return None


def read_parquet(fs: pafs.FileSystem, path: str) -> pl.DataFrame:
    """A Parquet file of the store, read by Polars from its bytes: not through pyarrow's
    reader, whose Arrow buffers Polars then converts, holding both (a million-row book's
    log was 360 MB more at its peak, and three times slower)."""
    with fs.open_input_file(path) as src:
        return pl.read_parquet(io.BytesIO(src.read()))


def files_in(fs: pafs.FileSystem, directory: str) -> list[str]:
    """The names in ``directory``, sorted, without unfinished atomic writes."""
    selector = pafs.FileSelector(directory, allow_not_found=True)
    return sorted(
        info.base_name
        for info in fs.get_file_info(selector)
        if not info.base_name.startswith(".tmp-")
    )


def utc_now() -> str:
    """Now as ISO 8601 UTC with a Z suffix, the API's timestamp format."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    return str(uuid.uuid4())


@dataclass
class JobMeta:
    """What is known about a job besides its rows. ``status`` is as last recorded here."""

    job_id: str
    tenant: str
    created_at: str = field(default_factory=utc_now)
    total_entities: int = 0
    # The screening options, pinned when the job is accepted (as its snapshot is), so a run
    # resumed on another worker screens every chunk the same way. lists None: every list
    # of the pinned snapshot. threshold / max_matches None only in jobs stored before they
    # were pinned (the configured defaults apply then).
    lists: list[str] | None = None
    search_type: str = "composite"
    threshold: float | None = None
    max_matches: int | None = None
    monitor: bool = False
    watchlist_version: str | None = None
    flow_run_id: str | None = None
    idempotency_key: str | None = None
    status: str = "processing"
    error: str | None = None
    completed_at: str | None = None
    updated_at: str | None = None
    # Entities per chunk, fixed by the first run so a resumed run splits the same way.
    chunk_size: int | None = None
    # Flow runs created for this job (recovery gives up after too many).
    attempts: int = 0
    # Who made the job: None for a client's job, "rescreen" for flows/rescreen_book.py,
    # "rerun" for POST /kyc/jobs/{job_id}/rerun (then rerun_of names the original job).
    origin: str | None = None
    # Given once when the job is accepted, kept until a chunk's rate is measured.
    estimated_completion: str | None = None
    rerun_of: str | None = None
    # A rescreen's snapshot before (the one most of its entities were last screened
    # against; watchlist_version is the one after), how it was made and what it covered.
    from_version: str | None = None
    rescreen_mode: str | None = None  # reverse, full, mixed
    rescreen_stats: dict | None = None  # due, full, reverse_candidates, pairs, screened

    @classmethod
    def from_dict(cls, data: dict) -> JobMeta:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class JobProgress:
    processed: int = 0
    completed: int = 0
    failed: int = 0
    matches_found: int = 0
    chunks_done: int = 0
    rate: float | None = None  # entities per second over the current run's chunks
    updated_at: str | None = None
    engine_version: str | None = None  # the matching engine that screened the chunks
    started_at: str | None = None  # when the job's first run started screening
    suppressed: int = 0  # matches left out by analysts' decisions
    resolved: int = 0  # a rescreen's earlier matches on entries no longer listed


@dataclass
class ChunkStats:
    """Counts of one written chunk; progress.json keeps them so pages skip whole chunks."""

    rows: int
    completed: int
    failed: int
    matched_rows: int
    matches: int
    suppressed: int = 0
    resolved: int = 0

    @classmethod
    def of(cls, results: pl.DataFrame) -> ChunkStats:
        optional = [
            pl.col(name).list.len().sum().alias(name)
            for name in ("suppressed", "resolved")
            if name in results.columns
        ]
        row = results.select(
            pl.len().alias("rows"),
            (pl.col("status") == "completed").sum().alias("completed"),
            (pl.col("status") == "failed").sum().alias("failed"),
            pl.col("is_match").fill_null(False).sum().alias("matched_rows"),
            pl.col("match_count").fill_null(0).sum().alias("matches"),
            *optional,
        ).row(0, named=True)
        return cls(**{k: int(v or 0) for k, v in row.items()})


class JobStore:
    """Jobs under one root URI. Safe to share between threads; every write is one file."""

    def __init__(self, uri: str) -> None:
        self.uri, self.fs, self.root = open_root(uri)
        self.fs.create_dir(self.root, recursive=True)

    # --- paths ------------------------------------------------------------------------

    def _job_dir(self, job_id: str) -> str:
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise ValueError(f"not a job id: {job_id!r}")
        return f"{self.root}/jobs/{job_id}"

    def _tenant_dir(self, tenant: str) -> str:
        return f"{self.root}/tenants/{quote(tenant, safe='')}"

    def _chunk_path(self, job_id: str, chunk: int) -> str:
        return f"{self._job_dir(job_id)}/results/chunk-{chunk:05d}.parquet"

    # --- low-level file helpers --------------------------------------------------------

    def _write_bytes(self, path: str, payload: bytes) -> None:
        write_atomically(self.fs, path, payload)

    def _write_json(self, path: str, data: dict) -> None:
        self._write_bytes(path, json.dumps(data).encode())

    def _read_json(self, path: str) -> dict | None:
        return read_json(self.fs, path)

    def _write_parquet(self, path: str, frame: pl.DataFrame, row_group_size: int | None) -> None:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, row_group_size=row_group_size)
        self._write_bytes(path, buffer.getvalue())

    def _read_parquet(self, path: str) -> pl.DataFrame:
        return read_parquet(self.fs, path)

    def _exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def _names_in(self, directory: str) -> list[str]:
        return files_in(self.fs, directory)

    # --- jobs --------------------------------------------------------------------------

    def create_job(self, meta: JobMeta, entities: pl.DataFrame) -> None:
        """Store a new job: entities first, then its meta and index entries, and last the
        idempotency key (a retry that finds it finds a whole job)."""
        meta = replace(meta, total_entities=entities.height)
        job_dir = self._job_dir(meta.job_id)
        self._write_parquet(f"{job_dir}/entities.parquet", entities, ENTITY_ROW_GROUP)
        self._register(meta)

    def copy_job(self, meta: JobMeta, source_job_id: str) -> None:
        """Store a new job whose entities are a byte-for-byte copy of another job's (a
        re-run screens exactly what the original did; the input checksum shows it)."""
        source = f"{self._job_dir(source_job_id)}/entities.parquet"
        job_dir = self._job_dir(meta.job_id)
        self.fs.create_dir(job_dir, recursive=True)
        self.fs.copy_file(source, f"{job_dir}/entities.parquet")
        self._register(meta)

    def _register(self, meta: JobMeta) -> None:
        """A job's meta and index entries, once its entities are stored.

        The meta and index entries are written at once on an object store, where each
        file is a round trip: readers skip an entry whose job.json is not there yet, and
        the caller answers only once all are written."""
        meta = replace(meta, updated_at=meta.created_at)
        job_dir = self._job_dir(meta.job_id)
        files = [
            (f"{job_dir}/job.json", json.dumps(asdict(meta)).encode()),
            (f"{self._tenant_dir(meta.tenant)}/jobs/{_listing_key(meta)}", b""),
        ]
        if meta.status == "processing":
            files.append((f"{self.root}/active/{meta.job_id}", b""))
        if self.fs.type_name in OBJECT_STORES:
            list(_PARALLEL_WRITES.map(lambda file: self._write_bytes(*file), files))
        else:
            for path, payload in files:
                self._write_bytes(path, payload)
        if meta.idempotency_key is not None:
            key_path = self._idempotency_path(meta.tenant, meta.idempotency_key)
            self._write_json(key_path, {"job_id": meta.job_id})

    def get_job(self, job_id: str) -> JobMeta | None:
        try:
            data = self._read_json(f"{self._job_dir(job_id)}/job.json")
        except ValueError:
            return None
        return None if data is None else JobMeta.from_dict(data)

    def update_job(self, job_id: str, **changes: object) -> JobMeta:
        """Change some fields of a job's meta (read, change, write the whole file).

        Changes to one job from threads of this process are made one after another, so
        none is lost (the submitter recording a run while a cancel records its status)."""
        with _job_lock(self.uri, job_id):
            return self._update_job(job_id, changes)

    def _update_job(self, job_id: str, changes: dict[str, object]) -> JobMeta:
        meta = self.get_job(job_id)
        if meta is None:
            raise KeyError(f"no job {job_id}")
        if "status" in changes and changes["status"] not in JOB_STATUSES:
            raise ValueError(f"unknown job status {changes['status']!r}")
        meta = replace(meta, **changes, updated_at=utc_now())
        self._write_json(f"{self._job_dir(job_id)}/job.json", asdict(meta))
        if "status" not in changes:
            return meta  # the active marker follows the status, which did not change
        marker = f"{self.root}/active/{job_id}"
        if meta.status == "processing":
            if not self._exists(marker):
                self._write_bytes(marker, b"")
        elif self._exists(marker):
            self.fs.delete_file(marker)
        return meta

    def active_jobs(self) -> list[str]:
        """Ids of jobs whose last recorded status is processing, oldest first by id order."""
        return self._names_in(f"{self.root}/active")

    def list_jobs(
        self, tenant: str, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[JobMeta], str | None]:
        """A tenant's jobs, newest first; pass the returned cursor to get the next page."""
        keys = self._names_in(f"{self._tenant_dir(tenant)}/jobs")
        if cursor is not None:
            keys = [key for key in keys if key > cursor]
        page = keys[:limit]
        jobs = [meta for key in page if (meta := self.get_job(key.split("_", 1)[1]))]
        next_cursor = page[-1] if len(keys) > limit else None
        return jobs, next_cursor

    def _idempotency_path(self, tenant: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._tenant_dir(tenant)}/idempotency/{digest}"

    def find_by_idempotency_key(self, tenant: str, key: str) -> JobMeta | None:
        data = self._read_json(self._idempotency_path(tenant, key))
        return None if data is None else self.get_job(data["job_id"])

    # --- entities ----------------------------------------------------------------------

    def read_entities(self, job_id: str, start: int = 0, stop: int | None = None) -> pl.DataFrame:
        """The job's entity frame, or only rows ``[start, stop)`` (reading only their row groups)."""
        path = f"{self._job_dir(job_id)}/entities.parquet"
        with self.fs.open_input_file(path) as src:
            parquet = pq.ParquetFile(src)
            if start == 0 and stop is None:
                return pl.from_arrow(parquet.read())
            groups, first_row, offset = [], None, 0
            for index in range(parquet.num_row_groups):
                size = parquet.metadata.row_group(index).num_rows
                if offset + size > start and (stop is None or offset < stop):
                    groups.append(index)
                    first_row = offset if first_row is None else first_row
                offset += size
            if not groups:
                return pl.from_arrow(parquet.schema_arrow.empty_table())
            table = parquet.read_row_groups(groups)
        length = None if stop is None else stop - start
        return pl.from_arrow(table).slice(start - first_row, length)

    def find_entities(self, job_id: str, entity_ids: list[str]) -> pl.DataFrame:
        """The job's rows of these entity ids (a filtered read: a big job is not loaded)."""
        path = f"{self._job_dir(job_id)}/entities.parquet"
        with self.fs.open_input_file(path) as src:
            table = pq.read_table(src, filters=[("entity_id", "in", entity_ids)])
        return pl.from_arrow(table)  # type: ignore[return-value]

    # --- results and progress ----------------------------------------------------------

    def write_chunk(self, job_id: str, chunk: int, results: pl.DataFrame) -> ChunkStats:
        """Store one chunk's results (atomically) and return its counts."""
        self._write_parquet(self._chunk_path(job_id, chunk), results, None)
        return ChunkStats.of(results)

    def written_chunks(self, job_id: str) -> list[int]:
        names = self._names_in(f"{self._job_dir(job_id)}/results")
        return [int(name[6:11]) for name in names if name.startswith("chunk-")]

    def read_chunk(self, job_id: str, chunk: int) -> pl.DataFrame:
        return self._read_parquet(self._chunk_path(job_id, chunk))

    def chunk_stats(self, job_id: str, chunk: int) -> ChunkStats:
        """Counts of a written chunk, from the chunk itself (used to rebuild progress)."""
        path = self._chunk_path(job_id, chunk)
        with self.fs.open_input_file(path) as src:
            parquet = pq.ParquetFile(src)
            wanted = ["status", "is_match", "match_count", "suppressed", "resolved"]
            table = parquet.read(columns=[c for c in wanted if c in parquet.schema_arrow.names])
        return ChunkStats.of(pl.from_arrow(table))

    def write_progress(
        self,
        job_id: str,
        chunks: dict[int, ChunkStats],
        rate: float | None,
        chunk_size: int | None = None,
        engine_version: str | None = None,
        started_at: str | None = None,
    ) -> JobProgress:
        """Record the counts (and the chunk size the run splits by) after a chunk.

        progress.json is written by the job's run only, so it is where the run's own facts
        live; job.json is also written by the API and could lose a concurrent change."""
        progress = _sum_progress(chunks, rate, engine_version)
        progress.started_at = started_at
        data = {
            "progress": asdict(progress),
            "chunk_size": chunk_size or self.chunk_size(job_id),
            "chunks": {str(index): asdict(stats) for index, stats in chunks.items()},
        }
        self._write_json(f"{self._job_dir(job_id)}/progress.json", data)
        return progress

    def _progress_data(self, job_id: str) -> dict:
        return self._read_json(f"{self._job_dir(job_id)}/progress.json") or {}

    def progress(self, job_id: str) -> JobProgress:
        """Counts after the last written chunk: one small JSON read."""
        return JobProgress(**self._progress_data(job_id).get("progress", {}))

    def recorded_chunks(self, job_id: str) -> dict[int, ChunkStats]:
        """The per-chunk counts progress.json holds."""
        chunks = self._progress_data(job_id).get("chunks", {})
        return {int(index): ChunkStats(**stats) for index, stats in chunks.items()}

    def chunk_size(self, job_id: str) -> int | None:
        """Entities per chunk of the job's runs (None before its first run started)."""
        recorded = self._progress_data(job_id).get("chunk_size")
        if recorded:
            return recorded
        meta = self.get_job(job_id)
        return meta.chunk_size if meta else None

    def read_results(
        self, job_id: str, offset: int = 0, limit: int = 1000, only_matches: bool = False
    ) -> pl.DataFrame:
        """A page of result rows in input order, reading only the chunks the page covers.

        With ``only_matches``, ``offset`` and ``limit`` count matching rows only.
        """
        if self.get_job(job_id) is None:
            raise KeyError(f"no job {job_id}")
        written = self.written_chunks(job_id)
        stats = self.recorded_chunks(job_id)
        pages, seen = [], 0
        for chunk in written:
            counts = stats.get(chunk) or self.chunk_stats(job_id, chunk)
            rows = counts.matched_rows if only_matches else counts.rows
            if seen + rows <= offset:
                seen += rows
                continue
            frame = self.read_chunk(job_id, chunk)
            if only_matches:
                frame = frame.filter(pl.col("is_match").fill_null(False))
            pages.append(frame.slice(max(offset - seen, 0)))
            seen += rows
            if seen >= offset + limit:
                break
        if not pages:
            return self._empty_results(job_id, written)
        return pl.concat(pages, how="diagonal_relaxed").head(limit)

    def _empty_results(self, job_id: str, written: list[int]) -> pl.DataFrame:
        if written:
            return self.read_chunk(job_id, written[0]).head(0)
        return pl.DataFrame()

    def iter_results(self, job_id: str) -> Iterator[pl.DataFrame]:
        """Every written result chunk in input order, one at a time (bounded memory)."""
        for chunk in self.written_chunks(job_id):
            yield self.read_chunk(job_id, chunk)


_job_locks: dict[tuple[str, str], threading.Lock] = {}
_job_locks_guard = threading.Lock()


def _job_lock(store_uri: str, job_id: str) -> threading.Lock:
    """The lock of one job's job.json in this process (a few bytes per job ever changed)."""
    with _job_locks_guard:
        return _job_locks.setdefault((store_uri, job_id), threading.Lock())


def _listing_key(meta: JobMeta) -> str:
    created = datetime.fromisoformat(meta.created_at.replace("Z", "+00:00"))
    micros = int(created.timestamp() * 1_000_000)
    return f"{_FAR_FUTURE_US - micros:017d}_{meta.job_id}"


def _sum_progress(
    chunks: dict[int, ChunkStats], rate: float | None, engine_version: str | None
) -> JobProgress:
    return JobProgress(
        processed=sum(s.rows for s in chunks.values()),
        completed=sum(s.completed for s in chunks.values()),
        failed=sum(s.failed for s in chunks.values()),
        matches_found=sum(s.matches for s in chunks.values()),
        chunks_done=len(chunks),
        rate=rate,
        updated_at=utc_now(),
        engine_version=engine_version,
        suppressed=sum(s.suppressed for s in chunks.values()),
        resolved=sum(s.resolved for s in chunks.values()),
    )
