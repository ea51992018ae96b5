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
import logging
import time
import uuid
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb
import polars as pl

from data.book_index import BookIndexStore
from data.entities import DEFAULT_ID_PREFIX, ENTITY_SCHEMA, SUBJECT_FIELDS
from data.jobs import JobMeta, files_in, open_root, read_parquet, utc_now, write_atomically
from data.store import SnapshotStore

logger = logging.getLogger("kyc.book")

# JobMeta.origin of the jobs flows/rescreen_book.py makes.
RESCREEN_ORIGIN = "rescreen"

# A match reported for a book entity and not resolved since: what a rescreen compares with.
OPEN_MATCH = pl.Struct(
    {
        "match_entity_id": pl.Utf8,
        "list_name": pl.Utf8,
        "confidence_score": pl.Float64,
        "matched_name": pl.Utf8,
        "job_id": pl.Utf8,  # the job that reported it
    }
)

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
        "screened_engine": pl.Utf8,  # ... by this engine version (null: not recorded)
        "open_matches": pl.List(OPEN_MATCH),  # reported and not resolved since
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
        # The last book read, by the log files it was replayed from: reading it again while
        # no file came or went (paging GET /kyc/monitored) costs one listing.
        self._cache: dict[str, tuple[tuple[str, ...], pl.DataFrame]] = {}

    # --- reading -----------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Tenants that have (or had) a book."""
        return [unquote(name) for name in self._names_in(self.root)]

    def read(self, tenant: str, upto: str | None = None) -> pl.DataFrame:
        """The tenant's book now (or as of log file ``upto``): one row per entity_id
        (BOOK_SCHEMA), in the order of their last upserts.

        The replay works on the few key columns and then gathers the winning rows, so a
        million-entity book never goes through a group-by with all its columns. What was
        screened of an entity, and its open matches, count only for its current subject
        (the events of the monitored job that last upserted it, and of later rescreens of
        that subject)."""
        directory = f"{self._tenant_dir(tenant)}/log"
        names = tuple(n for n in self._names_in(directory) if upto is None or n <= upto)
        cached = self._cache.get(tenant)
        if cached is not None and cached[0] == names:
            # Also as of the newest file (compact's fold of every file): that is the book
            # now, and a second replay beside the cached one would double the peak.
            return cached[1]
        book = _replay(self._log(tenant, names))
        if upto is None:
            self._cache = {tenant: (names, book)}  # one tenant: a book can be big
        return book

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

    def add_job(
        self,
        meta: JobMeta,
        entities: pl.DataFrame,
        results: pl.DataFrame | None = None,
        engine_version: str | None = None,
    ) -> int:
        """Upsert a monitored job's entities (its canonical entity frame); how many. With the
        job's results (row, matches), their matches become the entities' open matches.

        An entity_id beginning with "#" is the default the validation gave a row without one
        (data/entities.py: "#<row>"; clients' own ids may not begin so), so it is not the
        client's key: the book keys it by job and row ("<job_id>#<row>") instead, and a later
        job's row 1 never replaces it.
        """
        defaulted = pl.col("entity_id").str.starts_with(DEFAULT_ID_PREFIX)
        job_lists = pl.lit(meta.lists, dtype=pl.List(pl.Utf8))
        if results is not None:
            opened = results.select("row", open_matches_of(pl.col("matches"), meta.job_id))
            entities = entities.join(opened, on="row", how="left", maintain_order="left")
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
            pl.lit(engine_version, dtype=pl.Utf8).alias("screened_engine"),
            *([pl.col("open_matches")] if "open_matches" in entities.columns else []),
        )
        self._append(meta.tenant, frame)
        self._index(meta.tenant, frame)
        return frame.height

    def _index(self, tenant: str, rows: pl.DataFrame) -> None:
        """Keep the book index up to date with new subjects. It is derived data: a failure
        here is repaired when the index is next loaded, and must not fail the book."""
        try:
            BookIndexStore(self.uri).add(tenant, rows)
        except Exception:
            logger.warning(
                "the book index of %s was not updated (rebuilt later)", tenant, exc_info=True
            )

    def record_screened_job(
        self,
        meta: JobMeta,
        entities: pl.DataFrame,
        results: pl.DataFrame | None = None,
        engine_version: str | None = None,
    ) -> None:
        """What a finished job means for its tenant's book: a monitored job's entities join
        it (screened at the job's snapshot, its matches open); every book entity a rescreen
        covered was screened again, and the ones it screened have their open matches moved
        on (its new alerts opened, its resolved ones closed)."""
        if meta.origin == RESCREEN_ORIGIN:
            version = meta.watchlist_version or ""
            covered = self.covered(meta.tenant, meta.job_id)
            if covered is None:  # a rescreen made before coverage was recorded
                covered = entities.select("entity_id", "source_job_id")
            screened = entities.select("entity_id", "source_job_id")
            if results is not None and "open_matches" in entities.columns:
                screened = _moved_on(meta.job_id, entities, results)
            rest = covered.join(screened, on=["entity_id", "source_job_id"], how="anti")
            self.mark_screened(
                meta.tenant, pl.concat([screened, rest], how="diagonal"), version, engine_version
            )
        elif meta.monitor:
            self.add_job(meta, entities, results, engine_version)

    def mark_screened(
        self,
        tenant: str,
        screened: pl.DataFrame,
        version: str,
        engine_version: str | None = None,
    ) -> None:
        """Record that book entries were screened against ``version`` (a rescreen ended).

        ``screened`` has their entity_id and source_job_id: a subject a newer monitored job
        upserted meanwhile was not the one screened, and keeps its own screened_version. An
        ``open_matches`` column, where given (not null), replaces the entries' open matches."""
        frame = screened.select(
            pl.lit("screened").alias("event"),
            "entity_id",
            "source_job_id",
            pl.lit(version).alias("screened_version"),
            pl.lit(engine_version, dtype=pl.Utf8).alias("screened_engine"),
            *([pl.col("open_matches")] if "open_matches" in screened.columns else []),
        )
        self._append(tenant, frame)

    def remove(self, tenant: str, entity_ids: list[str]) -> list[str]:
        """Take entities out of the book; the ids that were in it (the others are ignored)."""
        present = self.read(tenant).filter(pl.col("entity_id").is_in(entity_ids))["entity_id"]
        if present.len():
            frame = present.to_frame().select(pl.lit("remove").alias("event"), "entity_id")
            self._append(tenant, frame)
        return present.to_list()

    def record_rescreen(
        self, tenant: str, version: str, job_id: str, covered: pl.DataFrame | None = None
    ) -> None:
        """Name the rescreen job of a version, and keep which book entries it covers
        (entity_id, source_job_id: those due, screened or not) to mark them when it ends."""
        if covered is not None:
            path = f"{self._tenant_dir(tenant)}/rescreens/covered/{job_id}.parquet"
            self._write_bytes(path, _parquet(covered.select("entity_id", "source_job_id")))
        payload = json.dumps({"job_id": job_id, "version": version, "at": utc_now()})
        self._write_bytes(self._rescreen_path(tenant, version), payload.encode())

    def covered(self, tenant: str, job_id: str) -> pl.DataFrame | None:
        """The book entries a rescreen job covers (None for a job that did not record them)."""
        path = f"{self._tenant_dir(tenant)}/rescreens/covered/{job_id}.parquet"
        try:
            return read_parquet(self.fs, path)
        except FileNotFoundError:
            return None

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

    def _log(self, tenant: str, names: tuple[str, ...]) -> pl.DataFrame:
        """Every event of these log files of the tenant's book, oldest first (files written
        before a column existed read as null in it)."""
        directory = f"{self._tenant_dir(tenant)}/log"
        frames = [pl.DataFrame(schema=LOG_SCHEMA)]
        for name in names:
            frames.append(_as_log(read_parquet(self.fs, f"{directory}/{name}")))
        return pl.concat(frames, how="vertical")

    def _write_bytes(self, path: str, payload: bytes) -> None:
        write_atomically(self.fs, path, payload)

    def _names_in(self, directory: str) -> list[str]:
        return files_in(self.fs, directory)


