"""screen(): a frame of entities in (QUERY_COLUMNS, matching/frames.py), one result row per entity out.

normalise (distinct names) -> identifier hits + blocking -> score pairs -> per entry the best
name -> threshold, search type, lists -> top max_matches -> match structs.

Bad input never fails the batch: a row whose name has nothing left to compare (empty,
whitespace, emoji or punctuation only) and that carries no identifier is "failed" with an
error saying so; a malformed birth date is ignored for scoring and reported in details
("invalid"); names are cut to MAX_NAME_CHARS; unknown scripts pass through anyascii.
"""

from __future__ import annotations

import polars as pl

from matching import config
from matching.blocking import candidates
from matching.compare.names import Alignment, list_token_features
from matching.compare.syllables import in_syllable_script
from matching.compare.syllables import keep_given as keep_syllable_keys
from matching.compare.syllables import keys_kept as syllable_keys_kept
from matching.frames import (
    IDENTIFIER_FIELDS,
    MATCH,
    NO_NAME,
    NO_NAME_LEFT,
    QUERY_COLUMNS,
    RESULT,
    SEARCH_TYPES,
    require_search_type,
)
from matching.index import WatchlistIndex, normalize_identifier
from matching.lookup import join_sorted, sorted_by
from matching.normalize import in_abjad_script, normalize_names, wholly_in_abjad_script
from matching.score import score_pairs
from matching.segmentation import resegmented
from matching.version import ENGINE_VERSION


def screen(
    queries: pl.DataFrame,
    index: WatchlistIndex,
    *,
    threshold: float,
    max_matches: int,
    lists: list[str] | None = None,
    search_type: str = "composite",
    names: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Screen every row of `queries` against the index; one result row per query row.

    names: the rows' names already normalised (NORMALIZED_NAME: normalize_names' columns,
    one row per query row, in order), as a book index holds them; None: normalised here.
    They may also hold each name's SYLLABLE_KEYS (a book index keeps them): blocking then
    reads those instead of making them again, for the names whose tokens it reads as given
    (a name it reads otherwise, words run together, gets its keys made anew)."""
    require_search_type(search_type)
    frame = _prepare(queries, threshold, lists, search_type, names)
    usable = frame.filter(pl.col("error").is_null())
    usable = as_read(usable, resegmented(usable["tokens"], index, usable["transliterated"]))
    # Blocking, scoring and the rules read the same names' syllable keys: made once.
    with syllable_keys_kept():
        if SYLLABLE_KEYS in usable.columns:
            keep_syllable_keys(usable["tokens"], usable["repeated"], usable[SYLLABLE_KEYS])
        name_matches = _name_matches(usable, index)
    scored = pl.concat([name_matches, _identifier_matches(usable, index)], how="diagonal_relaxed")
    matches = _select_matches(scored, usable, index, max_matches)
    return _results(frame, matches)


# A query row's normalised name (normalize_names' columns but the name).
NORMALIZED_NAME = pl.Schema(
    {"tokens": pl.List(pl.Utf8), "repeated": pl.List(pl.Utf8), "transliterated": pl.Boolean}
)
# An optional column of screen()'s names: the name's syllable keys, each distinct key once
# (compare.syllables.name_keys' KEY_COLUMNS of its tokens and repeated parts, nulls left out).
SYLLABLE_KEYS = "syllable_keys"


def as_read(frame: pl.DataFrame, tokens: pl.Series) -> pl.DataFrame:
    """The frame with the tokens blocking reads (resegmented); SYLLABLE_KEYS given for a
    name (if any) stay only where it is read as given, the others are null (made anew)."""
    if SYLLABLE_KEYS in frame.columns:
        as_given = pl.Series(tokens.eq_missing(frame["tokens"]))
        frame = frame.with_columns(pl.when(as_given).then(pl.col(SYLLABLE_KEYS)))
    return frame.with_columns(tokens.alias("tokens"))


def _prepare(
    queries: pl.DataFrame,
    threshold: float,
    lists: list[str] | None,
    search_type: str,
    names: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Columns completed, per-row options resolved, names normalised, bad rows marked."""
    frame = (
        _with_query_columns(queries)
        .with_row_index("qid")
        .with_columns(pl.col("qid").cast(pl.Int64))
    )
    if names is None:
        names = normalized_names(frame["full_name"])
    frame = frame.hstack(names.select(NORMALIZED_NAME.names()).cast(NORMALIZED_NAME))
    if SYLLABLE_KEYS in names.columns:
        frame = frame.hstack([names[SYLLABLE_KEYS].cast(pl.List(pl.Utf8))])
    default_lists = pl.lit(lists, dtype=pl.List(pl.Utf8)) if lists is not None else None
    frame = frame.with_columns(
        pl.col("tokens").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
        pl.col("transliterated").fill_null(False),
        pl.col("threshold").fill_null(threshold).alias("threshold"),
        pl.col("search_type").fill_null(search_type).str.to_lowercase().alias("search_type"),
        (pl.col("lists") if default_lists is None else pl.col("lists").fill_null(default_lists)),
        _query_identifiers(frame).alias("id_values"),
    )
    no_name = pl.col("tokens").list.len() == 0
    no_ids = pl.col("id_values").list.len() == 0
    error = (
        pl.when(~pl.col("search_type").is_in(SEARCH_TYPES))
        .then(pl.format("unknown search_type {}", pl.col("search_type")))
        .when(no_name & no_ids & pl.col("full_name").is_null())
        .then(pl.lit(NO_NAME))
        .when(no_name & no_ids)
        .then(pl.lit(NO_NAME_LEFT))
    )  # fmt: skip
    return frame.with_columns(error.alias("error"))


