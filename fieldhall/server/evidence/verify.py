"""``fieldhall evidence verify``: check a bundle offline — no server, no data directory.

Trust runs one way: the pinned server key (``--server-key``), or else the key the manifest
names from ``keys/server.json``, verifies the manifest; the manifest fixes the SHA-256 of
every other entry; those entries carry the keys that verify each document (device keys for
device documents, the server's keys for server documents) and the chain entries each device
document must match. Every check that fails is reported with the entry it concerns, and the
checks go on, so one run names everything wrong.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785

from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.errors import ContractError
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document

from .layout import (
    ATTACHMENTS,
    CHAIN,
    DEVICE_KEYS,
    DOCUMENTS,
    MANIFEST,
    MANIFEST_TYPE,
    SERVER_KEYS,
    attachment_entry,
    chain_entry,
    device_key_entry,
    document_entry,
)

__all__ = ["Finding", "VerifyReport", "verify_bundle"]


@dataclass(frozen=True, slots=True)
class Finding:
    entry: str  # the bundle entry concerned ("bundle" for the zip itself)
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


@dataclass
class VerifyReport:
    case_id: str | None = None
    signed_by: str | None = None
    pinned: bool = False
    failures: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, entry: str, reason: str) -> None:
        self.failures.append(Finding(entry, reason))

    def count(self, what: str) -> None:
        self.checked[what] = self.checked.get(what, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "case_id": self.case_id,
            "signed_by": self.signed_by,
            "server_key_pinned": self.pinned,
            "checked": dict(sorted(self.checked.items())),
            "failures": [{"entry": f.entry, "reason": f.reason} for f in self.failures],
            "notes": [{"entry": f.entry, "reason": f.reason} for f in self.notes],
        }


class _Bundle:
    """The zip's entries, read once."""

    def __init__(self, entries: dict[str, bytes]) -> None:
        self.entries = entries

    def json(self, name: str, report: VerifyReport) -> Any:
        data = self.entries.get(name)
        if data is None:
            return None
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            report.fail(name, f"not valid JSON ({exc})")
            return None


def _read_zip(path: Path, report: VerifyReport) -> _Bundle | None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries: dict[str, bytes] = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.filename in entries:
                    report.fail(info.filename, "appears twice in the zip")
                    continue
                try:
                    entries[info.filename] = archive.read(info)
                except (zipfile.BadZipFile, OSError, ValueError) as exc:
                    report.fail(info.filename, f"cannot be read from the zip ({exc})")
            return _Bundle(entries)
    except (zipfile.BadZipFile, OSError) as exc:
        report.fail("bundle", f"not a readable zip file ({exc})")
        return None


def _key_bytes(value: str) -> bytes | None:
    try:
        raw = b64url_decode(value)
    except (ValueError, TypeError):
        return None
    return raw if len(raw) == 32 else None


def _key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def _server_keys(bundle: _Bundle, report: VerifyReport) -> dict[str, bytes]:
    listed = bundle.json(SERVER_KEYS, report)
    keys: dict[str, bytes] = {}
    if listed is None:
        if SERVER_KEYS not in bundle.entries:
            report.fail(SERVER_KEYS, "missing: the server's keys are not in the bundle")
        return keys
    for item in listed.get("keys", []) if isinstance(listed, Mapping) else []:
        raw = _key_bytes(str(item.get("public_key", "")))
        if raw is None or _key_id(raw) != item.get("key_id"):
            report.fail(SERVER_KEYS, f"key {item.get('key_id')!r} is malformed or misnamed")
            continue
        keys[str(item["key_id"])] = raw
    return keys


def _check_manifest(
    bundle: _Bundle, server_keys: dict[str, bytes], pinned: bytes | None, report: VerifyReport
) -> dict[str, Any] | None:
    data = bundle.entries.get(MANIFEST)
    if data is None:
        report.fail(MANIFEST, "missing: nothing vouches for the bundle")
        return None
    manifest = bundle.json(MANIFEST, report)
    if not isinstance(manifest, dict):
        if manifest is not None:
            report.fail(MANIFEST, "not a JSON object")
        return None
    try:
        canonical = rfc8785.dumps(manifest)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        report.fail(MANIFEST, f"not I-JSON ({exc})")
        return None
    if canonical != data:
        report.fail(MANIFEST, "its bytes are not its canonical JSON: it was altered")
    if manifest.get("type") != MANIFEST_TYPE:
        report.fail(MANIFEST, f"type is not {MANIFEST_TYPE!r}")
    kid = str((manifest.get("signature") or {}).get("kid", ""))
    report.signed_by = kid or None
    key_id = kid.removeprefix("server:") if kid.startswith("server:") else None
    key = pinned if pinned is not None else server_keys.get(key_id or "")
    if pinned is not None and key_id != _key_id(pinned):
        report.fail(MANIFEST, f"signed by {kid or 'nobody'}, not by the pinned server key")
    elif key is None:
        report.fail(MANIFEST, f"signed by {kid or 'nobody'}: no such key in {SERVER_KEYS}")
    else:
        try:
            verify_document(manifest, key)
            report.count("signatures")
        except ContractError as exc:
            report.fail(MANIFEST, f"server signature does not hold ({exc.reason})")
    if pinned is not None and key_id in server_keys and server_keys[key_id] != pinned:
        report.fail(SERVER_KEYS, f"lists another key under the pinned key's id {key_id}")
    entries = manifest.get("entries")
    if not isinstance(entries, dict):
        report.fail(MANIFEST, "has no entries")
        return None
    report.case_id = manifest.get("case_id") if isinstance(manifest.get("case_id"), str) else None
    return manifest