def open_matches_of(matches: pl.Expr, job_id: str) -> pl.Expr:
    """A results ``matches`` column as open matches (OPEN_MATCH) reported by ``job_id``."""
    field = pl.element().struct.field
    return (
        matches.list.eval(
            pl.struct(
                field("entity_id").alias("match_entity_id"),
                field("list_name"),
                field("confidence_score"),
                field("matched_name"),
                pl.lit(job_id).alias("job_id"),
            )
        )
        .cast(BOOK_SCHEMA["open_matches"])
        .alias("open_matches")
    )


def _moved_on(job_id: str, entities: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """entity_id, source_job_id, open_matches of a rescreen's entities after it: their open
    matches (from the job's entity frame) without the resolved ones, plus its new alerts."""
    empty = pl.lit([], dtype=BOOK_SCHEMA["open_matches"])
    outcome = results.select(
        "row",
        open_matches_of(pl.col("matches"), job_id).alias("alerts"),
        pl.concat_list(
            pl.col("matches").list.eval(pl.element().struct.field("entity_id")),
            pl.col("resolved").list.eval(pl.element().struct.field("match_entity_id"))
            if "resolved" in results.columns
            else pl.lit([], dtype=pl.List(pl.Utf8)),
        ).alias("closed"),  # resolved, or reported again (the new alert replaces it)
    )
    joined = entities.select("row", "entity_id", "source_job_id", "open_matches").join(
        outcome, on="row", how="left", maintain_order="left"
    )
    kept = (
        joined.select("row", pl.col("open_matches").fill_null(empty), "closed")
        .explode("open_matches")
        .filter(
            pl.col("open_matches").is_not_null()
            & ~pl.col("open_matches")
            .struct.field("match_entity_id")
            .is_in(pl.col("closed").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
        )
        .group_by("row", maintain_order=True)
        .agg("open_matches")
    )
    return (
        joined.drop("open_matches")
        .join(kept, on="row", how="left", maintain_order="left")
        .select(
            "entity_id",
            "source_job_id",
            pl.concat_list(
                pl.col("open_matches").fill_null(empty), pl.col("alerts").fill_null(empty)
            )
            .list.eval(pl.element())  # one list: kept ones first, then the new alerts
            .alias("open_matches"),
        )
    )


def _replay(events: pl.DataFrame) -> pl.DataFrame:
    """The book an event log leaves: per entity_id its last upsert (if no remove came
    after it), with what later events recorded of that same subject.

    The replay works on event numbers and a few key columns, then gathers the winning
    values by number: a million-entity book never goes through a join or a group-by with
    its subjects and open matches."""
    if _one_upsert_each(events):
        # A folded log (one upsert per entity, what compact() writes) is the book as it is:
        # each row its entity's last upsert and what was screened of that subject.
        return events.select(
            pl.col(n).fill_null(pl.lit([], dtype=BOOK_SCHEMA[n])) if n == "open_matches" else n
            for n in BOOK_SCHEMA.names()
        )
    log = events.with_row_index("seq")
    # One stable sort by entity_id (event order kept within an entity) numbers the entities
    # densely by their runs: every later step hashes integers, not a million strings.
    keys = (
        log.select(
            "seq",
            "entity_id",
            "event",
            "source_job_id",
            pl.col("screened_version").is_not_null().alias("screened"),
            pl.col("open_matches").is_not_null().alias("opened"),
        )
        .sort("entity_id", maintain_order=True)
        .with_columns(
            (pl.col("entity_id") != pl.col("entity_id").shift(1))
            .fill_null(True)
            .cum_sum()
            .alias("entity")
        )
    )
    # An entity's rows are in event order: the last of its upserts and removes decides.
    decided = keys.filter(pl.col("event") != "screened")
    last = decided.filter(
        (pl.col("entity") != pl.col("entity").shift(-1)).fill_null(True)
        & (pl.col("event") == "upsert")
    )
    of_current = keys.join(
        last.select("entity", pl.col("source_job_id").alias("current_job")), on="entity"
    ).filter(pl.col("source_job_id") == pl.col("current_job"))
    latest = of_current.group_by("entity").agg(
        pl.when("screened").then("seq").max().alias("screened_at"),
        pl.when("opened").then("seq").max().alias("opened_at"),
    )
    winners = last.select("entity", "seq").join(latest, on="entity", how="left").sort("seq")
    own = [n for n in BOOK_SCHEMA.names() if n not in _LATER_COLUMNS]
    later = log.select(
        pl.col("screened_version", "screened_engine").gather(winners["screened_at"]),
        pl.col("open_matches")
        .gather(winners["opened_at"])
        .fill_null(pl.lit([], dtype=BOOK_SCHEMA["open_matches"])),
    )
    return pl.concat(
        [log.select(pl.col(own).gather(winners["seq"])), later], how="horizontal"
    ).select(BOOK_SCHEMA.names())


def _one_upsert_each(events: pl.DataFrame) -> bool:
    """Is every event an upsert, and of another entity?"""
    return bool(
        events.select(
            (pl.col("event") == "upsert").all() & pl.col("entity_id").is_unique().all()
        ).item()
    )


# Book columns that later events of a subject set (a rescreen's "screened" events).
_LATER_COLUMNS = ("screened_version", "screened_engine", "open_matches")


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
    against the one it replaced). Returns (since_version, match_key, change, parts) rows,
    match_key being the engine's match entity_id "<list_code>-<entry_id>", change "added"
    (absent at the baseline) or "changed" (parts: what changed, over every step; null when
    a step did not record it), and the baselines the chain does not reach (pruned, or never
    a predecessor): everything is new to those."""
    steps = _diff_chain(snapshots, version, {b for b in baselines if b is not None})
    changes, unreachable = [], []
    for baseline in dict.fromkeys(baselines):
        reached = [i for i, (_, previous, _) in enumerate(steps) if previous == baseline]
        if baseline == version:
            continue
        if baseline is None or not reached:
            unreachable.append(baseline)
            continue
        for age, (_, _, diff) in enumerate(steps[: reached[0] + 1]):
            changes.append(
                diff.with_columns(since_version=pl.lit(baseline, dtype=pl.Utf8), step=pl.lit(-age))
            )
    frame = pl.concat([pl.DataFrame(schema=_DIFF_STEP), *changes], how="diagonal_relaxed")
    return _net_changes(frame), unreachable


# A diff row of one step of the chain (step: 0 the newest, more negative the older).
_DIFF_STEP = {
    "since_version": pl.Utf8,
    "match_key": pl.Utf8,
    "change": pl.Utf8,
    "parts": pl.List(pl.Utf8),
    "step": pl.Int32,
}


def _net_changes(steps: pl.DataFrame) -> pl.DataFrame:
    """Per (since_version, match_key), what the steps since that baseline did in all: an
    entry whose first step added it is "added"; one removed by the last step is gone (left
    out); anything else "changed", with the parts every step changed ("relisted" when it
    was removed and listed again in between)."""
    netted = (
        steps.sort("step")
        .group_by("since_version", "match_key", maintain_order=True)
        .agg(
            pl.col("change").first().alias("first"),
            pl.col("change").last().alias("last"),
            pl.col("parts")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("parts"),
            pl.col("parts").null_count().alias("unknown"),
            (pl.col("change") == "changed").sum().alias("changed_steps"),
        )
        .filter(pl.col("last") != "removed")
    )
    relisted = pl.col("first") == "removed"
    parts = (
        pl.when(pl.col("first") == "added")
        .then(pl.lit(None, dtype=pl.List(pl.Utf8)))
        .when(relisted)
        .then(pl.concat_list(pl.col("parts"), pl.lit(["relisted"])))
        .when(pl.col("unknown") >= pl.col("changed_steps"))  # no step said what changed
        .then(pl.lit(None, dtype=pl.List(pl.Utf8)))
        .otherwise(pl.col("parts"))
    )
    return netted.select(
        "since_version",
        "match_key",
        pl.when(pl.col("first") == "added")
        .then(pl.lit("added"))
        .otherwise(pl.lit("changed"))
        .alias("change"),
        parts.alias("parts"),
    )


def _diff_chain(
    snapshots: SnapshotStore, version: str, wanted: set[str]
) -> list[tuple[str, str | None, pl.DataFrame]]:
    """(version, previous version, its diff: match_key, change, parts), newest first, as
    far back as the files on disk go or until every wanted baseline was passed."""
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
        columns = {row[0] for row in con.sql("DESCRIBE diff").fetchall()}
        parts = "parts" if "parts" in columns else "NULL::VARCHAR[] AS parts"
        diff = con.sql(
            f"SELECT list_code || '-' || entry_id AS match_key, change, {parts} FROM diff"
        ).pl()
    finally:
        con.close()
    return previous, diff


def keep_new_matches(
    results: pl.DataFrame,
    since: pl.Series,
    changes: pl.DataFrame,
    unreachable: list[str | None],
    known: pl.Series | None = None,
) -> pl.DataFrame:
    """Results (matching.screen rows) with only the matches new to each entity, each with
    why it is new: ``change`` "added" or "changed" (and ``changed_parts``) for an entry the
    diff chain says changed since the entity's ``since`` version; "new" for a match on an
    entry the chain cannot vouch for (``since`` in ``unreachable``: every match is new) or,
    where ``known`` is given and not null (each entity's open matches' entry ids), on an
    entry not reported before (a full rescreen after an engine change, the catch-up).
    """
    frame = results.with_row_index("_at").with_columns(since.alias("_since"))
    if known is not None:
        frame = frame.with_columns(known.alias("_known"))
    diff = changes.select(
        pl.col("since_version").alias("_since"),
        pl.col("match_key").alias("_key"),
        pl.col("change") if "change" in changes.columns else pl.lit("changed").alias("change"),
        pl.col("parts")
        if "parts" in changes.columns
        else pl.lit(None, pl.List(pl.Utf8)).alias("parts"),
    )
    pairs = (
        frame.select("_at", "_since", *(["_known"] if known is not None else []), "matches")
        .explode("matches")
        .filter(pl.col("matches").is_not_null())
        .with_columns(pl.col("matches").struct.field("entity_id").alias("_key"))
        .join(diff, on=["_since", "_key"], how="left", nulls_equal=True, maintain_order="left")
    )
    blind = pl.col("_since").is_in(
        pl.Series(unreachable, dtype=pl.Utf8).implode(), nulls_equal=True
    )
    # A null known list: the entity is not compared with what was reported before.
    unknown = (
        pl.col("_known").is_not_null() & ~pl.col("_key").is_in(pl.col("_known"))
        if known is not None
        else pl.lit(False)
    )
    kept = (
        pairs.with_columns(
            pl.when(pl.col("change").is_not_null())
            .then(pl.col("change"))
            .when(blind | unknown)
            .then(pl.lit("new"))
            .alias("change")
        )
        .filter(pl.col("change").is_not_null())
        .select(
            "_at",
            pl.col("matches").struct.with_fields(
                pl.col("change"), pl.col("parts").alias("changed_parts")
            ),
        )
        .group_by("_at", maintain_order=True)
        .agg("matches")
    )
    match_type = kept.schema["matches"] if kept.height else _annotated(results.schema["matches"])
    empty = pl.lit([], dtype=match_type)
    count = pl.col("matches").list.len().cast(results.schema["match_count"])
    return (
        frame.drop("matches")
        .join(kept, on="_at", how="left", maintain_order="left")
        .with_columns(pl.col("matches").cast(match_type).fill_null(empty))
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


def _annotated(match_list: pl.DataType) -> pl.DataType:
    """A matches list type with the rescreen's change fields added to each match."""
    fields = {**match_list.inner.to_schema(), "change": pl.Utf8, "changed_parts": pl.List(pl.Utf8)}  # type: ignore[union-attr]
    return pl.List(pl.Struct(fields))


def resolved_matches(open_matches: pl.Series, listed: pl.Series) -> pl.Series:
    """The open matches whose list entry is no longer listed (``listed``: the engine ids of
    the current snapshot's entries): the alerts a rescreen resolves; null where
    ``open_matches`` is. The lists are flattened, filtered and put back together: the same
    filter inside ``list.eval`` copies ``listed`` for every row (Polars 2.1: 15 GB and 9 s
    for 50,000 rows against 20,000 entries)."""
    flat = open_matches.rename("resolved").to_frame().with_row_index("row").explode("resolved")
    entry = pl.col("resolved").struct.field("match_entity_id")
    gone = (
        flat.filter(pl.col("resolved").is_not_null() & ~entry.is_in(listed.implode()))
        .group_by("row")
        .agg("resolved")
    )
    every = pl.DataFrame({"row": pl.int_range(open_matches.len(), dtype=pl.UInt32, eager=True)})
    return (
        every.join(gone, on="row", how="left", maintain_order="left")
        .select(
            pl.when(pl.lit(open_matches).is_not_null())
            .then(pl.col("resolved").fill_null(pl.lit([], dtype=open_matches.dtype)))
            .alias("resolved")
        )
        .to_series()
    )
