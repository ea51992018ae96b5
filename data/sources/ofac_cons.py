"""OFAC Consolidated (non-SDN) list, legacy CSV set: the same format as the SDN files.

See data/sources/ofac_legacy.py for the format and data/sources/ofac_remarks.py for the facts
read from the remarks.
"""

from __future__ import annotations

from pathlib import Path

from data.schema import ParsedList
from data.sources.ofac_legacy import LegacyFiles, parse_legacy_set

LIST_CODE = "ofac_cons"
FOLDER = "ofac_consolidated"
_BASE = "https://www.treasury.gov/ofac/downloads/consolidated"
FILES: dict[str, str] = {
    "cons_prim.csv": f"{_BASE}/cons_prim.csv",
    "cons_add.csv": f"{_BASE}/cons_add.csv",
    "cons_alt.csv": f"{_BASE}/cons_alt.csv",
    "cons_comments.csv": f"{_BASE}/cons_comments.csv",
}
REQUIRED: tuple[str, ...] = ("cons_prim.csv",)


def parse(files: dict[str, Path]) -> ParsedList:
    """The consolidated list from its local files (only cons_prim.csv is required)."""
    return parse_legacy_set(
        LIST_CODE,
        LegacyFiles(
            primary=files["cons_prim.csv"],
            aliases=files.get("cons_alt.csv"),
            addresses=files.get("cons_add.csv"),
            comments=files.get("cons_comments.csv"),
        ),
    )
