"""Documents as CouchDB returns them: ``_id``/``_rev`` first, then the body, then the special
members a request asked for (``_revisions``, ``_revs_info``, ``_conflicts``,
``_deleted_conflicts``, ``_attachments`` as stubs or inline base64)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import revtree
from ..documents import StoredAttachment
from ..store import DocState, RevisionRecord

__all__ = ["RenderOptions", "attachment_stub", "render_doc"]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    revs: bool = False
    revs_info: bool = False
    conflicts: bool = False
    deleted_conflicts: bool = False
    attachments: bool = False  # inline the bytes
    atts_since: Sequence[str] = ()
    follows: bool = False  # bytes go in multipart parts instead of inline


def attachment_stub(att: StoredAttachment) -> dict[str, Any]:
    return {
        "content_type": att.content_type,
        "revpos": att.revpos,
        "digest": att.digest,
        "length": att.length,
        "stub": True,
    }


def _since_generation(state: DocState, rev: str, atts_since: Sequence[str]) -> int:
    """The highest generation among ``atts_since`` revs that are ancestors of ``rev`` (0 when
    none is: as CouchDB, a rev on another branch, or one we do not know, says nothing about
    which attachments the client has, so all of them are sent)."""
    if not atts_since:
        return 0
    wanted = {r for r in atts_since if isinstance(r, str)}  # bulk_get items are unchecked
    return max((revtree.generation(r) for r in revtree.ancestry(state.tree, rev) if r in wanted),
               default=0)  # fmt: skip


def render_doc(
    state: DocState,
    record: RevisionRecord,
    options: RenderOptions,
    read_blob: Callable[[str], bytes],
) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": state.doc_id, "_rev": record.rev}
    doc.update(record.body)
    if record.deleted:
        doc["_deleted"] = True
    if record.attachments:
        since = _since_generation(state, record.rev, options.atts_since)
        atts: dict[str, Any] = {}
        for name, att in record.attachments.items():
            if options.attachments and att.revpos > since:
                if options.follows:
                    entry = attachment_stub(att)
                    del entry["stub"]
                    entry["follows"] = True
                else:
                    data = base64.b64encode(read_blob(att.sha256)).decode("ascii")
                    entry = {
                        "content_type": att.content_type,
                        "revpos": att.revpos,
                        "digest": att.digest,
                        "data": data,
                    }
            else:
                entry = attachment_stub(att)
            atts[name] = entry
        doc["_attachments"] = atts
    if options.conflicts and record.rev == state.winner:
        conflicts = revtree.conflicts(state.tree)
        if conflicts:
            doc["_conflicts"] = conflicts
    if options.deleted_conflicts and record.rev == state.winner:
        deleted = revtree.deleted_conflicts(state.tree)
        if deleted:
            doc["_deleted_conflicts"] = deleted
    if options.revs:
        doc["_revisions"] = revtree.revisions_of(state.tree, record.rev)
    if options.revs_info:
        doc["_revs_info"] = [
            {"rev": r, "status": "deleted" if state.tree[r].deleted else "available"}
            for r in revtree.ancestry(state.tree, record.rev)
        ]
    return doc
