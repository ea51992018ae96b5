"""normalize_one (plain Python, one name) against normalize_names (Polars, a column): a
differential test over every real name we have and hand-picked edge cases. The two must
give exactly the same tokens and transliterated flag."""

from __future__ import annotations

import polars as pl
import pytest

from matching.normalize import normalize_names, normalize_one, repeated_one
from tests.conftest import EVAL

EDGE_CASES: list[str | None] = [
    None,
    "",
    "   ",
    "\t\n",
    "😀🚀",
    "Ivan 😀 Petrov",
    "x" * 10_000,
    "Vladimir Putin " * 700,
    "ВладимирПутин" * 1_000,
    "VladimirPutin",
    "VladimirPUTIN",
    "ReDIOPRIBOR",
    "SiemensAG",
    "A.B.C. Ltd",
    "a.b.c.d.e.f.",
    "G.m.b.H.",
    "S.A.R.L. Dupont",
    "p.l.c.",
    "V. V. Putin",
    "Forty-Four Brigade",
    "Brigade 44",
    "twenty one seventy",
    "Ig0r Sech1n",
    "B0RIS R0TENBERG 1st",
    "فلاديمير بوتين",
    "عبد الرحمن بن محمد الأحمد",
    "محمد‎ بن سلمان",
    "Путин Владимир Владимирович",
    "ООО «Газпром нефть»",
    "Общество с ограниченной ответственностью Ромашка",
    "Закрытое акционерное общество Север",
    "Obshchestvo s Ogranichennoy Otvetstvennostyu Romashka",
    "Publichnoe Aktsionernoe Obshchestvo Sberbank",
    "习近平",
    "東京・太郎",
    "김정은",
    "Κυριάκος Μητσοτάκης",
    "ΣΙΣΥΦΟΣ Σίσυφος",
    "Ivan Иванов 李",
    "Müller-Lüdenscheidt GmbH & Co. KG",
    "İstanbul Şirketi A.Ş.",
    "O'Neil d’Arcy ʼAbd",
    "Ivan  Petrov",
    "Ivan\tPetrov",
    "Ivan\nPetrov\n",
    "\u00a0Ivan\u2003Petrov\u3000",
    "Abdulrahman",
    "ABDULRAHMAN Abdelaziz abdulmohammed",
    "Mr Dr",
    "The Mr. Dr. Prof.",
    "Limited Liability Company",
    "l.l.c. s.r.l. s.p.a.",
    " ".join(f"Name{i}part" for i in range(20)),
    " ".join(f"Token{chr(97 + i)}" for i in range(20)),
    "Mohammed Mohamed Muhammad Mohammad",
    "e\u0301\u0301\u0301 Zalgo\u0336\u0336",
    "Ǆemal ǅemal",
    "ﬁrma ﬀ Ⅻ ①",
]

CASES = EVAL / "cases.csv"
PUTIN = EVAL / "putin_names.txt"


def _differences(names: list[str | None]) -> list[str]:
    """The names where normalize_one and repeated_one disagree with normalize_names, with
    both outputs."""
    frame = normalize_names(pl.Series("name", names, dtype=pl.Utf8))
    expected = {
        name: (tokens, flag, repeated)
        for name, tokens, repeated, flag in frame.select(
            "name", "tokens", "repeated", "transliterated"
        ).iter_rows()
    }
    differ = []
    for name in dict.fromkeys(names):
        # normalize_names drops a null name; its callers fill no tokens and False.
        want = expected.get(name, ([], False, [])) if name is not None else ([], False, [])
        got = (*normalize_one(name), repeated_one(name))
        if got != want:
            differ.append(f"{name!r:.120}: normalize_one {got} != normalize_names {want}")
    return differ


def _assert_same(names: list[str | None]) -> None:
    differ = _differences(names)
    assert not differ, f"{len(differ)} of {len(set(names))} names differ:\n" + "\n".join(differ[:8])


def test_edge_cases_normalise_alike() -> None:
    _assert_same(EDGE_CASES)


def test_eval_names_normalise_alike() -> None:
    cases = pl.read_csv(CASES, columns=["name1", "name2"], infer_schema=False)
    putin = PUTIN.read_text(encoding="utf-8").splitlines()
    names = [*cases["name1"], *cases["name2"], *putin]
    assert len(set(names)) > 1_000
    _assert_same(names)


@pytest.mark.timeout(60)
def test_watchlist_names_normalise_alike(watchlist) -> None:
    names = watchlist.names["name"].unique().to_list()
    assert len(names) > 10_000
    _assert_same(names)


def test_returns_a_fresh_list() -> None:
    tokens, _ = normalize_one("Vladimir Putin")
    tokens.append("changed")
    assert normalize_one("Vladimir Putin") == (["vladimir", "putin"], False)
