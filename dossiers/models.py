"""The dossier tables. They share the engine's metadata (one Alembic history) but the engine
never reads them: they are written by the dossier service and by the projection (projection.py),
in the same transaction as the engine's own rows."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import ID, Base, UTCDateTime


class Dossier(Base):
    __tablename__ = "dossier"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # <agency>-<YYMMDD>-<NNNN>
    procedure: Mapped[str] = mapped_column(String(32))  # birth | death
    agency_code: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str] = mapped_column(ID, index=True)
    state: Mapped[str] = mapped_column(String(32))  # received | processing | completed | rejected | cancelled | withdrawn
    state_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # the retention scan
    delivery: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    declaration: Mapped[dict] = mapped_column(JSON)
    # The citizen who filed it (their personal ID number, the subject of their login), if one did.
    owner_id: Mapped[str | None] = mapped_column(String(128), index=True)
    # Tracking without an account: the code and this secret, sent by SMS at receipt (stored hashed).
    tracking_secret_hash: Mapped[str | None] = mapped_column(String(255))
    # Whom it registers (a hash of the child's or the deceased's identifying data): a second dossier
    # for the same subject is refused while this one stands (dossiers/subjects.py). The projection
    # clears `subject_standing` when the dossier, or its registering part, ends without registering;
    # the unique index on the standing ones makes a twin filed at the same moment fail in the database.
    subject_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # When its personal data were erased after the retention period (dossiers/retention.py).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subject_standing: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (Index("uq_dossier_standing_subject", "subject_key", unique=True,
                            sqlite_where=text("subject_standing"), postgresql_where=text("subject_standing")),)


class DossierPart(Base):
    """One procedure of a dossier (birth, residence, bhyt...), as the diagram last marked it."""

    __tablename__ = "dossier_part"

    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"), primary_key=True)
    part: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    agency: Mapped[str | None] = mapped_column(String(255))  # the officer group handling it now
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DossierEvent(Base):
    """The citizen's timeline: each step the diagram marks, in order."""

    __tablename__ = "dossier_event"
    __table_args__ = (Index("ix_dossier_event_code", "dossier_code", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    part: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)  # the element's name in the diagram (Vietnamese)


class DossierDocument(Base):
    """A printed declaration (PDF), stored with the dossier and served from here."""

    __tablename__ = "dossier_document"

    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"), primary_key=True)
    form: Mapped[str] = mapped_column(String(64), primary_key=True)  # birth | residence | bhyt ...
    media_type: Mapped[str] = mapped_column(String(64), default="application/pdf")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class DossierAttachment(Base):
    """A file the citizen attached (giấy chứng sinh, giấy ủy quyền...), at filing or as a supplement."""

    __tablename__ = "dossier_attachment"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"), index=True)
    part: Mapped[str | None] = mapped_column(String(32))  # None: filed with the dossier
    kind: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class DossierSequence(Base):
    """The last sequence number an agency gave on a day (the NNNN of the dossier code)."""

    __tablename__ = "dossier_sequence"
    __table_args__ = (UniqueConstraint("agency_code", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    last: Mapped[int] = mapped_column(Integer)


class FilingKey(Base):
    """An `Idempotency-Key` a filer sent with a filing: a retry with the same key (the answer was
    lost on the way) gets the dossier the first request filed, not a second one."""

    __tablename__ = "dossier_filing_key"

    filer: Mapped[str] = mapped_column(String(128), primary_key=True)  # the account that filed
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the filing, to refuse a reuse
    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class DossierSubject(Base):
    """Each person a dossier registers beyond the first (the second twin...), keyed like
    Dossier.subject_key: a later dossier for any of them is refused while this one stands."""

    __tablename__ = "dossier_subject"

    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossier.code"), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class DossierDraft(Base):
    """A filing the citizen (or an officer at the desk) has not confirmed yet: validated, with the
    official declarations extracted for review (and, on paper, to print and sign). Confirming it
    files the dossier as POST /api/dossiers does; the draft then names the dossier it became."""

    __tablename__ = "dossier_draft"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(128), index=True)  # the citizen, as on Dossier
    filer: Mapped[str] = mapped_column(String(128), index=True)  # the account that made it
    procedure: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict] = mapped_column(JSON)  # the filing as sent: confirming validates it again
    declarations: Mapped[dict] = mapped_column(JSON)  # {part: extracted official declaration}
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    dossier_code: Mapped[str | None] = mapped_column(ForeignKey("dossier.code"))  # once confirmed
