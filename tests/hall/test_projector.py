"""The projector: bob's phone pushes real signed cases through /sync/field; the hall's tables
follow the changes feed exactly once, whatever happens to the projector in between.

The hall runs without its background projector (``projector=False``): each test drives
``project_pending()`` itself, so "killed mid-way" is an exception inside a batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.field_app_api.service import FIELD_DB
from fieldhall.schemas import chain_hash
from fieldhall.server.hall import projector as projector_module
from fieldhall.server.hall.audit import list_entries, verify
from fieldhall.server.hall.projector import Projector
from fieldhall.server.hall.search import terms_of
from fieldhall.server.hall.tables import (
    HallCase,
    HallCaseTerm,
    HallDocument,
    HallEvent,
    HallMaterial,
    ProjectorCheckpoint,
)
from fieldhall.server.pacing import IngestPacer
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN, Principal
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import LocalHall, local_hall, push

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", projector=False) as running:
        yield running


@pytest.fixture
def bob(hall: LocalHall) -> DeviceClient:
    return hall.hall.enroll("王建国", "grid-a")


def counts(hall: LocalHall) -> dict[str, int]:
    with hall.parts.field.read_session() as session:

        def count(model: Any) -> int:
            return int(session.exec(select(func.count()).select_from(model)).one())

        audit = session.connection().execute(
            text("SELECT count(*) FROM hall_audit_entry WHERE action = 'device.document_received'")
        )
        return {
            "cases": count(HallCase),
            "documents": count(HallDocument),
            "materials": count(HallMaterial),
            "events": count(HallEvent),
            "received_audits": int(audit.scalar_one()),
        }


def push_cases(bob: DeviceClient, n: int, start: int = 1) -> list[str]:
    ids = []
    for seed in range(start, start + n):
        doc, files = senior_case(bob, seed)
        push(bob, doc, files)
        ids.append(str(doc["_id"]))
    return ids


def test_cases_are_projected_with_their_materials_and_receipts(
    hall: LocalHall, bob: DeviceClient
) -> None:
    ids = push_cases(bob, 3)
    projector = hall.parts.projector
    assert projector.lag().lag > 0
    assert projector.project_pending() > 0
    assert projector.lag().lag == 0
    assert counts(hall) == {
        "cases": 3,
        "documents": 3,
        "materials": 9,
        "events": 3,
        "received_audits": 3,
    }
    with hall.parts.field.read_session() as session:
        for case_id in ids:
            case = session.get(HallCase, case_id)
            assert case is not None and case.state == "received"
            assert case.agent_id == bob.state.agent_id and case.grid_id == "grid-a"
            assert case.trips == 0  # filed at home: zero-trip proxy filing
            document = session.get(HallDocument, case_id)
            assert document is not None and document.receipt_id is not None
            # The batch's search terms and materials went in with one insert each.
            terms = session.exec(
                select(HallCaseTerm.term).where(HallCaseTerm.received_order == case.received_order)
            )
            assert set(terms) == terms_of(case.search_text)
            materials = session.exec(select(HallMaterial).where(HallMaterial.case_id == case_id))
            assert sorted((m.material_id, m.doc_id, len(m.sha256)) for m in materials) == [
                (material_id, case_id, 64)
                for material_id in ("consent_signature", "id_card", "photo")
            ]
        assert verify(session).ok
    # The arrival is recorded as a transition, but the device's acknowledgement is its
    # signed receipt: no case_event goes out for it.
    assert hall.parts.workflow.publish() == 0
    docs, _ = bob.pull()
    assert sorted(d["type"] for d in docs) == ["case"] * 3 + ["receipt"] * 3


def test_the_signed_bytes_hash_is_the_devices_whether_taken_from_the_receipt_or_computed(
    hall: LocalHall, bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document's receipt in the same batch carries the hash the door computed: the
    projector takes it (for that revision only) instead of canonicalising the document
    again, and computes it otherwise. Either way it is the device's own chain hash."""
    docs = []
    for seed in range(1, 5):
        doc, files = senior_case(bob, seed)
        push(bob, doc, files)
        docs.append(doc)
    # A receipt naming another revision of the last case, with a wrong hash: not taken.
    forged = {
        "_id": "receipt:forged",
        "type": "receipt",
        "for": {"id": docs[-1]["_id"], "rev": "1-0123456789abcdef", "sha256": "0" * 64},
    }
    (stored,) = hall.parts.field.store.bulk_docs(
        FIELD_DB, [parse_incoming(forged, new_edits=True)], principal=ADMIN
    )
    assert stored.error is None
    computed: list[str] = []

    def counting_chain_hash(doc: Any) -> str:
        computed.append(str(doc["_id"]))
        return chain_hash(doc)

    monkeypatch.setattr(projector_module, "chain_hash", counting_chain_hash)
    projector = hall.parts.projector
    projector.batch = 1  # the first case alone: its receipt is in the next batch
    assert projector.project_batch() == 1
    assert computed == [docs[0]["_id"]]
    projector.batch = 500  # the rest with their receipts
    projector.project_pending()
    assert computed == [docs[0]["_id"]]
    with hall.parts.field.read_session() as session:
        for doc in docs:
            row = session.get(HallDocument, doc["_id"])
            assert row is not None and row.signed_sha256 == chain_hash(doc)
        received = [
            e.details["sha256"]
            for e in list_entries(session, limit=100)
            if e.action == "device.document_received"
        ]
        assert received == [chain_hash(doc) for doc in docs]


