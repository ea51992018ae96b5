"""Birth dates, whole-column: the query's date against every date the entry gives.

Dates are partial ISO strings ("1960-01-10", "1960-01", "1960"). Verdicts, best over the
entry's dates: "match" (same full date), "same_year" (equal as far as both sides go),
"one_off" (one component differs: a typo, a year off by one), "mismatch". A malformed query
date is "invalid" and ignored (the API validates dates first; the engine must not crash).
"""

from __future__ import annotations

import re

import polars as pl

from matching import config

_DATE = r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$"

VERDICT_VALUE = {
    "match": config.BIRTH_DATE_SAME,
    "same_year": config.BIRTH_DATE_SAME_YEAR,
    "one_off": config.BIRTH_DATE_ONE_OFF,
    "mismatch": config.BIRTH_DATE_CONTRADICTS,
}


def _parts(column: str, prefix: str) -> list[pl.Expr]:
    text = pl.col(column).str.strip_chars()
    return [text.str.extract(_DATE, i).cast(pl.Int32).alias(f"{prefix}{i}") for i in (1, 2, 3)]


def birth_date_contribution(pairs: pl.DataFrame) -> pl.DataFrame:
    """pairs: q_birth_date Utf8, c_birth_dates List(Utf8) -> value Float64, verdict Utf8."""
    # Only pairs whose query gives a date have anything to compare.
    rows = (
        pairs.select(pl.int_range(pl.len()).alias("_i"), "q_birth_date", "c_birth_dates")
        .filter(pl.col("q_birth_date").is_not_null())
        .select(
            "_i",
            "q_birth_date",
            # An entry without dates still needs its row (explode drops empty lists).
            pl.when(pl.col("c_birth_dates").list.len() > 0)
            .then(pl.col("c_birth_dates"))
            .otherwise(pl.lit([None], dtype=pl.List(pl.Utf8)))
            .alias("c"),
        )
        .explode("c")
        .with_columns(*_parts("q_birth_date", "q"), *_parts("c", "c"))
    )
    y_diff = (pl.col("q1") - pl.col("c1")).abs()
    m_same = pl.col("q2").is_null() | pl.col("c2").is_null() | (pl.col("q2") == pl.col("c2"))
    d_same = pl.col("q3").is_null() | pl.col("c3").is_null() | (pl.col("q3") == pl.col("c3"))
    full = pl.all_horizontal(pl.col("q3", "c3").is_not_null())
    differing = (y_diff > 0).cast(pl.Int8) + (~m_same).cast(pl.Int8) + (~d_same).cast(pl.Int8)
    verdict = (
        pl.when(pl.col("q_birth_date").is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(pl.col("q1").is_null())
        .then(pl.lit("invalid"))
        .when(pl.col("c1").is_null())
        .then(pl.lit(None, pl.Utf8))
        .when((differing == 0) & full)
        .then(pl.lit("match"))
        .when(differing == 0)
        .then(pl.lit("same_year"))
        .when((differing == 1) & (y_diff <= 1))
        .then(pl.lit("one_off"))
        .otherwise(pl.lit("mismatch"))
    )
    value = verdict.replace_strict(VERDICT_VALUE, default=0.0, return_dtype=pl.Float64)
    best = (
        rows.with_columns(verdict.alias("verdict"), value.alias("value"))
        .sort("_i", "value", descending=[False, True], nulls_last=True)
        .group_by("_i", maintain_order=True)
        .agg(pl.col("verdict").drop_nulls().first(), pl.col("value").first())
    )
    every_pair = pl.DataFrame({"_i": pl.int_range(pairs.height, eager=True)})
    return every_pair.join(best, on="_i", how="left", maintain_order="left").select(
        pl.col("value").fill_null(0.0), "verdict"
    )


_DATE_PATTERN = re.compile(_DATE)
DateParts = tuple[int | None, int | None, int | None]  # year, month, day as given


def _date_parts(text: str | None) -> DateParts:
    found = _DATE_PATTERN.match(text.strip()) if text is not None else None
    if found is None:
        return None, None, None
    year, month, day = (int(part) if part is not None else None for part in found.groups())
    return year, month, day


def _verdict(query: DateParts, listed: DateParts) -> str | None:
    (q1, q2, q3), (c1, c2, c3) = query, listed
    if q1 is None:
        return "invalid"
    if c1 is None:
        return None
    y_diff = abs(q1 - c1)
    m_same = q2 is None or c2 is None or q2 == c2
    d_same = q3 is None or c3 is None or q3 == c3
    differing = (y_diff > 0) + (not m_same) + (not d_same)
    if differing == 0:
        return "match" if q3 is not None and c3 is not None else "same_year"
    return "one_off" if differing == 1 and y_diff <= 1 else "mismatch"


def birth_date_one(
    q_birth_date: str | None, c_birth_dates: list[str] | None
) -> tuple[float, str | None]:
    """birth_date_contribution for one pair, in plain Python: (value, verdict), the best
    verdict over the entry's dates."""
    if q_birth_date is None:
        return 0.0, None
    query = _date_parts(q_birth_date)
    verdicts = [_verdict(query, _date_parts(c)) for c in (c_birth_dates or [None])]
    scored = [(VERDICT_VALUE.get(v, 0.0), v) for v in verdicts if v is not None]
    if not scored:
        return 0.0, None
    return max(scored, key=lambda item: item[0])
