"""Blocking's sums written the cheap way give the values the plain sparse algebra gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from matching import config
from matching.blocking import PARTS_UNIT, with_weak_links


def _product(rng: np.random.Generator, shape: tuple[int, int], seed: int) -> sparse.csr_matrix:
    """A matrix as blocking's products leave it: encoded values (parts and weight), indices
    unsorted within rows (a sparse product's order)."""
    inner = 30
    left = sparse.random(shape[0], inner, density=0.2, format="csr", random_state=seed)
    left.data = PARTS_UNIT * rng.integers(0, 3, left.nnz) + rng.random(left.nnz)
    right = sparse.random(inner, shape[1], density=0.15, format="csr", random_state=seed + 1)
    right.data[:] = 1.0
    return (left @ right).tocsr()


def _masked_sum(found: sparse.csr_matrix, weak_found: sparse.csr_matrix) -> sparse.csr_matrix:
    """The rule in plain sparse algebra: found, plus weak_found where found's weight (below
    PARTS_UNIT) reaches WEAK_LINK_MIN_REST."""
    where_weak = weak_found.copy()
    where_weak.data = np.ones_like(where_weak.data)
    rest = found.multiply(where_weak).tocsr()
    weight = rest.data - np.floor(rest.data / PARTS_UNIT) * PARTS_UNIT
    rest.data = (weight >= config.WEAK_LINK_MIN_REST).astype(np.float64)
    return (found + weak_found.multiply(rest)).tocsr()


@pytest.mark.parametrize("seed", range(20))
def test_weak_links_added_in_place_are_the_masked_sum(seed: int) -> None:
    """Every value of the firm product, plus the weak product's where the firm one found
    WEAK_LINK_MIN_REST of weight: the same values, bit for bit, whatever their order."""
    rng = np.random.default_rng(seed)
    found = _product(rng, (60, 80), 2 * seed)
    weak = _product(rng, (60, 80), 2 * seed + 1000)
    assert found.nnz and weak.nnz
    expected = _masked_sum(found.copy(), weak.copy())
    got = with_weak_links(found.copy(), weak.copy())
    expected.sort_indices()
    got.sort_indices()
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)
    # The rule is exercised: some values gain a weak link's weight, others do not.
    weight = found.data - np.floor(found.data / PARTS_UNIT) * PARTS_UNIT
    assert (weight >= config.WEAK_LINK_MIN_REST).any()
