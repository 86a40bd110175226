"""Errors of the field API, each with a stable code clients can switch on.

Hierarchy::

    FieldError          raised when a device or admin request cannot be carried out;
                        ``code`` is stable (``enroll.code_spent``), ``status`` the HTTP status
    └── Refusal         raised by the sync policy for a refused document; ``code`` is one of
                        the refusal codes of the contract and becomes the ``forbidden`` reason
"""

from __future__ import annotations

__all__ = ["REFUSAL_CODES", "FieldError"]

REFUSAL_CODES = {
    "unknown_device": "the signing device is not enrolled",
    "revoked": "the device has been revoked",
    "bad_signature": "the signature is missing, malformed or does not verify",
    "kid_mismatch": "signature.kid is not the authenticated device",
    "schema_invalid": "the document does not match its schema or the matter's form",
    "unknown_type": "devices may not write documents of this type",
    "unknown_matter": "the catalog version has no such matter",
    "unknown_catalog_version": "no catalog of that version",
    "attachment_mismatch": "the attachments do not match the materials manifest",
    "bad_photo": "an attachment is not a valid, safe file of its declared type",
    "chain_fork": "different content at a device_seq already used, or a contradicting prev_hash",
    "immutable": "a synced device document cannot be changed",
    "not_owner": "the document belongs to another agent, device or grid",
    "delete_forbidden": "devices cannot delete documents",
}

_STATUS = {
    "not_found": 404,
    "unauthorized": 401,
    "forbidden": 403,
    "conflict": 409,
    "rate_limited": 429,
}


class FieldError(Exception):
    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        self.code = code
        self.message = message
        suffix = code.rsplit(".", 1)[-1]
        self.status = status or _STATUS.get(suffix, 400)
        super().__init__(f"{code}: {message}")

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "reason": self.message}
