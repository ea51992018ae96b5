"""`kyc screen` on small files against the session's real snapshot and the real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import app
from kyc import settings


@pytest.fixture(scope="module")
def listed_name(snapshot_store, watchlist) -> str:
    shutil.copytree(snapshot_store.root, settings.SNAPSHOT_DIR, dirs_exist_ok=True)
    people = watchlist.entries.filter(pl.col("entity_type") == "individual")
    return people.sort("list_code", "entry_id")["primary_name"][0]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("entity_id,full_name,birth_date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_screen_csv_to_each_format(tmp_path: Path, listed_name: str) -> None:
    source = write_csv(
        tmp_path / "people.csv", [f'a,"{listed_name}",', "b,Quentin Zyxwvut,1990-05-01"]
    )
    runner = CliRunner()
    out = tmp_path / "results.ndjson"
    result = runner.invoke(app, ["screen", str(source), "-o", str(out), "--threshold", "0.85"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["entity_id"] for line in lines] == ["a", "b"]
    assert lines[0]["is_match"] is True and lines[0]["matches"][0]["confidence_score"] >= 0.85
    assert not (tmp_path / "results.ndjson.partial").exists()

    for name in ("results.csv", "results.parquet"):
        result = runner.invoke(
            app, ["screen", str(source), "-o", str(tmp_path / name), "--lists", "un,ofac"]
        )
        assert result.exit_code == 0, result.output
    table = pl.read_csv(tmp_path / "results.csv")
    assert set(table["entity_id"]) == {"a", "b"}
    assert set(table["list_name"].drop_nulls()) <= {"un", "ofac"}
    assert pl.read_parquet(tmp_path / "results.parquet")["entity_id"].to_list() == ["a", "b"]


def test_bad_row_is_named_without_a_traceback(tmp_path: Path, listed_name: str) -> None:
    source = write_csv(tmp_path / "bad.csv", ["a,Ann Example,1990", "b,Bob Example,1990-02-31"])
    result = CliRunner().invoke(app, ["screen", str(source), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert "row 2, column birth_date" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_unknown_output_format_and_list(tmp_path: Path, listed_name: str) -> None:
    source = write_csv(tmp_path / "ok.csv", ["a,Ann Example,1990"])
    runner = CliRunner()
    assert (
        "must end in"
        in runner.invoke(app, ["screen", str(source), "-o", str(tmp_path / "x.xlsx")]).output
    )
    assert (
        "unknown list"
        in runner.invoke(
            app, ["screen", str(source), "-o", str(tmp_path / "x.csv"), "--lists", "kgb"]
        ).output
    )
