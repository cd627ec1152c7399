"""Delivering the results the way the citizen chose (topic ``results.deliver``).

``declaration.delivery`` decides: ``desk`` (collect them at the one-stop desk of the receiving
agency, in the hours the task's camunda property ``deskHours`` says, bringing the originals of the
papers filed to be checked there; the diagram's one-stop-desk task hands them over), ``post``
(sent by public post, bưu chính công ích: a shipment is booked and its tracking number returned)
or ``electronic`` (available online under the dossier code). Returns
``{"resultDelivery": {"method", "text", "documents", ...}, "resultNote": text}``: ``text`` is what
the citizen is told (``resultNote`` too, for a step's ``dossier.note``), ``documents`` the results
the dossier produced (from the agencies' result variables). Electronic results are the
certificates' electronic copies, which the citizen downloads (GET /api/dossiers/{code}/results/{part}.pdf).

The post office is agencies/post.py's.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agencies.post import Shipment, current_post_office
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
    for name, paper in RESULT_PAPERS:
        if variables.get(name):
            documents.append(paper.format(variables[name]))
            copies = (variables.get("declaration") or {}).get("copies") if name == "birthCertificateNumber" else None
            if copies:
                documents.append(f"{copies} bản sao trích lục khai sinh")
    return documents


# --- the post office ------------------------------------------------------------------------------



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
        hours = str(task.properties.get("deskHours") or "").strip()
        delivery = {"text": f"Nhận kết quả tại Bộ phận Một cửa của {declaration['receivingAgency']}"
                            f"{', ' + hours if hours else ''}; khi đến nhận, mang theo giấy tờ tùy thân, mã hồ sơ "
                            f"{code} và bản chính các giấy tờ đã nộp để đối chiếu."}
    elif method == "post":
        requester = declaration["requester"]
        shipment = Shipment(dossier_code=code, recipient=requester["fullName"], address=requester["residence"],
                            phone=requester.get("phone"), documents=documents)
        number = current_post_office().ship(task, shipment)
        delivery = {"trackingNumber": number, "address": shipment.address,
                    "text": f"Kết quả được gửi qua bưu chính công ích đến {shipment.address}; mã bưu gửi {number}."}
    elif method == "electronic":
        delivery = {"reference": code,
                    "text": f"Kết quả điện tử của hồ sơ {code} đã sẵn sàng: đăng nhập Cổng Dịch vụ công để tải "
                            f"bản điện tử các giấy tờ (PDF)."}
    else:
        raise ValueError(f"results.deliver: unknown delivery method {method!r} (desk, post or electronic)")
    log.info("results delivery arranged", extra={"dossier": code, "activity": task.activity_id, "method": method})
    return {"resultDelivery": {"method": method, **delivery, "documents": documents}, "resultNote": delivery["text"]}