def normalized_names(full_names: pl.Series) -> pl.DataFrame:
    """NORMALIZED_NAME of each name, in order (null where there is no name): each distinct
    name normalised once."""
    normalized = normalize_names(full_names).rename({"name": "full_name"})
    return (
        full_names.to_frame("full_name")
        .join(normalized, on="full_name", how="left", maintain_order="left")
        .select(NORMALIZED_NAME.names())
        .cast(NORMALIZED_NAME)
    )


def _with_query_columns(queries: pl.DataFrame) -> pl.DataFrame:
    """Exactly QUERY_COLUMNS, in order and type; the ones missing are null."""
    return queries.select(
        pl.col(col).cast(dtype) if col in queries.columns else pl.lit(None, dtype).alias(col)
        for col, dtype in QUERY_COLUMNS.items()
    )


def _query_identifiers(frame: pl.DataFrame) -> pl.Expr:
    """Every identifier value the query gives, normalised, from every identifier field."""
    if all(frame[col].null_count() == frame.height for col in IDENTIFIER_FIELDS):
        return pl.lit([], dtype=pl.List(pl.Utf8))  # nothing to normalise: skip the work
    listed = pl.col("identifiers").list.eval(pl.element().struct.field("value"))
    singles = pl.concat_list(
        pl.col("document_id"), pl.col("wallet_address"), pl.col("imo_number"), pl.col("call_sign")
    )
    values = pl.concat_list(singles, listed.fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
    return values.list.eval(
        normalize_identifier(pl.element()).filter(
            pl.element().is_not_null()
            & (normalize_identifier(pl.element()).str.len_chars() >= config.MIN_IDENTIFIER_LEN)
        )
    ).list.unique(maintain_order=True)


def _name_matches(frame: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """Scored (qid, entity_id) pairs from names: the best-scoring list name per entry."""
    # Blocking numbers queries 0..n-1; failed rows are not in `frame`, so renumber.
    given = [SYLLABLE_KEYS] if SYLLABLE_KEYS in frame.columns else []
    abjad = in_abjad_script(pl.col("full_name")).alias("abjad")
    wholly = wholly_in_abjad_script(pl.col("full_name")).alias("wholly_abjad")
    local = frame.select(
        "qid", "tokens", "repeated", "lists", "transliterated", abjad, wholly, *given
    )
    local = local.with_row_index("local").with_columns(pl.col("local").cast(pl.Int64))
    found = (
        candidates(
            local.select(
                pl.col("local").alias("qid"),
                "tokens",
                "repeated",
                "lists",
                "transliterated",
                "abjad",
                "wholly_abjad",
                *given,
            ),
            index,
        )
        .rename({"qid": "local"})
        .join(local.select("local", "qid"), on="local")
        .drop("local")
    )
    if found.is_empty():
        return found
    pairs = (
        join_sorted(found, sorted_by(index, "names", "name_id"), "name_id")
        .join(frame.select("qid", "lists"), on="qid")
        .filter(pl.col("lists").is_null() | pl.col("lists").list.contains(pl.col("list_code")))
        .join(
            frame.select(
                "qid",
                pl.col("tokens").alias("q_tokens"),
                pl.col("repeated").alias("q_repeated"),
                pl.col("transliterated").alias("q_transliterated"),
                in_syllable_script(pl.col("full_name")).alias("q_syllabic"),
                in_abjad_script(pl.col("full_name")).alias("q_abjad"),
                pl.col("birth_date").alias("q_birth_date"),
                pl.col("nationality").alias("q_nationality"),
                pl.col("entity_type").alias("q_entity_type"),
                "search_type",
            ),
            on="qid",
        )
        .pipe(
            join_sorted,
            sorted_by(index, "entries", "entity_id").select(
                "entity_id",
                pl.col("birth_dates").alias("c_birth_dates"),
                pl.col("nationalities").alias("c_nationalities"),
                pl.col("entity_type").alias("c_entity_type"),
            ),
            "entity_id",
            how="left",
        )
        .rename(
            {
                "tokens": "c_tokens",
                "repeated": "c_repeated",
                "transliterated": "c_transliterated",
                "name": "matched_name",
            }
        )
        .with_row_index("pair")
    )
    # Pairs below every threshold of the chunk can never be reported.
    min_score = frame["threshold"].min() or 0.0
    weights = sorted_by(index, "token_weights", "token")
    scored = score_pairs(pairs, weights, min_score, list_token_features(index))
    return (
        scored.filter(_search_type_allows())
        # Ties broken by name, so one entity gets the same answer in any batch.
        .sort(["qid", "entity_id", "score", "matched_name"], descending=[False, False, True, False])
        .unique(["qid", "entity_id"], keep="first", maintain_order=True)
        .select("qid", "entity_id", "score", "match_type", "matched_name", "details")
    )


def _search_type_allows() -> pl.Expr:
    """exact: the same parts, all equal; token: every query part present as is; fuzzy:
    spelling evidence (edit distance, with its phonetic confirmation) but no vowel-blind
    skeleton matches; composite: everything."""
    all_exact = (
        pl.col("n_fuzzy") + pl.col("n_phonetic") + pl.col("n_skeleton") + pl.col("n_initial")
    ) == 0
    search = pl.col("search_type")
    return (
        pl.when(search == "exact")
        .then(all_exact & (pl.col("q_unmatched") == 0) & (pl.col("c_unmatched") == 0))
        .when(search == "token")
        .then(all_exact & (pl.col("q_unmatched") == 0))
        .when(search == "fuzzy")
        .then(pl.col("n_skeleton") == 0)
        .otherwise(True)
    )


def search_type_allows_one(kind: str, align: Alignment) -> bool:
    """_search_type_allows for one pair."""
    all_exact = align.n_fuzzy + align.n_phonetic + align.n_skeleton + align.n_initial == 0
    if kind == "exact":
        return all_exact and align.q_unmatched == 0 and align.c_unmatched == 0
    if kind == "token":
        return all_exact and align.q_unmatched == 0
    if kind == "fuzzy":
        return align.n_skeleton == 0
    return True


_IDENTIFIER_HITS = {
    "qid": pl.Int64,
    "entity_id": pl.Utf8,
    "score": pl.Float64,
    "match_type": pl.Utf8,
    "matched_name": pl.Utf8,
    "details": pl.Utf8,
}


def _identifier_matches(frame: pl.DataFrame, index: WatchlistIndex) -> pl.DataFrame:
    """Exact identifier hits, value first: any query identifier equal to any listed one."""
    if frame.select(pl.col("id_values").list.len().sum()).item() == 0:
        return pl.DataFrame(schema=_IDENTIFIER_HITS)
    hits = (
        frame.select("qid", pl.col("id_values").alias("value_key"), "lists")
        .explode("value_key")
        .drop_nulls("value_key")
        .pipe(join_sorted, sorted_by(index, "identifiers", "value_key"), "value_key")
        .with_columns(pl.col("entity_id").str.extract(r"^(.*)-[^-]*$", 1).alias("list_code"))
        .filter(pl.col("lists").is_null() | pl.col("lists").list.contains(pl.col("list_code")))
    )
    details = pl.struct(
        pl.struct(pl.col("id_type").alias("type"), "value").alias("identifier"),
        pl.lit(1.0).alias("total"),
    ).struct.json_encode()
    return hits.select(
        "qid",
        "entity_id",
        pl.lit(1.0).alias("score"),
        pl.lit("identifier").alias("match_type"),
        pl.lit(None, pl.Utf8).alias("matched_name"),
        details.alias("details"),
    ).unique(["qid", "entity_id"], keep="first")


def _select_matches(
    scored: pl.DataFrame, frame: pl.DataFrame, index: WatchlistIndex, max_matches: int
) -> pl.DataFrame:
    """Per query: entries at or above its threshold, best first, at most max_matches."""
    if scored.is_empty():
        return pl.DataFrame(schema={"qid": pl.Int64, "matches": pl.List(MATCH)})
    entries = sorted_by(index, "entries", "entity_id").select(
        "entity_id", pl.col("list_code").alias("list_name"), "programs", "match_data"
    )
    best = (
        scored.join(frame.select("qid", "threshold"), on="qid")
        .filter(pl.col("score") >= pl.col("threshold"))
        .sort(["qid", "score", "match_type", "entity_id"], descending=[False, True, False, False])
        .unique(["qid", "entity_id"], keep="first", maintain_order=True)
        .filter(pl.int_range(pl.len()).over("qid") < max_matches)
        .pipe(join_sorted, entries, "entity_id", how="left")
        .with_columns(pl.col("matched_name").fill_null(pl.col("match_data").struct.field("name")))
    )
    match = pl.struct(
        "entity_id",
        "list_name",
        pl.col("score").alias("confidence_score"),
        "match_type",
        "matched_name",
        "programs",
        "match_data",
        "details",
    ).cast(MATCH)
    return best.group_by("qid", maintain_order=True).agg(match.alias("matches"))


def _results(frame: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    failed = pl.col("error").is_not_null()
    out = frame.select("qid", "row", "error").join(
        matches, on="qid", how="left", maintain_order="left"
    )
    count = pl.col("matches").list.len().fill_null(0).cast(pl.Int64)
    return out.select(
        "row",
        pl.when(failed).then(pl.lit("failed")).otherwise(pl.lit("completed")).alias("status"),
        pl.when(failed).then(None).otherwise(count > 0).alias("is_match"),
        pl.when(failed).then(None).otherwise(count).alias("match_count"),
        pl.col("matches").fill_null(pl.lit([], dtype=pl.List(MATCH))),
        "error",
        pl.lit(ENGINE_VERSION).alias("engine_version"),
    ).cast(dict(RESULT))
