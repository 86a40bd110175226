"""The case as the device signed it (its applicant and form answers), and the opening of its
sealed fields.

The applicant's ID number and phone may arrive sealed to the hall's key
(:mod:`fieldhall.schemas.sealing`). The case page never shows them by default: a clerk or an
approver — the roles that check an identity — opens them with a deliberate click, and each
opening appends ``case.sealed_fields_opened`` to the audit log in the same transaction as the
decryption, naming who, which fields and why they could see them (their role). Supervisors
read statistics and timelines, not identities. Values stored unsealed are treated the same,
so what the page reveals never depends on how the device sent it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldhall.field_app_api.keys import sealing_key
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.schemas.errors import SealInvalid
from fieldhall.schemas.sealing import SEALABLE_FIELDS, is_sealed, open_field
from fieldhall.sync.errors import NotFound as StoreNotFound

from ..hall.audit import Actor, Subject, append
from ..hall.errors import NotFound

__all__ = ["SEALED_FIELDS", "SEAL_OPENERS", "open_sealed_fields", "signed_case"]

SEAL_OPENERS = ("clerk", "approver")
# applicant field name -> its JSON pointer in the case document
SEALED_FIELDS: Mapping[str, str] = {
    pointer.rsplit("/", 1)[1]: pointer for pointer in SEALABLE_FIELDS["case"]
}


def signed_case(field: FieldService, case_id: str) -> dict[str, Any]:
    """The winning revision of the case document in ``/sync/field`` (its body)."""
    store = field.store
    try:
        state = store.document(FIELD_DB, case_id)
    except StoreNotFound:
        raise NotFound("case.not_found", f"no case {case_id}") from None
    record = store.revisions(FIELD_DB, [(case_id, state.winner)]).get((case_id, state.winner))
    if record is None or record.deleted:
        raise NotFound("case.not_found", f"no stored revision of {case_id}")
    return dict(record.body)


def present_sealed(doc: Mapping[str, Any]) -> list[str]:
    """The sealable applicant fields this case carries (sealed or not)."""
    applicant = doc.get("applicant") or {}
    return [name for name in SEALED_FIELDS if applicant.get(name) not in (None, "")]


def open_sealed_fields(
    field: FieldService, case_id: str, account: StaffAccount
) -> dict[str, str | None]:
    """The applicant's sealed fields in clear (None: the value does not open with the hall's
    key), the opening audited. The caller has checked the role."""
    doc = signed_case(field, case_id)
    applicant = doc.get("applicant") or {}
    opened: dict[str, str | None] = {}
    with field.session() as session:
        _, private = sealing_key(session)
        for name, pointer in SEALED_FIELDS.items():
            value = applicant.get(name)
            if isinstance(value, Mapping) and is_sealed(value):
                try:
                    opened[name] = open_field(value, private, case_id, pointer)
                except SealInvalid:
                    opened[name] = None
            elif isinstance(value, str) and value:
                opened[name] = value
        append(
            session,
            Actor.staff(account.username),
            "case.sealed_fields_opened",
            Subject("case", case_id),
            {"fields": sorted(opened), "role": account.role},
        )
    return opened