def test_a_full_batch_leaves_a_document_without_its_receipt_to_the_next_batch(
    hall: LocalHall, bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = push_cases(bob, 4)
    states, _ = hall.parts.field.store.changes(FIELD_DB, since=0, limit=100)
    kinds = [s.doc_id.split(":")[0] for s in states]
    assert kinds == ["case", "receipt"] * 4  # each receipt right after its document
    monkeypatch.setattr(projector_module, "chain_hash", None)  # never called
    projector = hall.parts.projector
    projector.batch = 3
    # case, receipt, case: the second case waits for the next batch, with its receipt.
    assert projector.project_batch() == 2
    assert projector.checkpoint() == states[1].seq
    assert projector.project_pending() == 6
    with hall.parts.field.read_session() as session:
        assert {d.doc_id for d in session.exec(select(HallDocument))} == set(ids)


def test_projecting_twice_adds_nothing(hall: LocalHall, bob: DeviceClient) -> None:
    push_cases(bob, 2)
    projector = hall.parts.projector
    projector.project_pending()
    before = counts(hall)
    assert projector.project_pending() == 0
    assert counts(hall) == before


def test_a_rewound_checkpoint_replays_without_duplicates(
    hall: LocalHall, bob: DeviceClient
) -> None:
    push_cases(bob, 3)
    projector = hall.parts.projector
    projector.project_pending()
    hall.parts.workflow.publish()
    projector.project_pending()
    before = counts(hall)
    with hall.parts.field.session() as session:
        checkpoint = session.get(ProjectorCheckpoint, "hall")
        assert checkpoint is not None
        checkpoint.seq = 0
        session.add(checkpoint)
    assert projector.project_pending() > 0  # every change read again…
    assert counts(hall) == before  # …and nothing added


def test_killed_mid_batch_leaves_nothing_half_done_and_resumes(
    hall: LocalHall, bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = push_cases(bob, 4)
    workflow = hall.parts.workflow
    real = workflow.receive_case
    seen: list[str] = []

    def dies_on_the_third(tx: Any, doc: Any, seq: int) -> Any:
        seen.append(doc["_id"])
        if len(seen) == 3:
            raise RuntimeError("power cut")
        return real(tx, doc, seq)

    monkeypatch.setattr(workflow, "receive_case", dies_on_the_third)
    projector = hall.parts.projector
    with pytest.raises(RuntimeError, match="power cut"):
        projector.project_pending()
    # The batch rolled back as a whole: no rows, no audit entries, checkpoint unmoved.
    assert counts(hall) == dict.fromkeys(
        ("cases", "documents", "materials", "events", "received_audits"), 0
    )
    assert projector.checkpoint() == 0
    monkeypatch.setattr(workflow, "receive_case", real)
    projector.project_pending()
    got = counts(hall)
    assert got["cases"] == 4 and got["documents"] == 4 and got["received_audits"] == 4
    with hall.parts.field.read_session() as session:
        assert {c.id for c in session.exec(select(HallCase))} == set(ids)
        assert verify(session).ok


def test_small_batches_resume_from_the_checkpoint(hall: LocalHall, bob: DeviceClient) -> None:
    push_cases(bob, 5)
    projector = hall.parts.projector
    projector.batch = 2
    assert projector.project_batch() == 2
    first = projector.checkpoint()
    assert 0 < first < projector.lag().update_seq
    projector.project_pending()
    assert projector.lag().lag == 0
    assert counts(hall)["cases"] == 5


def test_two_projectors_at_once_project_each_document_once(
    hall: LocalHall, bob: DeviceClient
) -> None:
    """Two workers' projectors race over one feed: the checkpoint (locked in the batch's
    transaction) lets one win each batch; the other starts over. Each document once."""
    push_cases(bob, 6)
    parts = hall.parts
    first, second = parts.projector, Projector(parts.field, parts.workflow)
    first.batch = second.batch = 2
    errors: list[BaseException] = []

    def run(projector: Projector) -> None:
        try:
            projector.project_pending()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    got = counts(hall)
    assert got["cases"] == 6 and got["documents"] == 6 and got["received_audits"] == 6


def test_lag_is_in_health_and_metrics(hall: LocalHall, bob: DeviceClient) -> None:
    push_cases(bob, 2)
    health = httpx.get(hall.url + "/health").json()
    assert health["status"] == "ok" and health["projector"]["lag"] > 0
    hall.parts.projector.project_pending()
    metrics = httpx.get(hall.url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "fieldhall_projector_lag 0" in metrics.text
    assert 'fieldhall_cases_open{state="received"} 2' in metrics.text
    assert "fieldhall_case_events_unpublished 0" in metrics.text


def _keep_writing(pacer: IngestPacer, seconds: float) -> None:
    """A device writing to the door every 50 ms for ``seconds``, as the pacer hears it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pacer.device_wrote()
        time.sleep(0.05)


def _projected_within(hall: LocalHall, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if counts(hall)["cases"] > 0:
            return True
        time.sleep(0.02)
    return counts(hall)["cases"] > 0


def test_the_background_projector_waits_for_a_pause_in_device_writes(
    hall: LocalHall, bob: DeviceClient
) -> None:
    push_cases(bob, 1)
    pacer = IngestPacer(quiet=0.3, max_defer=60.0)  # only a pause lets it run
    projector = Projector(hall.parts.field, hall.parts.workflow, pacer=pacer, poll_interval=0.05)
    pacer.device_wrote()
    projector.start()
    try:
        _keep_writing(pacer, 1.0)
        assert counts(hall)["cases"] == 0  # nothing while the door was busy
        assert _projected_within(hall, 10.0)  # the pause came: projected
    finally:
        projector.stop()


def test_under_a_sustained_burst_the_projector_still_runs_after_its_bound(
    hall: LocalHall, bob: DeviceClient
) -> None:
    push_cases(bob, 1)
    pacer = IngestPacer(quiet=0.3, max_defer=0.5)
    projector = Projector(hall.parts.field, hall.parts.workflow, pacer=pacer, poll_interval=0.05)
    pacer.device_wrote()
    projector.start()
    writer = threading.Thread(target=_keep_writing, args=(pacer, 8.0))
    writer.start()
    try:
        assert _projected_within(hall, 6.0)  # long before the writes stop
        assert writer.is_alive()
    finally:
        writer.join()
        projector.stop()


def test_only_device_writes_on_the_field_database_hold_the_projector_back() -> None:
    clock = [100.0]
    pacer = IngestPacer(quiet=1.0, max_defer=5.0, clock=lambda: clock[0])
    device = Principal("device-1", context={"device": object()})
    for principal, database in ((ADMIN, FIELD_DB), (device, "catalog")):  # receipts, events
        pacer.on_write(database, principal, True)
        assert not pacer.ingesting()
        pacer.on_write(database, principal, False)
    pacer.on_write(FIELD_DB, device, True)
    clock[0] += 30.0  # a write in flight holds the door busy however long it takes
    assert pacer.ingesting() and pacer.delay(clock[0]) == pytest.approx(1.0)
    pacer.on_write(FIELD_DB, device, False)
    clock[0] += 0.5
    assert pacer.ingesting() and pacer.delay(clock[0]) == pytest.approx(0.5)
    clock[0] += 0.5
    assert not pacer.ingesting()
