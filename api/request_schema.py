"""What the request schemas say beyond the Structs: the rules data/entities.py checks.

The JSON Schema of a request must allow exactly what the API accepts: a client generated
from it, or a fuzzer, must never be refused for data the schema calls valid, nor accepted
with data it calls invalid. So every field carries its rule here: at least one entity, a
full_name or an identifier per subject, no control characters, lengths, country codes,
dates, and the list codes of the serving snapshot (a list it does not hold is a 400).
Codes and search types are read case-insensitively, blanks around them ignored, and the
patterns say so. The one rule JSON Schema cannot say: a name made only of titles ("Mr.").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, get_args

import msgspec

from data.entities import (
    BLANKS,
    COUNTRY_CODES,
    DEFAULT_ID_PREFIX,
    ENTITY_TYPES,
    IDENTIFIER_LIKE,
    MAX_FIELD_LENGTH,
    MAX_NAME_LENGTH,
    SEARCH_TYPES,
)
from data.results import OutputFormat
from data.schema import LIST_CODES
from matching.config import MIN_IDENTIFIER_LEN

# A subject needs one of these (api.md: full_name, unless an identifier-like field is given).
SUBJECT_REQUIRES_ONE_OF = ("full_name", *IDENTIFIER_LIKE)

# The list codes the schemas offer: the serving snapshot's, set by create_app while it
# generates the app's schema (every known code when no snapshot is loaded yet).
_offered_lists: ContextVar[tuple[str, ...]] = ContextVar("offered_lists", default=LIST_CODES)


@contextmanager
def offering_lists(codes: Iterable[str]) -> Iterator[None]:
    token = _offered_lists.set(tuple(sorted(codes)))
    try:
        yield
    finally:
        _offered_lists.reset(token)


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


def request_schema(struct: type) -> dict[str, Any]:
    """A request Struct's schema with every rule the API checks (see the module's doc)."""
    schema = inline_schema(struct)
    entities = schema.get("properties", {}).get("entities")
    if entities is not None:
        entities["minItems"] = 1
        entities["items"]["properties"]["entity_id"] = _nullable(_ENTITY_ID)
        _option_rules(entities["items"])
    for subject in _subjects(schema):
        subject["properties"].update({name: _optional(rule) for name, rule in _FIELDS.items()})
        subject["properties"]["identifiers"] = _nullable(_IDENTIFIERS)
        # A blank value is no value: the one that makes a subject screenable must have one.
        subject["anyOf"] = [
            {"required": [name], "properties": {name: _SCREENABLE[name]}}
            for name in SUBJECT_REQUIRES_ONE_OF
        ]
    _option_rules(schema)
    return schema


def query_rules() -> dict[str, dict[str, Any]]:
    """The schemas of the query options of a file body and of a download."""
    codes = _any_case(_offered_lists.get())
    return {
        "lists": {"type": "string", "pattern": f"^{codes}(,{codes})*$"},
        "list_name": {"type": "string", "pattern": f"^{codes}$"},
        # The query's search type, as an enum (blank: the default; the API also reads it in
        # any letter case, as the body's pattern says).
        "search_type": {"type": "string", "enum": ["", *SEARCH_TYPES]},
        "format": {"type": "string", "pattern": f"^{_any_case(get_args(OutputFormat))}$"},
        # Litestar drops a bound of 0 ("ge=0") when it writes the schema: said here.
        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
    }


def _option_rules(node: dict[str, Any]) -> None:
    properties = node.get("properties", {})
    code = {"type": "string", "pattern": f"^{_any_case(_offered_lists.get())}$"}
    rules = {
        "lists": {"type": "array", "items": code},
        "list_name": code,
        "search_type": _optional({"type": "string", "pattern": f"^{_any_case(SEARCH_TYPES)}$"}),
        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
    }
    for name, rule in rules.items():
        if name in properties:
            properties[name] = _nullable(rule)


def _any_case(words: Iterable[str]) -> str:
    """A pattern matching any of the words in any letter case, blanks around it ignored."""
    spelled = (
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word) for word in words
    )
    return f"{_BLANK}*(?:{'|'.join(spelled)}){_BLANK}*"


def _subjects(node: Any) -> list[dict[str, Any]]:
    """Every inlined subject object (the one with full_name among its properties)."""
    found = []
    if isinstance(node, dict):
        if "full_name" in node.get("properties", {}):
            found.append(node)
        for value in node.values():
            found += _subjects(value)
    elif isinstance(node, list):
        for item in node:
            found += _subjects(item)
    return found


def _nullable(rule: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [rule, {"type": "null"}]}


def _optional(rule: dict[str, Any]) -> dict[str, Any]:
    """A field that may be left out, null, or blank (a blank value counts as none)."""
    blank = {"type": "string", "pattern": f"^{_BLANK}*$"}
    return {"anyOf": [rule, blank, {"type": "null"}]}


def _escaped(characters: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in characters)


# Character-class bodies: C0 and C1 control characters (refused anywhere), and the blanks
# trimmed from both ends of a value.
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
_BLANK = f"[{_escaped(BLANKS)}]"
_BLANK_BODY = _escaped(BLANKS)
# Text: something that is neither blank nor a control character, and no control character.
_TEXT = {
    "type": "string",
    "maxLength": MAX_FIELD_LENGTH,
    "pattern": f"^[^{_CONTROL}]*[^{_BLANK_BODY}{_CONTROL}][^{_CONTROL}]*$",
}
_ENTITY_ID = {
    "type": "string",
    "maxLength": MAX_FIELD_LENGTH,
    "pattern": f"^{_BLANK}*[^{DEFAULT_ID_PREFIX}{_BLANK_BODY}{_CONTROL}][^{_CONTROL}]*$",
}
_COUNTRY = {"type": "string", "pattern": f"^{_any_case(sorted(COUNTRY_CODES))}$"}
# An identifier value the engine screens by: enough letters or digits once normalised.
_IDENTIFIER = {
    "type": "string",
    "maxLength": MAX_FIELD_LENGTH,
    "pattern": f"^[^{_CONTROL}]*(?:[^0-9A-Za-z{_CONTROL}]*[0-9A-Za-z]){{{MIN_IDENTIFIER_LEN}}}"
    f"[^{_CONTROL}]*$",
}
_FIELDS: dict[str, dict[str, Any]] = {
    # A letter or a digit in any script (\w less "_"), no control characters.
    "full_name": {
        "type": "string",
        "maxLength": MAX_NAME_LENGTH,
        "pattern": f"^[^{_CONTROL}]*[^\\W_][^{_CONTROL}]*$",
    },
    "entity_type": {"type": "string", "pattern": f"^{_any_case(ENTITY_TYPES)}$"},
    "document_id": _TEXT,
    "document_type": _TEXT,
    "nationality": _COUNTRY,
    "country": _COUNTRY,
    "birth_date": {
        "anyOf": [
            {"type": "string", "format": "date"},
            {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
            {"type": "string", "pattern": "^[0-9]{4}$"},
        ]
    },
    "wallet_address": _TEXT,
    "imo_number": _TEXT,
    "call_sign": _TEXT,
}
# A list of {type, value}: the type is a free label (blank or absent is fine).
_IDENTIFIERS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"type": _optional(_TEXT), "value": _TEXT},
        "required": ["value"],
    },
}
# What makes a subject screenable, field by field (the anyOf of a subject).
_SCREENABLE: dict[str, dict[str, Any]] = {
    "full_name": _FIELDS["full_name"],
    "document_id": _IDENTIFIER,
    "wallet_address": _IDENTIFIER,
    "imo_number": _IDENTIFIER,
    "call_sign": _IDENTIFIER,
    "identifiers": {
        "type": "array",
        "contains": {"type": "object", "properties": {"value": _IDENTIFIER}},
    },
}
