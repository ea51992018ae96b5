"""The single-check store: every POST /kyc answer kept under an id, for GET /kyc/{check_id}.

Beside the job store (the same root URI, through pyarrow's filesystems, so ``s3://`` too)::

    tenants/<tenant>/checks/<check_id>.json    one StoredCheck

The path holds the tenant, so another tenant's id is simply not found. The answer is kept
as the exact JSON bytes that were sent, so a later read returns the same body byte for byte;
the request (subject and options) is kept beside it for the check's report.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from data.jobs import open_root, utc_now, write_atomically


class StoredCheck(msgspec.Struct):
    check_id: str
    tenant: str
    created_at: str
    request: dict[str, Any]  # {"subject": ..., "lists", "search_type", "threshold"} as screened
    response: msgspec.Raw  # the POST /kyc answer, the bytes sent
    completed_at: str | None = None


def plausible_id(identifier: str) -> bool:
    """Ids are UUIDs: anything else cannot name a stored check (and must not reach a path)."""
    return 0 < len(identifier) <= 64 and all(c.isalnum() or c == "-" for c in identifier)


class CheckStore:
    """Single checks under one root URI; each check is one file written once."""

    def __init__(self, uri: str) -> None:
        self.uri, self.fs, self.root = open_root(uri)

    def _path(self, tenant: str, check_id: str) -> str:
        if not plausible_id(check_id):
            raise ValueError(f"not a check id: {check_id!r}")
        return f"{self.root}/tenants/{quote(tenant, safe='')}/checks/{check_id}.json"

    def save(self, check: StoredCheck) -> None:
        write_atomically(
            self.fs, self._path(check.tenant, check.check_id), msgspec.json.encode(check)
        )

    def get(self, tenant: str, check_id: str) -> StoredCheck | None:
        """The tenant's check, or None (no such id, or another tenant's)."""
        if not plausible_id(check_id):
            return None
        try:
            with self.fs.open_input_stream(self._path(tenant, check_id)) as src:
                return msgspec.json.decode(src.read(), type=StoredCheck)
        except FileNotFoundError:
            return None


def new_stored_check(
    check_id: str, tenant: str, request: dict[str, Any], response: bytes, started_at: str
) -> StoredCheck:
    return StoredCheck(
        check_id=check_id,
        tenant=tenant,
        created_at=started_at,
        request=request,
        response=msgspec.Raw(response),
        completed_at=utc_now(),
    )
