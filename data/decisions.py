"""Analysts' decisions on reported pairs: an append-only log per tenant, and what it suppresses.

A decision says of one pair (a screened entity of the tenant, a list entry) that it is a
``false_positive`` or ``confirmed``, why, who said so and when. A ``false_positive`` pair is
left out of the tenant's later results (jobs and rescreens) for as long as both sides are as
they were when it was decided: the list entry's content hash (the snapshot's ``entry_hashes``,
as of the snapshot the decision was made against) and a hash of the entity's subject are
stored with it, and a pair whose entry or subject hash differs is reported again. Revoking a
decision is another event of the log; nothing in the log is ever rewritten or folded.

Layout beside the job store (its root URI, so ``s3://`` too)::

    decisions/<tenant>/log/<time>-<random>.parquet    one event per file: decided / revoked

Reading replays the tenant's files (each process remembers the files it already read, so a
busy tenant costs one listing and the new files per read). Another tenant's decisions are
in another folder: they never apply.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import duckdb
import polars as pl

from data.book import BookStore
from data.entities import SUBJECT_FIELDS
from data.jobs import JobStore, files_in, open_root, read_parquet, utc_now, write_atomically
from data.store import SnapshotStore

DECISIONS = ("false_positive", "confirmed")

# One event: a decision ("decided", every column) or a revocation ("revoked": decision_id,
# actor, at, reason). snapshot_version is the snapshot the entry hash was taken from.
EVENT_SCHEMA = pl.Schema(
    {
        "event": pl.Utf8,
        "decision_id": pl.Utf8,
        "entity_id": pl.Utf8,
        "match_entity_id": pl.Utf8,
        "decision": pl.Utf8,
        "reason": pl.Utf8,
        "actor": pl.Utf8,
        "at": pl.Utf8,
        "snapshot_version": pl.Utf8,
        "entry_hash": pl.Utf8,
        "subject_hash": pl.Utf8,
        "job_id": pl.Utf8,  # the job whose entity was decided on (null: the monitored book)
    }
)

# One decision as the API shows it: the decided event and, once revoked, who and when.
DECISION_COLUMNS = (
    "decision_id",
    "entity_id",
    "match_entity_id",
    "decision",
    "reason",
    "actor",
    "at",
    "snapshot_version",
    "job_id",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
)

# A suppressed match: the match struct plus the decision that suppressed it.
DECISION_ID_FIELD = "decision_id"

_EMPTY_LOG = pl.DataFrame(schema={**EVENT_SCHEMA, "_file": pl.Utf8})


@dataclass(frozen=True)
class NewDecision:
    """What an analyst decided, with the fingerprints of both sides at that moment."""

    entity_id: str
    match_entity_id: str
    decision: str
    reason: str
    actor: str
    snapshot_version: str
    entry_hash: str
    subject_hash: str
    job_id: str | None = None


class DecisionStore:
    """Every tenant's decision log under one root URI (the job store's)."""

    def __init__(self, uri: str) -> None:
        self.uri, self.fs, root = open_root(uri)
        self.root = f"{root}/decisions"
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[frozenset[str], pl.DataFrame]] = {}

    # --- writing -----------------------------------------------------------------------

    def record(self, tenant: str, new: NewDecision) -> dict:
        """Append a decision; its row (DECISION_COLUMNS)."""
        if new.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        event = {
            "event": "decided",
            "decision_id": "dec_" + secrets.token_hex(8),
            "entity_id": new.entity_id,
            "match_entity_id": new.match_entity_id,
            "decision": new.decision,
            "reason": new.reason,
            "actor": new.actor,
            "at": utc_now(),
            "snapshot_version": new.snapshot_version,
            "entry_hash": new.entry_hash,
            "subject_hash": new.subject_hash,
            "job_id": new.job_id,
        }
        self._append(tenant, event)
        return self.get(tenant, event["decision_id"]) or {}

    def revoke(self, tenant: str, decision_id: str, actor: str, reason: str | None) -> dict | None:
        """Revoke a decision (a new event; the decision stays in the log). The decision as
        it now stands, or None when the tenant has no such decision. Revoking a revoked
        decision records nothing more."""
        current = self.get(tenant, decision_id)
        if current is None or current["revoked_at"] is not None:
            return current
        event = {
            "event": "revoked",
            "decision_id": decision_id,
            "actor": actor,
            "at": utc_now(),
            "reason": reason,
        }
        self._append(tenant, event)
        return self.get(tenant, decision_id)

    # --- reading -----------------------------------------------------------------------

    def events(self, tenant: str) -> pl.DataFrame:
        """Every event of the tenant's log, oldest first (EVENT_SCHEMA)."""
        directory = self._log_dir(tenant)
        names = frozenset(files_in(self.fs, directory))
        with self._lock:
            seen, frame = self._seen.get(tenant, (frozenset(), _EMPTY_LOG))
        new = sorted(names - seen)
        if new:
            frames = [frame]
            for name in new:
                events = read_parquet(self.fs, f"{directory}/{name}").cast(EVENT_SCHEMA)
                frames.append(events.with_columns(pl.lit(name).alias("_file")))
            # In file-name order (time, then random): a file another writer's clock put
            # earlier still takes its place, even when it is read after later ones.
            frame = pl.concat(frames, how="vertical").sort("_file", maintain_order=True)
            with self._lock:
                self._seen[tenant] = (names, frame)
        return frame.drop("_file")

    def decisions(self, tenant: str) -> pl.DataFrame:
        """One row per decision (DECISION_COLUMNS), newest first."""
        events = self.events(tenant)
        decided = events.filter(pl.col("event") == "decided")
        revoked = (
            events.filter(pl.col("event") == "revoked")
            .unique("decision_id", keep="first", maintain_order=True)
            .select(
                "decision_id",
                pl.col("at").alias("revoked_at"),
                pl.col("actor").alias("revoked_by"),
                pl.col("reason").alias("revoke_reason"),
            )
        )
        return (
            decided.join(revoked, on="decision_id", how="left", maintain_order="left")
            .select(DECISION_COLUMNS)
            .reverse()
        )

    def get(self, tenant: str, decision_id: str) -> dict | None:
        found = self.decisions(tenant).filter(pl.col("decision_id") == decision_id)
        return found.row(0, named=True) if found.height else None

    def page(
        self, tenant: str, entity_id: str | None, offset: int, limit: int
    ) -> tuple[list[dict], int]:
        """A page of decisions (newest first), optionally of one entity, and their count."""
        rows = self.decisions(tenant)
        if entity_id is not None:
            rows = rows.filter(pl.col("entity_id") == entity_id)
        return rows.slice(offset, limit).to_dicts(), rows.height

    def suppressing(self, tenant: str) -> pl.DataFrame:
        """The decisions that suppress their pair: per (entity_id, match_entity_id) the
        latest decision not revoked, when it is a false positive. Columns: decision_id,
        entity_id, match_entity_id, entry_hash, subject_hash."""
        events = self.events(tenant)
        revoked = events.filter(pl.col("event") == "revoked").select("decision_id")
        return (
            events.filter(pl.col("event") == "decided")
            .join(revoked, on="decision_id", how="anti", maintain_order="left")
            .unique(["entity_id", "match_entity_id"], keep="last", maintain_order=True)
            .filter(pl.col("decision") == "false_positive")
            .select("decision_id", "entity_id", "match_entity_id", "entry_hash", "subject_hash")
        )

    # --- files -------------------------------------------------------------------------

    def _log_dir(self, tenant: str) -> str:
        if not tenant:
            raise ValueError("decisions need a tenant")
        return f"{self.root}/{quote(tenant, safe='')}/log"

    def _append(self, tenant: str, event: dict) -> None:
        frame = pl.DataFrame([event]).with_columns(
            pl.lit(None, dtype).alias(name)
            for name, dtype in EVENT_SCHEMA.items()
            if name not in event
        )
        buffer = io.BytesIO()
        frame.select([pl.col(n).cast(d) for n, d in EVENT_SCHEMA.items()]).write_parquet(buffer)
        key = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        write_atomically(self.fs, f"{self._log_dir(tenant)}/{key}", buffer.getvalue())


