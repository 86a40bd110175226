"""A seeded, randomized isolation workload for ``/sync/field`` (issue 5, "Proof", third bullet).

Twenty agents in six grids and two stations (some of them station-only, some with two
devices) work at random through every read and write path a device has, while the hall
writes visit requests, station information and case events. After every operation the
answer is compared with the **contract**, not with the implementation: a device of agent A
may see exactly

* the documents whose ``agent_id`` is A (its cases, supplements, deliveries, visit updates,
  their receipts, the hall's case events for A),
* the visit requests of A's grid or assigned to A,
* the station information of A's station (``station_event``, the type channels.py gives the
  station channel; the contract names no type for it),

and anything else must answer exactly as a missing document does (``404 not_found
"missing"``, absent from every feed, list and count, no sequence number of it showing). The
ground truth is the hall's own database, read as the hall. Writes with another agent's ids, on
another agent's documents, or replaying them, must be refused with nothing stored; at the end
every stored device document is checked to be signed by a device of its own agent, in one
revision, with one receipt.

:func:`run_isolation` is the test body, run on SQLite (``tests/field/test_isolation.py``)
and on PostgreSQL (``tests/pg/test_field_isolation_pg.py``).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from ulid import ULID

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.schemas.keys import b64url_decode, public_key_raw
from fieldhall.schemas.signatures import rfc3339_utc, verify_document
from tests.field.support import FieldHall, attach, forge, new_case, refusal, signing_key
from tests.field_fixtures import jpeg, png

__all__ = ["SEED", "run_isolation"]

GRIDS = [f"grid-n{i}" for i in range(1, 7)]
STATIONS = ["station-s1", "station-s2"]
DEVICE_TYPES = ("case", "supplement", "delivery", "visit_update")
MISSING = {"error": "not_found", "reason": "missing"}
SMALL = (16, 12)
SEED = 20261127


def _now() -> str:
    return rfc3339_utc(datetime.now(UTC))


@dataclass
class Person:
    agent_id: str
    grid_id: str | None
    station_id: str | None
    devices: list[DeviceClient]
    accepted: dict[str, tuple[dict[str, Any], list[Material]]] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)

    def may_see(self, doc: Mapping[str, Any]) -> bool:
        """The contract's channels ("Principals and channels"), written out independently."""
        if doc.get("agent_id") == self.agent_id:
            return True
        if doc.get("type") == "visit_request":
            in_grid = self.grid_id is not None and doc.get("grid_id") == self.grid_id
            return in_grid or doc.get("assigned_agent_id") == self.agent_id
        if doc.get("type") == "station_event":
            return self.station_id is not None and doc.get("station_id") == self.station_id
        return False


class Truth:
    """The hall's database as the hall sees it, followed incrementally."""

    def __init__(self, hall: FieldHall, people: list[Person]) -> None:
        self.hall = hall
        self.people = people
        self.docs: dict[str, dict[str, Any]] = {}
        self.seq: dict[str, int] = {}
        self.revs: dict[str, list[str]] = {}
        self.visible: dict[str, dict[str, int]] = {p.agent_id: {} for p in people}
        self.last = 0

    def refresh(self) -> set[str]:
        """Read what changed; returns the ids of the documents written since last time."""
        states = self.hall.states(self.last)
        if not states:
            return set()
        bodies = self.hall.bodies(states)
        for state in states:
            doc = bodies[state.doc_id]
            self.docs[state.doc_id] = doc
            self.seq[state.doc_id] = state.seq
            self.revs[state.doc_id] = sorted(state.tree)
            for person in self.people:
                seen = self.visible[person.agent_id]
                if person.may_see(doc) and not state.deleted:
                    seen[state.doc_id] = state.seq
                else:
                    seen.pop(state.doc_id, None)
        self.last = max(self.last, *(s.seq for s in states))
        return {s.doc_id for s in states}

    def view(self, person: Person) -> dict[str, int]:
        return self.visible[person.agent_id]

    def foreign(self, person: Person) -> list[str]:
        seen = self.view(person)
        return [doc_id for doc_id in self.docs if doc_id not in seen]

    def rev(self, doc_id: str) -> str:
        return self.revs[doc_id][-1]


def _swap(value: Any, old: str, new: str) -> Any:
    """``value`` with the string ``old`` replaced by ``new`` wherever it occurs."""
    return json.loads(json.dumps(value).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))


