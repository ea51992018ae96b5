"""What a tenant's rescreen against a new snapshot screens, and why: the plan of its job.

A rescreen reports the alerts of a list update: per book entity, the matches on list
entries added or changed since the snapshot it was last screened against (the diff chain,
data/book.py changed_since). It is made one of two ways, with the same result:

- reverse (the default): the entries added or changed are blocked against the book index
  in reverse (matching/reverse.py); only the entities that could match one of them are put
  in the job, which screens them forward like any job and keeps their matches on those
  entries. Its cost follows the update, not the book.
- full: every due entity is put in the job. Needed when the reverse way cannot vouch for an
  entity: its last screen was by another engine version (then matches never reported
  before are new alerts too), its baseline snapshot is gone from the chain (every match is
  new), the catch-up run (KYC_RESCREEN_FULL_CRON: every entity, and every match not
  reported before), or KYC_RESCREEN_DELTA=false (every match, like a new job). With
  KYC_RESCREEN_REVERSE=false every rescreen is full, with the same delta filter.

Either way the job also holds the entities whose open matches are on entries that left the
lists (their ``resolved`` records), and the plan keeps every due entity as covered: when
the job completes they are all recorded as screened against the new snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from data.book import BookStore, changed_since, rescreen_entities, resolved_matches
from data.book_index import BookIndexStore
from data.entities import SUBJECT_FIELDS
from data.store import SnapshotStore
from matching.reverse import reverse_screen
from matching.version import ENGINE_VERSION

# The columns of a job's entity frame that screen() reads (flows/screen_job.py).
QUERY_COLUMNS = ("row", *SUBJECT_FIELDS, "lists", "search_type", "threshold")


@dataclass
class RescreenPlan:
    """The job a rescreen makes for one tenant (``entities`` empty: none is needed)."""

    entities: pl.DataFrame  # the job's entity frame (see rescreen_entities)
    covered: pl.DataFrame  # entity_id, source_job_id: every due book entry
    from_version: str | None  # the snapshot most due entities were last screened against
    mode: str  # reverse, full, mixed
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanOptions:
    """How a rescreen is made (kyc/settings.py RESCREEN_*, DEFAULT_THRESHOLD, MAX_MATCHES)."""

    delta: bool = True
    reverse: bool = True  # False: every due entity in the job (full, same delta filter)
    catch_up: bool = False
    threshold: float = 0.8
    max_matches: int = 10


def plan_rescreen(
    book: BookStore,
    snapshots: SnapshotStore,
    tenant: str,
    version: str,
    index: object,
    options: PlanOptions,
) -> RescreenPlan:
    """The rescreen of ``tenant``'s book against snapshot ``version`` (``index``: its
    matching index)."""
    rows = book.read(tenant) if options.catch_up else book.due(tenant, version)
    covered = rows.select("entity_id", "source_job_id")
    baselines = rows["screened_version"].unique().to_list()
    changes, unreachable = changed_since(snapshots, version, baselines)
    listed = index.entries["entity_id"]  # type: ignore[attr-defined]
    full = _needs_full(rows, unreachable, options)
    closing = _with_gone_matches(rows, listed)
    reverse_rows = rows.filter(~full)
    stats = {"due": rows.height, "full": int(full.sum()), "reverse_candidates": 0, "pairs": 0}
    found = pl.Series("entity_id", [], dtype=pl.Utf8)
    entries = changes.filter(
        pl.col("since_version").is_in(reverse_rows["screened_version"].unique().implode())
    )["match_key"].unique()
    if reverse_rows.height and entries.len():
        index_rows = BookIndexStore(book.uri).load(tenant, reverse_rows)
        queries = rescreen_entities(reverse_rows, delta=True).select(QUERY_COLUMNS)
        screened = reverse_screen(
            queries,
            index_rows,
            index,  # type: ignore[arg-type]
            entries,
            threshold=options.threshold,
            max_matches=options.max_matches,
        )
        found = reverse_rows["entity_id"].gather(screened.positions)
        stats |= {"reverse_candidates": screened.candidates, "pairs": screened.pairs}
    wanted = full | rows["entity_id"].is_in(found.implode()) | closing
    job_rows = rows.filter(wanted)
    stats["screened"] = job_rows.height
    entities = rescreen_entities(job_rows, delta=options.delta).with_columns(
        _known_matches(job_rows, options).alias("known_matches"),
        job_rows["open_matches"],
    )
    mode = "full" if full.all() else "reverse" if not full.any() else "mixed"
    return RescreenPlan(entities, covered, _most_common(rows), mode, stats)


def _needs_full(
    rows: pl.DataFrame, unreachable: list[str | None], options: PlanOptions
) -> pl.Series:
    """Per due row: must it be screened in full (see the module's docstring)?"""
    if options.catch_up or not options.delta or not options.reverse:
        return pl.Series("full", [True] * rows.height, dtype=pl.Boolean)
    blind = rows["screened_version"].is_in(
        pl.Series(unreachable, dtype=pl.Utf8).implode(), nulls_equal=True
    )
    other_engine = rows["screened_engine"].ne_missing(ENGINE_VERSION)
    return (blind | other_engine).alias("full")


def _with_gone_matches(rows: pl.DataFrame, listed: pl.Series) -> pl.Series:
    """Per due row: has it an open match on an entry no longer listed (a resolved record)?"""
    resolved = resolved_matches(rows["open_matches"], listed)
    return (resolved.list.len() > 0).fill_null(False)


def _known_matches(rows: pl.DataFrame, options: PlanOptions) -> pl.Series:
    """Per job row, the entries of its open matches where a match not reported before is an
    alert too (another engine version, the catch-up); null where only the diff decides.
    An entity whose last screen recorded no engine (a book older than open matches) has no
    record of what was reported: only the diff decides for it, or every match would be new."""
    recorded = pl.col("screened_engine").is_not_null()
    compare = recorded & ((pl.col("screened_engine") != ENGINE_VERSION) | options.catch_up)
    ids = pl.col("open_matches").list.eval(pl.element().struct.field("match_entity_id"))
    return rows.select(pl.when(compare).then(ids).cast(pl.List(pl.Utf8))).to_series()


def _most_common(rows: pl.DataFrame) -> str | None:
    """The snapshot most rows were last screened against (None: no rows; a tie: the first
    version by name)."""
    counts = (
        rows["screened_version"]
        .value_counts()
        .sort(["count", "screened_version"], descending=[True, False], nulls_last=True)
    )
    return counts["screened_version"][0] if counts.height else None
