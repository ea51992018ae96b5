"""The facts of a report, gathered from the stores: what was screened, against what, by
which engine, with what result.

A job's results are read chunk by chunk (bounded memory): the per-entity best scores, the
counts per list and per programme, and only the best ``max_matches`` matches of each chunk
are kept, so a report of a million entities holds a few megabytes. The matches table lists
at most ``max_matches`` matches, best first, and says how many more the results download has.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import polars as pl
import pyarrow.parquet as pq

from data.checks import StoredCheck
from data.jobs import JobMeta, JobStore, utc_now
from data.store import SnapshotNotFoundError, SnapshotStore, publication_text

# Reports list at most this many matches unless the caller says otherwise.
DEFAULT_MAX_MATCHES = 200
_MATCH_COLUMNS = ("entity_id", "list_name", "confidence_score", "match_type", "matched_name")


@dataclass
class ListLine:
    """One list screened, as the pinned snapshot recorded it."""

    code: str
    name: str
    publication: str  # the date and where it comes from, or that the list states none
    publication_date: str | None
    refreshed_at: str | None
    entries: int | None


@dataclass
class MatchLine:
    """One reported match with the contributions that make up its score."""

    entity_id: str
    query_name: str | None
    list_name: str
    match_entity_id: str
    matched_name: str | None
    programs: str
    score: float
    match_type: str
    name_parts: list[tuple[str, float]]  # base and every name feature that moved the score
    name_score: float | None
    qualifiers: list[tuple[str, str, float]]  # qualifier, verdict, contribution
    total: float | None


@dataclass
class ReportData:
    kind: str  # "job" or "check"
    report_id: str
    tenant: str
    status: str
    submitted_at: str
    started_at: str | None
    completed_at: str | None
    duration_s: float | None
    input_sha256: str
    input_description: str
    entities: int
    snapshot_version: str | None
    snapshot_available: bool
    lists: list[ListLine]
    engine_version: str | None
    threshold: float
    search_type: str
    lists_option: str
    max_matches_per_entity: int | None
    completed: int
    failed: int
    matched: int
    not_matched: int
    matches_total: int
    best_scores: list[float]
    per_list: list[tuple[str, int, int]]  # list, matches, entities matched
    per_program: list[tuple[str, int]]
    matches: list[MatchLine]
    matches_cap: int
    results_pointer: str
    origin: str | None = None
    rerun_of: str | None = None
    rescreen_from: list[str] = field(default_factory=list)
    generated_at: str = field(default_factory=utc_now)

    @property
    def matches_left_out(self) -> int:
        return self.matches_total - len(self.matches)


# --- a job ------------------------------------------------------------------------------


def job_report_data(
    jobs: JobStore,
    snapshots: SnapshotStore,
    meta: JobMeta,
    default_threshold: float,
    max_matches: int = DEFAULT_MAX_MATCHES,
) -> ReportData:
    """Everything a job's report shows (the job should be finished: counts are final)."""
    progress = jobs.progress(meta.job_id)
    summary = _summarise_results(jobs, meta.job_id, max_matches)
    names = _query_names(jobs, meta.job_id, summary.top["row"])
    top = summary.top.join(names, on="row", how="left")
    lists, available = _lists(snapshots, meta.watchlist_version, meta.lists)
    started = progress.started_at
    completed = meta.completed_at if meta.status != "processing" else None
    return ReportData(
        kind="job",
        report_id=meta.job_id,
        tenant=meta.tenant,
        status=meta.status,
        submitted_at=meta.created_at,
        started_at=started,
        completed_at=completed,
        duration_s=_seconds_between(meta.created_at, completed),
        input_sha256=_sha256_of_entities(jobs, meta.job_id),
        input_description="SHA-256 of the stored input (entities.parquet, as validated)",
        entities=meta.total_entities,
        snapshot_version=meta.watchlist_version,
        snapshot_available=available,
        lists=lists,
        engine_version=progress.engine_version,
        threshold=meta.threshold if meta.threshold is not None else default_threshold,
        search_type=meta.search_type or "composite",
        lists_option=", ".join(meta.lists) if meta.lists else "every list of the snapshot",
        max_matches_per_entity=meta.max_matches,
        completed=progress.completed,
        failed=progress.failed,
        matched=summary.matched,
        not_matched=progress.completed - summary.matched,
        matches_total=summary.matches_total,
        best_scores=summary.best_scores,
        per_list=summary.per_list,
        per_program=summary.per_program,
        matches=[_match_line(row) for row in top.iter_rows(named=True)],
        matches_cap=max_matches,
        results_pointer=f"GET /kyc/jobs/{meta.job_id}/results?format=csv",
        origin=meta.origin,
        rerun_of=meta.rerun_of,
        rescreen_from=_rescreen_baselines(jobs, meta),
    )


