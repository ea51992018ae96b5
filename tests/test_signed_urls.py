"""The URL signer and its secret: one secret per data dir, kept 0600; a signature binds one
key and one expiry."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from data.signed_urls import SignatureError, UrlSigner, load_or_create_secret, s3_location


def test_the_secret_is_made_once_kept_0600_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "data" / "export_url.secret"
    with ThreadPoolExecutor(8) as pool:  # processes starting at once all get the same one
        secrets = set(pool.map(lambda _: load_or_create_secret("", path), range(16)))
    assert len(secrets) == 1 and len(secrets.pop()) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret("configured", path) == b"configured"


def test_a_signature_binds_the_key_and_the_expiry() -> None:
    signer = UrlSigner(b"secret")
    expires = int(time.time()) + 60
    good = signer.signature("exports/a.pdf", expires)
    signer.verify("exports/a.pdf", str(expires), good)
    refusals = {
        "another key": ("exports/b.pdf", str(expires), good),
        "another expiry": ("exports/a.pdf", str(expires + 1), good),
        "another secret": ("exports/a.pdf", str(expires), UrlSigner(b"x").signature("a", 1)),
        "no signature": ("exports/a.pdf", str(expires), None),
        "not a time": ("exports/a.pdf", "soon", good),
    }
    for arguments in refusals.values():
        with pytest.raises(SignatureError):
            signer.verify(*arguments)
    past = int(time.time()) - 1
    with pytest.raises(SignatureError, match="expired"):
        signer.verify("exports/a.pdf", str(past), signer.signature("exports/a.pdf", past))


def test_s3_locations_of_a_store_uri() -> None:
    where = s3_location(
        "s3://bucket/kyc/store?endpoint_override=127.0.0.1:9000&scheme=http&region=eu-west-1",
        "exports/r/kyc-report-j.pdf",
    )
    assert (where.bucket, where.key) == ("bucket", "kyc/store/exports/r/kyc-report-j.pdf")
    assert where.endpoint_url == "http://127.0.0.1:9000" and where.region == "eu-west-1"
    plain = s3_location("s3://bucket", "exports/x.pdf")
    assert (plain.bucket, plain.key, plain.endpoint_url) == ("bucket", "exports/x.pdf", None)
