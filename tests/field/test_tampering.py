"""Tampering at the door of ``/sync/field`` (issue 5, "Proof", second bullet).

Every refused document gets the contract's ``forbidden`` code and leaves nothing behind: the
hall does not store it, lists it in no feed, writes no receipt and keeps no link of its chain,
so the same ``device_seq`` is still free for the legitimate document, which is then accepted.
The other way round, an identical re-send is a successful no-op.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlmodel import Session

from fieldhall.field_app_api.client import DeviceClient, DeviceState, Material
from fieldhall.field_app_api.enrollment import issue_code
from fieldhall.field_app_api.errors import REFUSAL_CODES
from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.keys import b64url_encode, private_key_raw, public_key_raw
from fieldhall.schemas.signatures import sign_document
from tests.field.support import (
    FieldHall,
    attach,
    bulk,
    case_body,
    field_hall,
    forge,
    inline,
    new_case,
    put,
    refusal,
    signing_key,
    sync_client,
)
from tests.field_fixtures import jpeg

_seeds = iter(range(1, 1_000_000))


def seed() -> int:
    return next(_seeds)


# ---------------------------------------------------------------------- helpers


def accepted(device: DeviceClient, doc: dict[str, Any], files: list[Material]) -> str:
    """Push the legitimate document; its device_seq must still be free. Returns its rev."""
    [result] = bulk(device, [attach(doc, files)])
    assert result.get("ok") is True, result
    return str(result["rev"])


def refused_then_free(
    hall: FieldHall,
    device: DeviceClient,
    sent: dict[str, Any],
    code: str,
    legit: tuple[dict[str, Any], list[Material]],
) -> None:
    """``sent`` is refused with ``code``, nothing of it stays, and ``legit`` (same device_seq)
    is accepted afterwards."""
    [result] = bulk(device, [sent])
    assert refusal(result) == code, result
    assert code in REFUSAL_CODES
    doc, files = legit
    hall.assert_nothing_stored(doc["_id"], sent["_id"], device=device)
    assert doc["device_seq"] not in hall.chain(device.state.device_id)
    accepted(device, doc, files)
    assert hall.chain(device.state.device_id)[doc["device_seq"]] == doc["_id"]


def revisions(hall: FieldHall, doc_id: str) -> list[str]:
    state = hall.state(doc_id)
    assert state is not None
    return sorted(state.tree)


@pytest.fixture(scope="module")
def started(hall: FieldHall, bob: DeviceClient) -> DeviceClient:
    """bob after his first case: every later document has a real ``prev_hash``."""
    accepted(bob, *new_case(bob, seed()))
    return bob


# ---------------------------------------------------------------------- every signed field


def _template() -> dict[str, Any]:
    """A signed case as bob's device writes it (second in its chain), to list its leaves."""
    key = Ed25519PrivateKey.generate()
    state = DeviceState(
        server="http://hall.invalid",
        device_id="dev-template",
        agent_id="agent-template",
        grid_id="grid-a",
        station_id=None,
        token="-",
        private_key=b64url_encode(private_key_raw(key)),
        sync_url="http://hall.invalid/sync/field",
        server_signing_key=b64url_encode(public_key_raw(key)),
        server_key_id="0" * 16,
        hall_encryption_key=b64url_encode(public_key_raw(key)),
        device_seq=1,
        prev_hash="0" * 64,
    )
    device = DeviceClient(state)
    body, _ = case_body(device, 1)
    return device.sign(body)


Path = tuple[str | int, ...]


def leaf_paths(doc: Any) -> list[Path]:
    leaves: list[Path] = []
    stack: list[tuple[Path, Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list) and value:
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        else:
            leaves.append(path)
    return sorted(leaves, key=lambda p: [str(x) for x in p])


TEMPLATE = _template()
LEAVES = leaf_paths(TEMPLATE)


def pointer(path: Path) -> str:
    return "/" + "/".join(str(p) for p in path)


def altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value + 0.5, 6)
    if isinstance(value, str):
        last = value[-1]
        swap = chr(ord(last) - 1) if last in "9zZ" else chr(ord(last) + 1)
        return value[:-1] + swap
    if value is None:
        return "tampered"
    raise AssertionError(f"no alteration for {value!r}")


