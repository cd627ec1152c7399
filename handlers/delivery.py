"""Delivering the results the way the citizen chose (topic ``results.deliver``).

``declaration.delivery`` decides: ``desk`` (collect them at the one-stop desk of the receiving
agency), ``post`` (sent by public post, bưu chính công ích: a shipment is booked and its tracking
number returned) or ``electronic`` (available online under the dossier code). Returns
``{"resultDelivery": {"method", "text", "documents", ...}}``: ``text`` is what the citizen is
told, ``documents`` the results the dossier produced (from the agencies' result variables).

The post office is ``LocalPostOffice`` (a stand-in recording shipments in ``agency_record``, so
a retried job books one shipment); tests swap it with ``use_post_office(...)``.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from engine.handlers import TaskContext, handler

from .adapters import AdapterSlot
from .models import AgencyRecord, record_once

log = logging.getLogger("lienthong.handlers.delivery")


# (result variable, the paper it stands for), in the order the agencies produce them.
RESULT_PAPERS = (
    ("birthCertificateNumber", "Giấy khai sinh số {} (bản chính)"),
    ("residenceRegisteredOn", "Thông báo kết quả đăng ký thường trú"),
    ("bhytCardNumber", "Thẻ bảo hiểm y tế số {}"),
    ("deathExtractNumber", "Trích lục khai tử số {}"),
    ("residenceDeletedOn", "Thông báo kết quả xóa đăng ký thường trú"),
    ("funeralPaymentReference", "Quyết định chi trả mai táng phí số {}"),
    ("survivorReference", "Giấy biên nhận hồ sơ trợ cấp tuất số {}"),
)


def result_documents(variables: Mapping[str, Any]) -> list[str]:
    """The papers a dossier's results make (the birth certificate's copies right after it)."""
    documents = []
    for name, paper in RESULT_PAPERS:
        if variables.get(name):
            documents.append(paper.format(variables[name]))
            copies = (variables.get("declaration") or {}).get("copies") if name == "birthCertificateNumber" else None
            if copies:
                documents.append(f"{copies} bản sao trích lục khai sinh")
    return documents


# --- the post office ------------------------------------------------------------------------------

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
                                result={"trackingNumber": number}, issued_number=number, created=task.engine.clock.now())

        return record_once(task.engine.db, self.agency, task.idempotency_key, book)["trackingNumber"]


_post_offices: AdapterSlot[PostOffice] = AdapterSlot(LocalPostOffice)


def current_post_office() -> PostOffice:
    return _post_offices.current()


def use_post_office(post_office: PostOffice):
    """Use `post_office` inside the block, then put the previous one back (for tests)."""
    return _post_offices.use(post_office)


# --- the handler ------------------------------------------------------------------------------------

@handler("results.deliver")
def deliver_results(task: TaskContext) -> dict:
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError("results.deliver needs the process variable 'declaration'")
    code = task.variables.get("dossierCode") or task.business_key
    method = declaration.get("delivery")
    documents = result_documents(task.variables)
    if method == "desk":
        delivery = {"text": f"Nhận kết quả tại Bộ phận Một cửa của {declaration['receivingAgency']}; khi đến nhận, "
                            f"mang theo giấy tờ tùy thân và mã hồ sơ {code}."}
    elif method == "post":
        requester = declaration["requester"]
        shipment = Shipment(dossier_code=code, recipient=requester["fullName"], address=requester["residence"],
                            phone=requester.get("phone"), documents=documents)
        number = current_post_office().ship(task, shipment)
        delivery = {"trackingNumber": number, "address": shipment.address,
                    "text": f"Kết quả được gửi qua bưu chính công ích đến {shipment.address}; mã bưu gửi {number}."}
    elif method == "electronic":
        delivery = {"reference": code,
                    "text": f"Kết quả điện tử của hồ sơ {code} đã sẵn sàng: tra cứu và tải về trên "
                            f"Cổng Dịch vụ công bằng mã hồ sơ."}
    else:
        raise ValueError(f"results.deliver: unknown delivery method {method!r} (desk, post or electronic)")
    log.info("results delivery arranged", extra={"dossier": code, "activity": task.activity_id, "method": method})
    return {"resultDelivery": {"method": method, **delivery, "documents": documents}}
