"""The book index: per tenant, the monitored book's normalised names and blocking keys, kept
beside the book (pyarrow.fs, so ``s3://`` too) for reverse screening (matching/reverse.py).

It is what the engine makes of each book entity (name tokens, transliterated or not,
identifier values) and of each book token (its query-side blocking keys): work that depends
only on the entity and the engine, never on a snapshot. So it is built once per engine
version and kept in a folder of that version::

    books/<tenant>/index/<engine version>/segments/<time>-<random>.parquet
        entity_id, source_job_id and matching.reverse.BOOK_ENTRY_SCHEMA (tokens, scripts...)
    books/<tenant>/index/<engine version>/keys/<same name>.parquet
        token, key: the keys of the tokens of that segment

A segment is keyed by (entity_id, source_job_id): the subject a monitored job gave the
entity. Monitored jobs add a segment for the entities they upsert; an entity that leaves the
book, or gets a new subject, simply stops being asked for. Loading the index for a set of
book rows reads the segments, builds and adds what is missing (entities that joined before
the index existed, a crash between the book's write and the index's, a new engine version:
then everything), and returns the rows in the order asked. Many segments are folded into one
(older than a few minutes, so a writer's file is never folded from under it); older engine
versions' folders are deleted once the current one holds the whole book.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from urllib.parse import quote, unquote

import polars as pl
from pyarrow.fs import FileSelector, FileType

from data.jobs import files_in, open_root, read_parquet, write_atomically
from matching.reverse import BOOK_ENTRY_SCHEMA, BookIndex, book_entries, book_token_keys
from matching.version import ENGINE_VERSION

SEGMENT_SCHEMA = pl.Schema({"entity_id": pl.Utf8, "source_job_id": pl.Utf8, **BOOK_ENTRY_SCHEMA})
KEYS_SCHEMA = pl.Schema({"token": pl.Utf8, "key": pl.Utf8})

# Fold the segments into one when there are more than this many.
FOLD_OVER_SEGMENTS = 16

# Segments younger than this many seconds are never folded (a writer may be on its way).
FOLD_AFTER_S = 600.0


class BookIndexStore:
    """Every tenant's book index under one root URI (the job store's)."""

    def __init__(self, uri: str, engine_version: str = ENGINE_VERSION) -> None:
        self.uri, self.fs, root = open_root(uri)
        self.root = f"{root}/books"
        self.engine_version = engine_version

    def add(self, tenant: str, rows: pl.DataFrame) -> int:
        """Index book rows (entity_id, source_job_id and the subject fields): one segment;
        how many rows it holds."""
        if rows.is_empty():
            return 0
        segment = rows.select("entity_id", "source_job_id").hstack(book_entries(rows))
        self._write_segment(tenant, segment)
        return segment.height

    def load(self, tenant: str, rows: pl.DataFrame) -> BookIndex:
        """The index of these book rows (entity_id, source_job_id, subject fields), in their
        order: what is indexed already is read, the rest is indexed now (and kept)."""
        indexed, keys = self._read(tenant)
        wanted = rows.select("entity_id", "source_job_id")
        found = wanted.join(
            indexed, on=["entity_id", "source_job_id"], how="left", maintain_order="left"
        )
        missing = found["tokens"].is_null()
        if missing.any():
            fresh = rows.filter(missing)
            segment = fresh.select("entity_id", "source_job_id").hstack(book_entries(fresh))
            new_keys = self._write_segment(tenant, segment)
            keys = pl.concat([keys, new_keys]).unique()
            found = wanted.join(
                pl.concat([indexed, segment]).unique(["entity_id", "source_job_id"], keep="last"),
                on=["entity_id", "source_job_id"],
                how="left",
                maintain_order="left",
            )
        self._tidy(tenant)
        return BookIndex(found.select(BOOK_ENTRY_SCHEMA.names()), keys)

    def fold(self, tenant: str, older_than_s: float = FOLD_AFTER_S) -> int:
        """Fold the old segments into one (and their keys); how many it replaced."""
        cutoff = time.time_ns() - int(older_than_s * 1e9)
        names = [n for n in self._segment_names(tenant) if int(n[:20]) < cutoff]
        if len(names) < 2:
            return 0
        segments = self._read_files(tenant, "segments", names, SEGMENT_SCHEMA)
        keys = self._read_files(tenant, "keys", names, KEYS_SCHEMA)
        folded = f"{names[-1].removesuffix('.parquet')}~folded.parquet"
        rows = segments.unique(["entity_id", "source_job_id"], keep="last", maintain_order=True)
        self._write(tenant, "keys", folded, keys.unique(maintain_order=True))
        self._write(tenant, "segments", folded, rows)
        for name in names:
            if name != folded:
                for kind in ("segments", "keys"):
                    self._delete(f"{self._dir(tenant)}/{kind}/{name}")
        return len(names)

    def versions(self, tenant: str) -> list[str]:
        """Engine versions with an index folder for the tenant."""
        folder = f"{self.root}/{quote(tenant, safe='')}/index"
        infos = self.fs.get_file_info(FileSelector(folder, allow_not_found=True))
        return sorted(unquote(i.base_name) for i in infos if i.type == FileType.Directory)

    # --- files ---------------------------------------------------------------------------

    def _dir(self, tenant: str, engine_version: str | None = None) -> str:
        if not tenant:
            raise ValueError("a book index needs a tenant")
        version = quote(engine_version or self.engine_version, safe="")
        return f"{self.root}/{quote(tenant, safe='')}/index/{version}"

    def _segment_names(self, tenant: str) -> list[str]:
        return files_in(self.fs, f"{self._dir(tenant)}/segments")

    def _write_segment(self, tenant: str, segment: pl.DataFrame) -> pl.DataFrame:
        """Write a segment's keys, then the segment (a segment never lacks its keys)."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        keys = book_token_keys(segment["tokens"].explode())
        self._write(tenant, "keys", name, keys)
        self._write(tenant, "segments", name, segment.select(SEGMENT_SCHEMA.names()))
        return keys

    def _read(self, tenant: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Every indexed row (the last of each (entity_id, source_job_id)) and every key.
        A fold may delete files between listing and reading: then read again."""
        for attempt in (1, 2, 3):
            names = self._segment_names(tenant)
            try:
                segments = self._read_files(tenant, "segments", names, SEGMENT_SCHEMA)
                keys = self._read_files(tenant, "keys", names, KEYS_SCHEMA)
            except FileNotFoundError:
                if attempt == 3:
                    raise
                continue
            rows = segments.unique(["entity_id", "source_job_id"], keep="last", maintain_order=True)
            return rows, keys.unique(maintain_order=True)
        raise AssertionError("unreachable")

    def _read_files(
        self, tenant: str, kind: str, names: list[str], schema: pl.Schema
    ) -> pl.DataFrame:
        frames = [pl.DataFrame(schema=schema)]
        for name in names:
            frames.append(read_parquet(self.fs, f"{self._dir(tenant)}/{kind}/{name}").cast(schema))
        return pl.concat(frames, how="vertical")

    def _write(self, tenant: str, kind: str, name: str, frame: pl.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        write_atomically(self.fs, f"{self._dir(tenant)}/{kind}/{name}", buffer.getvalue())

    def _delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # a concurrent fold deleted it first
            self.fs.delete_file(path)

    def _tidy(self, tenant: str) -> None:
        """After a complete load: fold many segments, drop other engine versions' indexes."""
        if len(self._segment_names(tenant)) > FOLD_OVER_SEGMENTS:
            self.fold(tenant)
        for version in self.versions(tenant):
            if version != self.engine_version:
                self.fs.delete_dir(self._dir(tenant, version))
