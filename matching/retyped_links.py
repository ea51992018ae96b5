"""Blocking links for a word with two typing errors that no key reaches.

Deletion keys link a query word one typing error from a list token, and two-deletion keys
link long words two errors off (MIN_TWO_ERROR_LIST_LEN). A shorter word with two errors
("Mphakmad" / "Muhammad", "Vwela" / "Varela", "Assxda" / "Assad") shares no key with its
list token, or only with other list words one error off ("Vela", "Villa"), so a name whose
other part is found ("Emad", "Fredy") lacked a second part and never reached scoring's
RETYPED rule. Here each query word that is no list token is compared with the list tokens
of its first letter and of a length at most RETYPED_MAX_EDITS apart (OSA distance,
rapidfuzz's C++ cdist, one call per first letter and length): each within RETYPED_MAX_EDITS
is a weak link (RETYPED_LINK_SIM), which adds to a name only where the query's other parts
already found it (blocking.found_in_names), never alone.

Each word is looked up once per index (the token cache remembers its links), in about
40 ns per list token compared: a customer's book repeats its words, so the cost is paid
on its first chunks.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matching import config

# (first letter, length) -> the list tokens of that first letter and a length within
# RETYPED_MAX_EDITS of it: the tokens, their ids, their lengths.
Table = dict[tuple[str, int], tuple[list[str], np.ndarray, np.ndarray]]

LINK_SCHEMA = {"token": pl.Utf8, "token_id": pl.Int64, "sim": pl.Float64}
_EDITS = config.RETYPED_MAX_EDITS


def retyped_table(vocab: pl.DataFrame) -> Table:
    """vocab: token, token_id -> the list tokens to compare per (first letter, length)."""
    by_start: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for token, token_id in vocab.select("token", "token_id").iter_rows():
        if token.isascii() and token.isalpha():
            by_start[(token[0], len(token))].append((token, token_id))
    table: Table = {}
    for first, length in {(f, n + d) for f, n in by_start for d in range(-_EDITS, _EDITS + 1)}:
        rows = [
            row
            for near in range(length - _EDITS, length + _EDITS + 1)
            for row in by_start.get((first, near), ())
        ]
        if rows:
            table[(first, length)] = (
                [t for t, _ in rows],
                np.array([i for _, i in rows], dtype=np.int64),
                np.array([len(t) for t, _ in rows], dtype=np.int64),
            )
    return table


def index_table(index: Any) -> Table:
    """The whole vocabulary's table, made once per index (a tenth of a second)."""
    table = index.derived.get("retyped_links.table")
    if table is None:
        table = index.derived["retyped_links.table"] = retyped_table(index.vocab)
    return table


def retyped_links(tokens: list[str], table: Table) -> pl.DataFrame:
    """token, token_id, sim: each token of MIN_RETYPED_LINK_LEN+ letters linked to the list
    tokens two typing errors off (the same first letter, the longer of MIN_RETYPED_LEN+
    letters: scoring's RETYPED part); a token with more than MAX_RETYPED_LINKS of them
    says too little and links none."""
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    for token in tokens:
        if len(token) >= config.MIN_RETYPED_LINK_LEN and token.isascii() and token.isalpha():
            groups[(token[0], len(token))].append(token)
    found_tokens: list[np.ndarray] = []
    found_ids: list[np.ndarray] = []
    for (first, length), queries in groups.items():
        if (first, length) not in table:
            continue
        words, ids, lengths = table[(first, length)]
        distance = process.cdist(
            queries, words, scorer=OSA.distance, score_cutoff=_EDITS, dtype=np.int8
        )
        near = (distance > 0) & (distance <= _EDITS)
        near &= np.maximum(lengths, length) >= config.MIN_RETYPED_LEN
        row, col = np.nonzero(near)
        keep = np.bincount(row, minlength=len(queries))[row] <= config.MAX_RETYPED_LINKS
        found_tokens.append(np.asarray(queries, dtype=object)[row[keep]])
        found_ids.append(ids[col[keep]])
    linked = np.concatenate([np.zeros(0, dtype=object), *found_tokens])
    return pl.DataFrame(
        {
            "token": linked.tolist(),
            "token_id": np.concatenate([np.zeros(0, dtype=np.int64), *found_ids]),
            "sim": np.full(linked.size, config.RETYPED_LINK_SIM),
        },
        schema=LINK_SCHEMA,
    )
