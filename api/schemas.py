"""Request and response shapes of api.md, as msgspec Structs: they are also the OpenAPI schema.

Field names here are the contract (api.md): never rename one. A field that api.md says is
present "only when" something holds is typed ``X | UnsetType`` and left UNSET otherwise, so
it is omitted from the JSON rather than sent as null; ``next_cursor`` is null on the last page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from data.entities import EntityIn, SubjectIn


class ErrorDetail(msgspec.Struct):
    loc: str
    message: str


class ErrorBody(msgspec.Struct):
    status: str
    error: str
    message: str
    details: list[ErrorDetail]
    retry_after: int | UnsetType = UNSET


# --- Requests (documented in OpenAPI; the handlers parse bodies themselves) --------------------


class JobRequest(msgspec.Struct):
    entities: list[EntityIn]
    lists: list[str] | None = None
    list_name: str | None = None
    search_type: str | None = None
    threshold: float | None = None
    monitor: bool = False


class CheckRequest(msgspec.Struct):
    subject: SubjectIn
    lists: list[str] | None = None
    list_name: str | None = None
    search_type: str | None = None
    threshold: float | None = None


# --- Responses ---------------------------------------------------------------------------------


class Identifier(msgspec.Struct):
    type: str | None
    value: str | None


class MatchData(msgspec.Struct):
    name: str | None
    aliases: list[str] | None
    entity_type: str | None
    nationality: list[str] | None
    birth_dates: list[str] | None
    identifiers: list[Identifier] | None
    addresses: list[str] | None
    remarks: str | None


class Match(msgspec.Struct):
    entity_id: str
    list_name: str
    confidence_score: float
    match_type: str
    matched_name: str | None
    programs: list[str] | None
    match_data: MatchData | None
    details: dict[str, Any]


class EntityResult(msgspec.Struct):
    entity_id: str
    status: str
    is_match: bool | None
    match_count: int | None
    matches: list[Match]
    error: str | UnsetType = UNSET


class JobCreated(msgspec.Struct):
    status: str
    job_id: str
    total_entities: int
    job_status: str
    created_at: str
    estimated_completion: str | UnsetType = UNSET
    watchlist_version: str | UnsetType | None = UNSET


class ScreenedList(msgspec.Struct):
    """A list a job screened, as its pinned snapshot holds it (extension)."""

    code: str
    publication_date: str | None  # null: the list states none (see GET /kyc/watchlists)
    publication_date_from: str | None  # "list" or "last_modified"
    refreshed_at: str | None


class RescreenInfo(msgspec.Struct):
    """How a rescreen job was made: reverse (only the entities an added or changed entry
    could match), full (every due entity), or mixed; and its counts."""

    mode: str | None
    entities_due: int
    entities_screened: int
    reverse_candidates: int
    pairs: int


class JobStatus(msgspec.Struct):
    status: str
    job_id: str
    job_status: str
    total_entities: int
    processed_entities: int
    completed_entities: int
    failed_entities: int
    matches_found: int
    created_at: str
    updated_at: str
    watchlist_version: str | None
    engine_version: str | UnsetType = UNSET
    completed_at: str | UnsetType = UNSET
    estimated_completion: str | UnsetType = UNSET
    error: str | UnsetType = UNSET
    results: list[EntityResult] | UnsetType = UNSET
    next_cursor: str | UnsetType | None = UNSET
    origin: str | UnsetType = UNSET  # extension: "rescreen" for a monitored book's rescreen
    rerun_of: str | UnsetType = UNSET  # extension: the job a "rerun" job re-ran
    lists_screened: list[ScreenedList] | UnsetType = UNSET  # extension: with their dates
    # Matches left out by analysts' decisions (false positives, both sides unchanged).
    suppressed_matches: int = 0
    # Rescreens: the snapshots before (most entities' last screen) and after, the earlier
    # matches resolved (their entries left the lists), and how the rescreen was made.
    from_version: str | UnsetType | None = UNSET
    to_version: str | UnsetType | None = UNSET
    resolved_matches: int | UnsetType = UNSET
    rescreen: RescreenInfo | UnsetType = UNSET


class JobSummary(msgspec.Struct):
    job_id: str
    job_status: str
    total_entities: int
    created_at: str
    watchlist_version: str | None
    completed_at: str | UnsetType = UNSET
    origin: str | UnsetType = UNSET  # extension, as in JobStatus
    from_version: str | UnsetType | None = UNSET  # rescreens, as in JobStatus


class JobList(msgspec.Struct):
    status: str
    jobs: list[JobSummary]
    next_cursor: str | None


class CheckResult(msgspec.Struct):
    status: str
    check_id: str
    is_match: bool
    match_count: int
    matches: list[Match]
    lists_checked: list[str]
    watchlist_version: str
    engine_version: str
    processing_time_ms: float


class WatchlistInfo(msgspec.Struct):
    code: str
    name: str | None
    entries: int
    names: int
    identifiers: int
    # The list's own publication date (null: the list states none, see publication_date_from)
    # and what says so: "list" (its file) or "last_modified" (the publisher's server).
    publication_date: str | None
    publication_date_from: str | None
    refreshed_at: str | None  # when the refresh that loaded it read it (ISO UTC)
    latest_listed_on: str | None  # the newest listing date the list holds, where it has them
    source_date: str | None  # the older name of publication_date, kept for clients using it


class Watchlists(msgspec.Struct):
    status: str
    version: str | None
    lists: list[WatchlistInfo]
    # Lists the service is configured to screen (KYC_LISTS) that the snapshot does not hold:
    # never screened, so never a clean result for them.
    missing: list[str]


class Health(msgspec.Struct):
    status: str
    watchlist_version: str | None
    ready: bool  # extension: start-up's warm-up is over (GET /health/ready says 200)


# --- Decisions (kyc:review) -------------------------------------------------------------------


class DecisionRequest(msgspec.Struct, forbid_unknown_fields=True):
    """POST /kyc/decisions."""

    entity_id: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    match_entity_id: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    decision: Literal["false_positive", "confirmed"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    # Extension: the job whose result was reviewed (default: the monitored book's entity).
    job_id: str | None = None


class Decision(msgspec.Struct):
    decision_id: str
    entity_id: str
    match_entity_id: str
    decision: str
    reason: str
    decided_by: str  # the API key's id or the JWT's subject
    decided_at: str
    watchlist_version: str  # the snapshot the list entry was fingerprinted in
    job_id: str | None
    active: bool  # not revoked
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


class DecisionBody(msgspec.Struct):
    status: str
    decision: Decision


class DecisionList(msgspec.Struct):
    status: str
    count: int
    decisions: list[Decision]
    next_cursor: str | None


# --- The monitored book ---------------------------------------------------------------------


class OpenMatch(msgspec.Struct):
    """A match reported for a book entity and not resolved since (by a later rescreen)."""

    match_entity_id: str
    list_name: str | None
    confidence_score: float | None
    matched_name: str | None
    job_id: str | None  # the job (monitored job or rescreen) that reported it


class MonitoredEntity(msgspec.Struct):
    entity_id: str
    subject: dict[str, Any]
    screened_version: str | None  # the snapshot it was last screened against
    added_at: str | None
    source_job_id: str | None  # the monitored job that last set its subject
    lists: list[str] | None = None
    search_type: str | None = None
    threshold: float | None = None


class MonitoredList(msgspec.Struct):
    status: str
    count: int
    entities: list[MonitoredEntity]
    next_cursor: str | None


class MonitoredDetail(MonitoredEntity):
    open_matches: list[OpenMatch] = []
    decisions: list[Decision] = []


class MonitoredDetailBody(msgspec.Struct):
    status: str
    entity: MonitoredDetail


class Removed(msgspec.Struct):
    status: str
    entity_id: str
    removed: bool


# --- Watchlist refreshes (watchlist:run) ------------------------------------------------------


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    """POST /kyc/watchlists/refresh (every field optional; an empty body refreshes all)."""

    lists: list[str] | None = None  # default: every configured list (KYC_LISTS)
    force: bool = False  # accept a list that shrank more than KYC_MAX_LIST_SHRINK


class RefreshRun(msgspec.Struct):
    status: str
    run_id: str  # the Prefect flow run of the refresh-watchlists deployment
    run_status: str  # processing, completed, failed, cancelled
    already_running: bool | UnsetType = UNSET  # POST: a refresh was already under way
    error: str | UnsetType = UNSET