def _check_entries(bundle: _Bundle, entries: Mapping[str, Any], report: VerifyReport) -> None:
    present = set(bundle.entries) - {MANIFEST}
    for name in sorted(present - set(entries)):
        report.fail(name, "not in the manifest: an entry was added")
    for name in sorted(set(entries) - present):
        report.fail(name, "listed in the manifest but missing: an entry was removed")
    for name in sorted(present & set(entries)):
        expected = entries[name] if isinstance(entries[name], Mapping) else {}
        data = bundle.entries[name]
        if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
            report.fail(name, "sha256 differs from the manifest: the content was changed")
        elif len(data) != expected.get("length"):
            report.fail(name, "length differs from the manifest")
        else:
            report.count("entries")


def _device_keys(bundle: _Bundle, report: VerifyReport) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for name in sorted(n for n in bundle.entries if n.startswith(DEVICE_KEYS)):
        info = bundle.json(name, report)
        if not isinstance(info, Mapping):
            continue
        device_id = str(info.get("device_id"))
        raw = _key_bytes(str(info.get("public_key", "")))
        if name != device_key_entry(device_id):
            report.fail(name, f"names device {device_id!r}, not the device of its file name")
        elif raw is None:
            report.fail(name, "the public key is not 32 bytes of unpadded base64url")
        else:
            keys[device_id] = raw
    return keys


def _check_document(
    name: str,
    doc: Any,
    case_id: str | None,
    server_keys: Mapping[str, bytes],
    device_keys: Mapping[str, bytes],
    report: VerifyReport,
) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
        report.fail(name, "not a document with an _id")
        return
    doc_id = doc["_id"]
    if document_entry(doc_id) != name:
        report.fail(name, f"holds {doc_id}, not the document its name says")
    if case_id is not None and doc_id != case_id and doc.get("case_id") != case_id:
        report.fail(name, f"is not about {case_id}")
    kid = str((doc.get("signature") or {}).get("kid", ""))
    if kid.startswith("server:"):
        key = server_keys.get(kid.removeprefix("server:"))
        whose = f"server key {kid}"
    else:
        key = device_keys.get(kid)
        whose = f"device key of {kid}"
        if kid != doc.get("device_id"):
            report.fail(name, "signature.kid is not the document's device_id")
    if key is None:
        report.fail(name, f"signed by {kid or 'nobody'}: no such key in the bundle")
        return
    try:
        verify_document(doc, key)
        report.count("signatures")
    except ContractError as exc:
        report.fail(name, f"signature does not hold with the {whose} ({exc.reason})")


def _check_attachments(
    name: str, doc: Mapping[str, Any], bundle: _Bundle, report: VerifyReport
) -> None:
    stored: Mapping[str, Any] = doc.get("_attachments") or {}
    for index, material in enumerate(doc.get("materials") or []):
        if not isinstance(material, Mapping):
            continue
        att = stored.get(str(material.get("name")))
        where = f"{name} /materials/{index} ({material.get('name')})"
        if att is None or att.get("sha256") != material.get("sha256"):
            report.fail(name, f"/materials/{index}: the signed sha256 has no stored attachment")
            continue
        entry = attachment_entry(str(material.get("sha256")))
        data = bundle.entries.get(entry)
        if data is None:
            report.fail(entry, f"missing: the bytes of {where}")
        elif hashlib.sha256(data).hexdigest() != material.get("sha256"):
            report.fail(entry, f"the bytes do not hash to what {where} signed")
        elif len(data) != material.get("length"):
            report.fail(entry, f"the length is not what {where} signed")
        else:
            report.count("attachments")


