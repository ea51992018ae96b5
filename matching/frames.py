"""The frames screen() takes and returns, and its per-row errors: one definition for the
chunk path (screen.py) and the one-entity path (one_entity.py)."""

from __future__ import annotations

import polars as pl

SEARCH_TYPES = ("exact", "token", "fuzzy", "composite")


def require_search_type(search_type: str) -> None:
    """The search type of a whole call (a row's own one is checked per row)."""
    if search_type not in SEARCH_TYPES:
        raise ValueError(f"search_type must be one of {', '.join(SEARCH_TYPES)}: {search_type!r}")


_IDENTIFIER = pl.Struct({"type": pl.Utf8, "value": pl.Utf8})
QUERY_COLUMNS: dict[str, pl.DataType] = {
    "row": pl.Int64,
    "full_name": pl.Utf8,
    "entity_type": pl.Utf8,
    "document_id": pl.Utf8,
    "document_type": pl.Utf8,
    "nationality": pl.Utf8,
    "birth_date": pl.Utf8,
    "identifiers": pl.List(_IDENTIFIER),
    "wallet_address": pl.Utf8,
    "imo_number": pl.Utf8,
    "call_sign": pl.Utf8,
    "country": pl.Utf8,
    "lists": pl.List(pl.Utf8),
    "search_type": pl.Utf8,
    "threshold": pl.Float64,
}

MATCH = pl.Struct(
    {
        "entity_id": pl.Utf8,
        "list_name": pl.Utf8,
        "confidence_score": pl.Float64,
        "match_type": pl.Utf8,
        "matched_name": pl.Utf8,
        "programs": pl.List(pl.Utf8),
        "match_data": pl.Struct(
            {
                "name": pl.Utf8,
                "aliases": pl.List(pl.Utf8),
                "entity_type": pl.Utf8,
                "nationality": pl.List(pl.Utf8),
                "birth_dates": pl.List(pl.Utf8),
                "identifiers": pl.List(_IDENTIFIER),
                "addresses": pl.List(pl.Utf8),
                "remarks": pl.Utf8,
            }
        ),
        "details": pl.Utf8,
    }
)
RESULT = pl.Schema(
    {
        "row": pl.Int64,
        "status": pl.Utf8,
        "is_match": pl.Boolean,
        "match_count": pl.Int64,
        "matches": pl.List(MATCH),
        "error": pl.Utf8,
        "engine_version": pl.Utf8,
    }
)


# Per-row errors of a query with nothing to screen.
NO_NAME = "no full_name and no identifier to screen"
NO_NAME_LEFT = (
    "full_name has no letters or digits left to compare (empty, whitespace, emoji or "
    "punctuation only) and there is no identifier"
)

# The query fields that carry one identifier value each, and all that carry identifiers
# ("identifiers" is a list of {type, value}).
IDENTIFIER_VALUES = ("document_id", "wallet_address", "imo_number", "call_sign")
IDENTIFIER_FIELDS = (*IDENTIFIER_VALUES, "identifiers")
