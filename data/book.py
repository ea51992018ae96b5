"""The monitored book: per tenant, the entities that rescreens screen again after a list change.

It lives beside the job store, under the same root URI (a path, ``file://`` or ``s3://``), as
an append-only log of small Parquet files, one per event batch::

    books/<tenant>/log/<time key>.parquet       upsert / remove / screened events
    books/<tenant>/rescreens/<version>.json     the rescreen job made for a snapshot version

Why a log and not one book file rewritten in place: two monitored jobs of one tenant may end
at the same moment on two workers, and object stores have no locks. Every writer adds its own
file (whole or not at all: data.jobs.write_atomically), and reading replays the files in key order:
the last upsert or remove of an ``entity_id`` decides whether and how it is in the book (an
upsert), and the last ``screened_version`` its current subject got is the snapshot it was
last screened against, which is where the next delta rescreen starts from.

Rescreen jobs report only "new" matches: ``keep_new_matches`` drops the matches whose list
entry was not added or changed by a snapshot diff since the entity's ``screened_version``.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb
import polars as pl
import pyarrow.parquet as pq

from data.entities import DEFAULT_ID_PREFIX, ENTITY_SCHEMA, SUBJECT_FIELDS
from data.jobs import JobMeta, files_in, open_root, utc_now, write_atomically
from data.store import SnapshotStore

# JobMeta.origin of the jobs flows/rescreen_book.py makes.
RESCREEN_ORIGIN = "rescreen"

# The book's columns: an entity as a rescreen job screens it, and where it came from.
BOOK_SCHEMA = pl.Schema(
    {
        "entity_id": pl.Utf8,  # the book key: the client's entity_id, or "<job_id>#<row>"
        **{
            name: dtype for name, dtype in ENTITY_SCHEMA.items() if name not in ("row", "entity_id")
        },
        "threshold": pl.Float64,  # the source job's threshold (null: the configured default)
        "source_job_id": pl.Utf8,  # the monitored job that last upserted the entity
        "added_at": pl.Utf8,
        "screened_version": pl.Utf8,  # the snapshot it was last screened against
    }
)
# A log file's rows: an event ("upsert", "remove" or "screened") and the book columns it sets.
LOG_SCHEMA = pl.Schema({"event": pl.Utf8, **BOOK_SCHEMA})

# Log files older than this many seconds may be folded into one (BookStore.compact); a
# writer takes milliseconds between choosing its file's key and writing it.
COMPACT_AFTER_S = 600.0

# A snapshot chain longer than this is not walked (a loop guard; stores keep a few versions).
MAX_CHAIN = 1000


class BookStore:
    """Every tenant's monitored book under one root URI (the job store's)."""

    def __init__(self, uri: str) -> None:
        self.uri, self.fs, root = open_root(uri)
        self.root = f"{root}/books"

    # --- reading -----------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Tenants that have (or had) a book."""
        return [unquote(name) for name in self._names_in(self.root)]

    def read(self, tenant: str, upto: str | None = None) -> pl.DataFrame:
        """The tenant's book now (or as of log file ``upto``): one row per entity_id
        (BOOK_SCHEMA), in the order of their last upserts.

        The replay works on the few key columns and then gathers the winning rows, so a
        million-entity book never goes through a group-by with all its columns."""
        log = self._log(tenant, upto).with_row_index("seq")
        keys = log.select("seq", "entity_id", "event", "source_job_id", "screened_version")
        last = (
            keys.filter(pl.col("event") != "screened")
            .group_by("entity_id")
            .agg(pl.col("seq", "event", "source_job_id").sort_by("seq").last())
            .filter(pl.col("event") == "upsert")
        )
        current = last.select("entity_id", pl.col("source_job_id").alias("current_job"))
        screened = (  # only what was screened of the entity's current subject counts
            keys.filter(pl.col("screened_version").is_not_null())
            .join(current, on="entity_id")
            .filter(pl.col("source_job_id") == pl.col("current_job"))
            .group_by("entity_id")
            .agg(pl.col("screened_version").sort_by("seq").last())
        )
        rows = log.select(pl.all().gather(last["seq"].sort()))
        return (
            rows.drop("screened_version")
            .join(screened, on="entity_id", how="left", maintain_order="left")
            .select(BOOK_SCHEMA.names())
        )

    def due(self, tenant: str, version: str) -> pl.DataFrame:
        """Book entries not screened against ``version`` yet."""
        return self.read(tenant).filter(pl.col("screened_version").ne_missing(version))

    def rescreen_job(self, tenant: str, version: str) -> str | None:
        """The job id of the tenant's rescreen against ``version``, if one was made."""
        try:
            with self.fs.open_input_stream(self._rescreen_path(tenant, version)) as src:
                return json.loads(src.read())["job_id"]
        except FileNotFoundError:
            return None

    # --- writing -----------------------------------------------------------------------

    def add_job(self, meta: JobMeta, entities: pl.DataFrame) -> int:
        """Upsert a monitored job's entities (its canonical entity frame); how many.

        An entity_id beginning with "#" is the default the validation gave a row without one
        (data/entities.py: "#<row>"; clients' own ids may not begin so), so it is not the
        client's key: the book keys it by job and row ("<job_id>#<row>") instead, and a later
        job's row 1 never replaces it.
        """
        defaulted = pl.col("entity_id").str.starts_with(DEFAULT_ID_PREFIX)
        job_lists = pl.lit(meta.lists, dtype=pl.List(pl.Utf8))
        frame = entities.select(
            pl.lit("upsert").alias("event"),
            pl.when(defaulted)
            .then(pl.lit(meta.job_id) + pl.col("entity_id"))
            .otherwise(pl.col("entity_id"))
            .alias("entity_id"),
            *[pl.col(n) for n in SUBJECT_FIELDS],
            pl.col("lists").fill_null(job_lists) if meta.lists else pl.col("lists"),
            pl.col("search_type").fill_null(pl.lit(meta.search_type)),
            pl.lit(meta.threshold, dtype=pl.Float64).alias("threshold"),
            pl.lit(meta.job_id).alias("source_job_id"),
            pl.lit(utc_now()).alias("added_at"),
            pl.lit(meta.watchlist_version, dtype=pl.Utf8).alias("screened_version"),
        )
        self._append(meta.tenant, frame)
        return frame.height

    def record_screened_job(self, meta: JobMeta, entities: pl.DataFrame) -> None:
        """What a finished job means for its tenant's book: a monitored job's entities join
        it (screened at the job's snapshot); a rescreen's entities were screened again."""
        if meta.origin == RESCREEN_ORIGIN:
            screened = entities.select("entity_id", "source_job_id")
            self.mark_screened(meta.tenant, screened, meta.watchlist_version or "")
        elif meta.monitor:
            self.add_job(meta, entities)

    def mark_screened(self, tenant: str, screened: pl.DataFrame, version: str) -> None:
        """Record that book entries were screened against ``version`` (a rescreen ended).

        ``screened`` has their entity_id and source_job_id: a subject a newer monitored job
        upserted meanwhile was not the one screened, and keeps its own screened_version."""
        frame = screened.select(
            pl.lit("screened").alias("event"),
            "entity_id",
            "source_job_id",
            pl.lit(version).alias("screened_version"),
        )
        self._append(tenant, frame)

    def remove(self, tenant: str, entity_ids: list[str]) -> list[str]:
        """Take entities out of the book; the ids that were in it (the others are ignored)."""
        present = self.read(tenant).filter(pl.col("entity_id").is_in(entity_ids))["entity_id"]
        if present.len():
            frame = present.to_frame().select(pl.lit("remove").alias("event"), "entity_id")
            self._append(tenant, frame)
        return present.to_list()

    def record_rescreen(self, tenant: str, version: str, job_id: str) -> None:
        payload = json.dumps({"job_id": job_id, "version": version, "at": utc_now()})
        self._write_bytes(self._rescreen_path(tenant, version), payload.encode())

    def compact(self, tenant: str, older_than_s: float = COMPACT_AFTER_S) -> int:
        """Fold the log files older than ``older_than_s`` into one; how many it replaced.

        The folded file holds the book as of the newest folded file, as upserts, and sorts
        right after it: a crash between writing it and deleting the folded files replays to
        the same book. Recent files are left alone, so a writer still on its way is never
        folded over (their keys are their start times)."""
        directory = f"{self._tenant_dir(tenant)}/log"
        cutoff = time.time_ns() - int(older_than_s * 1e9)
        old = [name for name in self._names_in(directory) if int(name[:20]) < cutoff]
        if len(old) < 2:
            return 0
        state = self.read(tenant, upto=old[-1])
        folded = f"{directory}/{old[-1].removesuffix('.parquet')}~folded.parquet"
        self._write_bytes(folded, _parquet(_as_log(state.with_columns(event=pl.lit("upsert")))))
        for name in old:
            if f"{directory}/{name}" != folded:
                self.fs.delete_file(f"{directory}/{name}")
        return len(old)

    # --- files -------------------------------------------------------------------------

    def _tenant_dir(self, tenant: str) -> str:
        if not tenant:
            raise ValueError("a book needs a tenant")
        return f"{self.root}/{quote(tenant, safe='')}"

    def _rescreen_path(self, tenant: str, version: str) -> str:
        return f"{self._tenant_dir(tenant)}/rescreens/{quote(version, safe='')}.json"

    def _append(self, tenant: str, events: pl.DataFrame) -> None:
        """One new log file; keys sort by time, then by a random part (two writers at once)."""
        key = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        self._write_bytes(f"{self._tenant_dir(tenant)}/log/{key}", _parquet(_as_log(events)))

    def _log(self, tenant: str, upto: str | None = None) -> pl.DataFrame:
        """Every event of the tenant's book (up to log file ``upto``), oldest first."""
        directory = f"{self._tenant_dir(tenant)}/log"
        frames = [pl.DataFrame(schema=LOG_SCHEMA)]
        names = self._names_in(directory)
        for name in names if upto is None else [n for n in names if n <= upto]:
            with self.fs.open_input_file(f"{directory}/{name}") as src:
                frames.append(pl.from_arrow(pq.read_table(src)).cast(LOG_SCHEMA))  # type: ignore[arg-type]
        return pl.concat(frames, how="vertical")

    def _write_bytes(self, path: str, payload: bytes) -> None:
        write_atomically(self.fs, path, payload)

    def _names_in(self, directory: str) -> list[str]:
        return files_in(self.fs, directory)


