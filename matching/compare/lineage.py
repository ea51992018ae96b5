"""Arabic lineage order: "X bin Y" is X, son of Y; "Y bin X" is Y, son of X, another person.

Muhammad bin Salman and Salman bin Muhammad share every part, so alignment alone scores them
as one name. A pair whose names put the same two parts on the two sides of "bin" (or
Mauritanian "ould") in opposite order is flagged. Particles (al, abdul, abu ...) are left
out first: "Ibrahim bin al-Din" / "Saif al-Din bin Ibrahim" reverses Ibrahim and Din.
"""

from __future__ import annotations

import re

import polars as pl

from matching import config
from matching.normalize import NAME_PARTICLES

# "son of" (ibn, ben and bint are written bin by normalisation).
LINKS = ["bin", "ould"]
# Parts that belong to the name they precede, not to the lineage order.
_PARTICLES = [particle for particle in NAME_PARTICLES if particle not in LINKS]


def lineage_swapped(pairs: pl.DataFrame) -> pl.DataFrame:
    """pairs: q_tokens, c_tokens -> value 1.0 where the two names reverse a lineage, else
    0.0 (verdict null). The list work runs only on pairs whose names both hold a link."""
    both = (
        pl.col("q_tokens").list.eval(pl.element().is_in(LINKS)).list.any()
        & pl.col("c_tokens").list.eval(pl.element().is_in(LINKS)).list.any()
    )
    rows = pairs.select(both.fill_null(False)).to_series().arg_true()
    values = pl.Series("value", [0.0] * pairs.height, dtype=pl.Float64)
    if not rows.is_empty():
        q_order = _relations(pl.col("q_tokens"), reverse=False)
        c_order = _relations(pl.col("c_tokens"), reverse=False)
        c_reversed = _relations(pl.col("c_tokens"), reverse=True)
        swapped = (q_order.list.set_intersection(c_reversed).list.len() > 0) & (
            q_order.list.set_intersection(c_order).list.len() == 0
        )
        found = pairs[rows].select(swapped.cast(pl.Float64)).to_series()
        values = values.scatter(rows, found)
    return pl.DataFrame(
        {"value": values, "verdict": pl.Series([None] * pairs.height, dtype=pl.Utf8)}
    )


def _relations(tokens: pl.Expr, *, reverse: bool) -> pl.Expr:
    """Each "X link Y" of a name as the string "X>Y" (or "Y>X"), particles left out."""
    kept = tokens.list.eval(pl.element().filter(~pl.element().is_in(_PARTICLES)))
    part, link, other = pl.element(), pl.element().shift(-1), pl.element().shift(-2)
    first, second = (other, part) if reverse else (part, other)
    related = pl.when(link.is_in(LINKS) & (part != other) & ~part.is_in(LINKS))
    return kept.list.eval(related.then(first + ">" + second)).list.drop_nulls()


def lineage_swapped_one(q_tokens: list[str], c_tokens: list[str]) -> float:
    """lineage_swapped for one pair."""
    q, c = _relations_one(q_tokens), _relations_one(c_tokens)
    return 1.0 if any((b, a) in c for a, b in q) and not q & c else 0.0


def _relations_one(tokens: list[str]) -> set[tuple[str, str]]:
    kept = [token for token in tokens if token not in _PARTICLES]
    return {
        (part, other)
        for part, link, other in zip(kept, kept[1:], kept[2:], strict=False)
        if link in LINKS and part != other and part not in LINKS
    }


# --- East Slavic: the father's name is no name of one's own ----------------------------------

# A patronymic's ending after the father's name ("Aleksandr-ovich", "Serge-yevich",
# "Dmitr-ievich", "Nikola-evna"), and the endings of a given name that the patronymic
# drops ("Sergei", "Yuriy"): what is left on both sides is the father's name.
_PATRONYMIC_END = r"(?:ov|ev|iev|yev|av)(?:ich|ych|na)$"
_GIVEN_END = r"[iy]+$"


def fathers_name(pairs: pl.DataFrame) -> pl.DataFrame:
    """pairs: q_tokens, c_tokens -> value 1.0 where one name's given name is only the
    other's patronymic ("Oleksandr Zelenskyy" / "Volodymyr Oleksandrovych Zelenskyy": the
    father, not the son), else 0.0 (verdict null)."""
    q_names, q_fathers = _names_and_fathers(pl.col("q_tokens"))
    c_names, c_fathers = _names_and_fathers(pl.col("c_tokens"))
    value = _father_only(q_names, c_fathers, c_names, q_fathers) | _father_only(
        c_names, q_fathers, q_names, c_fathers
    )
    return pairs.select(
        value.fill_null(False).cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Utf8).alias("verdict"),
    )


def _names_and_fathers(tokens: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A name's parts that are no patronymic, without a given name's ending, and the
    father's names its patronymics hold."""
    patronymic = pl.element().str.contains(_PATRONYMIC_END)
    names = tokens.list.eval(pl.element().filter(~patronymic).str.replace(_GIVEN_END, ""))
    fathers = tokens.list.eval(pl.element().filter(patronymic).str.replace(_PATRONYMIC_END, ""))
    return names, fathers


def _father_only(names: pl.Expr, fathers: pl.Expr, own: pl.Expr, own_fathers: pl.Expr) -> pl.Expr:
    """names holds a part of MIN_FATHERS_NAME_LEN+ letters that is only a father's name of
    the other side: in fathers, in neither its names (own) nor this side's fathers."""
    only = (
        names.list.set_intersection(fathers)
        .list.set_difference(own)
        .list.set_difference(own_fathers)
    )
    return only.list.eval(pl.element().str.len_chars() >= config.MIN_FATHERS_NAME_LEN).list.any()


def fathers_name_one(q_tokens: list[str], c_tokens: list[str]) -> float:
    """fathers_name for one pair."""
    q_names, q_fathers = _names_and_fathers_one(q_tokens)
    c_names, c_fathers = _names_and_fathers_one(c_tokens)
    found = ((q_names & c_fathers) - c_names - q_fathers) | (
        (c_names & q_fathers) - q_names - c_fathers
    )
    return 1.0 if any(len(name) >= config.MIN_FATHERS_NAME_LEN for name in found) else 0.0


def _names_and_fathers_one(tokens: list[str]) -> tuple[set[str], set[str]]:
    names = {re.sub(_GIVEN_END, "", t) for t in tokens if not re.search(_PATRONYMIC_END, t)}
    fathers = {re.sub(_PATRONYMIC_END, "", t) for t in tokens if re.search(_PATRONYMIC_END, t)}
    return names, fathers
