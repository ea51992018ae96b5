"""Everything the API needs to know, with kyc/settings.py as the defaults (tests override)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kyc import settings


@dataclass(frozen=True)
class ApiConfig:
    job_store_uri: str = settings.JOB_STORE_URI
    snapshot_dir: Path = settings.SNAPSHOT_DIR
    # Shared snapshot store (s3://...), read through snapshot_dir; empty: snapshot_dir itself.
    snapshot_uri: str = settings.SNAPSHOT_URI
    api_keys_file: Path = settings.API_KEYS_FILE
    webhooks_file: Path = settings.WEBHOOKS_FILE
    jwt_secret: str = settings.JWT_SECRET
    jwt_public_key_file: str = settings.JWT_PUBLIC_KEY_FILE
    jwt_tenant_claim: str = settings.JWT_TENANT_CLAIM
    jwt_audience: str = settings.JWT_AUDIENCE
    jwt_issuer: str = settings.JWT_ISSUER
    max_body_bytes: int = settings.MAX_BODY_BYTES
    max_entities_per_job: int = settings.MAX_ENTITIES_PER_JOB
    rate_limit_requests: int = settings.RATE_LIMIT_REQUESTS
    rate_limit_window_s: int = settings.RATE_LIMIT_WINDOW_S
    default_threshold: float = settings.DEFAULT_THRESHOLD
    max_matches: int = settings.MAX_MATCHES
    # The lists the service is configured to load (KYC_LISTS): those the current snapshot
    # lacks are reported as missing by GET /kyc/watchlists.
    lists: tuple[str, ...] = tuple(settings.LISTS)
    store_checks: bool = settings.STORE_CHECKS
    report_max_matches: int = settings.REPORT_MAX_MATCHES
    export_url_ttl_s: int = settings.EXPORT_URL_TTL_S
    export_url_secret: str = settings.EXPORT_URL_SECRET
    export_url_secret_file: Path = settings.EXPORT_URL_SECRET_FILE
    public_url: str = settings.PUBLIC_URL

    @property
    def snapshot_location(self) -> str:
        """Where the snapshots are: the shared URI, else the local folder."""
        return self.snapshot_uri or str(self.snapshot_dir)
