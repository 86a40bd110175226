"""The field contract (ARCHITECTURE, "Signed documents" and "Documents in /sync/field").

Pure: no I/O but reading its own packaged catalog files, no web framework, no database, and
nothing else of fieldhall. Modules, one concept each: ``catalog`` (the versioned service
catalog), ``documents`` (the published JSON Schemas), ``validation``, ``ijson`` and
``canonical`` (I-JSON and the signed bytes), ``keys`` and ``signatures`` (Ed25519),
``sealing`` (HPKE field sealing), ``chain`` (the device hash chain), ``errors``.
"""

from __future__ import annotations

from fieldhall.schemas.canonical import signed_bytes
from fieldhall.schemas.catalog import Catalog, Matter, catalog_versions, load_catalog
from fieldhall.schemas.chain import ChainEntry, ChainStatus, ChainVerdict, chain_hash, check_chain
from fieldhall.schemas.documents import DOCUMENT_TYPES, document_schema, new_document_id
from fieldhall.schemas.errors import ContractError
from fieldhall.schemas.ijson import parse_ijson
from fieldhall.schemas.keys import decode_key, encode_key, key_id
from fieldhall.schemas.sealing import open_field, seal_document_fields, seal_field
from fieldhall.schemas.signatures import sign_document, verify_document
from fieldhall.schemas.validation import validate_document

__all__ = [
    "DOCUMENT_TYPES",
    "Catalog",
    "ChainEntry",
    "ChainStatus",
    "ChainVerdict",
    "ContractError",
    "Matter",
    "catalog_versions",
    "chain_hash",
    "check_chain",
    "decode_key",
    "document_schema",
    "encode_key",
    "key_id",
    "load_catalog",
    "new_document_id",
    "open_field",
    "parse_ijson",
    "seal_document_fields",
    "seal_field",
    "sign_document",
    "signed_bytes",
    "validate_document",
    "verify_document",
]