@dataclass
class _ResultSummary:
    matched: int
    matches_total: int
    best_scores: list[float]
    per_list: list[tuple[str, int, int]]
    per_program: list[tuple[str, int]]
    top: pl.DataFrame


def _summarise_results(jobs: JobStore, job_id: str, keep: int) -> _ResultSummary:
    best, per_list, per_program, tops = [], [], [], []
    for chunk in jobs.iter_results(job_id):
        matches = _exploded_matches(chunk)
        best.append(
            matches.group_by("row").agg(pl.col("confidence_score").max())["confidence_score"]
        )
        per_list.append(
            matches.group_by("list_name").agg(matches=pl.len(), entities=pl.col("row").n_unique())
        )
        per_program.append(
            matches.select("programs").explode("programs").drop_nulls().group_by("programs").len()
        )
        tops.append(matches.sort("confidence_score", "row", descending=[True, False]).head(keep))
    if not tops:
        empty = _exploded_matches(pl.DataFrame(schema=_RESULT_SCHEMA))
        tops, best = [empty], [pl.Series("confidence_score", [], pl.Float64)]
    scores = pl.concat(best)
    lists = (
        pl.concat(per_list)
        if per_list
        else pl.DataFrame(
            schema={"list_name": pl.Utf8, "matches": pl.UInt32, "entities": pl.UInt32}
        )
    )
    programs = (
        pl.concat(per_program)
        if per_program
        else pl.DataFrame(schema={"programs": pl.Utf8, "len": pl.UInt32})
    )
    lists = (
        lists.group_by("list_name")
        .agg(pl.sum("matches", "entities"))
        .sort("matches", "list_name", descending=[True, False])
    )
    programs = (
        programs.group_by("programs")
        .agg(pl.sum("len"))
        .sort("len", "programs", descending=[True, False])
    )
    top = pl.concat(tops).sort("confidence_score", "row", descending=[True, False]).head(keep)
    return _ResultSummary(
        matched=scores.len(),
        matches_total=int(lists["matches"].sum() or 0),
        best_scores=scores.to_list(),
        per_list=[(r[0], int(r[1]), int(r[2])) for r in lists.iter_rows()],
        per_program=[(r[0], int(r[1])) for r in programs.iter_rows()],
        top=top,
    )


_RESULT_SCHEMA = {
    "row": pl.Int64,
    "entity_id": pl.Utf8,
    "matches": pl.List(
        pl.Struct(
            {
                **dict.fromkeys(_MATCH_COLUMNS, pl.Utf8),
                "confidence_score": pl.Float64,
                "programs": pl.List(pl.Utf8),
                "details": pl.Utf8,
            }
        )
    ),
}


def _exploded_matches(chunk: pl.DataFrame) -> pl.DataFrame:
    """One row per match: the entity's row and id, and the match's reported fields."""
    match = pl.col("matches").struct.field
    return (
        chunk.select("row", pl.col("entity_id").alias("query_id"), "matches")
        .explode("matches")
        .drop_nulls("matches")
        .select(
            "row",
            "query_id",
            *[match(c) for c in _MATCH_COLUMNS],
            match("programs"),
            match("details"),
        )
    )


def _query_names(jobs: JobStore, job_id: str, rows: pl.Series) -> pl.DataFrame:
    if rows.is_empty():
        return pl.DataFrame(schema={"row": pl.Int64, "full_name": pl.Utf8})
    first, last = int(rows.min()), int(rows.max())  # type: ignore[arg-type]
    entities = jobs.read_entities(job_id, first, last + 1)
    return entities.filter(pl.col("row").is_in(rows.implode())).select("row", "full_name")


def _sha256_of_entities(jobs: JobStore, job_id: str) -> str:
    digest = hashlib.sha256()
    with jobs.fs.open_input_stream(f"{jobs.root}/jobs/{job_id}/entities.parquet") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _rescreen_baselines(jobs: JobStore, meta: JobMeta) -> list[str]:
    """The snapshots a rescreen's entities were last screened against (where it went from)."""
    if meta.origin != "rescreen":
        return []
    path = f"{jobs.root}/jobs/{meta.job_id}/entities.parquet"
    with jobs.fs.open_input_file(path) as src:
        if "since_version" not in pq.read_schema(src).names:
            return []
        table = pq.read_table(src, columns=["since_version"])
    return sorted(v for v in pl.from_arrow(table)["since_version"].unique().to_list() if v)


