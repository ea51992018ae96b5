"""Nationality, entity type, and whether a pair names people or organisations; each
whole-column, with its one-pair twin for the one-entity path."""

from __future__ import annotations

import re

import polars as pl

from matching import config
from matching.normalize import GENERIC_SERIES, GENERIC_TOKENS, LEGAL_FORMS

# Query spellings of the entry types (the API's entity_type and the lists' schema names).
_PERSON = ["individual", "person", "natural_person"]
_NOT_PERSON = ["organization", "organisation", "company", "legal_entity", "vessel", "aircraft"]
_ISO2 = re.compile(r"^[A-Z]{2}$")


def nationality_contribution(pairs: pl.DataFrame) -> pl.DataFrame:
    """pairs: q_nationality Utf8 (ISO alpha-2, any case), c_nationalities List(Utf8)."""
    query = pl.col("q_nationality").str.strip_chars().str.to_uppercase()
    known = query.str.contains(_ISO2.pattern) & (pl.col("c_nationalities").list.len() > 0)
    hit = pl.col("c_nationalities").list.contains(query)
    verdict = (
        pl.when(~known.fill_null(False))
        .then(pl.lit(None, pl.Utf8))
        .when(hit)
        .then(pl.lit("match"))
        .otherwise(pl.lit("mismatch"))
    )
    value = (
        pl.when(verdict == "match")
        .then(config.NATIONALITY_MATCH)
        .when(verdict == "mismatch")
        .then(config.NATIONALITY_MISMATCH)
        .otherwise(0.0)
    )
    return pairs.select(value.fill_null(0.0).alias("value"), verdict.alias("verdict"))


def is_person(column: str) -> pl.Expr:
    """True for a person, False for an organisation, vessel ..., null when unknown."""
    text = pl.col(column).str.to_lowercase().str.strip_chars()
    return pl.when(text.is_in(_PERSON)).then(True).when(text.is_in(_NOT_PERSON)).then(False)


def entity_type_contribution(pairs: pl.DataFrame) -> pl.DataFrame:
    """pairs: q_entity_type Utf8, c_entity_type Utf8. Only person vs non-person counts."""
    q, c = is_person("q_entity_type"), is_person("c_entity_type")
    known = q.is_not_null() & c.is_not_null()
    verdict = (
        pl.when(~known)
        .then(pl.lit(None, pl.Utf8))
        .when(q == c)
        .then(pl.lit("match"))
        .otherwise(pl.lit("mismatch"))
    )
    value = pl.when(verdict == "mismatch").then(config.ENTITY_TYPE_MISMATCH).otherwise(0.0)
    return pairs.select(value.alias("value"), verdict.alias("verdict"))


def person_one(entity_type: str | None) -> bool | None:
    """is_person for one value."""
    text = entity_type.lower().strip() if entity_type is not None else None
    return True if text in _PERSON else False if text in _NOT_PERSON else None


def nationality_one(
    q_nationality: str | None, c_nationalities: list[str] | None
) -> tuple[float, str | None]:
    """nationality_contribution for one pair, in plain Python: (value, verdict)."""
    query = q_nationality.strip().upper() if q_nationality is not None else ""
    if not (_ISO2.match(query) and c_nationalities):
        return 0.0, None
    if query in c_nationalities:
        return config.NATIONALITY_MATCH, "match"
    return config.NATIONALITY_MISMATCH, "mismatch"


def entity_type_one(
    q_entity_type: str | None, c_entity_type: str | None
) -> tuple[float, str | None]:
    """entity_type_contribution for one pair, in plain Python: (value, verdict)."""
    q, c = person_one(q_entity_type), person_one(c_entity_type)
    if q is None or c is None:
        return 0.0, None
    return (0.0, "match") if q == c else (config.ENTITY_TYPE_MISMATCH, "mismatch")


def _pair_is_person() -> pl.Expr:
    """The pair's kind by its entity types: the query's, else the list entry's; null when
    neither is known."""
    return pl.coalesce(is_person("q_entity_type"), is_person("c_entity_type"))


def _pair_is_person_one(q_entity_type: str | None, c_entity_type: str | None) -> bool | None:
    """_pair_is_person for one pair."""
    typed = person_one(q_entity_type)
    return typed if typed is not None else person_one(c_entity_type)


def _either_name_has(words: pl.Series) -> pl.Expr:
    """A token of either name is one of `words`."""
    word = pl.element().is_in(words.implode())
    return (
        pl.col("q_tokens").list.eval(word).list.any()
        | pl.col("c_tokens").list.eval(word).list.any()
    )


def names_of_people() -> pl.Expr:
    """People, as far as known: by the entity types, else by the names (no legal form or
    company word on either side). A company with an extra word ("Deutsche Bank Trust
    Company" / "Deutsche Bank") is another company; a person with one is a middle name."""
    return _pair_is_person().fill_null(~_either_name_has(GENERIC_SERIES))


def names_of_people_one(
    q_entity_type: str | None, c_entity_type: str | None, q_tokens: list[str], c_tokens: list[str]
) -> bool:
    """names_of_people for one pair."""
    typed = _pair_is_person_one(q_entity_type, c_entity_type)
    if typed is None:
        return not any(token in GENERIC_TOKENS for token in [*q_tokens, *c_tokens])
    return typed


_LEGAL_SERIES = pl.Series(sorted(LEGAL_FORMS), dtype=pl.Utf8)


def names_of_companies() -> pl.Expr:
    """Organisations, as far as known: by the entity types, else by a legal form in either
    name. (Generic words are not enough: "de" or "van" is in people's names too.)"""
    return (~_pair_is_person()).fill_null(_either_name_has(_LEGAL_SERIES))


def names_of_companies_one(
    q_entity_type: str | None, c_entity_type: str | None, q_tokens: list[str], c_tokens: list[str]
) -> bool:
    """names_of_companies for one pair."""
    typed = _pair_is_person_one(q_entity_type, c_entity_type)
    if typed is None:
        return any(token in LEGAL_FORMS for token in [*q_tokens, *c_tokens])
    return not typed
