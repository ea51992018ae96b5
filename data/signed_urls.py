"""Download URLs that need no token: a server-signed URL for a local store, a real S3
presigned URL for an ``s3://`` store.

A local signature is HMAC-SHA256 over the object's key and the expiry (Unix seconds) with a
server secret. Every API process must hold the same secret: KYC_EXPORT_URL_SECRET when set
(split-up deployments set it), else a secret generated on first use and kept in a file
under the data directory (mode 0600), which every process of one machine shares.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit


class SignatureError(Exception):
    """A signed URL that must be refused: the reason, for the 403's message."""


def load_or_create_secret(configured: str, path: Path) -> bytes:
    """The configured secret, else the one in ``path``, created there (0600) if missing.

    Two processes starting at once both end up with the file's secret: it is created
    exclusively, and whoever loses the race reads the winner's."""
    if configured:
        return configured.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    for _ in range(50):  # the creator may not have written it yet
        text = path.read_text().strip()
        if text:
            return text.encode()
        time.sleep(0.01)
    raise SignatureError(f"the URL signing secret file {path} is empty")


@dataclass(frozen=True)
class UrlSigner:
    """Signs and checks (key, expiry) pairs with one server secret."""

    secret: bytes

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def query(self, key: str, ttl_s: int, now: float | None = None) -> str:
        """The query string that makes a URL for ``key`` valid for ``ttl_s`` seconds."""
        expires = int((time.time() if now is None else now) + ttl_s)
        return urlencode({"expires": expires, "signature": self.signature(key, expires)})

    def verify(self, key: str, expires: str | None, signature: str | None) -> None:
        """Raise SignatureError unless the signature is this server's for this key and
        expiry, and the expiry has not passed."""
        if not expires or not signature:
            raise SignatureError("the URL lacks its expires or signature parameter")
        if not expires.isdigit():
            raise SignatureError("the URL's expires parameter is not a Unix time")
        expected = self.signature(key, int(expires))
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("the URL's signature does not match (changed or not ours)")
        if int(expires) < time.time():
            raise SignatureError("the URL has expired")


# --- S3 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    endpoint_url: str | None
    region: str | None


def s3_location(store_uri: str, relative_key: str) -> S3Location:
    """Where an object under an ``s3://bucket/prefix?endpoint_override=..`` store root is."""
    parts = urlsplit(store_uri)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    prefix = parts.path.strip("/")
    key = f"{prefix}/{relative_key}" if prefix else relative_key
    endpoint = query.get("endpoint_override")
    if endpoint and "://" not in endpoint:
        endpoint = f"{query.get('scheme', 'https')}://{endpoint}"
    return S3Location(parts.netloc, key, endpoint, query.get("region"))


def presigned_s3_url(location: S3Location, ttl_s: int, filename: str) -> str:
    """A real S3 presigned GET URL (AWS Signature V4), valid ``ttl_s`` seconds. Credentials
    come from the usual AWS environment or profile, as pyarrow's do."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=location.endpoint_url,
        region_name=location.region,
        config=Config(signature_version="s3v4"),
    )
    return client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": location.bucket,
            "Key": location.key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=ttl_s,
    )
