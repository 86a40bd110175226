"""The kill -9 workload: writers that each own their documents and remember what the server
acknowledged.

Each writer writes only documents (and ``_local`` documents) whose ids carry its own prefix,
one request at a time, so for every document there is a single line of edits and we can say
exactly which states are allowed after a crash: the last acknowledged version, or — if the
writer's last request got no answer — that unanswered version on top of it. A writer stops
at its first unanswered request (the server is gone), so there is at most one unknown write
per document and round.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["DB", "KINDS", "Att", "LocalDoc", "OwnedDoc", "Version", "Writer", "doc_path"]

DB = "soak"
BULK_SIZE = 20
MAX_OPS_PER_ROUND = 5_000  # a bound, never reached: the kill ends a round within seconds
MIN_ATT, MAX_ATT = 1024, 200 * 1024
CONTENT_TYPES = ("application/octet-stream", "image/jpeg", "text/plain")

# What a writer does next, and how often.
KINDS = {
    "put": 20,  # PUT a new document
    "update": 22,  # PUT with _rev (existing attachments kept as stubs)
    "bulk": 8,  # POST _bulk_docs, 20 documents, new ones and updates
    "inline_att": 16,  # PUT a document with an inline base64 attachment
    "att_put": 16,  # PUT /db/doc/name with raw bytes
    "local": 18,  # PUT /db/_local/id
}


def doc_path(doc_id: str, *rest: str) -> str:
    return "/" + "/".join([DB, quote(doc_id, safe=""), *(quote(r, safe="") for r in rest)])


@dataclass(frozen=True, slots=True)
class Att:
    """An attachment we sent: its bytes are regenerated from ``seed`` to compare them."""

    content_type: str
    seed: int
    length: int
    sha256: str
    md5_digest: str  # CouchDB's "md5-<base64>"

    @classmethod
    def make(cls, rng: random.Random, content_type: str, length: int) -> tuple[Att, bytes]:
        seed = rng.getrandbits(63)
        data = random.Random(seed).randbytes(length)
        md5 = "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
        return cls(content_type, seed, length, hashlib.sha256(data).hexdigest(), md5), data

    def data(self) -> bytes:
        return random.Random(self.seed).randbytes(self.length)


@dataclass(frozen=True, slots=True)
class Version:
    """A version of a document as the writer sent it; ``rev`` once the server answered."""

    body: dict[str, Any]
    atts: dict[str, Att]
    rev: str | None = None


@dataclass(slots=True)
class OwnedDoc:
    doc_id: str
    acked: Version | None = None  # the last acknowledged version
    unknown: Version | None = None  # sent after `acked`, no answer
    acked_revs: list[str] = field(default_factory=list)  # since the last verification

    def stubs(self) -> dict[str, Any]:
        assert self.acked is not None
        return {name: {"stub": True} for name in self.acked.atts}


@dataclass(slots=True)
class LocalDoc:
    doc_id: str  # "_local/…"
    acked_n: int | None = None  # rev "0-N"
    acked_body: dict[str, Any] | None = None
    unknown_body: dict[str, Any] | None = None
    acked_since: int = 0  # acknowledged writes since the last verification


class Writer:
    """One of the concurrent writers; :meth:`run_round` writes until the server dies."""

    def __init__(self, index: int, seed: int) -> None:
        self.index = index
        self.rng = random.Random(seed)
        self.docs: dict[str, OwnedDoc] = {}
        self.doc_ids: list[str] = []  # the keys of `docs`, for random choice
        self.locals: dict[str, LocalDoc] = {}
        self.serial = 0
        self.round = 0
        self.acked = Counter[str]()  # acknowledged writes by kind
        self.unknown = Counter[str]()  # requests without an answer, by kind
        self.problems: list[str] = []  # answers no correct server gives
        self.touched: set[str] = set()  # doc ids written since the last verification
        self.touched_locals: set[str] = set()

    # ------------------------------------------------------------------ the round

    def run_round(self, url: str, auth: tuple[str, str], round_no: int) -> None:
        self.round = round_no
        kinds, weights = list(KINDS), list(KINDS.values())
        with httpx.Client(base_url=url, auth=auth, timeout=30.0) as client:
            for _ in range(MAX_OPS_PER_ROUND):
                if not self.write(client, self.rng.choices(kinds, weights)[0]):
                    return

    def write(self, client: httpx.Client, kind: str) -> bool:
        """One write of ``kind``; False when it got no answer or a wrong one."""
        try:
            getattr(self, "_" + kind)(client)
        except httpx.TransportError:
            self.unknown[kind] += 1  # the server is gone; what was in flight is unknown
            return False
        except _Unexpected as exc:
            self.problems.append(f"writer {self.index} round {self.round}: {exc}")
            return False
        return True

    # ------------------------------------------------------------------ helpers

    def _next_id(self) -> str:
        self.serial += 1
        return f"w{self.index}-d{self.serial:06d}"

    def _body(self) -> dict[str, Any]:
        self.serial += 1
        pad = self.rng.randbytes(self.rng.randrange(0, 400)).hex()
        return {"writer": self.index, "n": self.serial, "round": self.round, "pad": pad}

    def _att_length(self) -> int:
        return int(math.exp(self.rng.uniform(math.log(MIN_ATT), math.log(MAX_ATT))))

    def _pick(self) -> OwnedDoc | None:
        if not self.doc_ids:
            return None
        return self.docs[self.rng.choice(self.doc_ids)]

    def _new_doc(self) -> OwnedDoc:
        doc = OwnedDoc(self._next_id())
        self.docs[doc.doc_id] = doc
        self.doc_ids.append(doc.doc_id)
        return doc

    def _send(
        self, client: httpx.Client, kind: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        response = client.request(method, path, **kwargs)
        if response.status_code not in (200, 201, 202):
            raise _Unexpected(f"{kind}: {method} {path} -> {response.status_code} {response.text}")
        return response

    def _acknowledge(self, kind: str, doc: OwnedDoc, version: Version, answer: Any) -> None:
        rev = answer.get("rev") if isinstance(answer, dict) else None
        if not (answer.get("ok") is True and isinstance(rev, str) and answer["id"] == doc.doc_id):
            raise _Unexpected(f"{kind}: {doc.doc_id}: answer without ok/rev: {answer}")
        doc.acked = Version(version.body, version.atts, rev)
        doc.unknown = None
        doc.acked_revs.append(rev)
        self.acked[kind] += 1

    def _begin(self, doc: OwnedDoc, version: Version) -> None:
        """Record the write as unknown before it is sent: no answer leaves it so."""
        doc.unknown = version
        self.touched.add(doc.doc_id)

    # ------------------------------------------------------------------ the writes

    def _put(self, client: httpx.Client) -> None:
        doc = self._new_doc()
        version = Version(self._body(), {})
        self._begin(doc, version)
        response = self._send(client, "put", "PUT", doc_path(doc.doc_id), json=version.body)
        self._acknowledge("put", doc, version, response.json())

    def _update(self, client: httpx.Client) -> None:
        doc = self._pick()
        if doc is None or doc.acked is None:
            return self._put(client)
        version = Version(self._body(), dict(doc.acked.atts))
        payload = {**version.body, "_rev": doc.acked.rev}
        if doc.acked.atts:
            payload["_attachments"] = doc.stubs()
        self._begin(doc, version)
        response = self._send(client, "update", "PUT", doc_path(doc.doc_id), json=payload)
        self._acknowledge("update", doc, version, response.json())

    def _bulk(self, client: httpx.Client) -> None:
        updates = self.rng.sample(self.doc_ids, min(len(self.doc_ids), self.rng.randrange(11)))
        batch: list[tuple[OwnedDoc, Version, dict[str, Any]]] = []
        for doc_id in updates:
            doc = self.docs[doc_id]
            if doc.acked is None:
                continue
            version = Version(self._body(), dict(doc.acked.atts))
            payload = {"_id": doc_id, "_rev": doc.acked.rev, **version.body}
            if doc.acked.atts:
                payload["_attachments"] = doc.stubs()
            batch.append((doc, version, payload))
        while len(batch) < BULK_SIZE:
            doc = self._new_doc()
            version = Version(self._body(), {})
            batch.append((doc, version, {"_id": doc.doc_id, **version.body}))
        for doc, version, _ in batch:
            self._begin(doc, version)
        docs = [payload for _, _, payload in batch]
        response = self._send(client, "bulk", "POST", f"/{DB}/_bulk_docs", json={"docs": docs})
        answers = response.json()
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise _Unexpected(f"bulk: {len(batch)} docs, answer {answers}")
        for (doc, version, _), answer in zip(batch, answers, strict=True):
            self._acknowledge("bulk", doc, version, answer)

    def _inline_att(self, client: httpx.Client) -> None:
        existing = self._pick() if self.rng.random() < 0.4 else None
        doc = existing if existing is not None and existing.acked else self._new_doc()
        atts = dict(doc.acked.atts) if doc.acked else {}
        payload_atts: dict[str, Any] = doc.stubs() if doc.acked else {}
        for _ in range(self.rng.choice((1, 1, 2))):
            name = f"inline-{self.serial}-{len(atts)}.bin"
            att, data = Att.make(self.rng, self.rng.choice(CONTENT_TYPES), self._att_length())
            atts[name] = att
            payload_atts[name] = {
                "content_type": att.content_type,
                "data": base64.b64encode(data).decode(),
            }
        version = Version(self._body(), atts)
        payload = {**version.body, "_attachments": payload_atts}
        if doc.acked is not None:
            payload["_rev"] = doc.acked.rev
        self._begin(doc, version)
        response = self._send(client, "inline_att", "PUT", doc_path(doc.doc_id), json=payload)
        self._acknowledge("inline_att", doc, version, response.json())

    def _att_put(self, client: httpx.Client) -> None:
        existing = self._pick() if self.rng.random() < 0.8 else None
        doc = existing if existing is not None and existing.acked else self._new_doc()
        atts = dict(doc.acked.atts) if doc.acked else {}
        if atts and self.rng.random() < 0.25:
            name = self.rng.choice(sorted(atts))  # replace an attachment's bytes
        else:
            self.serial += 1
            name = f"raw-{self.serial}.bin"
        att, data = Att.make(self.rng, self.rng.choice(CONTENT_TYPES), self._att_length())
        atts[name] = att
        version = Version(dict(doc.acked.body) if doc.acked else {}, atts)
        params = {"rev": doc.acked.rev} if doc.acked else {}
        headers = {"content-type": att.content_type}
        self._begin(doc, version)
        response = self._send(
            client,
            "att_put",
            "PUT",
            doc_path(doc.doc_id, name),
            params=params,
            content=data,
            headers=headers,
        )
        self._acknowledge("att_put", doc, version, response.json())

    def _local(self, client: httpx.Client) -> None:
        if self.locals and self.rng.random() < 0.85:
            local = self.locals[self.rng.choice(sorted(self.locals))]
        else:
            self.serial += 1
            local = LocalDoc(f"_local/w{self.index}-l{self.serial:06d}")
            self.locals[local.doc_id] = local
        body = self._body()
        payload = dict(body)
        if local.acked_n is not None:
            payload["_rev"] = f"0-{local.acked_n}"
        local.unknown_body = body
        self.touched_locals.add(local.doc_id)
        path = f"/{DB}/_local/" + quote(local.doc_id.removeprefix("_local/"), safe="")
        answer = self._send(client, "local", "PUT", path, json=payload).json()
        expected = f"0-{(local.acked_n or 0) + 1}"
        if answer.get("ok") is not True or answer.get("rev") != expected:
            raise _Unexpected(f"local: {local.doc_id}: expected rev {expected}, got {answer}")
        local.acked_n, local.acked_body, local.unknown_body = (local.acked_n or 0) + 1, body, None
        local.acked_since += 1
        self.acked["local"] += 1


class _Unexpected(Exception):
    """An answer that a correct server does not give to this writer."""
