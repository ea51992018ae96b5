"""Who is calling and what they may do: API keys and JWTs -> a Principal; guards per endpoint.

Every request outside OPEN_PATHS must carry ``Authorization: Bearer <token>``. A token that
starts with ``sk_`` is an API key (looked up by hash in data/api_keys.py); anything else must
be a JWT signed HS256 with the configured secret or RS256 with the configured public key
(a PEM file or a JWKS file). The tenant comes from the configured claim, the permissions
from ``permissions`` (a list) or ``scope`` (space-separated). The middleware authenticates,
applies the per-token rate limit and stores the Principal on the request; each route's guard
checks its one permission.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError
from api.ratelimit import RateLimiter
from data.api_keys import KEY_PREFIX, ApiKeyStore

# Paths anyone may call: the health check, the OpenAPI schema, and the signed export
# downloads (their signature and expiry stand in for a token: api/routes/exports.py).
OPEN_PATHS = ("/health", "/schema", "/exports/download/")

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kyc"'}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its tenant, its permissions, a stable id for rate limits, and
    who acts (an API key's id, a JWT's subject) for audit logs such as the decisions."""

    tenant: str
    permissions: frozenset[str]
    token_id: str
    actor: str = ""


@dataclass(frozen=True)
class AuthConfig:
    keys: ApiKeyStore
    jwt_secret: str = ""
    jwt_public_key_file: str = ""
    tenant_claim: str = "tenant"
    audience: str = ""
    issuer: str = ""


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=BEARER_CHALLENGE)


class Authenticator:
    """Turns an Authorization header into a Principal, or raises a 401 ApiError."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self._rsa_keys = _load_public_keys(config.jwt_public_key_file)

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise unauthorized("missing Authorization header; expected 'Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise unauthorized("malformed Authorization header; expected 'Bearer <token>'")
        if token.startswith(KEY_PREFIX):
            return self._api_key(token)
        return self._jwt(token)

    def _api_key(self, token: str) -> Principal:
        key = self.config.keys.lookup(token)
        if key is None:
            raise unauthorized("unknown or revoked API key")
        return Principal(key.tenant, frozenset(key.permissions), key.key_id, key.key_id)

    def _jwt(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise unauthorized("malformed token: neither an API key nor a JWT") from None
        algorithm = header.get("alg")
        key = self._verification_key(algorithm, header.get("kid"))
        options: dict[str, Any] = {"require": ["exp"]}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.config.audience or None,
                issuer=self.config.issuer or None,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("token expired") from None
        except jwt.InvalidSignatureError:
            raise unauthorized("bad token signature") from None
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"invalid token: {error}") from None
        tenant = claims.get(self.config.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise unauthorized(f"token has no '{self.config.tenant_claim}' claim")
        token_id = "jwt:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        subject = claims.get("sub")
        actor = subject if isinstance(subject, str) and subject else token_id
        return Principal(tenant, _permissions(claims), token_id, actor)

    def _verification_key(self, algorithm: str | None, kid: str | None) -> Any:
        if algorithm == "HS256" and self.config.jwt_secret:
            return self.config.jwt_secret
        if algorithm == "RS256" and self._rsa_keys:
            if kid is not None and kid in self._rsa_keys:
                return self._rsa_keys[kid]
            if len(self._rsa_keys) == 1:
                return next(iter(self._rsa_keys.values()))
            raise unauthorized("token signed with an unknown key id")
        raise unauthorized(f"tokens signed with {algorithm!r} are not accepted here")


def _permissions(claims: dict[str, Any]) -> frozenset[str]:
    listed = claims.get("permissions")
    if isinstance(listed, list):
        return frozenset(p for p in listed if isinstance(p, str))
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    return frozenset()


def _load_public_keys(path: str) -> dict[str | None, Any]:
    """RS256 verification keys by key id: one PEM public key (id None) or a JWKS file."""
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        keys = jwt.PyJWKSet.from_dict(json.loads(text)).keys
        return {key.key_id: key.key for key in keys}
    return {None: text}


class AuthMiddleware:
    """Authenticate, rate-limit and add the X-RateLimit-* headers to every protected request."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, limiter: RateLimiter) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        principal = self.authenticator.authenticate(header)
        limit = self.limiter.hit(principal.token_id)
        if not limit.allowed:
            raise ApiError(
                429,
                f"rate limit of {limit.limit} requests per {self.limiter.window_s} s exceeded; retry in {limit.reset_s} s",
                headers=limit.headers() | {"Retry-After": str(limit.reset_s)},
                extra={"retry_after": limit.reset_s},
            )
        scope["user"] = principal

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in limit.headers().items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def principal_of(connection: ASGIConnection) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):  # an open path reached a protected handler
        raise unauthorized("authentication required")
    return user


def requires(permission: str):
    """A route guard: 403 unless the caller's token carries ``permission``."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if permission not in principal_of(connection).permissions:
            raise ApiError(403, f"this token lacks the '{permission}' permission")

    guard.__name__ = f"requires_{permission.replace(':', '_')}"
    return guard
