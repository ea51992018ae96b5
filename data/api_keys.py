"""The API-key store: one JSON file of hashed keys, written atomically.

A key is ``sk_<random>``, shown once when created; only its SHA-256 hash is stored, with the
tenant and permissions it carries. Lookups hash the presented token and find it by hash, so
the file never holds anything that would let a reader call the API. The file is re-read when
it changes on disk, so `kyc keys create` / `revoke` take effect in a running API at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# Permissions follow resource:action (api.md).
PERMISSIONS = (
    "kyc:create",
    "kyc:read",
    "kyc:export",
    "kyc:review",  # analysts' decisions on matches (false positive / confirmed)
    "watchlist:read",
    "watchlist:run",
)

KEY_PREFIX = "sk_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key: who it is for and what it may do; never the key itself."""

    key_id: str
    tenant: str
    permissions: list[str]
    key_hash: str
    created_at: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    )
    revoked: bool = False


class ApiKeyStore:
    """Create, list, revoke and look up API keys kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._loaded_stamp: tuple[int, int] | None = None
        self._by_hash: dict[str, ApiKey] = {}

    def create(self, tenant: str, permissions: list[str]) -> tuple[str, ApiKey]:
        """A new key for tenant: returns (the key, to show once; its stored record)."""
        tenant = tenant.strip()
        if not tenant:
            raise ValueError("a tenant is required")
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown:
            raise ValueError(
                f"unknown permission(s) {', '.join(unknown)}; known: {', '.join(PERMISSIONS)}"
            )
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            key_id="key_" + secrets.token_hex(6),
            tenant=tenant,
            permissions=sorted(set(permissions)),
            key_hash=hash_token(token),
        )
        with self._lock:
            keys = self._read()
            keys.append(record)
            self._write(keys)
        return token, record

    def list(self) -> list[ApiKey]:
        with self._lock:
            return self._read()

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked (kept for the audit trail); False when there is no such key."""
        with self._lock:
            keys = self._read()
            found = [k for k in keys if k.key_id == key_id]
            if not found:
                return False
            self._write(
                [
                    ApiKey(**(asdict(k) | {"revoked": True})) if k.key_id == key_id else k
                    for k in keys
                ]
            )
            return True

    def lookup(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or None (unknown or revoked)."""
        with self._lock:
            stamp = self._stamp()
            if stamp != self._loaded_stamp:
                self._by_hash = {k.key_hash: k for k in self._read() if not k.revoked}
                self._loaded_stamp = stamp
            return self._by_hash.get(hash_token(token))

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _read(self) -> list[ApiKey]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [ApiKey(**item) for item in data.get("keys", [])]

    def _write(self, keys: list[ApiKey]) -> None:
        write_private_json(self.path, {"keys": [asdict(k) for k in keys]})


def write_private_json(path: Path, data: dict) -> None:
    """Write a JSON file only its owner may read (secrets, key hashes): to a temporary file
    beside the target, synced, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
