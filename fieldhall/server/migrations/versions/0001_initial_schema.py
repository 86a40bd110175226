"""The baseline: every table of every layer as it stood when migrations began — the sync
store (sync_*), the field side (field_*), uploads (field_upload*), the hall (hall_*) and its
audit log (hall_audit_*).

Each table and index is created only if it is missing: a database made by the old
``create_all`` path (tables but no ``alembic_version``) is adopted as it is, gaining whatever
tables its version of fieldhall had not created yet, and is then stamped at this revision.

Revision ID: 0001
Revises: -
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_channel",
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "doc_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("db_id", "channel", "seq"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_sync_channel_doc", "sync_channel", ["db_id", "doc_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "sync_database",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("update_seq", sa.BigInteger(), nullable=False),
        sa.Column("revs_limit", sa.Integer(), nullable=False),
        sa.Column("doc_count", sa.BigInteger(), nullable=False),
        sa.Column("doc_del_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "sync_document",
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column(
            "doc_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("winner", sa.String(length=200), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("tree", sa.Text(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("db_id", "doc_id"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_sync_document_seq", "sync_document", ["db_id", "seq"], unique=True, if_not_exists=True
    )
    op.create_table(
        "sync_local",
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column(
            "doc_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("db_id", "doc_id"),
        if_not_exists=True,
    )
    op.create_table(
        "sync_revision",
        sa.Column("db_id", sa.Integer(), nullable=False),
        sa.Column(
            "doc_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("rev", sa.String(length=200), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("db_id", "doc_id", "rev"),
        if_not_exists=True,
    )
    op.create_table(
        "sync_server",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "field_chain_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("device_seq", sa.Integer(), nullable=False),
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "device_seq"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_chain_entry_device_id"),
        "field_chain_entry",
        ["device_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_enrollment_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_enrollment_attempt_at"),
        "field_enrollment_attempt",
        ["at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_enrollment_attempt_client"),
        "field_enrollment_attempt",
        ["client"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_grid",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "field_receipt_issued",
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("receipt_id", sa.String(length=200), nullable=False),
        sa.Column("rev", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("doc_id"),
        if_not_exists=True,
    )
    op.create_table(
        "field_server_key",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_server_key_purpose"),
        "field_server_key",
        ["purpose"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_staff_account",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username"),
        if_not_exists=True,
    )
    op.create_table(
        "field_station",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "field_upload",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("metadata_header", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_upload_device_id"),
        "field_upload",
        ["device_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_upload_expires_at"),
        "field_upload",
        ["expires_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_uploaded_blob",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("md5_digest", sa.String(length=40), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "sha256"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_uploaded_blob_expires_at"),
        "field_uploaded_blob",
        ["expires_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_audit_entry_action"),
        "hall_audit_entry",
        ["action"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_hall_audit_entry_actor",
        "hall_audit_entry",
        ["actor_kind", "actor_id", "seq"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_audit_entry_at"), "hall_audit_entry", ["at"], unique=False, if_not_exists=True
    )
    op.create_index(
        "ix_hall_audit_entry_subject",
        "hall_audit_entry",
        ["subject_type", "subject_id", "seq"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_audit_head",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_hall_audit_head_single"),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "hall_case",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("received_order", sa.BigInteger(), nullable=False),
        sa.Column("rev", sa.String(length=200), nullable=False),
        sa.Column("matter_id", sa.String(length=64), nullable=False),
        sa.Column("catalog_version", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("grid_id", sa.String(length=200), nullable=True),
        sa.Column("station_id", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("applicant_address", sa.String(length=500), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("resume_state", sa.String(length=40), nullable=True),
        sa.Column("notices_issued", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_step", sa.Integer(), nullable=True),
        sa.Column("legal_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promised_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("open_deficiencies", sa.Integer(), nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.Column("delivery_method", sa.String(length=16), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("open_complaints", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("received_order"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_case_agent_id"), "hall_case", ["agent_id"], unique=False, if_not_exists=True
    )
    op.create_index(
        "ix_hall_case_grid_order",
        "hall_case",
        ["grid_id", "received_order"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_hall_case_matter_order",
        "hall_case",
        ["matter_id", "received_order"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_hall_case_open_due",
        "hall_case",
        ["closed", "concluded_at", "promised_due_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_case_state"), "hall_case", ["state"], unique=False, if_not_exists=True
    )
    op.create_index(
        "ix_hall_case_state_order",
        "hall_case",
        ["state", "received_order"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_hall_case_station_order",
        "hall_case",
        ["station_id", "received_order"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_case_event",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=True),
        sa.Column("from_state", sa.String(length=40), nullable=True),
        sa.Column("to_state", sa.String(length=40), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("by_role", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("items", sa.Text(), nullable=True),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "ordinal"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_case_event_case_id"),
        "hall_case_event",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_hall_case_event_unpublished",
        "hall_case_event",
        ["published_at", "at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_case_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("material_id", sa.String(length=64), nullable=True),
        sa.Column("problem", sa.String(length=500), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_case_item_case_id"),
        "hall_case_item",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_case_item_event_id"),
        "hall_case_item",
        ["event_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_case_term",
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("received_order", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("term", "received_order"),
        if_not_exists=True,
    )
    op.create_table(
        "hall_complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("complexity", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_complaint_case_id"),
        "hall_complaint",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_delivery",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipient_name", sa.String(length=100), nullable=True),
        sa.Column("recipient_relation", sa.String(length=32), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_delivery_case_id"),
        "hall_delivery",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_document",
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=True),
        sa.Column("rev", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("device_id", sa.String(length=200), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("signed_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_id", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("doc_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_document_agent_id"),
        "hall_document",
        ["agent_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_document_case_id"),
        "hall_document",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_idempotency",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "key"),
        if_not_exists=True,
    )
    op.create_table(
        "hall_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("material_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("captured_at", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_id", "name"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_material_case_id"),
        "hall_material",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_projector_checkpoint",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "hall_step_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "step_id", "department"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_step_decision_case_id"),
        "hall_step_decision",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_supplement",
        sa.Column("doc_id", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("answers_event", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("resolved_items", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("doc_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_supplement_case_id"),
        "hall_supplement",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "hall_suspension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by_event", sa.String(length=200), nullable=False),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_hall_suspension_case_id"),
        "hall_suspension",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_agent",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("station_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["field_grid.id"],
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["field_station.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_agent_grid_id"), "field_agent", ["grid_id"], unique=False, if_not_exists=True
    )
    op.create_index(
        op.f("ix_field_agent_station_id"),
        "field_agent",
        ["station_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "field_device",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["field_agent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_device_agent_id"),
        "field_device",
        ["agent_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_device_token_hash"),
        "field_device",
        ["token_hash"],
        unique=True,
        if_not_exists=True,
    )
    op.create_table(
        "field_enrollment_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["field_agent.id"],
        ),
        sa.PrimaryKeyConstraint("code_hash"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_field_enrollment_code_agent_id"),
        "field_enrollment_code",
        ["agent_id"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_field_enrollment_code_agent_id"), table_name="field_enrollment_code")
    op.drop_table("field_enrollment_code")
    op.drop_index(op.f("ix_field_device_token_hash"), table_name="field_device")
    op.drop_index(op.f("ix_field_device_agent_id"), table_name="field_device")
    op.drop_table("field_device")
    op.drop_index(op.f("ix_field_agent_station_id"), table_name="field_agent")
    op.drop_index(op.f("ix_field_agent_grid_id"), table_name="field_agent")
    op.drop_table("field_agent")
    op.drop_index(op.f("ix_hall_suspension_case_id"), table_name="hall_suspension")
    op.drop_table("hall_suspension")
    op.drop_index(op.f("ix_hall_supplement_case_id"), table_name="hall_supplement")
    op.drop_table("hall_supplement")
    op.drop_index(op.f("ix_hall_step_decision_case_id"), table_name="hall_step_decision")
    op.drop_table("hall_step_decision")
    op.drop_table("hall_projector_checkpoint")
    op.drop_index(op.f("ix_hall_material_case_id"), table_name="hall_material")
    op.drop_table("hall_material")
    op.drop_table("hall_idempotency")
    op.drop_index(op.f("ix_hall_document_case_id"), table_name="hall_document")
    op.drop_index(op.f("ix_hall_document_agent_id"), table_name="hall_document")
    op.drop_table("hall_document")
    op.drop_index(op.f("ix_hall_delivery_case_id"), table_name="hall_delivery")
    op.drop_table("hall_delivery")
    op.drop_index(op.f("ix_hall_complaint_case_id"), table_name="hall_complaint")
    op.drop_table("hall_complaint")
    op.drop_table("hall_case_term")
    op.drop_index(op.f("ix_hall_case_item_event_id"), table_name="hall_case_item")
    op.drop_index(op.f("ix_hall_case_item_case_id"), table_name="hall_case_item")
    op.drop_table("hall_case_item")
    op.drop_index("ix_hall_case_event_unpublished", table_name="hall_case_event")
    op.drop_index(op.f("ix_hall_case_event_case_id"), table_name="hall_case_event")
    op.drop_table("hall_case_event")
    op.drop_index("ix_hall_case_station_order", table_name="hall_case")
    op.drop_index("ix_hall_case_state_order", table_name="hall_case")
    op.drop_index(op.f("ix_hall_case_state"), table_name="hall_case")
    op.drop_index("ix_hall_case_open_due", table_name="hall_case")
    op.drop_index("ix_hall_case_matter_order", table_name="hall_case")
    op.drop_index("ix_hall_case_grid_order", table_name="hall_case")
    op.drop_index(op.f("ix_hall_case_agent_id"), table_name="hall_case")
    op.drop_table("hall_case")
    op.drop_table("hall_audit_head")
    op.drop_index("ix_hall_audit_entry_subject", table_name="hall_audit_entry")
    op.drop_index(op.f("ix_hall_audit_entry_at"), table_name="hall_audit_entry")
    op.drop_index("ix_hall_audit_entry_actor", table_name="hall_audit_entry")
    op.drop_index(op.f("ix_hall_audit_entry_action"), table_name="hall_audit_entry")
    op.drop_table("hall_audit_entry")
    op.drop_index(op.f("ix_field_uploaded_blob_expires_at"), table_name="field_uploaded_blob")
    op.drop_table("field_uploaded_blob")
    op.drop_index(op.f("ix_field_upload_expires_at"), table_name="field_upload")
    op.drop_index(op.f("ix_field_upload_device_id"), table_name="field_upload")
    op.drop_table("field_upload")
    op.drop_table("field_station")
    op.drop_table("field_staff_account")
    op.drop_index(op.f("ix_field_server_key_purpose"), table_name="field_server_key")
    op.drop_table("field_server_key")
    op.drop_table("field_receipt_issued")
    op.drop_table("field_grid")
    op.drop_index(op.f("ix_field_enrollment_attempt_client"), table_name="field_enrollment_attempt")
    op.drop_index(op.f("ix_field_enrollment_attempt_at"), table_name="field_enrollment_attempt")
    op.drop_table("field_enrollment_attempt")
    op.drop_index(op.f("ix_field_chain_entry_device_id"), table_name="field_chain_entry")
    op.drop_table("field_chain_entry")
    op.drop_table("sync_server")
    op.drop_table("sync_revision")
    op.drop_table("sync_local")
    op.drop_index("ix_sync_document_seq", table_name="sync_document")
    op.drop_table("sync_document")
    op.drop_table("sync_database")
    op.drop_index("ix_sync_channel_doc", table_name="sync_channel")
    op.drop_table("sync_channel")
