"""OFAC Specially Designated Nationals (SDN) list, legacy CSV set.

See data/sources/ofac_legacy.py for the format and data/sources/ofac_remarks.py for the facts
read from the remarks.
"""

from __future__ import annotations

from pathlib import Path

from data.schema import ParsedList
from data.sources.ofac_legacy import LegacyFiles, parse_legacy_set

LIST_CODE = "ofac"
FOLDER = "ofac"
_BASE = "https://www.treasury.gov/ofac/downloads"
FILES: dict[str, str] = {
    "sdn.csv": f"{_BASE}/sdn.csv",
    "add.csv": f"{_BASE}/add.csv",
    "alt.csv": f"{_BASE}/alt.csv",
    "sdn_comments.csv": f"{_BASE}/sdn_comments.csv",
}
REQUIRED: tuple[str, ...] = ("sdn.csv",)


def parse(files: dict[str, Path]) -> ParsedList:
    """The SDN list from its local files (file name -> path; only sdn.csv is required)."""
    return parse_legacy_set(
        LIST_CODE,
        LegacyFiles(
            primary=files["sdn.csv"],
            aliases=files.get("alt.csv"),
            addresses=files.get("add.csv"),
            comments=files.get("sdn_comments.csv"),
        ),
    )
