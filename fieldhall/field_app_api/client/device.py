"""The reference device client: what a field app does, in Python.

It enrolls with a one-time code, keeps its Ed25519 key and token in a local file readable
only by its user (0600), builds and signs documents with their materials manifest, keeps its
hash chain (``device_seq``, ``prev_hash``), pushes and pulls ``/sync/field``, and verifies
what the server signed (case events, receipts) with the server's published keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ulid import ULID

from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.keys import b64url_decode, b64url_encode, private_key_raw, public_key_raw
from fieldhall.schemas.signatures import rfc3339_utc, sign_document, verify_document

__all__ = ["DeviceClient", "DeviceState", "Material"]


@dataclass(frozen=True, slots=True)
class Material:
    """A photo or file to attach: its bytes and what the catalog calls it."""

    name: str
    data: bytes
    content_type: str
    material_id: str
    captured_at: str | None = None
    location: Mapping[str, Any] | None = None

    def manifest(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "material_id": self.material_id,
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "length": len(self.data),
            "content_type": self.content_type,
            "captured_at": self.captured_at or rfc3339_utc(datetime.now(UTC)),
            "location": dict(self.location) if self.location is not None else None,
        }


@dataclass
class DeviceState:
    """What the device keeps on disk (0600): identity, key, token, chain head."""

    server: str
    device_id: str
    agent_id: str
    grid_id: str | None
    station_id: str | None
    token: str
    private_key: str  # unpadded base64url of the raw Ed25519 key
    sync_url: str
    server_signing_key: str
    server_key_id: str
    hall_encryption_key: str
    device_seq: int = 0
    prev_hash: str | None = None
    server_keys: dict[str, str] = field(default_factory=dict)  # key_id -> public key

    def save(self, path: Path) -> None:
        data = json.dumps(self.__dict__, indent=2).encode()
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(path.with_suffix(".tmp"), path)
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path) -> DeviceState:
        return cls(**json.loads(path.read_text()))


class DeviceClient:
    def __init__(self, state: DeviceState, *, state_path: Path | None = None) -> None:
        self.state = state
        self.state_path = state_path
        self._key = Ed25519PrivateKey.from_private_bytes(b64url_decode(state.private_key))

    # ------------------------------------------------------------------ enrollment

    @classmethod
    def enroll(
        cls,
        server: str,
        code: str,
        *,
        name: str = "reference client",
        state_path: Path | None = None,
        http: httpx.Client | None = None,
    ) -> DeviceClient:
        key = Ed25519PrivateKey.generate()
        client = http or httpx.Client(timeout=30.0)
        response = client.post(
            server.rstrip("/") + "/api/v1/devices/enroll",
            json={"code": code, "public_key": b64url_encode(public_key_raw(key)), "name": name},
        )
        if response.status_code != 201:
            raise RuntimeError(f"enrollment refused: {response.status_code} {response.text}")
        reply = response.json()
        state = DeviceState(
            server=server.rstrip("/"),
            device_id=reply["device_id"],
            agent_id=reply["agent_id"],
            grid_id=reply["grid_id"],
            station_id=reply["station_id"],
            token=reply["token"],
            private_key=b64url_encode(private_key_raw(key)),
            sync_url=reply["sync_url"],
            server_signing_key=reply["server_signing_key"],
            server_key_id=reply["server_key_id"],
            hall_encryption_key=reply["hall_encryption_key"],
            server_keys={reply["server_key_id"]: reply["server_signing_key"]},
        )
        device = cls(state, state_path=state_path)
        device._persist()
        return device

    @classmethod
    def load(cls, state_path: Path) -> DeviceClient:
        return cls(DeviceState.load(state_path), state_path=state_path)

    def _persist(self) -> None:
        if self.state_path is not None:
            self.state.save(self.state_path)

    # ------------------------------------------------------------------ documents

    def new_id(self, doc_type: str) -> str:
        return f"{doc_type}:{ULID()}"

    def sign(self, body: Mapping[str, Any], *, advance_chain: bool = True) -> dict[str, Any]:
        """Add the device fields (``device_seq``, ``prev_hash``…) and the signature.

        The chain head moves only when ``advance_chain``; a test that wants to forge a fork
        signs without advancing.
        """
        now = rfc3339_utc(datetime.now(UTC))
        doc = {
            "contract": 1,
            "created_at": now,
            **body,
            "agent_id": self.state.agent_id,
            "device_id": self.state.device_id,
            "device_seq": self.state.device_seq + 1,
            "prev_hash": self.state.prev_hash,
        }
        signed = sign_document(doc, self._key, self.state.device_id, now)
        if advance_chain:
            self.state.device_seq += 1
            self.state.prev_hash = chain_hash(signed)
            self._persist()
        return signed

    def case(
        self,
        matter_id: str,
        catalog_version: str,
        applicant: Mapping[str, Any],
        form: Mapping[str, Any],
        materials: Sequence[Material],
        consent: Material,
        *,
        channel: str = "home_visit",
        request_id: str | None = None,
        location: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[Material]]:
        """A signed case and the files to attach (the consent signature image included)."""
        files = [*materials, consent]
        body = {
            "_id": self.new_id("case"),
            "type": "case",
            "matter": {"id": matter_id, "catalog_version": catalog_version},
            "channel": channel,
            "grid_id": self.state.grid_id,
            "station_id": self.state.station_id,
            "request_id": request_id,
            "applicant": dict(applicant),
            "form": dict(form),
            "materials": [m.manifest() for m in files],
            "consent": {"attachment": consent.name, "signed_at": rfc3339_utc(datetime.now(UTC))},
            "location": dict(location) if location else None,
        }
        return self.sign(body), files

    @staticmethod
    def with_attachments(doc: Mapping[str, Any], files: Sequence[Material]) -> dict[str, Any]:
        """The document as sent to CouchDB: attachments inline, base64."""
        out = dict(doc)
        out["_attachments"] = {
            m.name: {"content_type": m.content_type, "data": base64.b64encode(m.data).decode()}
            for m in files
        }
        return out

    # ------------------------------------------------------------------ sync

    def http(self) -> httpx.Client:
        return httpx.Client(headers={"Authorization": f"Bearer {self.state.token}"}, timeout=60.0)

    def push(self, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``_bulk_docs`` the documents; returns the per-document results."""
        with self.http() as client:
            response = client.post(self.state.sync_url + "/_bulk_docs", json={"docs": list(docs)})
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()
        return results

    def pull(self, since: str | int = 0) -> tuple[list[dict[str, Any]], str]:
        """Every document of this device's channels changed after ``since``."""
        with self.http() as client:
            response = client.get(
                self.state.sync_url + "/_changes",
                params={"since": str(since), "include_docs": "true", "style": "all_docs"},
            )
        response.raise_for_status()
        body = response.json()
        return [row["doc"] for row in body["results"] if row.get("doc")], body["last_seq"]

    # ------------------------------------------------------------------ verification

    def refresh_server_keys(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            keys = client.get(self.state.server + "/api/v1/keys").json()["keys"]
        self.state.server_keys = {k["key_id"]: k["public_key"] for k in keys}
        self._persist()

    def verify_server_document(self, doc: Mapping[str, Any]) -> None:
        """Raise ``SignatureInvalid`` unless a known server key signed ``doc``."""
        kid = str((doc.get("signature") or {}).get("kid", ""))
        key_id = kid.removeprefix("server:")
        if not kid.startswith("server:"):
            from fieldhall.schemas.errors import SignatureInvalid

            raise SignatureInvalid("not signed by the server", pointer="/signature/kid")
        if key_id not in self.state.server_keys:
            self.refresh_server_keys()
        public = self.state.server_keys.get(key_id)
        if public is None:
            from fieldhall.schemas.errors import SignatureInvalid

            raise SignatureInvalid("unknown server key", pointer="/signature/kid")
        unsigned = {k: v for k, v in doc.items() if k not in ("_rev", "_attachments", "_revisions")}
        verify_document(unsigned, b64url_decode(public))

    def verify_receipt(
        self, receipt: Mapping[str, Any], sent: Mapping[str, Any], files: Sequence[Material]
    ) -> None:
        """The receipt is the server's and acknowledges exactly ``sent`` and its files."""
        self.verify_server_document(receipt)
        expected = {m.name: hashlib.sha256(m.data).hexdigest() for m in files}
        if receipt["for"]["id"] != sent["_id"] or receipt["for"]["sha256"] != chain_hash(sent):
            raise ValueError("the receipt acknowledges another document")
        if receipt["attachments"] != expected:
            raise ValueError("the receipt's attachment hashes differ from what was sent")
