"""The screening engine, pure: DataFrames and a prepared index in, DataFrames out.

    index = build_index(watchlist)           # once per snapshot version
    results = screen(queries, index, threshold=DEFAULT_THRESHOLD, max_matches=10)
    result = check(one_row, index, threshold=DEFAULT_THRESHOLD, max_matches=10)  # POST /kyc
    scores = score_name_pairs(names1, names2) # the name score alone, for pair benchmarks

normalize.py (names to tokens) -> index.py (per snapshot) -> blocking.py (candidates) ->
score.py with algorithm.py and compare/ (features) -> screen.py (results); one_entity.py
answers check() with the same rules in plain Python. Tunables live in config.py;
ENGINE_VERSION in version.py.
"""

from matching.config import DEFAULT_THRESHOLD
from matching.index import WatchlistIndex, build_index
from matching.one_entity import check
from matching.pairs import score_name_pairs
from matching.screen import SEARCH_TYPES, screen
from matching.version import ENGINE_VERSION

__all__ = [
    "DEFAULT_THRESHOLD",
    "ENGINE_VERSION",
    "SEARCH_TYPES",
    "WatchlistIndex",
    "build_index",
    "check",
    "score_name_pairs",
    "screen",
]