def _missing_id(prefix: str = "case") -> str:
    return f"{prefix}:{ULID()}"


def _seq(value: Any) -> int:
    return int(str(value).split("-", 1)[0])


@dataclass
class Workload:
    hall: FieldHall
    rng: random.Random
    people: list[Person]
    truth: Truth
    admin: httpx.Client
    clients: dict[str, httpx.Client]
    counts: Counter[str] = field(default_factory=Counter)
    locals_: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    seed_counter: int = 0

    # ------------------------------------------------------------------ plumbing

    def next_seed(self) -> int:
        self.seed_counter += 1
        return self.seed_counter

    def http(self, device: DeviceClient) -> httpx.Client:
        return self.clients[device.state.device_id]

    def pick_person(self) -> tuple[Person, DeviceClient]:
        person = self.rng.choice(self.people)
        return person, self.rng.choice(person.devices)

    def own(self, person: Person) -> str | None:
        seen = list(self.truth.view(person))
        return self.rng.choice(seen) if seen else None

    def foreign(self, person: Person, types: tuple[str, ...] | None = None) -> str | None:
        ids = self.truth.foreign(person)
        if types is not None:
            ids = [i for i in ids if self.truth.docs[i].get("type") in types]
        return self.rng.choice(ids) if ids else None

    def expect_written(self, expected: set[str], person: Person) -> None:
        """Exactly ``expected`` appeared, with one receipt for each device document of it and
        whatever case events the hall decided — all of them for the writer's agent only."""
        written = self.truth.refresh()
        receipts = {i for i in written if i.startswith("receipt:")}
        reactions = {
            i
            for i in written - expected - receipts
            if self.truth.docs[i].get("type") == "case_event"
        }
        assert written - receipts - reactions == expected, (written, expected)
        for event in reactions:
            assert self.truth.docs[event]["agent_id"] == person.agent_id, event
        device_docs = {i for i in expected if i.split(":", 1)[0] in DEVICE_TYPES}
        acknowledged = {self.truth.docs[r]["for"]["id"] for r in receipts}
        assert acknowledged == device_docs and len(receipts) == len(device_docs)
        for receipt in receipts:
            assert self.truth.docs[receipt]["agent_id"] == person.agent_id

    def expect_nothing_written(self) -> None:
        written = self.truth.refresh()
        assert written == set(), f"a refused or read-only operation wrote {sorted(written)}"

    # ------------------------------------------------------------------ device writes

    def _push(self, device: DeviceClient, doc: dict[str, Any], files: list[Material]) -> None:
        """One accepted document, through a randomly chosen write path."""
        client = self.http(device)
        how = self.rng.choice(["bulk", "bulk", "put", "replicated"])
        sent = attach(doc, files) if files else dict(doc)
        if how == "bulk":
            response = client.post("/_bulk_docs", json={"docs": [sent]})
            assert response.status_code == 201 and response.json()[0].get("ok"), response.text
        elif how == "put":
            response = client.put(f"/{doc['_id']}", json=sent)
            assert response.status_code == 201, response.text
        else:
            rev_id = f"{self.rng.getrandbits(128):032x}"
            sent.update(_rev=f"1-{rev_id}", _revisions={"start": 1, "ids": [rev_id]})
            response = client.post("/_bulk_docs", json={"docs": [sent], "new_edits": False})
            assert response.status_code == 201 and response.json() == [], response.text

    def _accept(
        self, person: Person, device: DeviceClient, doc: dict[str, Any], files: list[Material]
    ) -> None:
        self._push(device, doc, files)
        self.expect_written({doc["_id"]}, person)
        person.accepted[doc["_id"]] = (doc, files)

    def op_push_case(self, person: Person, device: DeviceClient) -> None:
        if person.grid_id is None:  # a station-only agent delivers results instead
            self.op_push_delivery(person, device)
            return
        doc, files = new_case(device, self.next_seed(), photos=1, size=SMALL)
        self._accept(person, device, doc, files)
        person.cases.append(doc["_id"])

    def _case_of(self, person: Person) -> str:
        return self.rng.choice(person.cases) if person.cases else _missing_id()

    def op_push_supplement(self, person: Person, device: DeviceClient) -> None:
        photo = Material(f"s{self.next_seed()}.jpg", jpeg(self.seed_counter, SMALL),
                         "image/jpeg", "id_card")  # fmt: skip
        body = {
            "_id": _missing_id("supplement"),
            "type": "supplement",
            "case_id": self._case_of(person),
            "answers_event": _missing_id("case_event"),
            "materials": [photo.manifest()],
            "note": "补充户口簿照片",
        }
        self._accept(person, device, device.sign(body), [photo])

    def op_push_delivery(self, person: Person, device: DeviceClient) -> None:
        by_hand = self.rng.random() < 0.5
        files: list[Material] = []
        body: dict[str, Any] = {
            "_id": _missing_id("delivery"),
            "type": "delivery",
            "case_id": self._case_of(person),
            "method": "agent" if by_hand else "mail",
            "delivered_at": _now(),
            "recipient": {"name": "张桂兰", "relation": "本人"},
            "recipient_signature": None,
            "materials": [],
            "rating": self.rng.randint(1, 5),
            "comment": None,
        }
        if by_hand:
            signature = Material(f"sign{self.next_seed()}.png", png(self.seed_counter % 7 + 1),
                                 "image/png", "recipient_signature")  # fmt: skip
            files = [signature]
            body["recipient_signature"] = signature.name
            body["materials"] = [signature.manifest()]
        self._accept(person, device, device.sign(body), files)

    def op_push_visit_update(self, person: Person, device: DeviceClient) -> None:
        requests = [
            self.truth.docs[i]["request_id"]
            for i in self.truth.view(person)
            if self.truth.docs[i].get("type") == "visit_request"
        ]
        body = {
            "_id": _missing_id("visit_update"),
            "type": "visit_update",
            "request_id": self.rng.choice(requests) if requests else f"vr-{ULID()}",
            "status": self.rng.choice(["taken", "on_site", "done", "cannot_complete"]),
            "at": _now(),
            "location": {"lat": 32.7, "lon": 109.0},
            "note": None,
        }
        self._accept(person, device, device.sign(body), [])

    def op_resend(self, person: Person, device: DeviceClient) -> None:
        if not person.accepted:
            return
        doc_id = self.rng.choice(sorted(person.accepted))
        doc, files = person.accepted[doc_id]
        sender = next(d for d in person.devices if d.state.device_id == doc["device_id"])
        response = self.http(sender).post("/_bulk_docs", json={"docs": [attach(doc, files)]})
        assert response.json() == [{"ok": True, "id": doc_id, "rev": self.truth.rev(doc_id)}]
        self.expect_nothing_written()

    def op_local_checkpoint(self, person: Person, device: DeviceClient) -> None:
        client = self.http(device)
        name = f"_local/ck-{self.rng.randint(1, 3)}"
        mine = self.locals_.setdefault(device.state.device_id, {})
        body: dict[str, Any] = {"last_seq": str(self.truth.last), "by": device.state.device_id}
        if name in mine:
            body["_rev"] = mine[name]["_rev"]
        response = client.put(f"/{name}", json=body)
        assert response.status_code == 201, response.text
        mine[name] = {"_rev": response.json()["rev"], "by": device.state.device_id}
        # every other device has its own namespace: it neither sees nor clobbers this one
        others = [d for p in self.people for d in p.devices if d is not device]
        other = self.rng.choice(others)
        theirs = self.locals_.get(other.state.device_id, {}).get(name)
        got = self.http(other).get(f"/{name}")
        if theirs is None:
            assert got.status_code == 404 and got.json() == MISSING, got.text
        else:
            assert got.status_code == 200 and got.json()["by"] == other.state.device_id
        assert client.get(f"/{name}").json()["by"] == device.state.device_id
        self.expect_nothing_written()

    # ------------------------------------------------------------------ cross-agent writes

    def _refused(self, response: httpx.Response, code: str | None, single: bool) -> None:
        if single:
            assert response.status_code == 403, response.text
            result = response.json()
        else:
            [result] = response.json()
        got = refusal(result)
        assert code is None or got == code, (got, code)
        self.expect_nothing_written()

    def _send_forged(self, device: DeviceClient, doc: dict[str, Any], code: str | None) -> None:
        single = self.rng.random() < 0.3
        client = self.http(device)
        if single:
            response = client.put(f"/{doc['_id']}", json=doc)
        else:
            response = client.post("/_bulk_docs", json={"docs": [doc]})
        self._refused(response, code, single)

    def _others(self, person: Person) -> list[Person]:
        return [p for p in self.people if p.agent_id != person.agent_id]

    def _unsent_case(
        self, person: Person, device: DeviceClient, **changes: Any
    ) -> tuple[dict[str, Any], list[Material]]:
        """A case signed by ``device`` with ``changes``, its chain head left where it was.
        A station-only agent's case names a grid, so that the schema (which wants one) passes
        and ownership is what is judged."""
        doc, files = new_case(device, self.next_seed(), advance=False, photos=1, size=SMALL)
        if person.grid_id is None:
            changes.setdefault("grid_id", GRIDS[0])
        return forge(device, doc, **changes), files

    def op_forge_agent_id(self, person: Person, device: DeviceClient) -> None:
        victim = self.rng.choice(self._others(person))
        field_ = self.rng.choice(["agent_id", "device_id"])
        value = victim.agent_id if field_ == "agent_id" else victim.devices[0].state.device_id
        forged, files = self._unsent_case(person, device, **{field_: value})
        self._send_forged(device, attach(forged, files), "not_owner")

    def op_forge_grid(self, person: Person, device: DeviceClient) -> None:
        grid = self.rng.choice([g for g in GRIDS if g != person.grid_id])
        forged, files = self._unsent_case(person, device, grid_id=grid)
        self._send_forged(device, attach(forged, files), "not_owner")

    def op_hijack(self, person: Person, device: DeviceClient) -> None:
        """Write an own, validly signed case under the id of another agent's document."""
        target = self.foreign(person)
        if target is None:
            return
        forged, files = self._unsent_case(person, device, _id=target)
        if self.rng.random() < 0.5:
            forged["_rev"] = self.truth.rev(target)
        # a case id: not_owner; another type's id does not even fit a case
        code = "not_owner" if target.startswith("case:") else None
        self._send_forged(device, attach(forged, files), code)

    def op_replay(self, person: Person, device: DeviceClient) -> None:
        """Send another agent's stored device document, signature and all."""
        target = self.foreign(person, DEVICE_TYPES)
        if target is None:
            return
        owner = next(p for p in self.people if p.agent_id == self.truth.docs[target]["agent_id"])
        doc, files = owner.accepted[target]
        self._send_forged(device, attach(doc, files), "kid_mismatch")

    def op_tamper_foreign(self, person: Person, device: DeviceClient) -> None:
        """Delete another agent's document or attach a file to it: each answers as for a
        missing document of that id, and nothing changes (a rewrite is :meth:`op_hijack`)."""
        target = self.foreign(person)
        if target is None:
            return
        missing = _missing_id(target.split(":", 1)[0])
        rev = self.truth.rev(target)
        client = self.http(device)
        kind = self.rng.choice(["delete", "attachment"])
        answers = []
        for doc_id in (target, missing):
            if kind == "delete":
                response = client.delete(f"/{doc_id}", params={"rev": rev})
            else:
                response = client.put(
                    f"/{doc_id}/extra.jpg", params={"rev": rev}, content=jpeg(7, SMALL),
                    headers={"Content-Type": "image/jpeg"},
                )  # fmt: skip
            answers.append((response.status_code, _swap(response.json(), doc_id, "ID")))
        assert answers[0] == answers[1], answers
        assert answers[0][0] in (404, 409)
        self.expect_nothing_written()

    # ------------------------------------------------------------------ the hall writes

    def op_hall_writes(self, person: Person, device: DeviceClient) -> None:
        kind = self.rng.choice(["visit_request", "station_event", "case_event"])
        doc: dict[str, Any] = {"contract": 1, "created_at": _now()}
        if kind == "visit_request":
            grid = self.rng.choice(GRIDS)
            in_grid = [p for p in self.people if p.grid_id == grid]
            assigned = self.rng.choice([None, *[p.agent_id for p in in_grid]])
            if self.rng.random() < 0.15:  # now and then, someone from another grid
                assigned = self.rng.choice(self.people).agent_id
            doc.update(_id=_missing_id("visit_request"), type="visit_request",
                       request_id=f"vr-{ULID()}", source="hotline", urgency="simple",
                       grid_id=grid, assigned_agent_id=assigned,
                       matter_id="senior_citizen_card")  # fmt: skip
        elif kind == "station_event":
            doc.update(_id=_missing_id("station_event"), type="station_event",
                       station_id=self.rng.choice(STATIONS), title="流动服务站进社区")  # fmt: skip
        else:
            with_cases = [p for p in self.people if p.cases]
            if not with_cases:
                return
            owner = self.rng.choice(with_cases)
            doc.update(_id=_missing_id("case_event"), type="case_event",
                       agent_id=owner.agent_id, case_id=self.rng.choice(owner.cases),
                       event="received", by_role="system", at=_now())  # fmt: skip
        response = self.admin.post("/sync/field/_bulk_docs", json={"docs": [doc]})
        assert response.status_code == 201 and response.json()[0].get("ok"), response.text
        self.expect_written({doc["_id"]}, person)

    # ------------------------------------------------------------------ reads

    def _ids_for_read(self, person: Person) -> tuple[str | None, str | None, str]:
        return self.own(person), self.foreign(person), _missing_id()

    def op_get(self, person: Person, device: DeviceClient) -> None:
        own, foreign, missing = self._ids_for_read(person)
        client = self.http(device)
        if own is not None:
            got = client.get(f"/{own}")
            assert got.status_code == 200, got.text
            body = got.json()
            expected = self.truth.docs[own]
            assert body["_rev"] == expected["_rev"]
            assert {k: v for k, v in body.items() if k != "_attachments"} == expected
            assert got.headers["etag"] == f'"{expected["_rev"]}"'
        for doc_id in (foreign, missing):
            if doc_id is None:
                continue
            rev = self.truth.revs.get(doc_id, ["1-" + "0" * 32])[-1]
            params = self.rng.choice([{}, {"revs": "true"}, {"conflicts": "true"}, {"rev": rev}])
            got = client.get(f"/{doc_id}", params=params)
            assert got.status_code == 404 and got.json() == MISSING, (doc_id, got.text)
            assert client.head(f"/{doc_id}").status_code == 404

    def op_attachment(self, person: Person, device: DeviceClient) -> None:
        client = self.http(device)
        own = [i for i in self.truth.view(person) if i in person.accepted]
        if own:
            doc_id = self.rng.choice(own)
            _doc, files = person.accepted[doc_id]
            if files:
                got = client.get(f"/{doc_id}/{files[0].name}")
                assert got.status_code == 200 and got.content == files[0].data
        foreign = self.foreign(person, DEVICE_TYPES)
        if foreign is not None:
            owner = next(
                p for p in self.people if p.agent_id == self.truth.docs[foreign]["agent_id"]
            )
            _, files = owner.accepted[foreign]
            name = files[0].name if files else "x.jpg"
            for doc_id in (foreign, _missing_id()):
                got = client.get(f"/{doc_id}/{name}")
                assert got.status_code == 404 and got.json() == MISSING, got.text

    def op_open_revs(self, person: Person, device: DeviceClient) -> None:
        own, foreign, missing = self._ids_for_read(person)
        client = self.http(device)
        if own is not None:
            got = client.get(f"/{own}", params={"open_revs": "all"})
            assert [e["ok"]["_rev"] for e in got.json()] == [self.truth.rev(own)]
        if foreign is None:
            return
        rev = self.truth.rev(foreign)
        for params in ({"open_revs": "all"}, {"open_revs": json.dumps([rev]), "latest": "true"}):
            answers = []
            for doc_id in (foreign, missing):
                got = client.get(f"/{doc_id}", params=params)
                answers.append((got.status_code, _swap(got.json(), doc_id, "ID")))
            assert answers[0] == answers[1], answers
        assert answers[1] == (200, [{"missing": rev}])

    def op_bulk_get(self, person: Person, device: DeviceClient) -> None:
        own, foreign, missing = self._ids_for_read(person)
        wanted: list[dict[str, str]] = []
        if own is not None:
            wanted.append({"id": own})
        if foreign is not None:
            rev = self.truth.rev(foreign)
            wanted += [{"id": foreign, "rev": rev}, {"id": missing, "rev": rev},
                       {"id": foreign}, {"id": missing}]  # fmt: skip
        response = self.http(device).post("/_bulk_get", json={"docs": wanted})
        results = response.json()["results"]
        assert [r["id"] for r in results] == [w["id"] for w in wanted]
        if own is not None:
            assert results[0]["docs"][0]["ok"]["_rev"] == self.truth.rev(own)
            results = results[1:]
        if foreign is not None:
            assert _swap(results[0], foreign, "ID") == _swap(results[1], missing, "ID")
            assert _swap(results[2], foreign, "ID") == _swap(results[3], missing, "ID")
            assert results[3]["docs"][0]["error"]["error"] == "not_found"

    def op_revs_diff(self, person: Person, device: DeviceClient) -> None:
        own, foreign, missing = self._ids_for_read(person)
        asked: dict[str, list[str]] = {}
        if own is not None:
            asked[own] = [self.truth.rev(own)]
        if foreign is not None:
            rev = self.truth.rev(foreign)
            asked[foreign] = [rev, "9-" + "f" * 32]
            asked[missing] = [rev, "9-" + "f" * 32]
        answer = self.http(device).post("/_revs_diff", json=asked).json()
        assert own not in answer
        if foreign is not None:
            assert answer[foreign] == answer[missing] == {"missing": asked[foreign]}

    def op_all_docs(self, person: Person, device: DeviceClient) -> None:
        seen = self.truth.view(person)
        client = self.http(device)
        kind = self.rng.choice(["all", "keys", "range"])
        if kind == "keys":
            own, foreign, missing = self._ids_for_read(person)
            keys = [k for k in (own, foreign, missing) if k is not None]
            body = client.post("/_all_docs", json={"keys": keys}).json()
            for key, row in zip(keys, body["rows"], strict=True):
                if key == own:
                    assert row["value"]["rev"] == self.truth.rev(own)
                else:
                    assert row == {"key": key, "error": "not_found"}
        else:
            params: dict[str, str] = {}
            expected = sorted(seen)
            if kind == "range":
                prefix = self.rng.choice(["case:", "receipt:", "visit_request:", "delivery:"])
                params = {"startkey": json.dumps(prefix), "endkey": json.dumps(prefix + "\ufff0")}
                expected = [i for i in expected if i.startswith(prefix)]
            if self.rng.random() < 0.3:
                params["include_docs"] = "true"
            body = client.get("/_all_docs", params=params).json()
            assert [r["id"] for r in body["rows"]] == expected
            for row in body["rows"]:
                if "doc" in row:
                    assert row["doc"]["_rev"] == self.truth.rev(row["id"])
        assert body["total_rows"] == len(seen)

    def _changes_params(self, person: Person) -> tuple[int, dict[str, str]]:
        seqs = list(self.truth.seq.values())  # any sequence, the hall's own included
        since = self.rng.choice([0, 0, *(seqs or [0])])
        params = {"since": str(since)}
        if self.rng.random() < 0.4:
            params["limit"] = str(self.rng.randint(1, 5))
        if self.rng.random() < 0.4:
            params["include_docs"] = "true"
        if self.rng.random() < 0.3:
            params["style"] = "all_docs"
        return since, params

    def _check_feed(
        self, person: Person, body: Mapping[str, Any], since: int, params: Mapping[str, str],
        chosen: Callable[[str], bool], *, scans_view: bool = False,
    ) -> None:  # fmt: skip
        """The rows are exactly the visible changes after ``since`` that ``chosen`` keeps, and
        ``last_seq`` shows no sequence but the device's own: the last row's, ``since``, or —
        for a selector feed, which scans the device's whole view (``scans_view``) — the end
        of that view."""
        seen = self.truth.view(person)
        after = sorted(
            (seq, doc_id) for doc_id, seq in seen.items() if seq > since and chosen(doc_id)
        )
        limit = int(params["limit"]) if "limit" in params else None
        expected = after[:limit] if limit is not None else after
        rows = body["results"]
        assert [(_seq(r["seq"]), r["id"]) for r in rows] == expected
        for row in rows:
            assert row["changes"] == [{"rev": self.truth.rev(row["id"])}]
            if "doc" in row:
                assert (
                    row["doc"]["_id"] == row["id"]
                    and self.truth.docs[row["id"]]["_rev"] == row["doc"]["_rev"]
                )
        last = _seq(body["last_seq"])
        if expected and (len(expected) == limit or not scans_view):
            assert last == expected[-1][0], (last, expected)
        elif scans_view:
            end = max((seq for seq in seen.values() if seq > since), default=since)
            assert last == end, (last, end, since)
        else:
            assert last == since, (last, since)

    def op_changes(self, person: Person, device: DeviceClient) -> None:
        since, params = self._changes_params(person)
        body = self.http(device).get("/_changes", params=params).json()
        self._check_feed(person, body, since, params, lambda _: True)
        seen = self.truth.view(person)
        if "limit" in params and len(body["results"]) == int(params["limit"]):
            last = _seq(body["last_seq"])
            assert body["pending"] == len([s for s in seen.values() if s > last])

    def op_continuous(self, person: Person, device: DeviceClient) -> None:
        since, params = self._changes_params(person)
        params.update(feed="continuous", timeout="30")
        lines = [
            json.loads(line)
            for line in self.http(device).get("/_changes", params=params).text.splitlines()
            if line.strip()
        ]
        body = {"results": lines[:-1], "last_seq": lines[-1]["last_seq"]}
        self._check_feed(person, body, since, params, lambda _: True)

    def op_longpoll(self, person: Person, device: DeviceClient) -> None:
        client = self.http(device)
        seen = self.truth.view(person)
        top = max(seen.values(), default=0)
        params = {"feed": "longpoll", "timeout": "30"}
        if self.rng.random() < 0.5:
            params["since"] = "now"
            body = client.get("/_changes", params=params).json()
            assert body["results"] == [] and _seq(body["last_seq"]) == top, body
            return
        since, more = self._changes_params(person)
        more.pop("limit", None)
        params.update(more)
        body = client.get("/_changes", params=params).json()
        if any(s > since for s in seen.values()):
            self._check_feed(person, body, since, params, lambda _: True)
        else:
            assert body["results"] == [] and _seq(body["last_seq"]) == since, body

    def op_changes_doc_ids(self, person: Person, device: DeviceClient) -> None:
        own, foreign, missing = self._ids_for_read(person)
        ids = [i for i in (own, foreign, missing, self.foreign(person)) if i is not None]
        since, params = self._changes_params(person)
        params.update(filter="_doc_ids", doc_ids=json.dumps(ids))
        if self.rng.random() < 0.5:
            body = self.http(device).get("/_changes", params=params).json()
        else:
            params.pop("doc_ids")
            body = self.http(device).post("/_changes", params=params, json={"doc_ids": ids}).json()
        self._check_feed(person, body, since, params, lambda doc_id: doc_id in ids)

    def op_changes_selector(self, person: Person, device: DeviceClient) -> None:
        selector: dict[str, Any]
        other = self.rng.choice(self._others(person))
        choice = self.rng.choice(["type", "agent", "foreign_agent"])
        if choice == "type":
            doc_type = self.rng.choice([*DEVICE_TYPES, "receipt", "visit_request", "case_event"])
            selector = {"type": doc_type}
        elif choice == "agent":
            selector = {"agent_id": person.agent_id}
        else:
            selector = {"agent_id": other.agent_id}  # must find nothing of another agent's
        since, params = self._changes_params(person)
        params["filter"] = "_selector"
        body = self.http(device).post("/_changes", params=params, json={"selector": selector})
        docs = self.truth.docs

        def matches(doc_id: str) -> bool:
            return all(docs[doc_id].get(k) == v for k, v in selector.items())

        self._check_feed(person, body.json(), since, params, matches, scans_view=True)

    def op_db_info(self, person: Person, device: DeviceClient) -> None:
        seen = self.truth.view(person)
        info = self.http(device).get("").json()
        assert info["db_name"] == "field"
        assert info["doc_count"] == len(seen) and info["doc_del_count"] == 0
        assert _seq(info["update_seq"]) == max(seen.values(), default=0)

    # ------------------------------------------------------------------ the run

    def operations(self) -> list[tuple[int, Callable[[Person, DeviceClient], None]]]:
        return [
            (8, self.op_push_case), (3, self.op_push_supplement), (3, self.op_push_delivery),
            (3, self.op_push_visit_update), (3, self.op_resend), (2, self.op_local_checkpoint),
            (3, self.op_forge_agent_id), (2, self.op_forge_grid), (3, self.op_hijack),
            (3, self.op_replay), (3, self.op_tamper_foreign), (3, self.op_hall_writes),
            (6, self.op_get), (3, self.op_attachment), (4, self.op_open_revs),
            (4, self.op_bulk_get), (4, self.op_revs_diff), (6, self.op_all_docs),
            (6, self.op_changes), (2, self.op_longpoll), (2, self.op_continuous),
            (4, self.op_changes_doc_ids),
            (4, self.op_changes_selector), (3, self.op_db_info),
        ]  # fmt: skip

    def run(self, count: int, seed: int) -> None:
        weighted = self.operations()
        ops = [op for _, op in weighted]
        weights = [w for w, _ in weighted]
        for index in range(count):
            op = self.rng.choices(ops, weights)[0]
            person, device = self.pick_person()
            try:
                op(person, device)
            except AssertionError as exc:
                raise AssertionError(
                    f"seed {seed}, operation {index} {op.__name__} by {person.agent_id} "
                    f"({device.state.device_id}): {exc}"
                ) from exc
            self.counts[op.__name__] += 1

    def audit(self) -> None:
        """Zero cross-agent writes: every device document is its own agent's."""
        self.truth.refresh()
        keys = {
            d.state.device_id: (p, public_key_raw(signing_key(d).public_key()))
            for p in self.people
            for d in p.devices
        }
        server_keys = {
            f"server:{k['key_id']}": b64url_decode(k["public_key"])
            for k in httpx.get(self.hall.url + "/api/v1/keys", timeout=30.0).json()["keys"]
        }
        stored: dict[str, set[str]] = {p.agent_id: set() for p in self.people}
        receipts: Counter[str] = Counter()
        for doc_id, doc in self.truth.docs.items():
            assert len(self.truth.revs[doc_id]) == 1, f"{doc_id} has {self.truth.revs[doc_id]}"
            kind = doc.get("type")
            kid = (doc.get("signature") or {}).get("kid", "")
            if kid.startswith("server:"):  # receipts and the hall's case events
                verify_document(doc, server_keys[kid])
            if kind == "receipt":
                receipts[doc["for"]["id"]] += 1
                target = self.truth.docs[doc["for"]["id"]]
                assert doc["agent_id"] == target["agent_id"]
                assert doc["device_id"] == target["device_id"]
            if kind not in DEVICE_TYPES:
                continue
            owner, public = keys[doc["device_id"]]
            assert doc["agent_id"] == owner.agent_id, doc_id
            assert doc["signature"]["kid"] == doc["device_id"]
            verify_document(doc, public)
            stored[owner.agent_id].add(doc_id)
        for person in self.people:
            assert stored[person.agent_id] == set(person.accepted), person.agent_id
        device_docs = {i for ids in stored.values() for i in ids}
        assert receipts == Counter({doc_id: 1 for doc_id in device_docs})


