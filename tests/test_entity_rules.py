"""Input rules found by a black-box test: what a job may hold is what a single check may hold,
ids never collide, and every rejection says what is wrong, where, in the user's terms."""

from __future__ import annotations

import io
import time

import polars as pl
import pytest

from data.entities import (
    MAX_NAME_LENGTH,
    EntityValidationError,
    entities_from_records,
    read_entities,
)


def problems(call) -> list[dict[str, str]]:
    with pytest.raises(EntityValidationError) as caught:
        call()
    return caught.value.details


def named(full_name: str, **subject: str) -> list[dict]:
    return [{"entity_id": "e1", "subject": {"full_name": full_name, **subject}}]


@pytest.mark.parametrize("name", ["😀😀", "!!!", "— …", "Mr.", "the", "Señor", "ـــ", "  &  "])
def test_a_name_with_nothing_to_screen_is_refused(name: str) -> None:
    details = problems(lambda: entities_from_records(named(name)))
    assert details == [
        {
            "loc": "entities[0].subject.full_name",
            "message": "nothing to screen: no letters or digits besides titles",
        }
    ]


@pytest.mark.parametrize(
    "name", ["Li", "محمد علي", "Ⅻ Legion", "O'Brien", "Mr. Ng", "金正恩", "007"]
)
def test_short_foreign_and_titled_names_are_accepted(name: str) -> None:
    assert entities_from_records(named(name)).height == 1


def test_a_nameless_subject_with_an_identifier_is_screened_by_the_identifier() -> None:
    frame = entities_from_records(named("???", imo_number="9187629"))
    assert frame["imo_number"].to_list() == ["9187629"]


@pytest.mark.parametrize(
    ("subject", "entity_id", "loc"),
    [
        ({"full_name": "John\x00Doe"}, "e1", "subject.full_name"),
        ({"full_name": "John\x1bDoe"}, "e1", "subject.full_name"),
        ({"full_name": "John\x85Doe"}, "e1", "subject.full_name"),
        ({"full_name": "John Doe"}, "e\x001", "entity_id"),
        ({"full_name": "John Doe", "document_id": "12\x0034"}, "e1", "subject.document_id"),
        (
            {"full_name": "John Doe", "identifiers": [{"type": "tax", "value": "9\x07"}]},
            "e1",
            "subject.identifiers",
        ),
    ],
)
def test_control_characters_are_refused_in_names_and_ids(
    subject: dict, entity_id: str, loc: str
) -> None:
    details = problems(
        lambda: entities_from_records([{"entity_id": entity_id, "subject": subject}])
    )
    assert details == [
        {"loc": f"entities[0].{loc}", "message": "control characters are not allowed"}
    ]


def test_names_longer_than_the_documented_limit_are_refused() -> None:
    assert entities_from_records(named("A" * MAX_NAME_LENGTH)).height == 1
    details = problems(lambda: entities_from_records(named("A" * (MAX_NAME_LENGTH + 1))))
    assert details == [
        {
            "loc": "entities[0].subject.full_name",
            "message": f"longer than {MAX_NAME_LENGTH} characters",
        }
    ]


def test_default_ids_never_collide_with_the_clients_own() -> None:
    """Row 2 has no id: it gets "#2", not "2", so an explicit "2" elsewhere is no duplicate."""
    records = [
        {"entity_id": "2", "subject": {"full_name": "Ann Example"}},
        {"subject": {"full_name": "Bob Example"}},
        {"entity_id": "1", "subject": {"full_name": "Cy Example"}},
    ]
    assert entities_from_records(records)["entity_id"].to_list() == ["2", "#2", "1"]
    csv = b"entity_id,full_name\n2,Ann Example\n,Bob Example\n"
    assert read_entities(csv, "csv")["entity_id"].to_list() == ["2", "#2"]


def test_ids_may_not_take_the_default_form_nor_be_empty() -> None:
    reserved = [{"entity_id": "#1", "subject": {"full_name": "Ann Example"}}]
    assert problems(lambda: entities_from_records(reserved)) == [
        {
            "loc": "entities[0].entity_id",
            "message": "ids beginning with '#' are reserved for rows without one",
        }
    ]
    empty = [{"entity_id": "", "subject": {"full_name": "Ann Example"}}]
    assert problems(lambda: entities_from_records(empty)) == [
        {"loc": "entities[0].entity_id", "message": "empty; leave entity_id out to get a default"}
    ]


def test_a_list_the_snapshot_does_not_hold_is_named() -> None:
    records = [{"entity_id": "e1", "subject": {"full_name": "Ann Example"}, "lists": ["eu"]}]
    details = problems(lambda: entities_from_records(records, loaded_lists=["ofac", "un"]))
    assert details[0]["loc"] == "entities[0].lists"
    assert "not loaded in the current watchlist snapshot; loaded: ofac, un" in details[0]["message"]
    assert entities_from_records(records).height == 1  # every known list, by default


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        (b"full_name;birth_date\nJohn Doe;1980\n", "header", "';'-separated"),
        (b"full_name\tbirth_date\nJohn Doe\t1980\n", "header", "tab-separated"),
        (b"John Doe,1980\nJane Roe,1990\n", "header", "the first line must name the columns"),
        (b'full_name,birth_date\n"John Doe,1980\nJane Roe,1990\n', "row 1", "never closed"),
        (b"full_name,birth_date\nJohn Doe,1980,x\n", "row 1", "expected 2 fields"),
        (b"full_name\n\xff\xfe\n", "byte", "not UTF-8"),
    ],
)
def test_csv_problems_are_said_in_the_users_terms(body: bytes, loc: str, fragment: str) -> None:
    details = problems(lambda: read_entities(body, "csv"))
    assert details[0]["loc"].startswith(loc), details
    assert fragment in details[0]["message"], details
    assert "polars" not in details[0]["message"].lower()


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        (b"[1,2]\n", "row 1", "expected a JSON object (one entity per line), found a JSON array"),
        (b'{"full_name":"Ann Example"}\n"text"\n', "row 2", "found a JSON str"),
        (
            b'{"full_name":"Ann Example"}\n{"subject":{"full_name":"Bob Example"}}\n',
            "row 2",
            "the same shape",
        ),
        (b'{"full_name":"Ann Example"}\n{"full_name": \n', "row 2", "invalid JSON"),
        (b'{"full_name":"\xff"}\n', "byte", "not UTF-8"),
    ],
)
def test_ndjson_problems_name_the_line(body: bytes, loc: str, fragment: str) -> None:
    details = problems(lambda: read_entities(body, "ndjson"))
    assert details[0]["loc"].startswith(loc), details
    assert fragment in details[0]["message"], details


def test_a_million_rows_still_validate_in_seconds() -> None:
    """The name rule reads every name: it must stay a whole-column test."""
    n = 1_000_000
    frame = pl.DataFrame(
        {
            "entity_id": pl.int_range(n, eager=True).cast(pl.Utf8),
            "full_name": pl.Series(["Mr. John Smith", "Анна Петрова", "Señora Ruiz"] * n)[:n],
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    started = time.perf_counter()
    assert read_entities(buffer.getvalue(), "parquet").height == n
    assert time.perf_counter() - started < 15
