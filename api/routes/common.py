"""Helpers every route module shares: app state, the caller, JSON bodies and job options."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.params import QueryParameter

from api.auth import Principal, principal_of
from api.config import ApiConfig
from api.errors import ApiError
from data.book import BookStore
from data.checks import CheckStore
from data.decisions import DecisionStore
from data.decisions import Stores as DecisionStores
from data.entities import (
    BLANKS,
    NO_MODEL_MESSAGE,
    NO_MODEL_SEARCH_TYPES,
    SEARCH_TYPES,
    decode_json,
    list_code_problem,
    type_error_details,
)
from data.jobs import JobMeta, JobStore
from data.schema import LIST_CODES
from data.signed_urls import UrlSigner
from data.store import SnapshotNotFoundError, SnapshotStore
from flows.submitter import RunSubmitter

T = TypeVar("T")

# The paging parameters of the lists paged by offset (decisions, the monitored book).
ListLimit = Annotated[int, QueryParameter(ge=1, le=1000, description="Items per page")]
ListCursor = Annotated[
    str | None, QueryParameter(description="next_cursor of the previous page, as given")
]


@dataclass
class AppState:
    """What the handlers share, kept on app.state.kyc."""

    config: ApiConfig
    jobs: JobStore
    submitter: RunSubmitter  # creates accepted jobs' flow runs (flows/submitter.py)
    snapshots: SnapshotStore  # the watchlist snapshots (shared storage read through a cache)
    checks: CheckStore  # stored single checks, beside the job store
    signer: UrlSigner  # signs the export URLs of a local job store
    book: BookStore  # the monitored book of each tenant
    decisions: DecisionStore  # analysts' decisions, an append-only log per tenant
    idempotency_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)
    # Held while a job body is parsed and validated (api/routes/jobs.py says why).
    parse_slot: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    # Set once start-up's warm-up (api/app.py _warm_up) is over: GET /health/ready.
    warm: threading.Event = field(default_factory=threading.Event)

    def decision_stores(self) -> DecisionStores:
        """Where POST /kyc/decisions finds both sides of a pair and records the decision."""
        return DecisionStores(self.decisions, self.jobs, self.book, self.snapshots)


def state_of(request: Request) -> AppState:
    return request.app.state.kyc


def caller(request: Request) -> Principal:
    return principal_of(request)


def decode_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    if not body.strip():
        raise ApiError(
            400, "the request body is empty", [{"loc": "body", "message": "expected a JSON object"}]
        )
    data = decode_json(body)
    if not isinstance(data, dict):
        raise ApiError(
            400, "expected a JSON object", [{"loc": "body", "message": "expected a JSON object"}]
        )
    return data


class Options(msgspec.Struct):
    """Screening options of a job or a check (the entity list is parsed separately)."""

    lists: list[str] | None = None
    list_name: str | None = None
    search_type: str | None = None
    threshold: float | None = None
    monitor: bool = False


def options_from(data: dict[str, Any], loaded_lists: frozenset[str]) -> Options:
    """The options in a JSON body, type-checked and validated, or a 400 naming the field."""
    raw = {name: data[name] for name in Options.__struct_fields__ if name in data}
    try:
        options = msgspec.convert(raw, type=Options)
    except msgspec.ValidationError as error:
        details = type_error_details(error, "")
        for detail in details:
            detail["loc"] = detail["loc"].lstrip(".")
        raise ApiError(400, "invalid request options", details) from None
    return checked(options, loaded_lists)


def checked(options: Options, loaded_lists: frozenset[str]) -> Options:
    """Lists the snapshot holds, a known search type, a threshold in 0-1; list_name folded
    into lists. A list the snapshot lacks is refused: screening it would look clean."""
    details = []
    lists = options.lists
    if options.list_name is not None:
        lists = [*(lists or []), options.list_name]
    if lists is not None:
        lists = list(dict.fromkeys(code.strip(BLANKS).lower() for code in lists))
        loc = "list_name" if options.lists is None else "lists"
        details += [
            {"loc": loc, "message": problem}
            for code in lists
            if (problem := list_code_problem(code, loaded_lists))
        ]
    # A blank search type is none: the default (the schema says so too).
    search_type = (options.search_type or "").strip(BLANKS).lower() or None
    if search_type in NO_MODEL_SEARCH_TYPES:
        details.append({"loc": "search_type", "message": NO_MODEL_MESSAGE})
    elif search_type is not None and search_type not in SEARCH_TYPES:
        details.append(
            {"loc": "search_type", "message": "expected one of " + ", ".join(SEARCH_TYPES)}
        )
    threshold = options.threshold
    if threshold is not None and not 0 <= threshold <= 1:
        details.append({"loc": "threshold", "message": "expected a number from 0 to 1"})
    if details:
        raise ApiError(400, "invalid request options", details)
    return Options(lists or None, None, search_type, threshold, options.monitor)


def serving_snapshot(state: AppState) -> tuple[str | None, frozenset[str]]:
    """The serving snapshot's version and list codes. Without a snapshot yet: None, and
    every known list, so a request is still checked in full before it gets its 503."""
    store = state.snapshots
    version = store.current_version()
    if version is None:
        return None, frozenset(LIST_CODES)
    try:
        return version, store.loaded_lists(version)
    except SnapshotNotFoundError as error:  # switched and pruned this instant
        raise ApiError(503, f"the watchlist snapshot is changing; retry ({error})") from None


def require_snapshot(version: str | None) -> str:
    """The version, or a 503: without lists a request could only fail, so nothing is made."""
    if version is None:
        raise ApiError(503, "no watchlist snapshot is loaded yet; retry once the lists are loaded")
    return version


def owned_job(state: AppState, job_id: str, principal: Principal) -> JobMeta:
    """The caller's job; another tenant's job is a 404 exactly like a missing one."""
    meta = state.jobs.get_job(job_id) if _plausible_id(job_id) else None
    if meta is None or meta.tenant != principal.tenant:
        raise ApiError(404, f"no job {job_id}")
    return meta


def _plausible_id(job_id: str) -> bool:
    """Job ids are UUIDs: anything else cannot name a job (and must not reach a file path)."""
    return len(job_id) <= 64 and all(c.isalnum() or c == "-" for c in job_id)


_FIELD_NAMED = re.compile(r"(missing required|contains unknown) field `([^`]+)`")


def struct_error_details(error: msgspec.ValidationError) -> list[dict[str, str]]:
    """A msgspec error on a JSON body as one detail naming the field: "reason" for
    "Object missing required field `reason`", "lists[1]" for "... - at `$.lists[1]`"."""
    text = str(error)
    named = _FIELD_NAMED.search(text)
    if named:
        problem = "required" if named.group(1) == "missing required" else "unknown field"
        return [{"loc": named.group(2), "message": problem}]
    message, separator, where = text.rpartition(" - at `")
    if not separator:
        return [{"loc": "body", "message": text}]
    return [{"loc": where.rstrip("`").removeprefix("$").lstrip(".") or "body", "message": message}]


def decode_struct(data: dict[str, Any], struct: type[T], what: str) -> T:
    """A JSON object converted to a request Struct, or a 400 naming the field."""
    try:
        return msgspec.convert(data, type=struct)
    except msgspec.ValidationError as error:
        raise ApiError(400, f"invalid {what}", struct_error_details(error)) from None
