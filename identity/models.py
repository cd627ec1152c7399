"""The identity tables: local accounts with their groups, and the append-only audit trail.

They share the engine's metadata (one Alembic history) but the engine never reads them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, UTCDateTime


class Account(Base):
    """A local account: an officer, a supervisor, an analyst, an operator, an auditor, a citizen or a
    service account (a remote worker, an agency's system). With OpenID Connect in production the
    identity provider holds people's accounts; service accounts may stay local."""

    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the login; a citizen's is their ID number
    display_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))  # Argon2id, PHC string
    roles: Mapped[list] = mapped_column(JSON, default=list)
    agency_code: Mapped[str | None] = mapped_column(String(32))  # jurisdiction of officers and supervisors
    # Service accounts only: the external-task topics they may fetch and the messages they may send.
    topics: Mapped[list] = mapped_column(JSON, default=list)
    messages: Mapped[list] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped by every change, so a cached login of the old password or roles is not honoured.
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Membership(Base):
    """An account in a group (Camunda's groups: the candidateGroups of the diagrams)."""

    __tablename__ = "account_group"

    account_id: Mapped[str] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class AuditEntry(Base):
    """One line of the audit trail: who did or read what, when, from where. Never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor", "at"),
        Index("ix_audit_log_dossier", "dossier_code", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(128))  # None: an anonymous caller
    roles: Mapped[list] = mapped_column(JSON, default=list)
    agency_code: Mapped[str | None] = mapped_column(String(32))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # read | change | login | denied
    method: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str | None] = mapped_column(String(128))
    resource: Mapped[str | None] = mapped_column(String(64))  # dossier, declaration, attachment, task-variables...
    resource_id: Mapped[str | None] = mapped_column(String(255))
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
