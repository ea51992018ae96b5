"""The HTTP API (Litestar): api.md's endpoints, translated to calls on data/ and flows/."""

from api.app import create_app

__all__ = ["create_app"]
