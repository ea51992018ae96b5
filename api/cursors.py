"""Opaque paging cursors, bound to what they page.

A cursor carries the position of the next page and the scope it was issued for: one job's
results with one filter (``only_matches``), or one tenant's job list. Handed back for another
scope, truncated or made up, it is a 400: a client must never read an empty page and
conclude there is nothing more. A checksum catches damage; forging a cursor gains nothing,
as the tenant of every job is still checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from api.errors import ApiError

_CHECKSUM_BYTES = 6


def results_scope(job_id: str, only_matches: bool) -> str:
    return f"results:{job_id}:only_matches={only_matches}"


def jobs_scope(tenant: str) -> str:
    return f"jobs:{tenant}"


def decisions_scope(tenant: str, entity_id: str | None) -> str:
    return f"decisions:{tenant}:{entity_id}"


def monitored_scope(tenant: str) -> str:
    return f"monitored:{tenant}"


def offset(cursor: str | None, scope: str) -> int:
    """Where a page of a list paged by offset starts (the decisions, the monitored book)."""
    return int(position(cursor, scope) or 0)


def next_after(scope: str, start: int, limit: int, total: int) -> str | None:
    """The cursor of the page after the one at ``start``, or None when it was the last."""
    return issue(scope, start + limit) if start + limit < total else None


def issue(scope: str, position: int | str) -> str:
    """The cursor of the page at ``position`` within ``scope``."""
    payload = json.dumps([scope, position], separators=(",", ":")).encode()
    return _encode(_checksum(payload) + payload)


def position(cursor: str | None, scope: str) -> int | str | None:
    """The position a cursor stands for (None or empty: the first page), or a 400 saying
    why not."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        checksum, payload = raw[:_CHECKSUM_BYTES], raw[_CHECKSUM_BYTES:]
        if checksum != _checksum(payload):
            raise ValueError("checksum")
        issued_for, where = json.loads(payload)
    except (ValueError, binascii.Error, TypeError):
        raise _invalid("not a cursor this API issued; pass next_cursor back as given") from None
    if issued_for != scope:
        raise _invalid("this cursor pages another job or another filter; start without one")
    return where


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()[:_CHECKSUM_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid cursor", [{"loc": "query.cursor", "message": message}])
