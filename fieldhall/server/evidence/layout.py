"""What an evidence bundle holds and where: one zip, every entry named in a signed manifest.

::

    manifest.json                    the server-signed manifest (RFC 8785 bytes, exactly)
    README.txt                       what the bundle is and how to check it
    documents/<type>/<id>.json       each document of the case as stored (body, _id, _rev,
                                     and _attachments metadata with each file's sha256)
    attachments/<sha256>             each attachment's original bytes, by content address
    keys/server.json                 the server's signing keys, current and retired
                                     (as GET /api/v1/keys lists them)
    keys/devices/<device_id>.json    the public key of each device that signed a document
    chain/<device_id>.json           that device's chain entries around the case's documents

The manifest is a signed document (contract v1 signatures, ``kid = server:<key_id>``):
``{"_id": "evidence:<ULID>", "type": "evidence_manifest", "contract": 1, "case_id",
"created_at", "entries": {<name>: {"sha256", "length"}}, "signature"}``; it covers every
other entry, and its own bytes must be exactly its canonical JSON, so no byte of the bundle
can change unnoticed.
"""

from __future__ import annotations

import re

__all__ = [
    "ATTACHMENTS",
    "CHAIN",
    "DEVICE_KEYS",
    "DOCUMENTS",
    "MANIFEST",
    "MANIFEST_TYPE",
    "README",
    "SERVER_KEYS",
    "attachment_entry",
    "chain_entry",
    "device_key_entry",
    "document_entry",
    "is_safe_name",
]

MANIFEST = "manifest.json"
MANIFEST_TYPE = "evidence_manifest"
README = "README.txt"
DOCUMENTS = "documents/"
ATTACHMENTS = "attachments/"
SERVER_KEYS = "keys/server.json"
DEVICE_KEYS = "keys/devices/"
CHAIN = "chain/"

_SAFE = re.compile(r"[A-Za-z0-9._~:@+=-]+")


def is_safe_name(part: str) -> bool:
    """One path segment we write: no separators, no dot-dot, nothing a shell mangles."""
    return bool(_SAFE.fullmatch(part)) and part not in (".", "..")


def document_entry(doc_id: str) -> str:
    doc_type, _, rest = doc_id.partition(":")
    return f"{DOCUMENTS}{doc_type}/{rest}.json"


def attachment_entry(sha256: str) -> str:
    return f"{ATTACHMENTS}{sha256}"


def device_key_entry(device_id: str) -> str:
    return f"{DEVICE_KEYS}{device_id}.json"


def chain_entry(device_id: str) -> str:
    return f"{CHAIN}{device_id}.json"


README_TEXT = """\
fieldhall evidence bundle
=========================

Everything the hall holds about one case, as it was stored: the documents (signed by the
field device or by the server), the original attachment bytes, the keys that verify the
signatures, and each device's hash chain around the case's documents.

manifest.json lists the SHA-256 of every other entry and is signed by the server
(kid server:<key_id>; the keys are in keys/server.json). Check everything offline with

    fieldhall evidence verify <this file> [--server-key <the server's public key>]

which needs no server and no data directory, and names every entry that does not hold.
"""
