"""rows_of: each probe's row in sorted distinct keys, by binary search or by hash alike."""

from __future__ import annotations

import polars as pl
import pytest

from matching.lookup import BINARY_SEARCH_RATIO, rows_of

KEYS = pl.Series("token", sorted({f"t{n * 7 % 1000:04d}" for n in range(1000)}))


@pytest.mark.parametrize("probe_count", [1, KEYS.len() // BINARY_SEARCH_RATIO + 1, 50_000])
def test_rows_are_search_sorted_rows(probe_count: int) -> None:
    """Few probes take the binary search, many the Enum cast: the same rows, same dtype."""
    probes = KEYS.gather([(n * 37) % KEYS.len() for n in range(probe_count)])
    rows = rows_of(KEYS, probes)
    expected = KEYS.search_sorted(probes)
    assert rows.dtype == expected.dtype
    assert rows.to_list() == expected.to_list()
    assert (KEYS.gather(rows) == probes).all()


def test_null_probes_take_the_binary_search() -> None:
    probes = pl.Series("token", ["t0001", None] * 1000)
    assert rows_of(KEYS, probes).to_list() == KEYS.search_sorted(probes).to_list()