def _check_receipt(
    name: str,
    receipt: Mapping[str, Any],
    docs: Mapping[str, Mapping[str, Any]],
    report: VerifyReport,
) -> None:
    target = receipt.get("for") or {}
    acknowledged = docs.get(str(target.get("id")))
    if acknowledged is None:
        report.notes.append(Finding(name, f"acknowledges {target.get('id')}, not in the bundle"))
        return
    holds = True
    if chain_hash(acknowledged) != target.get("sha256"):
        report.fail(name, f"acknowledges other signed bytes than {target.get('id')} holds")
        holds = False
    signed = {m.get("name"): m.get("sha256") for m in acknowledged.get("materials") or []}
    if (receipt.get("attachments") or {}) != signed:
        report.fail(name, f"acknowledges other attachments than {target.get('id')} signed")
        holds = False
    if holds:
        report.count("receipts")


def _check_chains(
    bundle: _Bundle, docs: Mapping[str, Mapping[str, Any]], report: VerifyReport
) -> None:
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for doc in docs.values():
        kid = str((doc.get("signature") or {}).get("kid", ""))
        if kid and not kid.startswith("server:"):
            by_device.setdefault(kid, []).append(doc)
    for device_id, device_docs in sorted(by_device.items()):
        name = chain_entry(device_id)
        if name not in bundle.entries:
            report.fail(name, f"missing: no chain for the documents of {device_id}")
            continue
        chain = bundle.json(name, report)
        if not isinstance(chain, Mapping) or chain.get("device_id") != device_id:
            report.fail(name, f"is not the chain of {device_id}")
            continue
        entries = {
            int(e["device_seq"]): e
            for e in chain.get("entries") or []
            if isinstance(e, Mapping) and isinstance(e.get("device_seq"), int)
        }
        for seq in sorted(entries):
            following = entries.get(seq + 1)
            if following is not None:
                if following.get("prev_hash") != entries[seq].get("hash"):
                    report.fail(name, f"link {seq} -> {seq + 1} is broken (prev_hash differs)")
                else:
                    report.count("chain links")
            elif seq < max(entries):
                # The server accepts a document whose predecessor has not arrived (yet).
                report.notes.append(Finding(name, f"gap after device_seq {seq}"))
        for doc in device_docs:
            doc_seq = doc.get("device_seq")
            entry = entries.get(doc_seq) if isinstance(doc_seq, int) else None
            where = document_entry(str(doc["_id"]))
            if entry is None:
                report.fail(name, f"has no entry for device_seq {doc_seq} ({doc['_id']})")
            elif entry.get("doc_id") != doc["_id"] or entry.get("hash") != chain_hash(doc):
                report.fail(where, f"does not match chain entry {doc_seq} of {device_id}")
            elif entry.get("prev_hash") != doc.get("prev_hash"):
                report.fail(where, f"prev_hash differs from chain entry {doc_seq} of {device_id}")
            else:
                report.count("chain entries")


def verify_bundle(path: Path | str, server_key: str | None = None) -> VerifyReport:
    """Check everything in the bundle at ``path``; ``server_key`` (unpadded base64url of the
    raw Ed25519 key) pins the server key the manifest must be signed with."""
    report = VerifyReport(pinned=server_key is not None)
    pinned = None
    if server_key is not None:
        pinned = _key_bytes(server_key.strip())
        if pinned is None:
            report.fail("--server-key", "not 32 bytes of unpadded base64url")
            return report
    bundle = _read_zip(Path(path), report)
    if bundle is None:
        return report
    server_keys = _server_keys(bundle, report)
    manifest = _check_manifest(bundle, server_keys, pinned, report)
    if manifest is not None:
        _check_entries(bundle, manifest["entries"], report)
    device_keys = _device_keys(bundle, report)
    docs: dict[str, Mapping[str, Any]] = {}
    named: dict[str, Mapping[str, Any]] = {}
    for name in sorted(n for n in bundle.entries if n.startswith(DOCUMENTS)):
        doc = bundle.json(name, report)
        _check_document(name, doc, report.case_id, server_keys, device_keys, report)
        if isinstance(doc, dict) and isinstance(doc.get("_id"), str):
            docs[doc["_id"]] = named[name] = doc
            _check_attachments(name, doc, bundle, report)
    if report.case_id is not None and report.case_id not in docs:
        report.fail(document_entry(report.case_id), "missing: the case itself is not in the bundle")
    for name, doc in named.items():
        if doc.get("type") == "receipt":
            _check_receipt(name, doc, docs, report)
    _check_chains(bundle, docs, report)
    unused = {n for n in bundle.entries if n.startswith(ATTACHMENTS)} - {
        attachment_entry(str(m.get("sha256")))
        for d in docs.values()
        for m in d.get("materials") or []
        if isinstance(m, Mapping)
    }
    for name in sorted(unused):
        report.notes.append(Finding(name, "no document's materials name these bytes"))
    for name in sorted(n for n in bundle.entries if n.startswith(CHAIN)):
        if not any(chain_entry(d) == name for d in device_keys):
            report.notes.append(Finding(name, "a chain of a device with no key in the bundle"))
    return report
