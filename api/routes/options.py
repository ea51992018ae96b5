"""OPTIONS answers for paths that several handlers serve (GET and POST /kyc/jobs).

Litestar makes an OPTIONS handler for each path itself, but when a second handler joins a
path it keeps the first one's: its Allow header then listed only the methods registered
first (OPTIONS /kyc/jobs said "OPTIONS, POST", forgetting GET). Such paths get an OPTIONS
handler of their own that lists every method.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from litestar import Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


def for_shared_paths(handlers: Iterable[object]) -> list[HTTPRouteHandler]:
    methods: dict[str, set[str]] = defaultdict(set)
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            for path in handler.paths:
                methods[path].update(handler.http_methods)
    shared = {path: found for path, found in methods.items() if len(found) > 1}
    return [_allow(path, found | {"OPTIONS"}) for path, found in shared.items()]


def _allow(path: str, methods: set[str]) -> HTTPRouteHandler:
    allow = ", ".join(sorted(methods))

    @route(path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, status_code=204)
    async def options() -> Response[None]:
        return Response(content=None, status_code=204, headers={"Allow": allow})

    return options
