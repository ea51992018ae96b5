"""score_name_pairs: the name-only score of two columns of names, for pair benchmarks.

It runs the very code a screening job runs on its candidate pairs (normalise -> align ->
score), minus blocking and qualifiers. With an index, rarity weights come from its lists;
without one, every token weighs 1 and generic words of company names less.
"""

from __future__ import annotations

import polars as pl

from matching.compare.syllables import in_syllable_script
from matching.normalize import in_abjad_script, normalize_names
from matching.score import score_pairs


def score_name_pairs(
    names1: pl.Series,
    names2: pl.Series,
    entity_type: str | None = None,
    index: object | None = None,
) -> pl.Series:
    """Score names1[i] against names2[i] for every i: a Float64 Series in [0, 1]."""
    normalized = normalize_names(pl.concat([names1.cast(pl.Utf8), names2.cast(pl.Utf8)]))
    frame = pl.DataFrame({"q_name": names1.cast(pl.Utf8), "c_name": names2.cast(pl.Utf8)})
    frame = frame.with_row_index("pair").with_columns(pl.col("pair").cast(pl.Int64))
    for side in ("q", "c"):
        renamed = normalized.rename(
            {
                "name": f"{side}_name",
                "tokens": f"{side}_tokens",
                "repeated": f"{side}_repeated",
                "transliterated": f"{side}_transliterated",
            }
        )
        frame = frame.join(renamed, on=f"{side}_name", how="left")
    frame = frame.sort("pair").with_columns(
        pl.col("q_tokens", "c_tokens").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        pl.lit(entity_type, pl.Utf8).alias("q_entity_type"),
        in_syllable_script(pl.col("q_name")).alias("q_syllabic"),
        in_abjad_script(pl.col("q_name")).alias("q_abjad"),
    )
    weights = getattr(index, "token_weights", None)
    scored = score_pairs(frame, weights).sort("pair")
    return scored["score"].fill_null(0.0).rename("score")
