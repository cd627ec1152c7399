"""What the local agency stand-ins recorded (one row a hand-off, keyed by the job's idempotency key),
and the SMS outbox in front of the gateway (agencies/sms.py).

They share the engine's metadata (one Alembic history), but no engine command writes them: a
stand-in or the SMS handler runs outside any engine transaction and opens its own
(``task.session()``); a dossier command queues an SMS in its own transaction (``sms.queue_in``).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.models import Base, UTCDateTime


class AgencyRecord(Base):
    """One hand-off a local agency stand-in received (a birth registered, a parcel posted...).

    Keyed by the job's idempotency key, so a retried job finds its first answer instead of
    registering a birth twice. `issued_number` and (`book`, `entry`) carry the numbers that must
    never repeat, so the database itself refuses a duplicate drawn by two workers at once.
    """

    __tablename__ = "agency_record"
    __table_args__ = (
        UniqueConstraint("agency", "idempotency_key"),
        UniqueConstraint("agency", "issued_number"),
        UniqueConstraint("agency", "book", "entry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(32))  # birth | residence | bhyt | post
    idempotency_key: Mapped[str] = mapped_column(String(255))
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    request: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)
    # A number the agency issued: a personal ID number, a BHYT card, a postal tracking number.
    issued_number: Mapped[str | None] = mapped_column(String(64))
    # A register book and the entry in it: the birth register of a year ("2026") and its sequence.
    book: Mapped[str | None] = mapped_column(String(32))
    entry: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime())


def record_once(database, agency: str, idempotency_key: str, issue: Callable[[Session], AgencyRecord],
                *, tries: int = 5) -> dict:
    """The result recorded under (agency, idempotency key); `issue` makes it the first time.

    `issue(session)` builds the record (it may read the session, e.g. for the next entry in a
    book). A unique constraint refusing it means a concurrent redo of the same job, or a number
    another worker drew at the same moment: look again, and draw again if it was the number.
    """
    for _ in range(tries):
        try:
            with database.session() as session:
                existing = session.scalars(select(AgencyRecord).where(
                    AgencyRecord.agency == agency, AgencyRecord.idempotency_key == idempotency_key)).first()
                if existing is not None:
                    return existing.result
                record = issue(session)
                session.add(record)
                session.flush()
                return record.result
        except IntegrityError:
            continue
    raise RuntimeError(f"{agency}: could not record the hand-off {idempotency_key} after {tries} tries")


class SmsOutbox(Base):
    """An SMS to send, written before the gateway is called: a retried job reuses its row."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))  # None: the declaration gave no phone
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a pending SMS is tried again (handlers/notify.py retry_outbox); None: not yet tried.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
