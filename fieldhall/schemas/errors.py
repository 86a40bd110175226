"""The contract's errors: one base class, one stable code each.

Hierarchy::

    ContractError                         .code, .pointer, .message, .detail, .problems
    ├── IJsonError            invalid_json             bytes or a value are not I-JSON (RFC 7493)
    ├── CatalogInvalid        catalog_invalid          a catalog file breaks the meta-schema or
    │                                                  its rules (a packaging bug)
    ├── UnknownCatalogVersion unknown_catalog_version  no catalog of the named version
    ├── UnknownMatter         unknown_matter           the catalog version has no such matter
    ├── UnknownType           unknown_type             a ``type`` that is not a contract type
    ├── SchemaInvalid         schema_invalid           a document (or a form) breaks its schema
    ├── SignatureInvalid      bad_signature            a signature is missing, malformed or wrong
    ├── KeyInvalid            bad_key                  a key is not base64url of 32 raw bytes
    └── SealInvalid           bad_seal                 a sealed field is malformed or won't open

The codes that a refused ``/sync/field`` write reports (``schema_invalid``, ``unknown_type``,
``unknown_matter``, ``unknown_catalog_version``, ``bad_signature``) are the ones in
ARCHITECTURE's refusal table; :attr:`ContractError.detail` is the ``<detail>`` of a
``"<code>: <detail>"`` reason: the RFC 6901 JSON pointer of the offending member, then a
message that never echoes the offending value (it may be a citizen's ID number).

Foreign exceptions (``jsonschema``, ``cryptography``, ``pyhpke``, ``rfc8785``) are caught
where they arise and re-raised as one of these, ``from`` the original.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CatalogInvalid",
    "ContractError",
    "IJsonError",
    "KeyInvalid",
    "SchemaInvalid",
    "SealInvalid",
    "SignatureInvalid",
    "UnknownCatalogVersion",
    "UnknownMatter",
    "UnknownType",
]


class ContractError(Exception):
    """Raised when something breaks the field contract; see the subclasses."""

    code: ClassVar[str] = "contract_error"

    def __init__(
        self,
        message: str,
        *,
        pointer: str = "",
        problems: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.pointer = pointer
        self.message = message
        # Every problem found, (pointer, message) in document order; the first one is the
        # headline. A one-time notice (一次性告知) lists them all, a refusal reason the first.
        self.problems = problems or ((pointer, message),)
        super().__init__(f"{self.code}: {self.detail}")

    @property
    def detail(self) -> str:
        """``<JSON pointer>: <message>``, or the message alone for the whole document."""
        return f"{self.pointer}: {self.message}" if self.pointer else self.message

    @property
    def reason(self) -> str:
        """The ``reason`` of a CouchDB ``forbidden`` error: ``<code>: <detail>``."""
        return f"{self.code}: {self.detail}"


class IJsonError(ContractError):
    """Raised when bytes or a value are not I-JSON: bad UTF-8 or syntax, a duplicate key, a
    lone surrogate, an integer beyond ±(2**53 - 1), a non-finite number."""

    code = "invalid_json"


class CatalogInvalid(ContractError):
    """Raised when a catalog file breaks the catalog meta-schema or its rules."""

    code = "catalog_invalid"


class UnknownCatalogVersion(ContractError):
    """Raised when no catalog of the requested version ships with the package."""

    code = "unknown_catalog_version"


class UnknownMatter(ContractError):
    """Raised when a catalog version has no matter of the requested id."""

    code = "unknown_matter"


class UnknownType(ContractError):
    """Raised when a document's ``type`` is missing or not one of the contract's types."""

    code = "unknown_type"


class SchemaInvalid(ContractError):
    """Raised when a document breaks its type's schema or its matter's form schema."""

    code = "schema_invalid"


class SignatureInvalid(ContractError):
    """Raised when a document's signature is missing, malformed, or does not verify."""

    code = "bad_signature"


class KeyInvalid(ContractError):
    """Raised when a key is not the unpadded base64url of exactly 32 raw bytes."""

    code = "bad_key"


class SealInvalid(ContractError):
    """Raised when a sealed field is malformed or cannot be opened with this key and aad."""

    code = "bad_seal"
