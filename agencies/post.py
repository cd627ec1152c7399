"""The post office (bưu chính công ích) that delivers results by post: ``LocalPostOffice``, a
stand-in recording shipments in ``agency_record`` (so a retried job books one shipment); tests swap
it with ``use_post_office(...)``."""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from engine.handler_registry import TaskContext
from registers.adapter_slot import AdapterSlot

from .models import AgencyRecord, record_once


@dataclass(frozen=True)
class Shipment:
    dossier_code: str
    recipient: str
    address: str
    phone: str | None
    documents: list[str]


@runtime_checkable
class PostOffice(Protocol):
    def ship(self, task: TaskContext, shipment: Shipment) -> str:
        """Book the shipment under `task.idempotency_key`; its tracking number."""
        ...


S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def tracking_number(serial: int) -> str:
    """A UPU S10 item number as Vietnam Post prints them: "RR" + 8 digits + check digit + "VN"."""
    digits = f"{serial:08d}"
    check = 11 - sum(int(d) * w for d, w in zip(digits, S10_WEIGHTS)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"RR{digits}{check}VN"


class LocalPostOffice:
    """Books shipments in agency_record (agency "post"); tracking numbers never repeat."""

    agency = "post"

    def ship(self, task: TaskContext, shipment: Shipment) -> str:
        def book(session) -> AgencyRecord:
            number = tracking_number(secrets.randbelow(10**8))
            return AgencyRecord(agency=self.agency, idempotency_key=task.idempotency_key,
                                dossier_code=shipment.dossier_code, request=asdict(shipment),
                                result={"trackingNumber": number}, issued_number=number, created=task.now())

        return record_once(task.database, self.agency, task.idempotency_key, book)["trackingNumber"]


_post_offices: AdapterSlot[PostOffice] = AdapterSlot(LocalPostOffice)


def current_post_office() -> PostOffice:
    return _post_offices.current()


def use_post_office(post_office: PostOffice):
    """Use `post_office` inside the block, then put the previous one back (for tests)."""
    return _post_offices.use(post_office)
