"""summed_per_pair: the per-pair sums of align_parts' _best, bit for bit polars' group-by."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from matching.compare.names import SEQUENTIAL_SUM_LIMIT, summed_per_pair


def _terms(sizes: np.ndarray, seed: int, sorted_flag: bool = True) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pair = pl.Series("pair", np.repeat(np.arange(0, 3 * sizes.size, 3, dtype=np.uint32), sizes))
    values = rng.random(pair.len()) * rng.choice([1e-3, 1.0, 1e3], pair.len())
    return pl.DataFrame(
        {
            "pair": pair.set_sorted() if sorted_flag else pair,
            "weight": values,
            "found": values > 0.5,
            "unmatched": values * (1.0 - rng.random(pair.len())),
        }
    )


def _by_polars(terms: pl.DataFrame) -> pl.DataFrame:
    return terms.group_by("pair").agg(pl.all().sum()).sort("pair")


@pytest.mark.parametrize("longest", [2, 9, 40, SEQUENTIAL_SUM_LIMIT - 1, SEQUENTIAL_SUM_LIMIT + 20])
def test_sums_are_polars_bit_for_bit(longest: int) -> None:
    sizes = np.random.default_rng(longest).integers(1, longest + 1, 4000)
    terms = _terms(sizes, seed=longest)
    assert_frame_equal(summed_per_pair(terms).sort("pair"), _by_polars(terms), check_exact=True)


def test_float_sums_follow_row_order() -> None:
    """1e16 + 1 + 1 is 1e16 added in this order, 1e16 + 2 in another: the sums keep it."""
    terms = pl.DataFrame(
        {"pair": pl.Series([0, 0, 0, 1, 1, 1], dtype=pl.UInt32).set_sorted(),
         "value": [1e16, 1.0, 1.0, 1.0, 1.0, 1e16]}
    )  # fmt: skip
    summed = summed_per_pair(terms).sort("pair")
    assert summed["value"].to_list() == [1e16, 1e16 + 2.0]
    assert_frame_equal(summed, _by_polars(terms), check_exact=True)


def test_unsorted_pairs_and_empty_input_take_polars_path() -> None:
    terms = _terms(np.array([3, 1, 2]), seed=1, sorted_flag=False).reverse()
    assert_frame_equal(summed_per_pair(terms).sort("pair"), _by_polars(terms), check_exact=True)
    empty = terms.head(0)
    assert summed_per_pair(empty).schema == _by_polars(empty).schema
