"""OpenAPI pieces Litestar cannot infer: bodies a handler parses itself, error responses,
open operations and links.

POST handlers read the raw body (JSON or a file, by Content-Type), so their request body is
declared here from the msgspec Structs in api/schemas.py, with the rules of
api/request_schema.py; query options typed as plain strings get their patterns from there
too. Every operation also declares the error responses it can give, all with the one error
body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Link, OpenAPIMediaType, OpenAPIResponse, Operation, RequestBody

from api.request_schema import query_rules, request_schema
from api.schemas import ErrorBody

ERROR_DESCRIPTIONS = {
    400: "Bad request: details names each invalid field or row",
    401: "Missing, malformed, unknown, expired or badly signed token",
    403: "The token lacks the permission this endpoint needs",
    404: "No such resource (or it belongs to another tenant)",
    409: "The request conflicts with the job's state",
    413: "The body is larger than the configured limit",
    415: "Unsupported Content-Type",
    429: "Rate limited: see Retry-After and the X-RateLimit-* headers",
    503: "Not ready: no watchlist snapshot loaded yet, Prefect unreachable, or still warming up",
}


# The errors every protected route may answer: no or a bad token, a missing permission, a
# rate limit.
PROTECTED = (401, 403, 429)


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Response specs for these error codes (401, 403 and 429 go on every protected route)."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code], generate_examples=False
        )
        for code in codes
    }


def with_request_body(
    struct: type,
    description: str,
    links: dict[str, Link] | None = None,
) -> type[Operation]:
    """An Operation class that declares the JSON request body (a Struct of api/schemas.py)
    that the handler parses itself, the rules of its query options, and optionally links
    from its 200 response to the operations that follow it. Made anew for each app's schema:
    the list codes offered are those of the app's snapshot (api/request_schema.py)."""

    @dataclass
    class OperationWithBody(Operation):
        def __post_init__(self) -> None:
            media = {"application/json": OpenAPIMediaType(schema=request_schema(struct))}  # type: ignore[arg-type]
            self.request_body = RequestBody(content=media, description=description, required=True)
            _apply_query_rules(self)
            ok = (self.responses or {}).get("200")
            if links and isinstance(ok, OpenAPIResponse):
                ok.links = dict(links)

    return OperationWithBody


def with_download(
    media_types: list[str], description: str, *, query_options: bool = True, public: bool = False
) -> type[Operation]:
    """An Operation class whose 200 response may be any of these file types.

    ``query_options``: its query parameters are the job options and download format that
    api/request_schema.py types (the results download); a route with other parameters of
    those names (a report's ``format``) says False. ``public``: anyone may call it (a signed
    download), as OpenOperation says."""

    @dataclass
    class OperationWithDownload(Operation):
        def __post_init__(self) -> None:
            binary: dict[str, Any] = {"type": "string", "format": "binary"}
            media = {media_type: OpenAPIMediaType(schema=binary) for media_type in media_types}  # type: ignore[arg-type]
            if self.responses is not None:
                self.responses["200"] = OpenAPIResponse(description=description, content=media)
            if query_options:
                _apply_query_rules(self)
            if public:
                self.security = []

    return OperationWithDownload


@dataclass
class OpenOperation(Operation):
    """An operation anyone may call: its empty security list overrides the global bearer."""

    def __post_init__(self) -> None:
        self.security = []


def job_links() -> dict[str, Link]:
    """From a created job (its job_id) to reading, cancelling and downloading it."""
    job_id = {"job_id": "$response.body#/job_id"}
    return {
        "GetJob": Link(operation_id="GetJob", parameters=job_id, description="Poll the job"),
        "CancelJob": Link(operation_id="CancelJob", parameters=job_id, description="Cancel it"),
        "DownloadResults": Link(
            operation_id="DownloadResults", parameters=job_id, description="Download results"
        ),
    }


def _apply_query_rules(operation: Operation) -> None:
    """Query options typed as plain strings get their pattern (api/request_schema.py)."""
    rules = query_rules()
    for parameter in operation.parameters or []:
        name = getattr(parameter, "name", None)
        if name in rules:
            parameter.schema = rules[name]  # type: ignore[union-attr,assignment]
