"""Synthetic screening queries for the benchmarks: realistic non-listed names, fixed seed.

Faker in many locales gives person and company names; a large frame is built by recombining
a pool of given names and surnames with numpy (Faker itself is too slow for a million rows).
Transliterated locales (ru_RU, ja_JP, zh_CN, ar_AA ...) keep their own script.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from faker import Faker

LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "pt_BR", "nl_NL", "pl_PL",
    "tr_TR", "ru_RU", "uk_UA", "ja_JP", "zh_CN", "ko_KR", "ar_AA", "fa_IR", "hi_IN", "id_ID",
    "vi_VN", "sv_SE", "cs_CZ", "el_GR", "he_IL",
)  # fmt: skip


def faker_names(per_locale: int, seed: int = 7) -> pl.DataFrame:
    """full_name, entity_type, locale: persons and companies from every locale."""
    rows: list[tuple[str, str, str]] = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for i in range(per_locale):
            if i % 4 == 3:
                rows.append((fake.company(), "organization", locale))
            else:
                rows.append((f"{fake.first_name()} {fake.last_name()}", "individual", locale))
    return pl.DataFrame(rows, schema=["full_name", "entity_type", "locale"], orient="row")


def name_parts(per_locale: int, seed: int = 11) -> tuple[list[str], list[str], list[str]]:
    """Pools of given names, surnames and company names across locales."""
    first: list[str] = []
    last: list[str] = []
    companies: list[str] = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        first += [fake.first_name() for _ in range(per_locale)]
        last += [fake.last_name() for _ in range(per_locale)]
        companies += [fake.company() for _ in range(per_locale // 4)]
    return first, last, companies


def entities(n: int, seed: int = 3) -> pl.DataFrame:
    """n query rows (row, full_name, entity_type, birth_date, nationality): 80% persons."""
    rng = np.random.default_rng(seed)
    first, last, companies = name_parts(400)
    first_a, last_a, comp_a = np.array(first), np.array(last), np.array(companies)
    persons = rng.random(n) < 0.8
    middle = rng.random(n) < 0.2
    names = np.where(
        persons,
        np.char.add(
            np.char.add(first_a[rng.integers(0, len(first_a), n)], " "),
            np.where(
                middle,
                np.char.add(first_a[rng.integers(0, len(first_a), n)], " "),
                "",
            ),
        ),
        "",
    )
    names = np.where(
        persons,
        np.char.add(names, last_a[rng.integers(0, len(last_a), n)]),
        comp_a[rng.integers(0, len(comp_a), n)],
    )
    years = rng.integers(1940, 2005, n)
    months = rng.integers(1, 13, n)
    days = rng.integers(1, 29, n)
    return pl.DataFrame(
        {
            "row": np.arange(n, dtype=np.int64),
            "full_name": names,
            "entity_type": np.where(persons, "individual", "organization"),
            "birth_date": [
                f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(years, months, days, strict=True)
            ],
            "nationality": rng.choice(["US", "GB", "DE", "FR", "RU", "CN", "BR", "IN"], n),
        }
    ).with_columns(
        pl.when(pl.col("entity_type") == "individual")
        .then(pl.col("birth_date"))
        .alias("birth_date")
    )