# --- fingerprints and suppression -------------------------------------------------------


def subject_hashes(entities: pl.DataFrame) -> pl.Series:
    """Per entity row, an md5 of its subject (every subject field, as JSON): equal for the
    same subject in a job and in the book, different when any field changes."""
    subjects = entities.select(
        pl.struct([pl.col(name) for name in SUBJECT_FIELDS]).struct.json_encode().alias("subject")
    )
    with duckdb.connect() as con:  # a private connection: safe in any thread
        con.register("subjects", subjects.to_arrow())
        hashed = con.sql("SELECT md5(subject) AS subject_hash FROM subjects").pl()
    return hashed["subject_hash"]


def suppress(
    results: pl.DataFrame,
    entities: pl.DataFrame,
    suppressing: pl.DataFrame,
    entry_hashes: pl.DataFrame,
) -> pl.DataFrame:
    """Results (one row per entity: entity_id, status, is_match, match_count, matches) with
    the pairs that a decision suppresses moved from ``matches`` to ``suppressed`` (each
    with its ``decision_id``); counts follow.

    ``entities`` are the result rows' entities (same order, their subject fields),
    ``suppressing`` is DecisionStore.suppressing(), ``entry_hashes`` the pinned snapshot's
    (match_entity_id, entry_hash) of the matched entries."""
    match_type = results.schema["matches"]
    suppressed_type = pl.List(
        pl.Struct({**match_type.inner.to_schema(), DECISION_ID_FIELD: pl.Utf8})
    )  # type: ignore[union-attr]
    frame = results.with_row_index("_at")
    pairs = (
        frame.select("_at", "entity_id", "matches")
        .explode("matches")
        .filter(pl.col("matches").is_not_null())
        .with_columns(pl.col("matches").struct.field("entity_id").alias("match_entity_id"))
    )
    decided = pairs.join(suppressing, on=["entity_id", "match_entity_id"], how="inner")
    if decided.is_empty():
        return results.with_columns(pl.lit([], dtype=suppressed_type).alias("suppressed"))
    at = decided["_at"].unique()
    subjects = pl.DataFrame(
        {"_at": at, "current_subject": subject_hashes(entities[at.to_list()])}  # few rows
    )
    hits = (
        decided.join(subjects, on="_at")
        .join(
            entry_hashes.rename({"entry_hash": "current_entry"}), on="match_entity_id", how="left"
        )
        .filter(
            (pl.col("current_subject") == pl.col("subject_hash"))
            & (pl.col("current_entry") == pl.col("entry_hash"))
        )
        .select("_at", "match_entity_id", "decision_id")
    )
    if hits.is_empty():
        return results.with_columns(pl.lit([], dtype=suppressed_type).alias("suppressed"))
    marked = pairs.join(hits, on=["_at", "match_entity_id"], how="left", maintain_order="left")
    kept = marked.filter(pl.col("decision_id").is_null()).group_by("_at").agg("matches")
    moved = (
        marked.filter(pl.col("decision_id").is_not_null())
        .select(
            "_at",
            pl.col("matches").struct.with_fields(pl.col("decision_id").alias(DECISION_ID_FIELD)),
        )
        .group_by("_at")
        .agg(pl.col("matches").alias("suppressed"))
    )
    count = pl.col("matches").list.len().cast(results.schema["match_count"])
    completed = pl.col("status") == "completed"
    return (
        frame.drop("matches")
        .join(kept, on="_at", how="left", maintain_order="left")
        .join(moved, on="_at", how="left", maintain_order="left")
        .with_columns(
            pl.col("matches").fill_null(pl.lit([], dtype=match_type)),
            pl.col("suppressed").fill_null(pl.lit([], dtype=suppressed_type)),
        )
        .with_columns(
            pl.when(completed).then(count).otherwise("match_count").alias("match_count"),
            pl.when(completed).then(count > 0).otherwise("is_match").alias("is_match"),
        )
        .select(*results.columns, "suppressed")
    )


