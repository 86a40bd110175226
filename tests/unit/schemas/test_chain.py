"""The device hash chain: ok, retry, gap recorded, fork — ARCHITECTURE's rules."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from fieldhall.schemas import (
    ChainEntry,
    ChainStatus,
    chain_hash,
    check_chain,
    sign_document,
    signed_bytes,
)

from .examples import BOB_KEY, SIGNED_AT, unsigned


def _chain(length: int) -> list[dict[str, Any]]:
    """bob's first ``length`` documents, each naming the hash of the one before."""
    docs: list[dict[str, Any]] = []
    prev: str | None = None
    for seq in range(1, length + 1):
        doc = unsigned("visit_update")
        doc.update(
            _id=f"visit_update:01JN8Y5Z6Q7R8S9T0V1W2X3Y{seq:02d}",
            device_seq=seq,
            prev_hash=prev,
            note=f"第{seq}次",
        )
        doc = sign_document(doc, BOB_KEY, "device-bob", SIGNED_AT)
        docs.append(doc)
        prev = chain_hash(doc)
    return docs


DOCS = _chain(6)


def _stored(*seqs: int) -> dict[int, ChainEntry]:
    return {seq: ChainEntry.of(DOCS[seq - 1]) for seq in seqs}


def test_the_chain_hash_is_sha256_of_the_signed_bytes() -> None:
    doc = DOCS[0]
    assert chain_hash(doc) == hashlib.sha256(signed_bytes(doc)).hexdigest()
    assert chain_hash(dict(doc, _rev="1-abc")) == chain_hash(doc)
    assert DOCS[1]["prev_hash"] == chain_hash(DOCS[0])


def test_the_first_document_and_each_next_one_are_ok() -> None:
    verdict = check_chain({}, DOCS[0])
    assert verdict.status is ChainStatus.OK and verdict.accepted and not verdict.closes_gap
    for seq in range(2, 7):
        assert check_chain(_stored(*range(1, seq)), DOCS[seq - 1]).status is ChainStatus.OK


def test_identical_bytes_re_sent_are_a_successful_no_op() -> None:
    verdict = check_chain(_stored(1, 2, 3), DOCS[1])
    assert verdict.status is ChainStatus.RETRY_IDENTICAL
    assert verdict.accepted
    # The rev CouchDB assigned is not part of the signed bytes: still the same document.
    assert (
        check_chain(_stored(1, 2), dict(DOCS[1], _rev="1-x")).status is ChainStatus.RETRY_IDENTICAL
    )


def test_different_content_at_a_used_seq_is_a_fork() -> None:
    other = sign_document(dict(DOCS[1], note="改过的内容"), BOB_KEY, "device-bob", SIGNED_AT)
    verdict = check_chain(_stored(1, 2), other)
    assert verdict.status is ChainStatus.CHAIN_FORK
    assert not verdict.accepted
    assert verdict.detail == "device_seq 2 is already used by other content"
    # Signed at another moment: different signed bytes, so also a fork, not a retry.
    resigned = sign_document(DOCS[1], BOB_KEY, "device-bob", "2026-03-02T02:16:00.000Z")
    assert check_chain(_stored(1, 2), resigned).status is ChainStatus.CHAIN_FORK


def test_a_prev_hash_that_contradicts_the_known_predecessor_is_a_fork() -> None:
    forked = sign_document(dict(DOCS[2], prev_hash="0" * 64), BOB_KEY, "device-bob", SIGNED_AT)
    verdict = check_chain(_stored(1, 2), forked)
    assert verdict.status is ChainStatus.CHAIN_FORK
    assert "device_seq 2" in verdict.detail


def test_a_missing_predecessor_is_accepted_and_the_gap_recorded() -> None:
    verdict = check_chain(_stored(1, 2), DOCS[4])  # 5 arrives before 3 and 4
    assert verdict.status is ChainStatus.GAP_RECORDED
    assert verdict.accepted and not verdict.closes_gap
    assert verdict.detail == "device_seq 4 has not arrived; gap recorded"


def test_the_missing_document_closes_the_gap_when_it_arrives() -> None:
    verdict = check_chain(_stored(1, 2, 3, 5), DOCS[3])
    assert verdict.status is ChainStatus.OK and verdict.closes_gap
    # 3 arriving after 5 (4 still missing): accepted, closes nothing, 3 itself has no gap.
    verdict = check_chain(_stored(1, 2, 5), DOCS[2])
    assert verdict.status is ChainStatus.OK and not verdict.closes_gap
    # 4 arriving with 3 missing: a gap before it, and it closes the gap before 5.
    verdict = check_chain(_stored(1, 2, 5), DOCS[3])
    assert verdict.status is ChainStatus.GAP_RECORDED and verdict.closes_gap


def test_other_content_in_a_gap_contradicts_the_successor() -> None:
    # 4 was refused (never stored, so a gap); 5 already names the hash of the refused 4.
    replacement = sign_document(dict(DOCS[3], note="换了内容"), BOB_KEY, "device-bob", SIGNED_AT)
    verdict = check_chain(_stored(1, 2, 3, 5), replacement)
    assert verdict.status is ChainStatus.CHAIN_FORK
    assert verdict.detail == "the stored document at device_seq 5 names a different predecessor"


def test_only_the_neighbours_are_consulted() -> None:
    stored = _stored(1, 2, 3, 4, 5)
    neighbours: dict[int, ChainEntry] = {seq: stored[seq] for seq in (4, 5)}
    assert check_chain(neighbours, DOCS[5]) == check_chain(stored, DOCS[5])


@pytest.mark.parametrize(
    "change",
    [
        {"device_seq": 1, "prev_hash": "a" * 64},
        {"device_seq": 3, "prev_hash": None},
        {"device_seq": 0},
        {"device_seq": True},
        {"device_seq": "3"},
    ],
)
def test_documents_that_break_the_chain_shape_are_forks(change: dict[str, Any]) -> None:
    assert check_chain({}, dict(DOCS[2], **change)).status is ChainStatus.CHAIN_FORK


def test_status_values_are_stable_strings() -> None:
    assert [s.value for s in ChainStatus] == ["ok", "gap_recorded", "retry_identical", "chain_fork"]
