"""OpenAPI pieces Litestar cannot infer: bodies a handler parses itself, and error responses.

POST handlers read the raw body (JSON or a file, by Content-Type), so their request body is
declared here from the msgspec Structs in api/schemas.py. Every operation also declares the
error responses it can give, all with the one error body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, RequestBody

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
    503: "No watchlist snapshot is loaded yet, or Prefect is unreachable",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Response specs for these error codes (401, 403 and 429 go on every protected route)."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code], generate_examples=False
        )
        for code in codes
    }


def inline_schema(struct: type) -> dict[str, Any]:
    """A Struct's JSON Schema with its $defs inlined, so it needs no shared components."""
    schema = msgspec.json.schema(struct)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def with_request_body(content: dict[str, dict[str, Any]], description: str) -> type[Operation]:
    """An Operation class that declares a request body Litestar did not see in the signature."""

    @dataclass
    class OperationWithBody(Operation):
        def __post_init__(self) -> None:
            media = {
                media_type: OpenAPIMediaType(schema=schema)
                for media_type, schema in content.items()
            }  # type: ignore[arg-type]
            self.request_body = RequestBody(content=media, description=description, required=True)

    return OperationWithBody


def with_download(media_types: list[str], description: str) -> type[Operation]:
    """An Operation class whose 200 response may be any of these file types."""

    @dataclass
    class OperationWithDownload(Operation):
        def __post_init__(self) -> None:
            binary: dict[str, Any] = {"type": "string", "format": "binary"}
            media = {media_type: OpenAPIMediaType(schema=binary) for media_type in media_types}  # type: ignore[arg-type]
            if self.responses is not None:
                self.responses["200"] = OpenAPIResponse(description=description, content=media)

    return OperationWithDownload