# --- making a decision ------------------------------------------------------------------


class UnknownReference(LookupError):
    """A decision names something the tenant does not have (``field`` says which)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Stores:
    """Where a decision's two sides are looked up, and where it is recorded."""

    decisions: DecisionStore
    jobs: JobStore
    book: BookStore
    snapshots: SnapshotStore


def decide(
    stores: Stores,
    tenant: str,
    request: DecisionRequest,
    actor: str,
) -> dict:
    """Record an analyst's decision on a pair, fingerprinting both sides as the analyst saw
    them: the entity's subject (in ``request.job_id``'s entities, else in the tenant's
    monitored book) and the list entry as of that job's snapshot (else the snapshot the
    book entity was last screened against; the current one when that is gone).

    Raises UnknownReference when the job, the entity or the list entry is not found."""
    subject, version = _subject_and_version(stores, tenant, request)
    if version is None or not stores.snapshots.path(version).is_file():
        version = stores.snapshots.current_version()
    if version is None:
        raise UnknownReference("match_entity_id", "no watchlist snapshot is loaded yet")
    entry = stores.snapshots.entry_hashes(version, [request.match_entity_id])
    if entry.is_empty():
        raise UnknownReference(
            "match_entity_id",
            f"no list entry {request.match_entity_id} in watchlist snapshot {version}",
        )
    new = NewDecision(
        entity_id=request.entity_id,
        match_entity_id=request.match_entity_id,
        decision=request.decision,
        reason=request.reason,
        actor=actor,
        snapshot_version=version,
        entry_hash=entry["entry_hash"][0],
        subject_hash=subject_hashes(subject)[0],
        job_id=request.job_id,
    )
    return stores.decisions.record(tenant, new)


@dataclass(frozen=True)
class DecisionRequest:
    entity_id: str
    match_entity_id: str
    decision: str
    reason: str
    job_id: str | None = None


def _subject_and_version(
    stores: Stores, tenant: str, request: DecisionRequest
) -> tuple[pl.DataFrame, str | None]:
    if request.job_id is not None:
        meta = stores.jobs.get_job(request.job_id) if _plausible_job_id(request.job_id) else None
        if meta is None or meta.tenant != tenant:
            raise UnknownReference("job_id", f"no job {request.job_id}")
        rows = stores.jobs.find_entities(request.job_id, [request.entity_id])
        if rows.is_empty():
            raise UnknownReference(
                "entity_id", f"job {request.job_id} has no entity {request.entity_id}"
            )
        return rows.head(1), meta.watchlist_version
    rows = stores.book.read(tenant).filter(pl.col("entity_id") == request.entity_id)
    if rows.is_empty():
        raise UnknownReference(
            "entity_id",
            f"no entity {request.entity_id} in the monitored book; give the job_id of the job"
            " whose result was reviewed",
        )
    return rows.head(1), rows["screened_version"][0]


def _plausible_job_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 64 and all(c.isalnum() or c == "-" for c in job_id)
