"""The field side's relational tables (SQLModel): who the devices are and what they owe.

Grids, stations and agents describe the organisation; devices are enrolled phones with a
hashed bearer token and an Ed25519 public key; enrollment codes are one-time and stored
hashed; server keys sign server-written documents (retired ones stay for verification);
staff accounts authenticate the admin API; chain entries are each device's hash chain, decided
inside the sync write transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "Agent",
    "ChainEntry",
    "Device",
    "EnrollmentAttempt",
    "EnrollmentCode",
    "Grid",
    "ReceiptIssued",
    "ServerKey",
    "StaffAccount",
    "Station",
]


class Grid(SQLModel, table=True):
    __tablename__ = "field_grid"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    created_at: datetime


class Station(SQLModel, table=True):
    """A mobile service station (流动服务站): one event, one place."""

    __tablename__ = "field_station"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    created_at: datetime


class Agent(SQLModel, table=True):
    """A grid agent (网格员) or a station's staff member: the person devices act for."""

    __tablename__ = "field_agent"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    grid_id: str | None = Field(default=None, foreign_key="field_grid.id", index=True)
    station_id: str | None = Field(default=None, foreign_key="field_station.id", index=True)
    created_at: datetime
    active: bool = True


class EnrollmentCode(SQLModel, table=True):
    __tablename__ = "field_enrollment_code"
    code_hash: str = Field(primary_key=True, max_length=64)  # sha256 hex of the code
    agent_id: str = Field(foreign_key="field_agent.id", index=True)
    created_at: datetime
    expires_at: datetime
    spent_at: datetime | None = None
    device_id: str | None = None


class EnrollmentAttempt(SQLModel, table=True):
    """Failed code attempts per client, for rate limiting across server processes."""

    __tablename__ = "field_enrollment_attempt"
    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=100, index=True)
    at: datetime = Field(index=True)


class Device(SQLModel, table=True):
    __tablename__ = "field_device"
    id: str = Field(primary_key=True, max_length=64)
    agent_id: str = Field(foreign_key="field_agent.id", index=True)
    name: str = Field(default="", max_length=200)
    public_key: str = Field(max_length=64)  # unpadded base64url of the raw Ed25519 key
    token_hash: str = Field(max_length=64, unique=True, index=True)
    enrolled_at: datetime
    revoked_at: datetime | None = None


class ServerKey(SQLModel, table=True):
    """A server signing key (Ed25519) or the hall's sealing key (X25519)."""

    __tablename__ = "field_server_key"
    key_id: str = Field(primary_key=True, max_length=16)
    purpose: str = Field(max_length=16, index=True)  # "signing" | "sealing"
    public_key: str = Field(max_length=64)
    private_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    valid_from: datetime
    valid_until: datetime | None = None


class StaffAccount(SQLModel, table=True):
    __tablename__ = "field_staff_account"
    username: str = Field(primary_key=True, max_length=100)
    password_hash: str = Field(max_length=200)  # argon2id
    role: str = Field(max_length=32)  # admin | clerk | approver | supervisor
    department: str | None = Field(default=None, max_length=100)
    display_name: str = Field(default="", max_length=200)
    active: bool = True
    created_at: datetime
    failed_logins: int = 0
    locked_until: datetime | None = None


class ChainEntry(SQLModel, table=True):
    """One link of a device's hash chain: the document at ``device_seq``."""

    __tablename__ = "field_chain_entry"
    __table_args__ = (UniqueConstraint("device_id", "device_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=64, index=True)
    device_seq: int
    doc_id: str = Field(max_length=200)
    hash: str = Field(max_length=64)  # sha256 hex of the document's signed bytes
    prev_hash: str | None = Field(default=None, max_length=64)
    received_at: datetime


class ReceiptIssued(SQLModel, table=True):
    """Which device document got which receipt, so a receipt is written once."""

    __tablename__ = "field_receipt_issued"
    doc_id: str = Field(primary_key=True, max_length=200)
    receipt_id: str = Field(max_length=200)
    rev: str = Field(max_length=200)
