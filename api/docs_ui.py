"""The interactive API docs, whole without internet: the pages under /schema load their
scripts and styles from this app, not from a CDN.

The files come from pinned PyPI packages that carry the upstream dist builds:
drf-spectacular-sidecar (Swagger UI, ReDoc) and stopments (Stoplight Elements). Only their
files are read, from where the package was installed; the packages are never imported
(the sidecar's Django is not even installed: see exclude-dependencies in pyproject.toml).
Everything under /schema is open without a token (api/auth.py OPEN_PATHS), the assets
included.

Pages: /schema (ReDoc), /schema/redoc, /schema/swagger, /schema/elements; the schema
itself at /schema/openapi.json and /schema/openapi.yaml. No RapiDoc: its one PyPI carrier
ships it as an ES module, which Litestar's RapiDoc page loads as a classic script (a
syntax error, a blank page).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.static_files import create_static_files_router

SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"

# No icon to fetch: Litestar's default favicon is a CDN URL, and without any <link> the
# browser asks for /favicon.ico, which answers 401 here.
NO_FAVICON = "<link rel='icon' href='data:,'>"

# The files change only with the pinned package versions.
ASSET_CACHE = CacheControlHeader(public=True, max_age=24 * 3600)


@dataclass(frozen=True)
class AssetFolder:
    """A folder of one installed distribution, served under ASSETS_PATH/<name>."""

    name: str
    distribution: str
    folder: str

    def url(self, file: str) -> str:
        return f"{ASSETS_PATH}/{self.name}/{file}"

    def path(self) -> Path:
        """The folder on disk; a clear error when the package is not installed whole."""
        try:
            located = Path(str(metadata.distribution(self.distribution).locate_file(self.folder)))
        except metadata.PackageNotFoundError as error:
            raise RuntimeError(
                f"the API docs need the {self.distribution} package: run `uv sync`"
            ) from error
        if not located.is_dir():
            raise RuntimeError(f"the API docs assets of {self.distribution} are missing: {located}")
        return located


SWAGGER_UI = AssetFolder(
    "swagger-ui",
    "drf-spectacular-sidecar",
    "drf_spectacular_sidecar/static/drf_spectacular_sidecar/swagger-ui-dist",
)
REDOC = AssetFolder(
    "redoc",
    "drf-spectacular-sidecar",
    "drf_spectacular_sidecar/static/drf_spectacular_sidecar/redoc/bundles",
)
ELEMENTS = AssetFolder("elements", "stopments", "stopments/static")
ASSET_FOLDERS = (SWAGGER_UI, REDOC, ELEMENTS)


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The docs pages, each pointing at the files this app serves; the first (ReDoc) is
    also the page at /schema itself."""
    return [
        RedocRenderPlugin(
            js_url=REDOC.url("redoc.standalone.js"), google_fonts=False, favicon=NO_FAVICON
        ),
        SwaggerRenderPlugin(
            js_url=SWAGGER_UI.url("swagger-ui-bundle.js"),
            css_url=SWAGGER_UI.url("swagger-ui.css"),
            standalone_preset_js_url=SWAGGER_UI.url("swagger-ui-standalone-preset.js"),
            favicon=NO_FAVICON,
        ),
        StoplightRenderPlugin(
            js_url=ELEMENTS.url("web-components.min.js"),
            css_url=ELEMENTS.url("styles.min.css"),
            favicon=NO_FAVICON,
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]


def asset_routers() -> list[Router]:
    """One static files router per asset folder, under ASSETS_PATH (not in the schema)."""
    return [
        create_static_files_router(
            path=f"{ASSETS_PATH}/{folder.name}",
            directories=[folder.path()],
            name=f"docs-assets-{folder.name}",
            cache_control=ASSET_CACHE,
            include_in_schema=False,
        )
        for folder in ASSET_FOLDERS
    ]
