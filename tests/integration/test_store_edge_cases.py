"""Store behaviour found wrong by the integration suite, now as CouchDB does it.

* ``_revs_diff`` lists a leaf as a possible ancestor when its generation is lower than any
  missing rev's (couch_db:find_missing), so replicators can send ``atts_since``.
* A stale edit with attachment stubs is a 409 conflict, not a 412 missing_stub
  (couch_db:prep_and_validate_update): PouchDB retries a 409, but gives up on a 412.
"""

from __future__ import annotations

import httpx

from tests.integration.couch import assert_error, b64, put


def test_possible_ancestors_compare_with_every_missing_rev(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/doc", {"v": 1})
    rev2 = put(client, f"/{db}/doc", {"_rev": rev1, "v": 2})
    answer = client.post(f"/{db}/_revs_diff", json={"doc": ["3-new", "1-zzz"]}).json()
    assert answer == {"doc": {"missing": ["3-new", "1-zzz"], "possible_ancestors": [rev2]}}


def test_a_stale_rev_with_stubs_is_a_conflict(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/doc", {"_attachments": {"a": {"data": b64(b"x")}}})
    put(client, f"/{db}/doc", {"_rev": rev1})  # the winner no longer has "a"
    stale = client.put(f"/{db}/doc", json={"_rev": rev1, "_attachments": {"a": {"stub": True}}})
    assert_error(stale, 409, "conflict", "Document update conflict.")


def test_a_rev_of_a_missing_doc_with_stubs_is_a_conflict(client: httpx.Client, db: str) -> None:
    response = client.put(
        f"/{db}/new", json={"_rev": "1-abc", "_attachments": {"a": {"stub": True}}}
    )
    assert_error(response, 409, "conflict", "Document update conflict.")
