"""What must hold after a kill -9 and a restart, checked against the writers' records.

* Every acknowledged write is there: a document is at its last acknowledged rev, or one
  generation past it with exactly the body of the writer's unanswered request; every rev the
  writer was acknowledged since the last check is in the document's history.
* Nothing is partial: every row of ``_all_docs`` and ``_changes`` has its body at the listed rev,
  ``_changes?since=0`` lists each document once, ``doc_count`` is the number of live documents,
  and every attachment stub's bytes are readable, of the stated length and digest, and
  byte-identical to what was sent.
* ``_local`` documents read back at their acknowledged rev (or the unanswered one after it).

After a check the writers' records are brought up to date (an unanswered write becomes
acknowledged or forgotten, as found), so the next round continues from the truth.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .workload import DB, LocalDoc, OwnedDoc, Version, Writer, doc_path

__all__ = ["Tally", "check_after_restart"]

SAMPLE_UNTOUCHED = 25  # untouched docs and _local docs re-read byte by byte each round


@dataclass
class Tally:
    acked_verified: int = 0  # acknowledged writes found with their rev
    unknown_applied: int = 0  # unanswered writes found applied after the restart
    unknown_absent: int = 0  # … found not applied
    attachments_read: int = 0
    bytes_read: int = 0


def _generation(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class _Check:
    def __init__(self, client: httpx.Client, writers: list[Writer], rng: random.Random) -> None:
        self.client = client
        self.writers = writers
        self.rng = rng
        self.problems: list[str] = []
        self.tally = Tally()

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def get_json(self, path: str, **params: str) -> Any:
        response = self.client.get(path, params=params)
        if response.status_code != 200:
            self.problem(f"GET {path} {params} -> {response.status_code} {response.text[:200]}")
            return {}
        return response.json()

    # ------------------------------------------------------------------ the whole database

    def database(self) -> dict[str, dict[str, Any]]:
        """Structural checks; returns the live documents (with stubs) by id."""
        info = self.get_json(f"/{DB}")
        all_docs = self.get_json(f"/{DB}/_all_docs", include_docs="true")
        rows = all_docs.get("rows", [])
        docs: dict[str, dict[str, Any]] = {}
        for row in rows:
            doc = row.get("doc")
            if not isinstance(doc, dict) or doc.get("_rev") != row["value"]["rev"]:
                self.problem(f"_all_docs row {row['id']} has no body at {row['value']}: {doc}")
                continue
            docs[row["id"]] = doc
        ids = [row["id"] for row in rows]
        if ids != sorted(set(ids)):
            self.problem("_all_docs ids are not unique and in order")
        if not (info.get("doc_count") == all_docs.get("total_rows") == len(rows)):
            self.problem(
                f"doc_count {info.get('doc_count')}, total_rows {all_docs.get('total_rows')},"
                f" but _all_docs lists {len(rows)} live documents"
            )
        if info.get("doc_del_count") != 0:
            self.problem(f"doc_del_count {info.get('doc_del_count')}; nothing was deleted")
        self._changes(info, docs)
        return docs

    def _changes(self, info: dict[str, Any], docs: dict[str, dict[str, Any]]) -> None:
        feed = self.get_json(f"/{DB}/_changes", since="0", include_docs="true", style="all_docs")
        results = feed.get("results", [])
        ids = [r["id"] for r in results]
        repeated = [i for i, n in Counter(ids).items() if n > 1]
        if repeated:
            self.problem(
                f"_changes since=0 lists {len(repeated)} docs more than once: {repeated[:5]}"
            )
        if set(ids) != set(docs):
            only_feed, only_all = sorted(set(ids) - set(docs)), sorted(set(docs) - set(ids))
            self.problem(f"_changes and _all_docs differ: {only_feed[:5]} / {only_all[:5]}")
        for result in results:
            revs = [c["rev"] for c in result["changes"]]
            doc = result.get("doc")
            if len(revs) != 1 or result.get("deleted"):
                self.problem(f"_changes {result['id']}: leaves {revs}; one live leaf expected")
            if not isinstance(doc, dict) or doc.get("_rev") != revs[0]:
                self.problem(f"_changes {result['id']} has no body at {revs}: {doc}")
            elif doc != docs.get(result["id"], doc):
                self.problem(f"_changes and _all_docs disagree on {result['id']}")
        if feed.get("last_seq") != info.get("update_seq"):
            self.problem(f"last_seq {feed.get('last_seq')} != update_seq {info.get('update_seq')}")
        if results:
            middle = len(results) // 2
            tail = self.get_json(f"/{DB}/_changes", since=str(results[middle]["seq"]))
            tail_ids = [r["id"] for r in tail.get("results", [])]
            if tail_ids != ids[middle + 1 :]:
                self.problem("_changes since=<a listed seq> is not the rest of the feed")
        after = self.get_json(f"/{DB}/_changes", since=str(feed.get("last_seq")))
        if after.get("results"):
            self.problem(f"_changes after last_seq lists {len(after['results'])} more")

    # ------------------------------------------------------------------ documents

    def documents(self, docs: dict[str, dict[str, Any]], *, full: bool) -> None:
        histories = self._histories({d for w in self.writers for d in w.touched})
        owned = {doc_id: (w, d) for w in self.writers for doc_id, d in w.docs.items()}
        for stranger in sorted(set(docs) - set(owned))[:5]:
            self.problem(f"{stranger}: in the database, but no writer ever sent it")
        untouched = sorted(d for w in self.writers for d in w.docs if d not in w.touched)
        sample = set(self.rng.sample(untouched, min(SAMPLE_UNTOUCHED, len(untouched))))
        for doc_id, (writer, record) in owned.items():
            read_bytes = full or doc_id in writer.touched or doc_id in sample
            self._document(writer, record, docs.get(doc_id), histories, read_bytes)

    def _histories(self, doc_ids: set[str]) -> dict[str, list[str]]:
        """The rev path from each document's winner back to its root (``_bulk_get?revs``)."""
        histories: dict[str, list[str]] = {}
        ordered = sorted(doc_ids)
        for start in range(0, len(ordered), 200):
            wanted = [{"id": d} for d in ordered[start : start + 200]]
            response = self.client.post(
                f"/{DB}/_bulk_get", params={"revs": "true"}, json={"docs": wanted}
            )
            assert response.status_code == 200, response.text
            for result in response.json()["results"]:
                found = result["docs"][0].get("ok")
                if found is not None:
                    revisions = found["_revisions"]
                    histories[result["id"]] = [
                        f"{revisions['start'] - k}-{h}" for k, h in enumerate(revisions["ids"])
                    ]
        return histories

    def _document(
        self,
        writer: Writer,
        record: OwnedDoc,
        actual: dict[str, Any] | None,
        histories: dict[str, list[str]],
        read_bytes: bool,
    ) -> None:
        doc_id, acked, unknown = record.doc_id, record.acked, record.unknown
        if actual is None:
            if acked is not None:
                self.problem(f"{doc_id}: acknowledged at {acked.rev}, missing after restart")
            elif unknown is not None:
                self.tally.unknown_absent += 1
                del writer.docs[doc_id]
                writer.doc_ids.remove(doc_id)
            return
        rev = actual["_rev"]
        if acked is not None and rev == acked.rev:
            expected = acked
            if unknown is not None:
                self.tally.unknown_absent += 1
        elif unknown is not None:
            expected = unknown
            parent_generation = _generation(acked.rev) if acked and acked.rev else 0
            if _generation(rev) != parent_generation + 1:
                self.problem(f"{doc_id}: at {rev}, one edit after {acked and acked.rev} expected")
            self.tally.unknown_applied += 1
        else:
            self.problem(
                f"{doc_id}: at {rev}, but the last write sent was acknowledged as "
                f"{acked and acked.rev}"
            )
            return
        self._compare(doc_id, rev, expected, actual)
        if record.acked_revs:
            history = histories.get(doc_id, [])
            lost = [r for r in record.acked_revs if r not in history]
            if lost:
                self.problem(f"{doc_id}: acknowledged revs {lost} not in its history {history}")
            self.tally.acked_verified += len(record.acked_revs) - len(lost)
        if read_bytes:
            self._attachment_bytes(doc_id, expected, actual.get("_attachments", {}))
        record.acked = Version(expected.body, expected.atts, rev)
        record.unknown = None
        record.acked_revs = []

    def _compare(self, doc_id: str, rev: str, expected: Version, actual: dict[str, Any]) -> None:
        if _body(actual) != expected.body:
            self.problem(f"{doc_id}@{rev}: body {_body(actual)} != sent {expected.body}")
        stubs = actual.get("_attachments", {})
        if set(stubs) != set(expected.atts):
            self.problem(f"{doc_id}@{rev}: attachments {sorted(stubs)} != {sorted(expected.atts)}")
            return
        for name, att in expected.atts.items():
            stub = stubs[name]
            seen = (
                stub.get("stub"),
                stub.get("digest"),
                stub.get("length"),
                stub.get("content_type"),
            )
            if seen != (True, att.md5_digest, att.length, att.content_type):
                self.problem(f"{doc_id}@{rev}/{name}: stub {stub} != sent {att}")

    def _attachment_bytes(
        self, doc_id: str, expected: Version, stubs: dict[str, dict[str, Any]]
    ) -> None:
        for name, stub in stubs.items():
            where = f"{doc_id}/{name}"
            try:
                response = self.client.get(doc_path(doc_id, name))
            except httpx.HTTPError as exc:  # e.g. the server hangs up half-way through
                self.problem(f"{where}: GET failed: {exc!r}")
                continue
            if response.status_code != 200:
                self.problem(f"{where}: GET -> {response.status_code} {response.text[:200]}")
                continue
            data = response.content
            md5 = "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
            if len(data) != stub.get("length") or md5 != stub.get("digest"):
                self.problem(f"{where}: read {len(data)} bytes {md5}, stub says {stub}")
            if response.headers.get("content-length") != str(len(data)):
                self.problem(f"{where}: content-length {response.headers.get('content-length')}")
            att = expected.atts.get(name)
            if att is not None and (
                hashlib.sha256(data).hexdigest() != att.sha256 or data != att.data()
            ):
                self.problem(f"{where}: bytes differ from the {att.length} bytes sent")
            self.tally.attachments_read += 1
            self.tally.bytes_read += len(data)

    # ------------------------------------------------------------------ _local documents

    def locals(self, *, full: bool) -> None:
        for writer in self.writers:
            untouched = sorted(set(writer.locals) - writer.touched_locals)
            picked = untouched if full else self.rng.sample(untouched, min(3, len(untouched)))
            for doc_id in sorted(writer.touched_locals) + picked:
                self._local(writer, writer.locals[doc_id])

    def _local(self, writer: Writer, local: LocalDoc) -> None:
        path = f"/{DB}/_local/" + quote(local.doc_id.removeprefix("_local/"), safe="")
        response = self.client.get(path)
        acked_rev = f"0-{local.acked_n}" if local.acked_n else None
        if response.status_code == 404:
            if acked_rev is not None:
                self.problem(f"{local.doc_id}: acknowledged at {acked_rev}, missing after restart")
            elif local.unknown_body is not None:
                self.tally.unknown_absent += 1
                del writer.locals[local.doc_id]
            return
        if response.status_code != 200:
            self.problem(f"{local.doc_id}: GET -> {response.status_code} {response.text[:200]}")
            return
        doc = response.json()
        rev, body = doc.get("_rev"), _body(doc)
        if rev == acked_rev and body == local.acked_body:
            if local.unknown_body is not None:
                self.tally.unknown_absent += 1
        elif local.unknown_body is not None and rev == f"0-{(local.acked_n or 0) + 1}":
            if body != local.unknown_body:
                self.problem(f"{local.doc_id}@{rev}: body {body} != sent {local.unknown_body}")
            self.tally.unknown_applied += 1
            local.acked_n, local.acked_body = (local.acked_n or 0) + 1, local.unknown_body
        else:
            self.problem(
                f"{local.doc_id}: found {rev} {body}; acknowledged {acked_rev} {local.acked_body}"
            )
            return
        self.tally.acked_verified += local.acked_since
        local.unknown_body, local.acked_since = None, 0


def check_after_restart(
    client: httpx.Client, writers: list[Writer], rng: random.Random, *, full: bool = False
) -> tuple[list[str], Tally]:
    """Check the restarted server against the writers' records and bring those up to date.

    ``full`` re-reads every attachment and ``_local`` document, not only the ones written since
    the last check plus a random sample of the others.
    """
    check = _Check(client, writers, rng)
    docs = check.database()
    check.documents(docs, full=full)
    check.locals(full=full)
    for writer in writers:
        writer.touched.clear()
        writer.touched_locals.clear()
    return check.problems, check.tally
