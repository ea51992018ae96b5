"""Monitoring end to end on the real list files: a 50,000-entity book screened at the 2021
OFAC lists, a refresh to the 2024 files, then a second update in which another list (UN)
changes; each rescreen made twice, by reverse screening and in full, whose alerts must be
the same pair for pair and score for score. Then decisions on real jobs, a refresh that
fails, webhooks of real jobs, and the rescreen's artifact.

Flows run as real Prefect flow runs in this process (the session's temporary server); the
job store, the book, the decisions and the outbox live in a temporary folder."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest
from conftest import WATCHLISTS
from litestar.testing import TestClient
from lxml import etree

from bench.books import book_frame, newly_listed_names
from data.book import BookStore
from data.decisions import DecisionStore
from data.entities import entities_from_records
from data.jobs import JobMeta, JobStore, new_job_id
from data.store import SnapshotStore
from data.webhooks import SIGNATURE_HEADER, DeliveryStore, WebhookConfig, verify_signature
from kyc import settings

OFAC_FILES = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")
UN_XML = WATCHLISTS / "un" / "consolidated.xml"
BOOK_SIZE = 50_000
# The UN individuals the second update removes, renames and re-remarks (in this order).
UN_EDITS = 12


def _sources(root: Path, ofac: Path, un: Path = UN_XML) -> Path:
    (root / "ofac").mkdir(parents=True)
    (root / "un").mkdir()
    for name in OFAC_FILES:
        (root / "ofac" / name).symlink_to(ofac / name)
    (root / "un" / UN_XML.name).symlink_to(un)
    return root


def _edited_un(target: Path) -> tuple[Path, dict[str, list[str]]]:
    """The real UN file with the second update's changes: a few individuals removed, a few
    renamed (a letter added to the first name), a few with new remarks. Their reference
    numbers, per kind of change."""
    tree = etree.parse(str(UN_XML))
    people = sorted(tree.getroot().iter("INDIVIDUAL"), key=lambda p: p.findtext("REFERENCE_NUMBER"))
    picked = [p for p in people if p.findtext("FIRST_NAME") and p.findtext("SECOND_NAME")]
    removed, renamed, remarked = (
        picked[:UN_EDITS],
        picked[UN_EDITS : 2 * UN_EDITS],
        picked[2 * UN_EDITS : 3 * UN_EDITS],
    )
    for person in removed:
        person.getparent().remove(person)
    for person in renamed:
        first = person.find("FIRST_NAME")
        first.text = first.text + "H"
    for person in remarked:
        comments = person.find("COMMENTS1")
        if comments is None:
            comments = etree.SubElement(person, "COMMENTS1")
        comments.text = (comments.text or "") + " Updated by the Committee."
    target.parent.mkdir(parents=True, exist_ok=True)
    tree.write(str(target), xml_declaration=True, encoding="UTF-8")
    refs = {
        kind: [p.findtext("REFERENCE_NUMBER") for p in group]
        for kind, group in (("removed", removed), ("renamed", renamed), ("remarked", remarked))
    }
    return target, refs


def _un_names(edits: dict[str, list[str]]) -> list[str]:
    """The (old) names of the edited UN individuals, as a customer form would give them."""
    tree = etree.parse(str(UN_XML))
    wanted = {ref for refs in edits.values() for ref in refs}
    return [
        f"{p.findtext('FIRST_NAME')} {p.findtext('SECOND_NAME')}"
        for p in tree.getroot().iter("INDIVIDUAL")
        if p.findtext("REFERENCE_NUMBER") in wanted
    ]


def _run_job(jobs: JobStore, meta: JobMeta, frame: pl.DataFrame) -> JobMeta:
    """Store a job and run its screen_job flow here (as a worker would), to its end."""
    from flows.screen_job import screen_job

    jobs.create_job(meta, frame)
    asyncio.run(screen_job(meta.job_id, meta.tenant, return_state=True))
    done = jobs.get_job(meta.job_id)
    assert done is not None and done.status == "completed", done
    return done


def _rescreen(tenant: str, reverse: bool) -> dict:
    from flows.rescreen_book import rescreen_book

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "RESCREEN_REVERSE", reverse)
        return asyncio.run(rescreen_book(tenants=[tenant]))[tenant]


def _alerts(jobs: JobStore, job_id: str) -> pl.DataFrame:
    """entity_id, match, score, change, parts: every alert of a rescreen job."""
    frames = [
        chunk.select("entity_id", "matches")
        .explode("matches")
        .drop_nulls("matches")
        .select(
            "entity_id",
            pl.col("matches").struct.field("entity_id").alias("match"),
            pl.col("matches").struct.field("confidence_score").alias("score"),
            pl.col("matches").struct.field("change"),
            pl.col("matches").struct.field("changed_parts").alias("parts"),
        )
        for chunk in jobs.iter_results(job_id)
    ]
    return pl.concat(frames).sort("entity_id", "match")


def _resolved(jobs: JobStore, job_id: str) -> pl.DataFrame:
    frames = [
        chunk.select("entity_id", "resolved")
        .explode("resolved")
        .drop_nulls("resolved")
        .select("entity_id", pl.col("resolved").struct.field("match_entity_id").alias("match"))
        for chunk in jobs.iter_results(job_id)
    ]
    return pl.concat(frames).sort("entity_id", "match")


@dataclass
class Update:
    """One list update, rescreened both ways."""

    version: str
    reverse: dict  # rescreen_book's outcome for the reverse tenant
    full: dict
    reverse_alerts: pl.DataFrame
    full_alerts: pl.DataFrame
    reverse_resolved: pl.DataFrame
    full_resolved: pl.DataFrame


@dataclass
class World:
    jobs: JobStore
    book: BookStore
    snapshots: SnapshotStore
    versions: list[str]  # 2021, 2024, 2024 + edited UN
    added: list[str]  # OFAC entries (engine ids) listed between the 2021 and 2024 files
    un_edits: dict[str, list[str]]
    updates: list[Update]
    receiver: Receiver
    home: Path


@dataclass
class Receiver:
    url: str = ""
    requests: list[dict] = field(default_factory=list)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/kyc-events"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[World]:
    home = tmp_path_factory.mktemp("monitoring")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SNAPSHOT_DIR", home / "snapshots")
        patch.setattr(settings, "JOB_STORE_URI", (home / "store").as_uri())
        patch.setattr(settings, "WEBHOOKS_FILE", home / "webhooks.json")
        patch.setattr(settings, "RESCREEN_DELTA", True)
        WebhookConfig(settings.WEBHOOKS_FILE).add("rev", receiver.url)
        yield _play(home, receiver)


def _play(home: Path, receiver: Receiver) -> World:
    ofac = WATCHLISTS / "ofac"
    old = _sources(home / "old", ofac / "snapshot_2021-07-07")
    new = _sources(home / "new", ofac)
    edited, un_edits = _edited_un(home / "edited-un" / UN_XML.name)
    third = _sources(home / "third", ofac, edited)
    snapshots = SnapshotStore(settings.SNAPSHOT_DIR)
    jobs, book = JobStore(settings.JOB_STORE_URI), BookStore(settings.JOB_STORE_URI)
    first = snapshots.refresh(["ofac", "un"], from_dir=old).version
    second = snapshots.refresh(["ofac", "un"], from_dir=new)
    added = (
        snapshots.diff(second.version)
        .filter(pl.col("change") == "added")
        .select(pl.col("list_code") + "-" + pl.col("entry_id"))
        .to_series()
    )
    # The book: generated customers, perturbed names of 500 entries listed between the 2021
    # and 2024 OFAC files, and the names of the UN individuals the second update edits.
    picked = newly_listed_names(snapshots, second.version, "ofac", 500, np.random.default_rng(4))
    frame = book_frame(BOOK_SIZE, picked, seed=17, verbatim=_un_names(un_edits), id_prefix="cust-")

    # The book: the same monitored job, at the 2021 lists, for two tenants. One is rescreened
    # by reverse screening, the other in full.
    for tenant in ("rev", "full"):
        meta = JobMeta(job_id=new_job_id(), tenant=tenant, monitor=True, watchlist_version=first)
        _run_job(jobs, meta, frame)
    updates = [_update(jobs, second.version)]
    third_version = snapshots.refresh(["un"], from_dir=third).version
    updates.append(_update(jobs, third_version))
    return World(
        jobs,
        book,
        snapshots,
        [first, second.version, third_version],
        added.to_list(),
        un_edits,
        updates,
        receiver,
        home,
    )


def _update(jobs: JobStore, version: str) -> Update:
    reverse, full = _rescreen("rev", reverse=True), _rescreen("full", reverse=False)
    return Update(
        version,
        reverse,
        full,
        _alerts(jobs, reverse["job_id"]),
        _alerts(jobs, full["job_id"]),
        _resolved(jobs, reverse["job_id"]),
        _resolved(jobs, full["job_id"]),
    )


# --- equivalence ----------------------------------------------------------------------------


@pytest.mark.parametrize("update", [0, 1], ids=["2021 to 2024 OFAC", "then the UN list changes"])
def test_reverse_rescreen_reports_what_the_full_rescreen_reports(world: World, update: int) -> None:
    done = world.updates[update]
    assert done.reverse["status"] == done.full["status"] == "completed"
    assert done.reverse["mode"] == "reverse" and done.full["mode"] == "full"
    assert done.full["screened"] >= BOOK_SIZE, "the full rescreen screened the whole book"
    assert done.reverse["screened"] < done.full["screened"] / 20, done.reverse
    assert done.reverse_alerts.height > 20, "the update must bring alerts to compare"
    assert done.reverse_alerts.equals(done.full_alerts), "pair for pair, score for score"
    assert done.reverse_resolved.equals(done.full_resolved)


def test_the_first_update_alerts_on_the_newly_listed(world: World) -> None:
    alerts = world.updates[0].reverse_alerts
    assert set(alerts["change"]) <= {"added", "changed"}
    assert alerts.filter(pl.col("change") == "added")["match"].is_in(world.added).all()
    # Perturbed names of newly listed entries: most of the 500 are found again.
    assert alerts.filter(pl.col("change") == "added")["entity_id"].n_unique() > 300


def test_the_second_update_says_what_changed_and_what_left(world: World) -> None:
    done = world.updates[1]
    un = done.reverse_alerts.filter(pl.col("match").str.starts_with("un-"))
    renamed = {f"un-{ref}" for ref in world.un_edits["renamed"]}
    remarked = {f"un-{ref}" for ref in world.un_edits["remarked"]}
    assert set(un["match"]) <= renamed | remarked
    parts = {m: p for m, p in un.select("match", "parts").unique("match").iter_rows()}
    assert any(m in parts and "remarks" in parts[m] for m in remarked), parts
    assert any(m in parts and "names" in parts[m] for m in renamed), parts
    assert set(un["change"]) == {"changed"}
    gone = {f"un-{ref}" for ref in world.un_edits["removed"]}
    assert set(done.reverse_resolved["match"]) and set(done.reverse_resolved["match"]) <= gone


def test_the_book_moves_on_with_each_rescreen(world: World) -> None:
    for tenant in ("rev", "full"):
        book = world.book.read(tenant)
        assert (book["screened_version"] == world.versions[2]).all(), tenant
    rev, full = world.book.read("rev"), world.book.read("full")
    opened = [
        book.select(
            "entity_id",
            pl.col("open_matches")
            .list.eval(pl.element().struct.field("match_entity_id"))
            .list.sort(),
        )
        for book in (rev, full)
    ]
    assert opened[0].equals(opened[1]), "both ways leave the same open matches"
    gone = {f"un-{ref}" for ref in world.un_edits["removed"]}
    left = rev["open_matches"].explode().drop_nulls().struct.field("match_entity_id")
    assert not set(left.to_list()) & gone, "resolved matches are closed"


def test_the_rescreen_jobs_show_their_versions_and_counts(world: World) -> None:
    second = world.updates[0].reverse
    meta = world.jobs.get_job(second["job_id"])
    assert meta.origin == "rescreen" and meta.from_version == world.versions[0]
    assert meta.watchlist_version == world.versions[1] and meta.rescreen_mode == "reverse"
    stats = meta.rescreen_stats
    assert stats["due"] == BOOK_SIZE + 500 + 3 * UN_EDITS and stats["pairs"] > 0
    assert stats["screened"] == second["screened"] < stats["reverse_candidates"] < stats["due"]


def test_the_rescreen_run_carries_an_artifact(world: World) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> list:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["rescreen-book"]))
            )

    rows = [row for artifact in asyncio.run(read()) for row in json.loads(artifact.data)]
    last = next(
        r
        for r in reversed(rows)
        if r["tenant"] == "rev" and r["job"] == world.updates[1].reverse["job_id"]
    )
    assert last["entities due"] == BOOK_SIZE + 500 + 3 * UN_EDITS
    assert last["new alerts"] == world.updates[1].reverse_alerts.height
    assert last["resolved"] == world.updates[1].reverse_resolved.height > 0
    assert {"pairs scored", "suppressed", "mode"} <= set(last)


# --- webhooks of real jobs ---------------------------------------------------------------


def test_jobs_and_alerts_reach_the_webhook(world: World) -> None:
    from flows.webhooks import WebhookDispatcher, retry_policy

    config = WebhookConfig(world.home / "webhooks.json")
    store = DeliveryStore(world.jobs.uri)

    async def deliver() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await WebhookDispatcher(store, config, retry_policy()).deliver_due(client)

    asyncio.run(deliver())
    secret = config.secret("rev")
    bodies = []
    for request in world.receiver.requests:
        assert verify_signature(secret, request["headers"][SIGNATURE_HEADER], request["body"])
        bodies.append(json.loads(request["body"]))
    events = [(b["event"], b["job"]["job_id"]) for b in bodies]
    rescreens = [u.reverse["job_id"] for u in world.updates]
    for job_id in rescreens:
        assert ("job.completed", job_id) in events and ("rescreen.alerts", job_id) in events
    assert all(b["tenant"] == "rev" for b in bodies), "the full tenant has no webhook"
    alerts = next(
        b for b in bodies if b["event"] == "rescreen.alerts" and b["job"]["job_id"] == rescreens[1]
    )
    assert alerts["job"]["from_version"] == world.versions[1]
    assert alerts["job"]["to_version"] == world.versions[2]
    assert {a["change"] for a in alerts["alerts"]} == {"changed"}
    assert len(events) == len(set(events)), "each event once"


# --- decisions on real jobs ----------------------------------------------------------------


def _job_matches(client: TestClient, headers: dict, job_id: str, suppressed: bool = False) -> dict:
    url = f"/kyc/jobs/{job_id}?include_suppressed={'true' if suppressed else 'false'}"
    body = client.get(url, headers=headers).json()
    return body


def test_decisions_suppress_until_the_entry_changes(world: World) -> None:
    from api import create_app
    from api.config import ApiConfig
    from data.api_keys import ApiKeyStore

    keys = world.home / "api_keys.json"
    acme, _ = ApiKeyStore(keys).create("acme", ["kyc:review", "kyc:read", "kyc:create"])
    globex, _ = ApiKeyStore(keys).create("globex", ["kyc:review", "kyc:read"])
    config = ApiConfig(
        job_store_uri=world.jobs.uri,
        snapshot_dir=settings.SNAPSHOT_DIR,
        api_keys_file=keys,
        webhooks_file=world.home / "no-webhooks.json",
    )
    renamed = f"un-{world.un_edits['remarked'][0]}"  # its remarks change in the second update
    steady = f"un-{world.un_edits['renamed'][0]}"
    names = dict(
        zip(
            [f"un-{r}" for r in world.un_edits["remarked"][:1] + world.un_edits["renamed"][:1]],
            _un_names({"x": world.un_edits["remarked"][:1]})
            + _un_names({"x": world.un_edits["renamed"][:1]}),
            strict=True,
        )
    )
    records = [
        {"entity_id": "p1", "subject": {"full_name": names[renamed]}},
        {"entity_id": "p2", "subject": {"full_name": names[steady]}},
    ]
    second, third = world.versions[1], world.versions[2]

    def job(tenant: str, version: str) -> str:
        meta = JobMeta(job_id=new_job_id(), tenant=tenant, watchlist_version=version)
        return _run_job(world.jobs, meta, entities_from_records(records)).job_id

    headers = {"Authorization": f"Bearer {acme}"}
    with TestClient(create_app(config)) as client:
        first = job("acme", second)
        before = _job_matches(client, headers, first)["results"]
        assert renamed in [m["entity_id"] for m in before[0]["matches"]]
        assert steady in [m["entity_id"] for m in before[1]["matches"]]
        decided = {}
        for entity, match in (("p1", renamed), ("p2", steady)):
            response = client.post(
                "/kyc/decisions",
                json={
                    "entity_id": entity,
                    "match_entity_id": match,
                    "decision": "false_positive",
                    "reason": "another person: other birth date",
                    "job_id": first,
                },
                headers=headers,
            )
            assert response.status_code == 201, response.text
            decided[entity] = response.json()["decision"]["decision_id"]

        # The same snapshot, a later job: both pairs left out, counted, shown on request.
        again = job("acme", second)
        body = _job_matches(client, headers, again)
        assert body["suppressed_matches"] == 2
        assert renamed not in [m["entity_id"] for m in body["results"][0]["matches"]]
        assert steady not in [m["entity_id"] for m in body["results"][1]["matches"]]
        shown = _job_matches(client, headers, again, suppressed=True)["results"]
        assert [(m["entity_id"], m["decision_id"]) for m in shown[0]["suppressed"]] == [
            (renamed, decided["p1"])
        ]

        # The second update changed one entry's remarks: that pair is reported again.
        later = _job_matches(client, headers, job("acme", third))
        assert renamed in [m["entity_id"] for m in later["results"][0]["matches"]]
        assert later["suppressed_matches"] >= 0
        # Another tenant: the same subjects, none of acme's decisions apply.
        other = _job_matches(client, {"Authorization": f"Bearer {globex}"}, job("globex", second))
        assert other["suppressed_matches"] == 0
        assert steady in [m["entity_id"] for m in other["results"][1]["matches"]]

        # Revoked: reported again (and the log keeps both events).
        assert client.delete(f"/kyc/decisions/{decided['p2']}", headers=headers).status_code == 200
        revoked = _job_matches(client, headers, job("acme", second))
        assert steady in [m["entity_id"] for m in revoked["results"][1]["matches"]]
        assert revoked["suppressed_matches"] == 1
    events = DecisionStore(world.jobs.uri).events("acme")
    assert events["event"].to_list() == ["decided", "decided", "revoked"]


# --- a refresh that fails -----------------------------------------------------------------


def _state_of(world: World) -> dict[str, object]:
    """Everything a failed refresh must leave as it was: the book logs, decisions, outbox,
    the jobs and the current snapshot."""
    root = Path(world.jobs.root)
    files = {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.is_file() and path.parts[len(root.parts)] in ("books", "decisions", "webhooks")
    }
    jobs = {path.name for path in (root / "jobs").iterdir()}
    return {"files": files, "jobs": jobs, "current": world.snapshots.current_version()}


def test_a_failed_refresh_starts_no_rescreen_and_changes_nothing(world: World) -> None:
    from flows.refresh_watchlists import refresh_watchlists

    broken = world.home / "broken"
    (broken / "ofac").mkdir(parents=True)
    for name in OFAC_FILES:  # the 2024 files, sdn.csv cut to a tenth: it would shrink
        source = WATCHLISTS / "ofac" / name
        if name == "sdn.csv":
            lines = source.read_bytes().splitlines(keepends=True)
            (broken / "ofac" / name).write_bytes(b"".join(lines[: len(lines) // 10]))
        else:
            shutil.copy(source, broken / "ofac" / name)
    before = _state_of(world)
    runs_before = asyncio.run(_rescreen_runs())
    state = refresh_watchlists(lists=["ofac"], from_dir=str(broken), return_state=True)
    assert state.is_failed(), state
    assert "shrink" in str(state.message) or "shrink" in repr(state.result(raise_on_failure=False))
    assert asyncio.run(_rescreen_runs()) == runs_before, "no rescreen was started"
    assert _state_of(world) == before, "no book, decision, alert or job changed"


async def _rescreen_runs() -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["rescreen_book"]))
        )
    return len(runs)
