"""Delivering the results the way the citizen chose (topic ``results.deliver``).

``declaration.delivery`` decides: ``desk`` (collect them at the one-stop desk of the receiving
agency, where and when the agency catalogue dossiers/data/agencies.json says, bringing the
originals of the papers filed to be checked there; the diagram's one-stop-desk task hands them
over), ``post`` (sent by public post, bưu chính công ích: a shipment is booked and its tracking
number returned) or ``electronic`` (available online: the certificates' electronic copies, which
the citizen who filed downloads, GET /api/dossiers/{code}/results/{part}.pdf). Returns
``{"resultDelivery": {"method", "text", "notice", "documents", ...}, "resultNote": text}``: ``text``
is what the citizen is told (``resultNote`` too, for a step's ``dossier.note``), ``notice`` the same
in a few words for the last SMS (``{resultDelivery.notice}``: for the desk, where and when to
collect, the desk's address and hours from the agency catalogue), ``documents`` the results the
dossier produced (from the agencies' result variables).

The post office is agencies/post.py's.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agencies.post import Shipment, current_post_office
from dossiers.agencies import Agency, catalogue
from engine.handler_registry import TaskContext, handler

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
    # Twins: a certificate and a card per child (births, bhytCards), not only the flat variables'
    # (which hold one child's).
    per_child = {"birthCertificateNumber": "births", "bhytCardNumber": "bhytCards"}
    for name, paper in RESULT_PAPERS:
        entries = variables.get(per_child.get(name, ""))
        numbers = ([entry.get(name) for entry in entries if isinstance(entry, Mapping) and entry.get(name)]
                   if isinstance(entries, list) and entries else [variables.get(name)] if variables.get(name) else [])
        for number in numbers:
            documents.append(paper.format(number))
            copies = (variables.get("declaration") or {}).get("copies") if name == "birthCertificateNumber" else None
            if copies:
                documents.append(f"{copies} bản sao trích lục khai sinh")
    return documents


def receiving_agency(code: str) -> Agency | None:
    """The catalogue's entry for the agency a dossier code names (`<agency>-<YYMMDD>-<NNNN>`)."""
    return catalogue().get(code.rsplit("-", 2)[0])


def desk_notice(agency: Agency | None) -> str:
    """Where and when to collect the results, in the few words of an SMS."""
    if agency is None or not agency.address:  # a catalogue without the desk's address: the portal says it
        return "Moi ong/ba nhan ket qua tai Bo phan Mot cua noi nop ho so, mang theo giay to tuy than."
    hours = f"; {agency.hours}" if agency.hours else ""
    return f"Nhan ket qua tai Bo phan Mot cua, {agency.address}{hours}."  # within one SMS; the dossier's page says the rest


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
        agency = receiving_agency(code)
        place = f"Bộ phận Một cửa, {agency.address}" if agency and agency.address else \
            f"Bộ phận Một cửa của {declaration['receivingAgency']}"
        hours = f" ({agency.hours})" if agency and agency.hours else ""
        delivery = {"text": f"Nhận kết quả tại {place}{hours}; khi đến nhận, mang theo giấy tờ tùy thân, mã hồ sơ "
                            f"{code} và bản chính các giấy tờ đã nộp để đối chiếu.",
                    "notice": desk_notice(agency)}
    elif method == "post":
        requester = declaration["requester"]
        shipment = Shipment(dossier_code=code, recipient=requester["fullName"], address=requester["residence"],
                            phone=requester.get("phone"), documents=documents)
        number = current_post_office().ship(task, shipment)
        delivery = {"trackingNumber": number, "address": shipment.address,
                    "text": f"Kết quả được gửi qua bưu chính công ích đến {shipment.address}; mã bưu gửi {number}.",
                    "notice": f"Ket qua da gui qua buu dien, ma buu gui {number}."}
    elif method == "electronic":
        delivery = {"reference": code,
                    "text": f"Kết quả điện tử của hồ sơ {code} đã sẵn sàng: đăng nhập Cổng Dịch vụ công để tải "
                            f"bản điện tử các giấy tờ (PDF).",
                    "notice": "Tai ket qua dien tu tren Cong Dich vu cong bang ma ho so."}
    else:
        raise ValueError(f"results.deliver: unknown delivery method {method!r} (desk, post or electronic)")
    log.info("results delivery arranged", extra={"dossier": code, "activity": task.activity_id, "method": method})
    return {"resultDelivery": {"method": method, **delivery, "documents": documents}, "resultNote": delivery["text"]}
