"""Arabic lineage order: "X bin Y" is X, son of Y; "Y bin X" is Y, son of X, another person.

Muhammad bin Salman and Salman bin Muhammad share every part, so alignment alone scores them
as one name. A pair whose names put the same two parts on the two sides of "bin" (or
Mauritanian "ould") in opposite order is flagged. Particles (al, abdul, abu ...) are left
out first: "Ibrahim bin al-Din" / "Saif al-Din bin Ibrahim" reverses Ibrahim and Din.
"""

from __future__ import annotations

import polars as pl

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
