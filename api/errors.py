"""One error body everywhere: {"status": "error", "error": <code>, "message": ..., "details": [...]}.

Our own handlers raise ApiError; Litestar's own 404, 405, 413 and validation errors and any
unexpected exception are turned into the same body here. A 500 says only that something
went wrong and logs the traceback server-side: no internals reach the client.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from data.entities import EntityValidationError

logger = logging.getLogger("kyc.api")

# The `error` code of each status.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(HTTPException):
    """An error with our body: status, human message, field details, extra body fields, headers."""

    def __init__(
        self,
        status_code: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers)
        self.message = message
        self.details = details or []
        self.extra = extra or {}


def error_body(
    status_code: int, message: str, details: list[Any] | None = None, **extra: Any
) -> dict:
    code = CODES.get(status_code, "error")
    return {"status": "error", "error": code, "message": message, "details": details or [], **extra}


def _response(status_code: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=body, status_code=status_code, headers=headers, media_type="application/json"
    )


def handle_api_error(_: Request, error: ApiError) -> Response:
    body = error_body(error.status_code, error.message, error.details, **error.extra)
    return _response(error.status_code, body, error.headers)


def handle_entity_error(_: Request, error: EntityValidationError) -> Response:
    return _response(400, error_body(400, error.message, error.details))


def handle_validation_error(_: Request, error: ValidationException) -> Response:
    """Litestar's own parameter validation (query, path, header values)."""
    details = [_param_detail(item) for item in (error.extra or []) if isinstance(item, dict)]
    return _response(400, error_body(400, "invalid request parameters", details))


def _param_detail(item: dict[str, Any]) -> dict[str, str]:
    source = getattr(item.get("source"), "value", item.get("source")) or "request"
    loc = f"{source}.{item['key']}" if item.get("key") else str(source)
    return {"loc": loc, "message": str(item.get("message", "invalid value"))}


def handle_http_error(request: Request, error: HTTPException) -> Response:
    status = error.status_code
    message = error.detail or CODES.get(status, "error").replace("_", " ")
    if status == 413:
        limit = request.app.state.kyc.config.max_body_bytes
        message = f"the body is larger than the limit of {limit} bytes (KYC_MAX_BODY_BYTES)"
    if status >= 500:
        message = "internal error"
    return _response(status, error_body(status, message), error.headers)


def handle_unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    status = HTTP_500_INTERNAL_SERVER_ERROR
    return _response(status, error_body(status, "internal error; the request was not completed"))


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    EntityValidationError: handle_entity_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}