def set_at(doc: Any, path: Path, value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def get_at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def test_the_leaves_cover_every_member_of_a_case() -> None:
    top = {p[0] for p in LEAVES}
    assert top == {
        "_id", "type", "contract", "matter", "channel", "agent_id", "device_id", "grid_id",
        "station_id", "request_id", "applicant", "form", "materials", "consent", "location",
        "created_at", "device_seq", "prev_hash", "signature",
    }  # fmt: skip
    assert {p for p in LEAVES if p[0] == "signature"} == {
        ("signature", "alg"), ("signature", "kid"), ("signature", "signed_at"),
        ("signature", "sig"),
    }  # fmt: skip
    assert len([p for p in LEAVES if p[0] == "materials"]) == 3 * 7
    assert len(LEAVES) >= 45


@pytest.mark.parametrize("path", LEAVES, ids=pointer)
def test_every_signed_field_altered_is_refused(
    hall: FieldHall, started: DeviceClient, path: Path
) -> None:
    bob = started
    case, files = new_case(bob, seed())
    tampered = copy.deepcopy(case)
    set_at(tampered, path, altered(get_at(case, path)))
    code = "kid_mismatch" if path == ("signature", "kid") else "bad_signature"
    refused_then_free(hall, bob, attach(tampered, files), code, (case, files))


def test_a_single_put_is_refused_with_403_forbidden(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    case, files = new_case(bob, seed())
    tampered = copy.deepcopy(case)
    tampered["form"]["household_type"] = "外地户籍本地常住"
    response = put(bob, attach(tampered, files))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert body["reason"].startswith("bad_signature: ")
    hall.assert_nothing_stored(case["_id"], device=bob)
    assert put(bob, attach(case, files)).status_code == 201


# ---------------------------------------------------------------------- attachments


def test_one_attachment_byte_flipped(hall: FieldHall, started: DeviceClient) -> None:
    case, files = new_case(started, seed())
    data = bytearray(files[0].data)
    data[len(data) // 2] ^= 0x01
    flipped = [replace(files[0], data=bytes(data)), *files[1:]]
    refused_then_free(hall, started, attach(case, flipped), "attachment_mismatch", (case, files))


def test_an_extra_attachment(hall: FieldHall, started: DeviceClient) -> None:
    case, files = new_case(started, seed())
    sent = attach(case, files)
    sent["_attachments"]["extra.jpg"] = inline(jpeg(999), "image/jpeg")
    refused_then_free(hall, started, sent, "attachment_mismatch", (case, files))


@pytest.mark.parametrize("which", ["photo", "consent signature"])
def test_a_missing_attachment(hall: FieldHall, started: DeviceClient, which: str) -> None:
    case, files = new_case(started, seed())
    kept = files[1:] if which == "photo" else files[:-1]
    refused_then_free(hall, started, attach(case, kept), "attachment_mismatch", (case, files))


def test_an_attachment_of_another_content_type(hall: FieldHall, started: DeviceClient) -> None:
    case, files = new_case(started, seed())
    relabelled = [replace(files[0], content_type="image/png"), *files[1:]]
    refused_then_free(hall, started, attach(case, relabelled), "attachment_mismatch", (case, files))


# ---------------------------------------------------------------------- whose signature


def test_a_kid_of_another_device(
    hall: FieldHall, started: DeviceClient, dora: DeviceClient
) -> None:
    bob = started
    case, files = new_case(bob, seed())
    unsigned = {k: v for k, v in case.items() if k != "signature"}
    # bob's own key, but naming dora's device
    as_dora = sign_document(
        unsigned, signing_key(bob), dora.state.device_id, "2026-01-05T08:00:00.000Z"
    )
    [result] = bulk(bob, [attach(as_dora, files)])
    assert refusal(result) == "kid_mismatch"
    # dora's key and kid, sent by bob
    by_dora = sign_document(
        unsigned, signing_key(dora), dora.state.device_id, "2026-01-05T08:00:00.000Z"
    )
    refused_then_free(hall, bob, attach(by_dora, files), "kid_mismatch", (case, files))


def test_a_document_replayed_by_another_device(
    hall: FieldHall, started: DeviceClient, bob_tablet: DeviceClient, dora: DeviceClient
) -> None:
    bob = started
    case, files = new_case(bob, seed())
    for other in (dora, bob_tablet):  # another agent's device, and bob's own other device
        [result] = bulk(other, [attach(case, files)])
        assert refusal(result) == "kid_mismatch"
    hall.assert_nothing_stored(case["_id"], device=bob)
    rev = accepted(bob, case, files)
    for other in (dora, bob_tablet):  # replayed once stored: still refused, still one rev
        [result] = bulk(other, [attach(case, files)])
        assert refusal(result) == "kid_mismatch"
        response = put(other, attach(case, files))
        assert response.status_code == 403
    assert revisions(hall, case["_id"]) == [rev]
    assert len(hall.receipts_for(case["_id"])) == 1


def test_a_replay_under_the_stored_rev_is_refused_too(
    hall: FieldHall, started: DeviceClient, dora: DeviceClient
) -> None:
    """As a replicator would send it: with its rev and new_edits=false. For dora the
    document does not exist, so her write must be judged (kid_mismatch), not acknowledged —
    an acknowledgement tells her that bob has a document of that id and rev."""
    bob = started
    case, files = new_case(bob, seed())
    rev = accepted(bob, case, files)
    replayed = {
        **attach(case, files),
        "_rev": rev,
        "_revisions": {"start": 1, "ids": [rev.split("-", 1)[1]]},
    }
    [result] = bulk(dora, [replayed], new_edits=False)
    assert refusal(result) == "kid_mismatch"


def test_a_document_under_another_agents_id(
    hall: FieldHall, started: DeviceClient, dora: DeviceClient
) -> None:
    bob = started
    theirs, their_files = new_case(dora, seed())
    their_rev = accepted(dora, theirs, their_files)
    mine, files = new_case(bob, seed())
    hijack = forge(bob, mine, _id=theirs["_id"])
    [result] = bulk(bob, [attach(hijack, files)])
    assert refusal(result) == "not_owner"
    response = put(bob, {**attach(hijack, files), "_rev": their_rev})
    assert response.status_code == 403
    assert response.json()["reason"].startswith("not_owner: ")
    assert revisions(hall, theirs["_id"]) == [their_rev]
    assert hall.doc(theirs["_id"])["agent_id"] == dora.state.agent_id  # type: ignore[index]
    accepted(bob, mine, files)


# ---------------------------------------------------------------------- the hash chain


def test_a_forked_chain(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    first, first_files = new_case(bob, seed(), advance=False)
    second, second_files = new_case(bob, seed())  # the same device_seq, other content
    assert first["device_seq"] == second["device_seq"]
    accepted(bob, second, second_files)
    [result] = bulk(bob, [attach(first, first_files)])
    assert refusal(result) == "chain_fork"
    hall.assert_nothing_stored(first["_id"])
    assert hall.chain(bob.state.device_id)[second["device_seq"]] == second["_id"]


def test_a_fork_within_one_batch(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    first, first_files = new_case(bob, seed(), advance=False)
    second, second_files = new_case(bob, seed())
    results = bulk(bob, [attach(second, second_files), attach(first, first_files)])
    assert results[0].get("ok") is True
    assert refusal(results[1]) == "chain_fork"
    hall.assert_nothing_stored(first["_id"])


def test_a_prev_hash_contradicting_the_stored_predecessor(
    hall: FieldHall, started: DeviceClient
) -> None:
    bob = started
    case, files = new_case(bob, seed())
    wrong = forge(bob, case, prev_hash="ab" * 32)
    refused_then_free(hall, bob, attach(wrong, files), "chain_fork", (case, files))


def successor_and_impostor(
    device: DeviceClient,
) -> tuple[tuple[dict[str, Any], list[Material]], dict[str, Any], dict[str, Any]]:
    """A case and its files, the next case (attached), and another content for the first
    under its device_seq (attached): an impostor the next case contradicts."""
    middle, middle_files = new_case(device, seed())
    last, last_files = new_case(device, seed())
    impostor = forge(device, middle, form={**middle["form"], "household_type": "外地户籍本地常住"})
    return (middle, middle_files), attach(last, last_files), attach(impostor, middle_files)


def test_a_predecessor_contradicting_its_stored_successor(
    hall: FieldHall, started: DeviceClient
) -> None:
    bob = started
    legit, last, impostor = successor_and_impostor(bob)
    [result] = bulk(bob, [last])  # the gap before it is recorded
    assert result.get("ok") is True
    refused_then_free(hall, bob, impostor, "chain_fork", legit)


def test_a_gap_is_accepted_and_then_filled(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    two, two_files = new_case(bob, seed())
    three, three_files = new_case(bob, seed())
    assert three["prev_hash"] == chain_hash(two)
    accepted(bob, three, three_files)
    chain = hall.chain(bob.state.device_id)
    assert three["device_seq"] in chain and two["device_seq"] not in chain
    accepted(bob, two, two_files)
    chain = hall.chain(bob.state.device_id)
    assert chain[two["device_seq"]] == two["_id"] and chain[three["device_seq"]] == three["_id"]


def test_a_predecessor_contradicting_its_successor_earlier_in_the_batch(
    hall: FieldHall, started: DeviceClient
) -> None:
    bob = started
    legit, last, impostor = successor_and_impostor(bob)
    results = bulk(bob, [last, impostor])
    assert results[0].get("ok") is True
    assert refusal(results[1]) == "chain_fork"
    hall.assert_nothing_stored(impostor["_id"])
    accepted(bob, *legit)


def test_a_chain_sent_backwards_in_one_batch_is_accepted_link_by_link(
    hall: FieldHall, started: DeviceClient
) -> None:
    bob = started
    cases = [new_case(bob, seed()) for _ in range(4)]
    # Each closes the gap before the one sent before it; a retry in the batch changes nothing.
    sent = [attach(doc, files) for doc, files in reversed(cases)]
    results = bulk(bob, [*sent, sent[1]])
    assert [r.get("ok") for r in results] == [True] * 5
    assert results[4]["rev"] == results[1]["rev"]
    chain = hall.chain(bob.state.device_id)
    assert {doc["device_seq"]: chain.get(doc["device_seq"]) for doc, _ in cases} == {
        doc["device_seq"]: doc["_id"] for doc, _ in cases
    }
    assert all(len(hall.receipts_for(doc["_id"])) == 1 for doc, _ in cases)


def test_the_device_seq_of_a_refused_document_stays_a_gap(
    hall: FieldHall, started: DeviceClient
) -> None:
    bob = started
    bad, bad_files = new_case(bob, seed(), matter="no_such_matter")
    [result] = bulk(bob, [attach(bad, bad_files)])
    assert refusal(result) == "unknown_matter"
    after, after_files = new_case(bob, seed())
    assert after["prev_hash"] == chain_hash(bad)
    accepted(bob, after, after_files)
    assert bad["device_seq"] not in hall.chain(bob.state.device_id)


# ---------------------------------------------------------------------- what devices may write


def test_an_update_of_a_synced_case_is_immutable(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    case, files = new_case(bob, seed())
    rev = accepted(bob, case, files)
    body = {k: v for k, v in case.items() if k not in ("signature", "device_seq", "prev_hash")}
    body["form"] = {**case["form"], "household_type": "外地户籍本地常住"}
    changed = bob.sign(body, advance_chain=False)  # validly signed, a fresh device_seq
    on_top = {**attach(changed, files), "_rev": rev}
    response = put(bob, on_top)
    assert response.status_code == 403
    assert response.json()["reason"].startswith("immutable: ")
    [result] = bulk(bob, [on_top])
    assert refusal(result) == "immutable"
    generation = rev.split("-", 1)[1]
    replicated = {
        **attach(changed, files),
        "_rev": "2-" + "a" * 32,
        "_revisions": {"start": 2, "ids": ["a" * 32, generation]},
    }
    [result] = bulk(bob, [replicated], new_edits=False)
    assert refusal(result) == "immutable"
    conflicting = {**attach(changed, files), "_rev": "1-" + "b" * 32}
    [result] = bulk(bob, [conflicting], new_edits=False)
    assert refusal(result) == "immutable"
    # the same signed bytes with one more attachment, as a standalone attachment PUT
    with sync_client(bob) as client:
        response = client.put(
            f"/{case['_id']}/extra.jpg",
            params={"rev": rev},
            content=jpeg(4242),
            headers={"Content-Type": "image/jpeg"},
        )
    assert response.status_code == 403, response.text
    assert response.json()["reason"].startswith("immutable: ")
    # the same signed bytes again, one file's bytes changed: not a retry
    data = bytearray(files[0].data)
    data[-3] ^= 0x01
    [result] = bulk(bob, [attach(case, [replace(files[0], data=bytes(data)), *files[1:]])])
    assert refusal(result) == "immutable"
    assert revisions(hall, case["_id"]) == [rev]
    assert len(hall.receipts_for(case["_id"])) == 1
    assert changed["device_seq"] not in hall.chain(bob.state.device_id)


def test_devices_cannot_delete(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    case, files = new_case(bob, seed())
    rev = accepted(bob, case, files)
    with sync_client(bob) as client:
        response = client.delete(f"/{case['_id']}", params={"rev": rev})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert response.json()["reason"].startswith("delete_forbidden: ")
    [result] = bulk(bob, [{"_id": case["_id"], "_rev": rev, "_deleted": True}])
    assert refusal(result) == "delete_forbidden"
    generation = rev.split("-", 1)[1]
    tombstone = {
        "_id": case["_id"],
        "_rev": "2-" + "c" * 32,
        "_deleted": True,
        "_revisions": {"start": 2, "ids": ["c" * 32, generation]},
    }
    [result] = bulk(bob, [tombstone], new_edits=False)
    assert refusal(result) == "delete_forbidden"
    state = hall.state(case["_id"])
    assert state is not None and not state.deleted and sorted(state.tree) == [rev]


def test_the_catalog_is_read_only_for_devices(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    catalog = hall.url + "/sync/catalog"
    headers = {"Authorization": f"Bearer {bob.state.token}"}
    with hall.admin() as admin:
        before = admin.get("/sync/catalog/_all_docs").json()["rows"]
    current = next(r for r in before if r["id"] == "catalog:2026.1")
    with httpx.Client(headers=headers, timeout=30.0) as client:
        doc = client.get(f"{catalog}/catalog:2026.1").json()
        attempts = [
            client.put(f"{catalog}/catalog:2099.1", json={"version": "2099.1", "matters": []}),
            client.put(f"{catalog}/catalog:2026.1", json={**doc, "matters": []}),
            client.delete(f"{catalog}/catalog:2026.1", params={"rev": current["value"]["rev"]}),
            client.post(catalog, json={"_id": "catalog:2099.2", "matters": []}),
        ]
        for response in attempts:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "forbidden"
        results = client.post(
            f"{catalog}/_bulk_docs", json={"docs": [{"_id": "catalog:2099.3", "matters": []}]}
        ).json()
        assert refusal(results[0]) in REFUSAL_CODES
    with hall.admin() as admin:
        assert admin.get("/sync/catalog/_all_docs").json()["rows"] == before


# ---------------------------------------------------------------------- I-JSON


def _defective(raw: str, defect: str) -> str:
    if defect == "duplicate_key":
        return raw[:-1] + ', "channel": "hall"}'
    if defect == "duplicate_nested_key":
        return raw.replace(
            '"household_type": "本地户籍"',
            '"household_type": "本地户籍", "household_type": "外地户籍本地常住"',
        )
    if defect == "lone_surrogate":
        return raw.replace('"name": "张桂兰"', '"name": "张\\ud800"')
    if defect == "unsafe_integer":
        return raw.replace('"contract": 1', '"contract": 9007199254740993')
    raise AssertionError(defect)


@pytest.mark.parametrize(
    "defect", ["duplicate_key", "duplicate_nested_key", "lone_surrogate", "unsafe_integer"]
)
@pytest.mark.parametrize("how", ["bulk_docs", "put"])
def test_a_document_that_is_not_ijson_is_a_400(
    hall: FieldHall, started: DeviceClient, defect: str, how: str
) -> None:
    bob = started
    case, files = new_case(bob, seed())
    raw = json.dumps(attach(case, files), ensure_ascii=False)
    bad = _defective(raw, defect)
    assert bad != raw
    headers = {"Content-Type": "application/json"}
    with sync_client(bob) as client:
        if how == "put":
            response = client.put(f"/{case['_id']}", content=bad.encode(), headers=headers)
        else:
            body = '{"docs": [' + bad + "]}"
            response = client.post("/_bulk_docs", content=body.encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    hall.assert_nothing_stored(case["_id"], device=bob)
    accepted(bob, case, files)


# ---------------------------------------------------------------------- shapes and ownership


@pytest.mark.parametrize("doc_type", ["receipt", "case_event", "visit_request", "banana"])
def test_server_only_and_unknown_types(
    hall: FieldHall, started: DeviceClient, doc_type: str
) -> None:
    bob = started
    body = {
        "_id": f"{doc_type}:01JGZ5T0000000000000000000",
        "type": doc_type,
        "case_id": "case:01JGZ5T0000000000000000000",
        "event": "approved",
        "for": {"id": "case:01JGZ5T0000000000000000000", "rev": "1-x", "sha256": "0" * 64},
    }
    forged = bob.sign(body, advance_chain=False)
    case, files = new_case(bob, seed())
    refused_then_free(hall, bob, forged, "unknown_type", (case, files))


def _with(case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(case)
    out.update(changes)
    return out


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"form": {"birth_date": "1945-01-01", "household_type": "火星户籍",
                   "residence_address": "汉滨区新城街道南环社区"}}, "schema_invalid"),
        ({"form": {"birth_date": "1945-01-01"}}, "schema_invalid"),
        ({"applicant": {"name": "张桂兰", "id_number": "12345"}}, "schema_invalid"),
        ({"channel": "carrier_pigeon"}, "schema_invalid"),
        ({"surplus": True}, "schema_invalid"),
        ({"matter": {"id": "no_such_matter", "catalog_version": "2026.1"}}, "unknown_matter"),
        ({"matter": {"id": "gas_account_opening", "catalog_version": "2025.2"}}, "unknown_matter"),
        ({"matter": {"id": "senior_citizen_card", "catalog_version": "1999.1"}},
         "unknown_catalog_version"),
    ],
    ids=["form_enum", "form_required", "id_number", "channel", "unknown_member",
         "unknown_matter", "matter_not_in_that_version", "unknown_catalog_version"],
)  # fmt: skip
def test_shape_refusals(
    hall: FieldHall, started: DeviceClient, change: dict[str, Any], code: str
) -> None:
    bob = started
    case, files = new_case(bob, seed(), advance=False)
    bad = forge(bob, _with(case, **change))
    refused_then_free(hall, bob, attach(bad, files), code, (bob.sign(case), files))


def test_not_owner(
    hall: FieldHall, started: DeviceClient, bob_tablet: DeviceClient, dora: DeviceClient
) -> None:
    bob = started
    for field, value in [
        ("agent_id", dora.state.agent_id),
        ("grid_id", dora.state.grid_id),
        ("device_id", bob_tablet.state.device_id),
        ("station_id", "station-east"),
    ]:
        case, files = new_case(bob, seed())
        bad = forge(bob, case, **{field: value})
        refused_then_free(hall, bob, attach(bad, files), "not_owner", (case, files))


# ---------------------------------------------------------------------- the other way round


def test_an_identical_resend_is_a_successful_no_op(hall: FieldHall, started: DeviceClient) -> None:
    bob = started
    case, files = new_case(bob, seed())
    rev = accepted(bob, case, files)
    seq = hall.state(case["_id"]).seq  # type: ignore[union-attr]
    assert len(hall.receipts_for(case["_id"])) == 1

    [again] = bulk(bob, [attach(case, files)])
    assert again == {"ok": True, "id": case["_id"], "rev": rev}
    response = put(bob, attach(case, files))
    assert response.status_code == 201 and response.json()["rev"] == rev
    with sync_client(bob) as client:
        stored = client.get(f"/{case['_id']}").json()
    response = put(bob, {**case, "_rev": rev, "_attachments": stored["_attachments"]})
    assert response.status_code == 201 and response.json()["rev"] == rev
    replicated = {
        **attach(case, files),
        "_rev": rev,
        "_revisions": {"start": 1, "ids": [rev.split("-", 1)[1]]},
    }
    assert bulk(bob, [replicated], new_edits=False) == []

    state = hall.state(case["_id"])
    assert state is not None and sorted(state.tree) == [rev] and state.seq == seq
    assert len(hall.receipts_for(case["_id"])) == 1
    assert list(hall.chain(bob.state.device_id).values()).count(case["_id"]) == 1


def test_a_replicated_document_resent_is_a_no_op(hall: FieldHall, started: DeviceClient) -> None:
    """First written as a replicator writes (new_edits=false, the client's own rev)."""
    bob = started
    case, files = new_case(bob, seed())
    rev = "1-" + "d" * 32
    replicated = {**attach(case, files), "_rev": rev, "_revisions": {"start": 1, "ids": ["d" * 32]}}
    assert bulk(bob, [replicated], new_edits=False) == []
    assert bulk(bob, [replicated], new_edits=False) == []
    [again] = bulk(bob, [attach(case, files)])
    assert again == {"ok": True, "id": case["_id"], "rev": rev}
    assert revisions(hall, case["_id"]) == [rev]
    assert len(hall.receipts_for(case["_id"])) == 1


# ---------------------------------------------------------------------- tokens and revocation


def _sync_requests(doc_id: str, rev: str, att: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One request on every path of /sync/field (and the catalog), relative to the server."""
    new_doc = {"_id": "case:01JGZ5T0000000000000000001", "type": "case"}
    return [
        ("GET", "/sync/field", {}),
        ("GET", "/sync/field/_changes", {}),
        ("POST", "/sync/field/_changes", {"json": {}}),
        ("GET", "/sync/field/_changes", {"params": {"feed": "longpoll", "timeout": "100"}}),
        ("GET", "/sync/field/_changes", {"params": {"feed": "continuous", "timeout": "100"}}),
        ("GET", "/sync/field/_all_docs", {}),
        ("POST", "/sync/field/_all_docs", {"json": {"keys": [doc_id]}}),
        ("GET", f"/sync/field/{doc_id}", {}),
        ("GET", f"/sync/field/{doc_id}", {"params": {"open_revs": "all"}}),
        ("GET", f"/sync/field/{doc_id}/{att}", {}),
        ("PUT", f"/sync/field/{new_doc['_id']}", {"json": new_doc}),
        ("DELETE", f"/sync/field/{doc_id}", {"params": {"rev": rev}}),
        ("POST", "/sync/field", {"json": new_doc}),
        ("POST", "/sync/field/_bulk_docs", {"json": {"docs": [new_doc]}}),
        ("POST", "/sync/field/_bulk_get", {"json": {"docs": [{"id": doc_id}]}}),
        ("POST", "/sync/field/_revs_diff", {"json": {doc_id: [rev]}}),
        ("GET", "/sync/field/_local/checkpoint", {}),
        ("PUT", "/sync/field/_local/checkpoint", {"json": {"last_seq": "1"}}),
        ("DELETE", "/sync/field/_local/checkpoint", {"params": {"rev": "0-1"}}),
        ("GET", "/sync/catalog", {}),
        ("GET", "/sync/catalog/_changes", {}),
        ("GET", "/sync/catalog/catalog:2026.1", {}),
    ]


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.request.method, response.request.url)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "unauthorized"


@pytest.fixture(scope="module")
def filed(hall: FieldHall, started: DeviceClient) -> tuple[str, str, str]:
    case, files = new_case(started, seed())
    return case["_id"], accepted(started, case, files), files[0].name


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Bearer", "Token abc", "Basic bm9ib2R5Om5vdGhpbmc="],
    ids=["missing", "unknown", "empty", "other_scheme", "unknown_staff"],
)
def test_a_wrong_or_missing_token_gets_401_on_every_path(
    hall: FieldHall, filed: tuple[str, str, str], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=hall.url, headers=headers, timeout=30.0) as client:
        for method, path, options in _sync_requests(*filed):
            assert_unauthorized(client.request(method, path, **options))
        assert_unauthorized(client.get("/api/v1/devices/me"))
    with hall.admin() as admin:  # nothing was written by any of these
        assert admin.get("/sync/field/case:01JGZ5T0000000000000000001").status_code == 404


@pytest.mark.parametrize("how", ["admin_api", "cli"])
def test_a_revoked_device_gets_401_from_the_next_request(hall: FieldHall, how: str) -> None:
    device = hall.enroll(f"撤销测试 {how}", grid="grid-c")
    case, files = new_case(device, seed())
    rev = accepted(device, case, files)
    headers = {"Authorization": f"Bearer {device.state.token}"}
    with httpx.Client(base_url=hall.url, headers=headers, timeout=30.0) as client:
        assert client.get("/api/v1/devices/me").status_code == 200
        assert client.put("/sync/field/_local/checkpoint", json={"s": 1}).status_code == 201
        assert client.get("/sync/field/_changes").status_code == 200
        if how == "admin_api":
            with hall.admin() as admin:
                revoked = admin.post(f"/api/v1/admin/devices/{device.state.device_id}/revoke")
            assert revoked.status_code == 200
            assert revoked.json()["device_id"] == device.state.device_id
            assert revoked.json()["revoked_at"]
        else:
            out = hall.cli("devices", "revoke", device.state.device_id)
            assert out["device_id"] == device.state.device_id and out["revoked_at"]
        for method, path, options in _sync_requests(case["_id"], rev, files[0].name):
            assert_unauthorized(client.request(method, path, **options))
        assert_unauthorized(client.get("/api/v1/devices/me"))
    later, later_files = new_case(device, seed())
    with pytest.raises(httpx.HTTPStatusError):
        device.push([attach(later, later_files)])
    hall.assert_nothing_stored(later["_id"])
    assert revisions(hall, case["_id"]) == [rev]  # what it sent before stays


def test_the_device_of_an_inactive_agent_gets_401_and_an_active_one_again(
    hall: FieldHall,
) -> None:
    device = hall.enroll("停用测试", grid="grid-c")
    headers = {"Authorization": f"Bearer {device.state.token}"}

    def set_active(active: bool) -> None:
        with hall.store.db.write() as conn:
            conn.execute(
                text("UPDATE field_agent SET active = :active WHERE id = :id"),
                {"active": active, "id": device.state.agent_id},
            )

    with httpx.Client(base_url=hall.url, headers=headers, timeout=30.0) as client:
        assert client.get("/sync/field/_changes").status_code == 200
        set_active(False)
        assert_unauthorized(client.get("/sync/field/_changes"))
        assert_unauthorized(client.get("/api/v1/devices/me"))
        set_active(True)
        assert client.get("/sync/field/_changes").status_code == 200
        assert client.get("/api/v1/devices/me").status_code == 200


# ---------------------------------------------------------------------- enrollment codes


def _enroll(url: str, code: str) -> httpx.Response:
    key = b64url_encode(public_key_raw(Ed25519PrivateKey.generate()))
    return httpx.post(
        url + "/api/v1/devices/enroll",
        json={"code": code, "public_key": key, "name": "试用机"},
        timeout=30.0,
    )


def _assert_code_refused(response: httpx.Response, code: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == code


@pytest.fixture
def code_hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldHall]:
    """A hall of its own: failed attempts are counted per client (all tests are 127.0.0.1)."""
    with field_hall(tmp_path_factory.mktemp("codes")) as running:
        yield running


def test_spent_expired_and_unknown_codes(code_hall: FieldHall) -> None:
    hall = code_hall
    agent = hall.add_agent("赵敏", grid="grid-a")
    assert _enroll(hall.url, agent["enrollment_code"]).status_code == 201
    _assert_code_refused(_enroll(hall.url, agent["enrollment_code"]), "enroll.code_spent")
    _assert_code_refused(_enroll(hall.url, "ZZZZ-ZZZZ-ZZZZ-ZZZZ"), "enroll.unknown_code")
    _assert_code_refused(_enroll(hall.url, ""), "enroll.unknown_code")

    # a short lifetime, issued through the enrollment module
    with Session(hall.store.db.engine) as session:
        short = issue_code(session, agent["agent_id"], lifetime=timedelta(seconds=1))
    time.sleep(1.2)
    _assert_code_refused(_enroll(hall.url, short.code), "enroll.code_expired")

    # an ordinary 72 h code, its clock moved on in the database
    code = hall.new_code(agent["agent_id"])
    with hall.store.db.write() as conn:
        conn.execute(
            text("UPDATE field_enrollment_code SET expires_at = created_at WHERE spent_at IS NULL")
        )
    _assert_code_refused(_enroll(hall.url, code), "enroll.code_expired")


def test_enrollment_attempts_are_rate_limited(code_hall: FieldHall) -> None:
    hall = code_hall
    agent = hall.add_agent("钱多多", grid="grid-a")
    for _ in range(10):
        _assert_code_refused(_enroll(hall.url, "AAAA-BBBB-CCCC-DDDD"), "enroll.unknown_code")
    limited = _enroll(hall.url, agent["enrollment_code"])  # even a good code, for now
    assert limited.status_code == 429
    assert limited.json()["error"] == "enroll.rate_limited"
    with hall.store.db.write() as conn:  # the window passes
        conn.execute(
            text("UPDATE field_enrollment_attempt SET at = :at"),
            {"at": datetime(2000, 1, 1, tzinfo=UTC)},
        )
    assert _enroll(hall.url, agent["enrollment_code"]).status_code == 201