def _as_log(events: pl.DataFrame) -> pl.DataFrame:
    """Events in LOG_SCHEMA: its columns, in its order, missing ones null."""
    return events.with_columns(
        pl.lit(None, dtype).alias(n) for n, dtype in LOG_SCHEMA.items() if n not in events
    ).select([pl.col(n).cast(dtype) for n, dtype in LOG_SCHEMA.items()])


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


# --- rescreen jobs ---------------------------------------------------------------------


def rescreen_entities(book: pl.DataFrame, delta: bool) -> pl.DataFrame:
    """A job's entity frame from book rows: ENTITY_SCHEMA plus each entity's ``threshold``,
    its ``source_job_id`` (which subject was screened) and, for a delta rescreen,
    ``since_version`` (which matches are new to it)."""
    extra = [pl.col("threshold"), pl.col("source_job_id")]
    if delta:
        extra.append(pl.col("screened_version").alias("since_version"))
    return book.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
        *[pl.col(n) for n in ENTITY_SCHEMA if n != "row"],
        *extra,
    )


def changed_since(
    snapshots: SnapshotStore, version: str, baselines: list[str | None]
) -> tuple[pl.DataFrame, list[str | None]]:
    """List entries added or changed between each baseline version and ``version``.

    Walks the snapshots' chain of diffs back from ``version`` (each snapshot holds its diff
    against the one it replaced). Returns (since_version, match_key) rows, match_key being
    the engine's match entity_id "<list_code>-<entry_id>", and the baselines the chain does
    not reach (pruned, or never a predecessor): everything is new to those."""
    steps = _diff_chain(snapshots, version, {b for b in baselines if b is not None})
    changes, unreachable = [], []
    for baseline in dict.fromkeys(baselines):
        reached = [i for i, (_, previous, _) in enumerate(steps) if previous == baseline]
        if baseline == version:
            continue
        if baseline is None or not reached:
            unreachable.append(baseline)
            continue
        for _, _, diff in steps[: reached[0] + 1]:
            changes.append(diff.with_columns(since_version=pl.lit(baseline, dtype=pl.Utf8)))
    schema = {"since_version": pl.Utf8, "match_key": pl.Utf8}
    frame = pl.concat([pl.DataFrame(schema=schema), *changes], how="diagonal_relaxed")
    return frame.select(list(schema)).unique(), unreachable


