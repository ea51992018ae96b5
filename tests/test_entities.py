"""data/entities.py: every input format to one validated frame; results out in three formats."""

from __future__ import annotations

import io
import json
import time

import msgspec
import polars as pl
import pytest

from data.entities import ENTITY_SCHEMA, EntityValidationError, entities_from_records, read_entities
from data.results import RESULT_SCHEMA, write_results

GOOD = [
    {
        "entity_id": "e1",
        "subject": {"full_name": "John Doe", "nationality": "us", "birth_date": "1985-03-15"},
        "lists": ["ofac", "UN"],
        "search_type": "composite",
    },
    {
        "entity_id": "e2",
        "subject": {
            "full_name": "Jane Smith",
            "document_id": "12345678",
            "document_type": "CI",
            "nationality": "UY",
        },
    },
    {"subject": {"identifiers": [{"type": "IMO", "value": "9187629"}]}},
]


def problems(call) -> list[dict[str, str]]:
    with pytest.raises(EntityValidationError) as caught:
        call()
    return caught.value.details


def test_records_become_the_canonical_frame() -> None:
    frame = entities_from_records(GOOD)
    assert frame.schema == ENTITY_SCHEMA
    assert frame["row"].to_list() == [0, 1, 2]
    assert frame["entity_id"].to_list() == ["e1", "e2", "#3"]  # generated: "#" and the 1-based row
    assert frame["nationality"].to_list() == ["US", "UY", None]
    assert frame["lists"].to_list()[0] == ["ofac", "un"]
    assert frame["identifiers"].to_list()[2] == [{"type": "IMO", "value": "9187629"}]


@pytest.mark.parametrize(
    ("record", "loc", "fragment"),
    [
        ({"subject": {"full_name": 3}}, "entities[0].subject.full_name", "Expected `str"),
        ({"subject": {"nationality": "US"}}, "entities[0].subject.full_name", "required"),
        ({"subject": {"full_name": "A", "birth_date": "85"}}, ".birth_date", "YYYY-MM-DD"),
        ({"subject": {"full_name": "A", "birth_date": "1985-02-30"}}, ".birth_date", "real date"),
        ({"subject": {"full_name": "A", "nationality": "USA"}}, ".nationality", "alpha-2"),
        ({"subject": {"full_name": "A", "entity_type": "cat"}}, ".entity_type", "individual"),
        ({"subject": {"full_name": "A"}, "lists": ["nope"]}, "entities[0].lists", "unknown list"),
        ({"subject": {"full_name": "A"}, "search_type": "magic"}, ".search_type", "composite"),
        ({"subject": {"full_name": "A"}, "search_type": "llm_enhanced"}, ".search_type", "model"),
        ({"subject": {"full_name": "A", "identifiers": [{"value": " "}]}}, ".identifiers", "value"),
    ],
)
def test_each_bad_field_is_named(record: dict, loc: str, fragment: str) -> None:
    details = problems(lambda: entities_from_records([record]))
    assert loc in details[0]["loc"]
    assert fragment in details[0]["message"]


def test_many_problems_are_reported_not_just_the_first() -> None:
    records = [{"entity_id": "x", "subject": {"full_name": "A", "birth_date": "bad"}}] * 80
    details = problems(lambda: entities_from_records(records))
    assert len(details) == 50
    assert details[0] == {
        "loc": "entities[0].subject.birth_date",
        "message": "expected YYYY-MM-DD, YYYY-MM or YYYY",
    }
    assert {"loc": "entities[1].entity_id", "message": "duplicate entity_id"} in details


def test_empty_input_is_rejected() -> None:
    assert problems(lambda: entities_from_records([]))[0]["message"] == "no entities"
    assert problems(lambda: read_entities(b"entity_id,full_name\n", "csv"))