# --- a single check -----------------------------------------------------------------------


def check_report_data(
    check: StoredCheck, snapshots: SnapshotStore, default_threshold: float
) -> ReportData:
    """Everything a single check's report shows, from its stored request and answer."""
    answer: dict[str, Any] = msgspec.json.decode(check.response)
    request = check.request
    matches = answer.get("matches") or []
    rows = [
        {
            "query_id": check.check_id,
            "full_name": (request.get("subject") or {}).get("full_name"),
            **{c: m.get(c) for c in _MATCH_COLUMNS},
            "programs": m.get("programs"),
            "details": msgspec.json.encode(m.get("details") or {}).decode(),
        }
        for m in matches
    ]
    lists, available = _lists(
        snapshots, answer.get("watchlist_version"), answer.get("lists_checked")
    )
    per_list: dict[str, int] = {}
    per_program: dict[str, int] = {}
    for m in matches:
        per_list[m["list_name"]] = per_list.get(m["list_name"], 0) + 1
        for program in m.get("programs") or []:
            per_program[program] = per_program.get(program, 0) + 1
    threshold = request.get("threshold")
    return ReportData(
        kind="check",
        report_id=check.check_id,
        tenant=check.tenant,
        status="completed",
        submitted_at=check.created_at,
        started_at=check.created_at,
        completed_at=check.completed_at,
        duration_s=(answer.get("processing_time_ms") or 0) / 1000,
        input_sha256=hashlib.sha256(msgspec.json.encode(request, order="sorted")).hexdigest(),
        input_description="SHA-256 of the request as screened (subject and options, keys sorted)",
        entities=1,
        snapshot_version=answer.get("watchlist_version"),
        snapshot_available=available,
        lists=lists,
        engine_version=answer.get("engine_version"),
        threshold=threshold if threshold is not None else default_threshold,
        search_type=request.get("search_type") or "composite",
        lists_option=", ".join(request.get("lists") or []) or "every list of the snapshot",
        max_matches_per_entity=None,
        completed=1,
        failed=0,
        matched=1 if matches else 0,
        not_matched=0 if matches else 1,
        matches_total=len(matches),
        best_scores=[max(m["confidence_score"] for m in matches)] if matches else [],
        per_list=sorted(((k, v, 1) for k, v in per_list.items()), key=lambda r: (-r[1], r[0])),
        per_program=sorted(per_program.items(), key=lambda r: (-r[1], r[0])),
        matches=[_match_line(row) for row in rows],
        matches_cap=max(len(matches), 1),
        results_pointer=f"GET /kyc/{check.check_id}",
    )


# --- shared -------------------------------------------------------------------------------


def _lists(
    snapshots: SnapshotStore, version: str | None, codes: list[str] | None
) -> tuple[list[ListLine], bool]:
    """The screened lists as the pinned snapshot records them (codes: None means all)."""
    try:
        stats = snapshots.list_stats(version) if version else None
    except SnapshotNotFoundError:
        stats = None
    if stats is None:  # pruned since: the codes are all that is known
        unknown = "unknown: snapshot no longer on disk"
        return [ListLine(c, c, unknown, None, None, None) for c in codes or []], False
    if codes:
        stats = stats.filter(pl.col("list_code").is_in(codes))
    return [
        ListLine(
            code=row["list_code"],
            name=row["name"],
            publication=publication_text(row),
            publication_date=row["publication_date"],
            refreshed_at=row["fetched_at"],
            entries=row["entries"],
        )
        for row in stats.iter_rows(named=True)
    ], True


def _match_line(row: dict[str, Any]) -> MatchLine:
    details = msgspec.json.decode(row.get("details") or "{}")
    qualifiers = [
        (name, str(value.get("verdict")), float(value.get("contribution") or 0.0))
        for name, value in details.items()
        if isinstance(value, dict)
    ]
    skip = {"name_score", "total", "token_score"}
    parts = [
        (name, float(value))
        for name, value in details.items()
        if isinstance(value, int | float) and name not in skip and (value or name == "base")
    ]
    return MatchLine(
        entity_id=row["query_id"],
        query_name=row.get("full_name"),
        list_name=row["list_name"],
        match_entity_id=row["entity_id"],
        matched_name=row.get("matched_name"),
        programs=", ".join(row.get("programs") or []),
        score=float(row["confidence_score"]),
        match_type=row["match_type"],
        name_parts=parts,
        name_score=details.get("name_score"),
        qualifiers=qualifiers,
        total=details.get("total"),
    )


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()
