"""Monitored books for the rescreen benchmark (bench/book.py) and its tests
(tests/test_monitoring.py): generated customers with perturbed names of newly listed
entries mixed in, built one way for both, so that the benchmark measures the book the
tests hold equal both ways (reverse and full)."""

from __future__ import annotations

import numpy as np
import polars as pl

from bench.generate import entities
from bench.quality import perturb
from data.entities import ENTITY_SCHEMA
from data.store import SnapshotStore

# The seed of the typos put into the listed names (bench.quality.perturb).
PERTURB_SEED = 8


def newly_listed_names(
    snapshots: SnapshotStore, version: str, list_code: str, count: int, rng: np.random.Generator
) -> list[str]:
    """The primary names of ``count`` entries of ``list_code`` that snapshot ``version``
    added (its diff against the one before), drawn with ``rng`` from them in entry_id
    order, and kept in that order."""
    added = snapshots.diff(version).filter(
        (pl.col("change") == "added") & (pl.col("list_code") == list_code)
    )
    listed = (
        snapshots.open(version)
        .entries.join(added.select("list_code", "entry_id"), on=["list_code", "entry_id"])
        .sort("entry_id")["primary_name"]
    )
    picked = np.sort(rng.choice(listed.len(), count, replace=False))
    return listed.gather(picked.tolist()).to_list()


def book_frame(
    generated: int,
    listed: list[str],
    *,
    seed: int = 3,
    verbatim: list[str] | None = None,
    id_prefix: str = "c",
) -> pl.DataFrame:
    """The canonical entity frame (data.entities.ENTITY_SCHEMA) of a book: ``generated``
    customers (bench.generate.entities with ``seed``), then the ``listed`` names with a
    human's typos (perturb), then the ``verbatim`` names as they are. Row n is entity
    ``<id_prefix><n>``."""
    customers = entities(generated, seed=seed).drop("row")
    names = perturb(listed, seed=PERTURB_SEED) + list(verbatim or [])
    frame = pl.concat(
        [customers, pl.DataFrame({"full_name": names}, schema={"full_name": pl.Utf8})],
        how="diagonal_relaxed",
    ).with_row_index("row")
    return frame.with_columns(
        pl.col("row").cast(pl.Int64),
        pl.format("{}{}", pl.lit(id_prefix), pl.col("row")).alias("entity_id"),
    ).select(
        pl.col(c).cast(d) if c in frame.columns or c == "entity_id" else pl.lit(None, d).alias(c)
        for c, d in ENTITY_SCHEMA.items()
    )
