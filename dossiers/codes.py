"""Dossier codes in the national format `<agency code>-<YYMMDD>-<NNNN>`: the receiving agency,
the receipt date (Vietnam time) and a sequence number within that day, from 0001."""
from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


from .models import DossierSequence

AGENCY_CODE = re.compile(r"^[A-Z0-9](?:[A-Z0-9.]{0,30}[A-Z0-9])?$")


def receipt_day(received_at: datetime, zone: tzinfo) -> date:
    return received_at.astimezone(zone).date()


def next_sequence(session: Session, agency_code: str, day: date) -> int:
    """The agency's next number that day, atomically: one upsert, so two submissions in the same
    instant (two API processes on PostgreSQL) never get the same code."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(DossierSequence).values(agency_code=agency_code, day=day, last=1)
                 .on_conflict_do_update(index_elements=["agency_code", "day"],
                                        set_={"last": DossierSequence.last + 1})
                 .returning(DossierSequence.last))
    return session.execute(statement).scalar_one()


def new_code(session: Session, agency_code: str, received_at: datetime, zone: tzinfo) -> str:
    day = receipt_day(received_at, zone)
    return f"{agency_code}-{day:%y%m%d}-{next_sequence(session, agency_code, day):04d}"

