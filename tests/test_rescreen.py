"""The monitored book and the rescreen, end to end: real Prefect flow runs executed by the
embedded runner, a real job store, and real snapshots of the shared OFAC files: the 2021 set
first, then the 2024 set, whose diff adds the entries designated in between."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from conftest import WATCHLISTS, drop_waiting_runs
from typer.testing import CliRunner

from data.book import BookStore, changed_since, keep_new_matches, resolved_matches
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id
from data.store import SnapshotStore
from kyc import settings

OFAC_FILES = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")
UN_XML = WATCHLISTS / "un" / "consolidated.xml"


def _source_folder(root: Path, ofac: Path) -> Path:
    """A folder of links to real files: OFAC from ``ofac`` and the UN list."""
    (root / "ofac").mkdir(parents=True)
    (root / "un").mkdir()
    for name in OFAC_FILES:
        (root / "ofac" / name).symlink_to(ofac / name)
    (root / "un" / UN_XML.name).symlink_to(UN_XML)
    return root


def _wait_for_job(jobs: JobStore, job_id: str, timeout: float = 120) -> JobMeta:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = jobs.get_job(job_id)
        if meta is not None and meta.status != "processing":
            return meta
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still processing after {timeout} s")


def _wait_for_rescreen(book: BookStore, jobs: JobStore, tenant: str, version: str) -> JobMeta:
    deadline = time.monotonic() + 120
    while (job_id := book.rescreen_job(tenant, version)) is None:
        assert time.monotonic() < deadline, f"no rescreen job for {tenant} after 120 s"
        time.sleep(0.3)
    return _wait_for_job(jobs, job_id)


def _submit(jobs: JobStore, tenant: str, records: list[dict], version: str, monitor: bool) -> str:
    """Store a job and start its screen-job run, as POST /kyc/jobs does."""
    from flows.deployments import close_client, submit_screen_job

    meta = JobMeta(job_id=new_job_id(), tenant=tenant, monitor=monitor, watchlist_version=version)
    jobs.create_job(meta, entities_from_records(records))

    async def submit() -> None:
        try:
            await submit_screen_job(meta.job_id, tenant)
        finally:
            await close_client()

    asyncio.run(submit())
    return meta.job_id


@dataclass
class Scenario:
    jobs: JobStore
    book: BookStore
    old_version: str
    new_version: str
    added: dict  # an OFAC individual designated between the two sets: entry_id, primary_name
    unchanged: dict  # a UN individual, the same in both snapshots
    first_jobs: dict[str, str]  # tenant -> its first job id
    book_before: dict[str, pl.DataFrame]  # tenant -> book after the monitored jobs
    trigger_run: str | None  # the rescreen run the refresh started
    rescreens: dict[str, JobMeta]  # tenant -> its rescreen job


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from flows.refresh_watchlists import refresh_watchlists
    from flows.runner import start_embedded_runner

    tmp = tmp_path_factory.mktemp("rescreen")
    ofac = WATCHLISTS / "ofac"
    old = _source_folder(tmp / "old", ofac / "snapshot_2021-07-07")
    new = _source_folder(tmp / "new", ofac)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SNAPSHOT_DIR", tmp / "snapshots")
        patch.setattr(settings, "JOB_STORE_URI", (tmp / "jobs").as_uri())
        patch.setattr(settings, "RESCREEN_DELTA", True)
        snapshots = SnapshotStore(settings.SNAPSHOT_DIR)
        old_version = snapshots.refresh(["ofac", "un"], from_dir=old).version

        drop_waiting_runs()  # the runner started here would run them on this module's store
        runner = start_embedded_runner(recover=False)
        try:
            yield _play(snapshots, old_version, new, refresh_watchlists)
        finally:
            runner.stop()


def _play(snapshots: SnapshotStore, old_version: str, new: Path, refresh) -> Scenario:
    """Monitored jobs at the 2021 lists, then a refresh to 2024 that starts the rescreen."""
    jobs, book = JobStore(settings.JOB_STORE_URI), BookStore(settings.JOB_STORE_URI)
    added, unchanged = _people(new, old_version)
    acme = [
        {"entity_id": "c-new", "subject": {"full_name": added["primary_name"]}},
        {"entity_id": "c-old", "subject": {"full_name": unchanged["primary_name"]}},
        {"entity_id": "c-none", "subject": {"full_name": "Quentin Zyxwvut"}},
        {"subject": {"full_name": "Oswin Quillbrook"}},  # no entity_id: keyed by job and row
    ]
    first_jobs = {
        "acme": _submit(jobs, "acme", acme, old_version, monitor=True),
        "globex": _submit(
            jobs,
            "globex",
            [{"entity_id": "g-1", "subject": {"full_name": added["primary_name"]}}],
            old_version,
            monitor=True,
        ),
        "initech": _submit(
            jobs,
            "initech",
            [{"entity_id": "i-1", "subject": {"full_name": added["primary_name"]}}],
            old_version,
            monitor=False,
        ),
    }
    for job_id in first_jobs.values():
        assert _wait_for_job(jobs, job_id).status == "completed"
    # A later monitored job of acme changes c-none's subject: upserted, not added twice.
    renamed = [{"entity_id": "c-none", "subject": {"full_name": "Marigold Pennyfeather"}}]
    assert _wait_for_job(jobs, _submit(jobs, "acme", renamed, old_version, True)).status == (
        "completed"
    )
    book_before = {tenant: book.read(tenant) for tenant in ("acme", "globex", "initech")}

    summary = refresh(lists=["ofac", "un"], from_dir=str(new))
    assert summary["status"] == "created" and summary["previous_version"] == old_version
    rescreens = {
        tenant: _wait_for_rescreen(book, jobs, tenant, summary["version"])
        for tenant in ("acme", "globex")
    }
    return Scenario(
        jobs,
        book,
        old_version,
        summary["version"],
        added,
        unchanged,
        first_jobs,
        book_before,
        _trigger_run(summary["version"]),
        rescreens,
    )


def _people(new: Path, old_version: str) -> tuple[dict, dict]:
    """An OFAC individual only in the 2024 set, and a UN individual (in both sets)."""
    from data.sources import SOURCES

    ofac = SOURCES["ofac"].parse({n: new / "ofac" / n for n in OFAC_FILES}).entries
    old = SnapshotStore(settings.SNAPSHOT_DIR).open(old_version).entries
    people = ofac.filter(pl.col("entity_type") == "individual")
    added = people.filter(~pl.col("entry_id").is_in(old["entry_id"].implode()))
    un = old.filter((pl.col("list_code") == "un") & (pl.col("entity_type") == "individual"))
    pick = ("entry_id", "primary_name")
    return (
        added.sort("entry_id").select(pick).row(0, named=True),
        un.sort("entry_id").select(pick).row(0, named=True),
    )


def _trigger_run(version: str) -> str | None:
    """The rescreen-book run the refresh started (found by its idempotency key)."""
    from prefect import get_client

    async def find() -> str | None:
        async with get_client() as client:
            runs = await client.read_flow_runs()
        keys = {run.idempotency_key: str(run.id) for run in runs}
        return keys.get(f"rescreen-{version}")

    return asyncio.run(find())


def _matched_entries(jobs: JobStore, job_id: str) -> dict[str, list[str]]:
    """entity_id -> the list entries (engine entity ids) its result matched."""
    results = jobs.read_results(job_id, 0, 1000)
    return {
        row["entity_id"]: [m["entity_id"] for m in row["matches"]]
        for row in results.select("entity_id", "matches").iter_rows(named=True)
    }


# --- the book ---------------------------------------------------------------------------


def test_monitored_jobs_entities_land_in_the_book(scenario: Scenario) -> None:
    acme = scenario.book_before["acme"]
    first = scenario.first_jobs["acme"]
    assert sorted(acme["entity_id"]) == sorted(["c-new", "c-old", "c-none", f"{first}#4"])
    assert (acme["screened_version"] == scenario.old_version).all()
    renamed = acme.filter(pl.col("entity_id") == "c-none").row(0, named=True)
    assert renamed["full_name"] == "Marigold Pennyfeather", "upserted by entity_id"
    assert renamed["source_job_id"] != first


def test_books_are_per_tenant_and_only_of_monitored_jobs(scenario: Scenario) -> None:
    assert scenario.book_before["globex"]["entity_id"].to_list() == ["g-1"]
    assert scenario.book_before["initech"].is_empty(), "initech's job was not monitored"
    assert set(scenario.book.tenants()) == {"acme", "globex"}


# --- the rescreen -----------------------------------------------------------------------


def test_the_refresh_started_the_rescreen_run(scenario: Scenario) -> None:
    assert scenario.trigger_run is not None


def test_rescreen_is_an_ordinary_job_of_each_tenant(scenario: Scenario) -> None:
    for tenant, meta in scenario.rescreens.items():
        assert meta.status == "completed", meta.error
        assert meta.tenant == tenant and meta.origin == "rescreen"
        assert meta.watchlist_version == scenario.new_version
        listed, _ = scenario.jobs.list_jobs(tenant)
        assert meta.job_id in [job.job_id for job in listed]
    # Reverse screening put in the job only the entities an added or changed entry could
    # match; every book entry was covered, and is recorded screened against the new lists.
    acme = scenario.rescreens["acme"]
    acme_entities = scenario.jobs.read_entities(acme.job_id)
    assert acme.rescreen_mode == "reverse" and acme.from_version == scenario.old_version
    assert acme_entities["entity_id"].to_list() == ["c-new"]
    assert acme.rescreen_stats["due"] == 4 and acme.rescreen_stats["screened"] == 1
    covered = scenario.book.covered("acme", acme.job_id)
    assert sorted(covered["entity_id"]) == sorted(scenario.book_before["acme"]["entity_id"])
    globex_entities = scenario.jobs.read_entities(scenario.rescreens["globex"].job_id)
    assert globex_entities["entity_id"].to_list() == ["g-1"], "tenants never mix"


def test_rescreen_reports_only_matches_new_since_the_last_screen(scenario: Scenario) -> None:
    added = f"ofac-{scenario.added['entry_id']}"
    unchanged = f"un-{scenario.unchanged['entry_id']}"
    before = _matched_entries(scenario.jobs, scenario.first_jobs["acme"])
    assert added not in before["c-new"], "not listed in 2021"
    assert unchanged in before["c-old"]

    after = _matched_entries(scenario.jobs, scenario.rescreens["acme"].job_id)
    assert added in after["c-new"], "designated since: the alert of this list update"
    assert "c-old" not in after, "already reported, unchanged since: not even screened"
    assert added in _matched_entries(scenario.jobs, scenario.rescreens["globex"].job_id)["g-1"]
    progress = scenario.jobs.progress(scenario.rescreens["acme"].job_id)
    assert progress.matches_found == sum(len(m) for m in after.values())


def test_a_second_rescreen_of_the_same_version_does_nothing(scenario: Scenario) -> None:
    from flows.rescreen_book import rescreen_book

    for tenant in ("acme", "globex"):
        screened = scenario.book.read(tenant)["screened_version"]
        assert (screened == scenario.new_version).all()
    outcomes = asyncio.run(rescreen_book())  # the module's settings are still in place
    assert set(outcomes) == {"acme", "globex"}
    assert all("skipped" in outcome for outcome in outcomes.values()), outcomes
    listed, _ = scenario.jobs.list_jobs("acme")
    assert sum(job.origin == "rescreen" for job in listed) == 1


def test_the_api_marks_rescreen_jobs(scenario: Scenario, tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from api import create_app
    from api.config import ApiConfig
    from data.api_keys import PERMISSIONS, ApiKeyStore

    keys = tmp_path / "api_keys.json"
    token, _ = ApiKeyStore(keys).create("acme", list(PERMISSIONS))
    config = ApiConfig(
        job_store_uri=scenario.jobs.uri, snapshot_dir=settings.SNAPSHOT_DIR, api_keys_file=keys
    )
    rescreen, first = scenario.rescreens["acme"].job_id, scenario.first_jobs["acme"]
    with TestClient(create_app(config)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        job = client.get(f"/kyc/jobs/{rescreen}", headers=headers).json()
        assert job["origin"] == "rescreen" and job["job_status"] == "completed"
        listed = client.get("/kyc/jobs", headers=headers).json()["jobs"]
    origins = {job["job_id"]: job.get("origin") for job in listed}
    assert origins[rescreen] == "rescreen" and origins[first] is None


def test_a_snapshot_without_changes_needs_no_rescreen_job(
    scenario: Scenario, tmp_path: Path
) -> None:
    """The same UN list in a file that differs (a comment): a new version, an empty diff."""
    from flows.rescreen_book import rescreen_book

    source = tmp_path / "un"
    source.mkdir()
    (source / UN_XML.name).write_bytes(UN_XML.read_bytes() + b"<!-- republished -->\n")
    report = SnapshotStore(settings.SNAPSHOT_DIR).refresh(["un"], from_dir=tmp_path)
    assert report.status == "created" and report.changes == {}
    outcomes = asyncio.run(rescreen_book())
    assert all("no list entry was added or changed" in o["skipped"] for o in outcomes.values())
    assert (scenario.book.read("acme")["screened_version"] == report.version).all()
    assert scenario.book.rescreen_job("acme", report.version) is None

    # The chain of diffs from the new snapshot back to the 2021 one goes through 2024's.
    snapshots = SnapshotStore(settings.SNAPSHOT_DIR)
    two_steps, none = changed_since(snapshots, report.version, [scenario.old_version])
    one_step, _ = changed_since(snapshots, scenario.new_version, [scenario.old_version])
    assert not none and two_steps["match_key"].sort().equals(one_step["match_key"].sort())
    assert f"ofac-{scenario.added['entry_id']}" in two_steps["match_key"]
    nothing, _ = changed_since(snapshots, report.version, [scenario.new_version])
    assert nothing.is_empty()
    _, unknown = changed_since(snapshots, report.version, ["0123456789abcdef"])
    assert unknown == ["0123456789abcdef"], "a baseline not on disk: report every match"


# --- the book's log, the delta filter and the CLI ---------------------------------------


def test_compacting_the_log_keeps_the_book(tmp_path: Path) -> None:
    book = BookStore(str(tmp_path))
    for n, name in enumerate(["A", "B", "C"]):
        records = [{"entity_id": f"c{n}", "subject": {"full_name": name}}]
        meta = JobMeta(job_id=f"job-{n}", tenant="acme", monitor=True, watchlist_version="v1")
        book.add_job(meta, entities_from_records(records))
    book.remove("acme", ["c1"])
    book.mark_screened(
        "acme", pl.DataFrame({"entity_id": ["c2"], "source_job_id": ["job-2"]}), "v2"
    )
    book.mark_screened("acme", pl.DataFrame({"entity_id": ["c0"], "source_job_id": ["old"]}), "v2")
    before = book.read("acme")
    assert before["entity_id"].to_list() == ["c0", "c2"]
    assert before["screened_version"].to_list() == ["v1", "v2"], (
        "c0's mark was of a subject it no longer has"
    )
    assert book.compact("acme", older_than_s=0) == 6
    assert book.read("acme").equals(before)
    assert len(book._names_in(f"{book.root}/acme/log")) == 1
    book.remove("acme", ["c0"])  # a later event still applies on top of the folded file
    assert book.read("acme")["entity_id"].to_list() == ["c2"]


def test_a_baseline_no_longer_on_disk_reports_every_match() -> None:
    results = pl.DataFrame(
        {
            "row": [0, 1],
            "status": ["completed", "completed"],
            "is_match": [True, True],
            "match_count": [2, 2],
            "matches": [
                [{"entity_id": "ofac-1"}, {"entity_id": "un-2"}],
                [{"entity_id": "ofac-1"}, {"entity_id": "un-2"}],
            ],
        }
    )
    since = pl.Series(["v-known", "v-pruned"])
    changes = pl.DataFrame({"since_version": ["v-known"], "match_key": ["un-2"]})
    kept = keep_new_matches(results, since, changes, ["v-pruned"])
    assert kept["matches"].to_list()[0] == [
        {"entity_id": "un-2", "change": "changed", "changed_parts": None}
    ]
    assert [m["change"] for m in kept["matches"].to_list()[1]] == ["new", "new"]
    assert kept["match_count"].to_list() == [1, 2] and kept["is_match"].all()


def test_book_cli_shows_and_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    monkeypatch.setattr(settings, "JOB_STORE_URI", str(tmp_path / "jobs"))
    book = BookStore(settings.JOB_STORE_URI)
    meta = JobMeta(job_id="job-1", tenant="acme", monitor=True, watchlist_version="v1")
    book.add_job(meta, entities_from_records([{"entity_id": "c1", "subject": {"full_name": "A"}}]))
    cli = CliRunner()
    shown = cli.invoke(app, ["book", "show", "acme"])
    assert shown.exit_code == 0 and "c1" in shown.output and "1 entit" in shown.output
    removed = cli.invoke(app, ["book", "remove", "acme", "c1", "c2"])
    assert removed.exit_code == 0, removed.output
    assert "removed 1" in removed.output and "c2" in removed.output
    assert book.read("acme").is_empty()
    assert cli.invoke(app, ["book", "remove", "acme", "c1"]).exit_code == 1


def test_the_book_is_the_last_word_on_each_entity_in_log_order(tmp_path: Path) -> None:
    """Replay keeps, per entity_id, its last upsert unless a remove came after it, in the
    order of those upserts (not of the ids), with the marks of that same subject only."""
    book = BookStore(str(tmp_path))

    def upsert(job: str, ids_names: list[tuple[str, str]]) -> None:
        records = [{"entity_id": i, "subject": {"full_name": n}} for i, n in ids_names]
        meta = JobMeta(job_id=job, tenant="acme", monitor=True, watchlist_version="v1")
        book.add_job(meta, entities_from_records(records))

    upsert("job-1", [("z", "Zed"), ("a", "Ann"), ("m", "Max")])
    book.mark_screened("acme", pl.DataFrame({"entity_id": ["a"], "source_job_id": ["job-1"]}), "v2")
    book.remove("acme", ["z"])
    upsert("job-2", [("m", "Maxim"), ("z", "Zoe")])  # z comes back with a new subject
    book.mark_screened(
        "acme", pl.DataFrame({"entity_id": ["m", "z"], "source_job_id": ["job-1", "job-2"]}), "v3"
    )
    book.remove("acme", ["a"])
    got = book.read("acme")
    assert got["entity_id"].to_list() == ["m", "z"]
    assert got["full_name"].to_list() == ["Maxim", "Zoe"]
    assert got["source_job_id"].to_list() == ["job-2", "job-2"]
    assert got["screened_version"].to_list() == ["v1", "v3"], (
        "m's v3 mark was of its job-1 subject, replaced by job-2's"
    )


def test_resolved_matches_are_the_open_matches_on_entries_gone_at_book_scale() -> None:
    """Per row, the open matches whose entry the snapshot no longer lists; null stays null.
    At book scale (50,000 rows against 20,000 listed entries) it stays small: the filter
    inside list.eval copied the listed ids per row (15 GB, and a test worker killed)."""
    listed = pl.Series([f"ofac-{i}" for i in range(20_000)])
    match = pl.Struct({"match_entity_id": pl.Utf8, "confidence_score": pl.Float64})
    rows = [None, [], [{"match_entity_id": "ofac-7", "confidence_score": 0.9}]]
    rows += [
        [
            {"match_entity_id": "ofac-1", "confidence_score": 0.9},
            {"match_entity_id": f"ofac-{20_000 + i}", "confidence_score": 0.8},
        ]
        for i in range(50_000)
    ]
    open_matches = pl.Series("open_matches", rows, dtype=pl.List(match))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resolved = resolved_matches(open_matches, listed)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert resolved[0] is None and resolved[1].to_list() == resolved[2].to_list() == []
    assert resolved[3].to_list() == [{"match_entity_id": "ofac-20000", "confidence_score": 0.8}]
    assert (resolved.list.len().slice(3) == 1).all()
    assert grown_mb < 500, grown_mb