def _diff_chain(
    snapshots: SnapshotStore, version: str, wanted: set[str]
) -> list[tuple[str, str | None, pl.DataFrame]]:
    """(version, previous version, its added/changed match keys), newest first, as far back
    as the files on disk go or until every wanted baseline was passed."""
    steps: list[tuple[str, str | None, pl.DataFrame]] = []
    current: str | None = version
    seen: set[str] = set()
    while current is not None and current not in seen and len(steps) < MAX_CHAIN:
        path = snapshots.local_file(current)
        if path is None:
            break
        seen.add(current)
        previous, diff = _previous_and_diff(path)
        steps.append((current, previous, diff))
        wanted.discard(previous)  # type: ignore[arg-type]
        if not wanted:
            break
        current = previous
    return steps


def _previous_and_diff(path: Path) -> tuple[str | None, pl.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        previous = con.sql("SELECT previous_version FROM meta").fetchall()[0][0]
        diff = con.sql(
            "SELECT list_code || '-' || entry_id AS match_key FROM diff"
            " WHERE change IN ('added', 'changed')"
        ).pl()
    finally:
        con.close()
    return previous, diff


def keep_new_matches(
    results: pl.DataFrame, since: pl.Series, changes: pl.DataFrame, unreachable: list[str | None]
) -> pl.DataFrame:
    """Results (matching.screen rows) with only the matches new to each entity.

    ``since`` is each result row's since_version; a match is new when its list entry is in
    ``changes`` for that version, or when that version is in ``unreachable``."""
    frame = results.with_row_index("_at").with_columns(since.alias("_since"))
    allowed = changes.select(pl.concat_str("since_version", pl.lit("|"), "match_key"))
    matches = (
        frame.select("_at", "_since", "matches")
        .explode("matches")
        .filter(pl.col("matches").is_not_null())
        .filter(
            pl.concat_str("_since", pl.lit("|"), pl.col("matches").struct.field("entity_id"))
            .is_in(allowed.to_series().implode())
            .fill_null(False)
            | pl.col("_since").is_in(
                pl.Series(unreachable, dtype=pl.Utf8).implode(), nulls_equal=True
            )
        )
        .group_by("_at", maintain_order=True)
        .agg("matches")
    )
    empty = pl.lit([], dtype=results.schema["matches"])
    count = pl.col("matches").list.len().cast(results.schema["match_count"])
    return (
        frame.drop("matches")
        .join(matches, on="_at", how="left", maintain_order="left")
        .with_columns(pl.col("matches").fill_null(empty))
        .with_columns(
            pl.when(pl.col("status") == "completed")
            .then(count)
            .otherwise("match_count")
            .alias("match_count"),
            pl.when(pl.col("status") == "completed")
            .then(count > 0)
            .otherwise("is_match")
            .alias("is_match"),
        )
        .select(results.columns)
    )
