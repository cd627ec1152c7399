"""The local population register's changes, laid over its read-only sample.

The table shares the engine's metadata (one Alembic history), but no engine command writes it: the
local agency stand-ins write it from their handlers, in transactions of their own.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, UTCDateTime


class PopulationChange(Base):
    """What the local agency stand-ins changed in the local population register, one row a person.

    The shipped sample (registers/data/population_sample.json) is read-only data; the local register
    (registers/population.py, LocalRegister) lays these rows over it, so every API and worker process
    sharing the database sees the same register. A death marks the person deceased
    (`deceased_on`: the date of death); deleting the permanent residence takes them out of their
    household (`left_household_on`). One row a person, so the database itself refuses a second
    death recorded by two workers at once. `dossier_code` is the dossier that first changed it.
    """

    __tablename__ = "population_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(12), unique=True)
    deceased_on: Mapped[date | None] = mapped_column(Date)
    left_household_on: Mapped[date | None] = mapped_column(Date)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
