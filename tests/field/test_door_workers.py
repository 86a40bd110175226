"""A large batch at the door of ``/sync/field`` is checked in shares, one in the writer's
thread and the others in the door's worker processes (field_app_api.door_workers): every
verdict is the one a single thread gives, in the batch's order, and nothing refused is kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.door_workers import MIN_BATCH, DoorWorkers
from tests.field.support import (
    FieldHall,
    attach,
    bulk,
    field_hall,
    forge,
    new_case,
    refusal,
    replicated,
)
from tests.field_fixtures import jpeg


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldHall]:
    # One worker whatever this machine's cores (a single core's default is none).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIELDHALL_DOOR_PROCESSES", "1")
        with field_hall(tmp_path_factory.mktemp("hall")) as running:
            yield running


def workers_of(hall: FieldHall) -> DoorWorkers:
    app = hall.hall.app
    assert app is not None
    workers: DoorWorkers = app.state.hall.door_workers
    return workers


def flipped(files: list[Material]) -> list[Material]:
    data = bytearray(files[0].data)
    data[len(data) // 2] ^= 0x01
    return [replace(files[0], data=bytes(data)), *files[1:]]


def assert_receipts(
    hall: FieldHall,
    device: DeviceClient,
    sent: list[tuple[dict[str, Any], list[Material]]],
    docs: list[dict[str, Any]],
) -> None:
    """Each case sent has one receipt, which verifies and names the revision stored."""
    for (case, files), doc in zip(sent, docs[: len(sent)], strict=True):
        [receipt] = hall.receipts_for(case["_id"])
        device.verify_receipt(receipt, case, files)
        assert receipt["for"]["rev"] == doc["_rev"]


def bad_photo(device: DeviceClient, seed: int) -> tuple[dict[str, Any], list[Material]]:
    """A case whose ID-card photo is a truncated JPEG, listed as it is in the manifest."""
    case, files = new_case(device, seed, advance=False)
    broken = replace(files[0], data=jpeg(seed)[:300])
    body = {k: v for k, v in case.items() if k != "signature"}
    body["materials"] = [broken.manifest(), *(m.manifest() for m in files[1:])]
    return device.sign(body, advance_chain=False), [broken, *files[1:]]


def test_a_large_batch_is_shared_with_the_workers_and_judged_as_one_thread_would(
    hall: FieldHall,
) -> None:
    workers = workers_of(hall)
    assert workers.processes == 1
    assert workers.wait_ready(120.0), "the door's worker processes did not start"
    shared = workers.batches_shared
    device = hall.enroll("王建国", grid="grid-a")
    other = hall.enroll("李秀英", grid="grid-b")
    docs: list[dict[str, Any]] = []
    expected: list[str] = []  # "ok" or the refusal's code, in the batch's order
    for n in range(1, 41):
        kind = n % 6
        if kind == 1:  # a field altered after signing
            case, files = new_case(device, n, advance=False)
            docs.append(attach({**case, "channel": "hall"}, files))
            expected.append("bad_signature")
        elif kind == 2:  # a byte of a photo flipped
            case, files = new_case(device, n, advance=False)
            docs.append(attach(case, flipped(files)))
            expected.append("attachment_mismatch")
        elif kind == 3:  # not a JPEG although the manifest matches
            docs.append(attach(*bad_photo(device, n)))
            expected.append("bad_photo")
        elif kind == 4:  # signed by the device, but as another agent's
            case, files = new_case(device, n, advance=False)
            docs.append(attach(forge(device, case, agent_id=other.state.agent_id), files))
            expected.append("not_owner")
        elif kind == 5:  # signed by another device
            case, files = new_case(other, n, advance=False)
            docs.append(attach(case, files))
            expected.append("kid_mismatch")
        else:
            docs.append(attach(*new_case(device, n)))
            expected.append("ok")
    assert len(docs) >= MIN_BATCH
    results = bulk(device, docs)
    got = ["ok" if r.get("ok") else refusal(r) for r in results]
    assert got == expected
    assert [r["id"] for r in results] == [d["_id"] for d in docs]
    assert workers.batches_shared == shared + 1  # the workers took their share
    with hall.admin() as client:
        health = client.get("/health").json()["door_workers"]
    assert health == {
        "processes": workers.processes,
        "ready": True,
        "batches_shared": shared + 1,
    }
    refused = [d["_id"] for d, verdict in zip(docs, got, strict=True) if verdict != "ok"]
    hall.assert_nothing_stored(*refused, device=device)
    for doc, verdict in zip(docs, got, strict=True):
        if verdict == "ok":
            [receipt] = hall.receipts_for(doc["_id"])
            assert receipt["for"]["rev"] == hall.state(doc["_id"]).winner  # type: ignore[union-attr]


def test_a_small_batch_stays_in_the_writers_thread(hall: FieldHall) -> None:
    workers = workers_of(hall)
    assert workers.wait_ready(120.0)
    shared = workers.batches_shared
    device = hall.enroll("赵敏", grid="grid-a")
    docs = [attach(*new_case(device, 100 + n)) for n in range(3)]
    assert all(r.get("ok") for r in bulk(device, docs))
    assert workers.batches_shared == shared


def test_a_replicated_batchs_receipts_are_signed_ahead_and_acknowledge_each_document(
    hall: FieldHall,
) -> None:
    """With new_edits=false the revisions are known before the write: the receipts are
    signed while the files are written, and the write takes them; each acknowledges exactly
    its document, and one refused in the batch leaves no receipt behind."""
    app = hall.hall.app
    assert app is not None
    receipts = app.state.hall.receipts
    used = receipts.presigned_used
    device = hall.enroll("钱芳", grid="grid-a")
    sent: list[tuple[dict[str, Any], list[Material]]] = [
        new_case(device, 200 + n) for n in range(5)
    ]
    forged, forged_files = new_case(device, 300, advance=False)
    docs = replicated([*sent, (forged, flipped(forged_files))])
    results = bulk(device, docs, new_edits=False)
    assert [refusal(r) for r in results] == ["attachment_mismatch"]
    assert receipts.presigned_used == used + len(sent)
    assert_receipts(hall, device, sent, docs)
    hall.assert_nothing_stored(forged["_id"], device=device)


def test_a_large_replicated_batch_is_checked_and_its_receipts_signed_by_the_workers(
    hall: FieldHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the blob store writes a batch's files the writer's thread checks none of it:
    the workers check every document and sign the receipts of those that pass, which the
    write then takes; each receipt verifies and acknowledges exactly its document."""
    app = hall.hall.app
    assert app is not None
    parts = app.state.hall
    workers = workers_of(hall)
    assert workers.wait_ready(120.0)
    checked_here: list[str] = []
    policy = parts.field.store.write_policy
    check = policy.prepare_write

    def counted(principal: Any, database: str, view: Any) -> Any:
        checked_here.append(view["_id"])
        return check(principal, database, view)

    monkeypatch.setattr(policy, "prepare_write", counted)
    used, shared = parts.receipts.presigned_used, workers.batches_shared
    device = hall.enroll("孙丽", grid="grid-a")
    sent = [new_case(device, 400 + n) for n in range(MIN_BATCH)]
    forged, forged_files = new_case(device, 500, advance=False)
    docs = replicated([*sent, (forged, flipped(forged_files))])
    results = bulk(device, docs, new_edits=False)
    assert [refusal(r) for r in results] == ["attachment_mismatch"]
    assert checked_here == []
    assert workers.batches_shared == shared + 1
    assert parts.receipts.presigned_used == used + len(sent)
    assert_receipts(hall, device, sent, docs)
    hall.assert_nothing_stored(forged["_id"], device=device)