def _people(hall: FieldHall) -> list[Person]:
    people = []
    for i in range(20):
        if i < 14:
            grid, station = GRIDS[i % len(GRIDS)], (STATIONS[i % 2] if i % 5 == 0 else None)
        else:
            grid, station = None, STATIONS[i % 2]
        device = hall.enroll(f"网格员{i:02d}", grid=grid, station=station)
        devices = [device]
        if i in (0, 7, 15):
            devices.append(hall.enroll_again(device.state.agent_id, f"网格员{i:02d}的平板"))
        people.append(Person(device.state.agent_id, grid, station, devices))
    return people


@contextmanager
def _clients(people: list[Person]) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        d.state.device_id: httpx.Client(
            base_url=d.state.sync_url,
            headers={"Authorization": f"Bearer {d.state.token}"},
            timeout=60.0,
        )
        for p in people
        for d in p.devices
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


def run_isolation(hall: FieldHall, seed: int, operations: int = 1000) -> Counter[str]:
    """Set up the people, run ``operations`` random operations, audit; returns the counts."""
    people = _people(hall)
    assert len({p.grid_id for p in people if p.grid_id}) >= 5
    assert len({p.station_id for p in people if p.station_id}) == 2
    assert any(p.grid_id is None for p in people)
    truth = Truth(hall, people)
    truth.refresh()
    with hall.admin() as admin, _clients(people) as clients:
        workload = Workload(hall, random.Random(seed), people, truth, admin, clients)
        for person in people:  # everyone starts with something of their own
            workload.op_push_case(person, person.devices[0])
        for _ in range(12):
            workload.op_hall_writes(*workload.pick_person())
        workload.run(operations, seed)
        workload.audit()
    # every path was exercised
    assert all(workload.counts[op.__name__] > 0 for _, op in workload.operations())
    return workload.counts
