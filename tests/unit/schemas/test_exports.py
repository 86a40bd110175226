"""The public face of ``fieldhall.schemas`` is exactly the intended names (as httpx checks)."""

from __future__ import annotations

import fieldhall.schemas
import fieldhall.schemas.errors

INTENDED = {
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
}


def test_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(fieldhall.schemas.__all__) == INTENDED
    for name in fieldhall.schemas.__all__:
        assert hasattr(fieldhall.schemas, name)


def test_every_error_is_a_contract_error_with_its_own_stable_code() -> None:
    errors = [getattr(fieldhall.schemas.errors, name) for name in fieldhall.schemas.errors.__all__]
    codes = [error.code for error in errors if error is not fieldhall.schemas.errors.ContractError]
    assert all(issubclass(error, fieldhall.schemas.errors.ContractError) for error in errors)
    assert len(codes) == len(set(codes)) == len(errors) - 1
    refusal_codes = {"schema_invalid", "unknown_type", "unknown_matter", "unknown_catalog_version"}
    assert refusal_codes | {"bad_signature"} <= set(codes)


def test_an_error_renders_as_a_couchdb_forbidden_reason() -> None:
    error = fieldhall.schemas.errors.SchemaInvalid("required member is missing", pointer="/form/x")
    assert error.reason == "schema_invalid: /form/x: required member is missing"
    assert error.problems == (("/form/x", "required member is missing"),)
    assert (
        fieldhall.schemas.errors.UnknownType("no such type").reason == "unknown_type: no such type"
    )