def test_csv_with_lists_and_both_identifier_notations() -> None:
    body = (
        b"entity_id,full_name,birth_date,lists,identifiers\n"
        b"a,John,1980,ofac;un,passport:123;tax:9\n"
        b'b,Jane,,,"[{""type"":""P"",""value"":""Z""}]"\n'
    )
    frame = read_entities(body, "csv")
    assert frame["lists"].to_list() == [["ofac", "un"], None]
    assert frame["identifiers"].to_list() == [
        [{"type": "passport", "value": "123"}, {"type": "tax", "value": "9"}],
        [{"type": "P", "value": "Z"}],
    ]


def test_a_bad_csv_row_is_named_by_row_and_column() -> None:
    body = b"entity_id,full_name,birth_date\na,Ann,1990\nb,Bob,1990-13\n"
    assert problems(lambda: read_entities(body, "csv")) == [
        {"loc": "row 2, column birth_date", "message": "not a real date"}
    ]
    ragged = b"entity_id,full_name\na,Ann\nb,Bob,extra\n"
    assert problems(lambda: read_entities(ragged, "csv"))[0]["loc"] == "row 2"


def test_ndjson_flat_rows_and_record_rows() -> None:
    flat = b'{"entity_id": "a", "full_name": "Ann", "lists": ["un"]}\n{"full_name": "Bob"}\n'
    assert read_entities(flat, "ndjson")["entity_id"].to_list() == ["a", "#2"]
    shaped = b"\n".join(json.dumps(r).encode() for r in GOOD)
    assert read_entities(shaped, "ndjson").height == 3


def test_parquet_million_rows_validates_fast() -> None:
    n = 1_000_000
    frame = pl.DataFrame(
        {
            "entity_id": pl.int_range(n, eager=True).cast(pl.Utf8),
            "full_name": pl.repeat("Person Name", n, eager=True),
            "birth_date": pl.repeat("1980-01-02", n, eager=True),
            "nationality": pl.repeat("DE", n, eager=True),
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    start = time.perf_counter()
    result = read_entities(buffer.getvalue(), "parquet")
    assert result.height == n
    assert time.perf_counter() - start < 10


def test_ten_thousand_json_entities_validate_fast() -> None:
    body = msgspec.json.encode(
        {
            "entities": [
                {"subject": {"full_name": f"P {i}", "birth_date": "1980"}} for i in range(10_000)
            ]
        }
    )
    start = time.perf_counter()
    assert read_entities(body, "json").height == 10_000
    assert time.perf_counter() - start < 1


def results_frame() -> pl.DataFrame:
    match = {
        "entity_id": "ofac-1",
        "list_name": "ofac",
        "confidence_score": 0.9,
        "match_type": "name_fuzzy",
        "matched_name": "DOE, John",
        "programs": ["SDGT"],
        "match_data": {"name": "John DOE", "aliases": [], "entity_type": "individual"},
        "details": '{"name_score": 0.91}',
    }
    rows = [
        {
            "row": 0,
            "entity_id": "e1",
            "status": "completed",
            "is_match": True,
            "match_count": 1,
            "matches": [match],
        },
        {
            "row": 1,
            "entity_id": "e2",
            "status": "failed",
            "is_match": False,
            "match_count": 0,
            "matches": [],
            "error": "x",
        },
    ]
    return pl.DataFrame(rows, schema=RESULT_SCHEMA)


def test_results_as_ndjson_csv_and_parquet() -> None:
    frame = results_frame()
    out = io.BytesIO()
    write_results([frame, frame], "ndjson", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 4
    assert lines[0]["matches"][0]["details"] == {"name_score": 0.91}
    assert lines[1] == {
        "entity_id": "e2",
        "status": "failed",
        "is_match": False,
        "match_count": 0,
        "matches": [],
        "error": "x",
    }
    out = io.BytesIO()
    write_results(frame, "csv", out)
    table = pl.read_csv(out.getvalue())
    assert table["entity_id"].to_list() == ["e1", "e2"]  # the entity without matches keeps a row
    assert table["match_entity_id"].to_list() == ["ofac-1", None]
    out = io.BytesIO()
    write_results([frame, frame], "parquet", out)
    back = pl.read_parquet(out.getvalue())
    assert back.height == 4
    assert back["matches"].to_list()[0][0]["programs"] == ["SDGT"]
