"""Opaque page cursors for the list endpoints of the book and the decisions.

A cursor is the position of the next page bound to what is being paged (the tenant and the
filter): handed back with another filter, or edited, it is a 400, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from api.errors import ApiError


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def encode_cursor(offset: int, scope: str) -> str:
    payload = json.dumps({"o": offset, "s": _scope_tag(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> int:
    """The offset a cursor stands for (0 without one); a 400 naming query.cursor otherwise."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = data["o"]
        valid = isinstance(offset, int) and offset >= 0 and data["s"] == _scope_tag(scope)
    except (ValueError, KeyError, TypeError, binascii.Error):
        valid = False
    if not valid:
        raise ApiError(
            400,
            "invalid cursor",
            [{"loc": "query.cursor", "message": "pass next_cursor back as given, same filter"}],
        )
    return offset


def next_cursor(offset: int, limit: int, total: int, scope: str) -> str | None:
    """The cursor of the page after [offset, offset + limit), or None on the last page."""
    return encode_cursor(offset + limit, scope) if offset + limit < total else None
