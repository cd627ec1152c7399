"""Tracking without an account: the dossier code and the secret the citizen received by SMS.

ASSUMPTION (the tracking API is being built in parallel): the secret is stored in
`dossier.tracking_secret_hash`, hashed like passwords (identity.passwords, Argon2id). `lookup` is
the one place to point at the tracking service once it lands (e.g. `DossierService.track`).
The answer keeps to what the citizen needs: parts, states, agencies, due dates, results; no
personal data beyond what the citizen declared for the results."""
from __future__ import annotations

from sqlalchemy import select

from dossiers.models import Dossier
from dossiers.service import PROCEDURES, DossierService
from identity.passwords import verify_password

RESULT_LABELS = {
    "childIdNumber": "Số định danh cá nhân của trẻ", "birthCertificateNumber": "Số giấy khai sinh",
    "birthRegisteredOn": "Ngày đăng ký khai sinh", "residenceRegisteredOn": "Ngày đăng ký thường trú",
    "residenceAddress": "Địa chỉ thường trú", "bhytCardNumber": "Số thẻ BHYT", "bhytValidFrom": "Thẻ BHYT có giá trị từ",
    "bhytValidUntil": "Thẻ BHYT có giá trị đến", "deathExtractNumber": "Số trích lục khai tử",
    "deathRegisteredOn": "Ngày đăng ký khai tử", "residenceDeletedOn": "Ngày xóa đăng ký thường trú",
    "funeralDecision": "Quyết định hỗ trợ mai táng", "funeralPaymentReference": "Mã chi trả mai táng",
    "funeralPaidOn": "Ngày chi trả mai táng", "survivorReference": "Mã hồ sơ trợ cấp tuất",
}
DELIVERY = {"desk": "Nhận tại bộ phận một cửa", "post": "Qua bưu chính", "electronic": "Bản điện tử"}
PROCEDURE_NAMES = {"birth": "Liên thông đăng ký khai sinh, thường trú, cấp thẻ BHYT",
                   "death": "Liên thông đăng ký khai tử, xóa thường trú, hỗ trợ mai táng"}


def lookup(engine, code: str, secret: str) -> dict | None:
    """The citizen's view of the dossier if the secret matches, else None (no hint which was wrong)."""
    with engine.db.reading() as session:
        stored = session.scalar(select(Dossier.tracking_secret_hash).where(Dossier.code == code))
    if not stored or not verify_password(stored, secret):
        return None
    status = DossierService(engine).status(code)
    procedure = PROCEDURES[status["procedure"]]
    return {
        "code": status["code"], "procedure": PROCEDURE_NAMES.get(status["procedure"], status["procedure"]),
        "stateLabel": status["stateLabel"], "state": status["state"], "reason": status["reason"],
        "agencyCode": status["agencyCode"], "receivedAt": status["receivedAt"], "dueAt": status["dueAt"],
        "completedAt": status["completedAt"], "delivery": DELIVERY.get(status["delivery"], status["delivery"]),
        "parts": [{**part, "name": procedure.part_names.get(part["part"], part["name"]),
                   "results": [(RESULT_LABELS.get(k, k), _words(v)) for k, v in (part["result"] or {}).items() if v]}
                  for part in status["parts"]],
        "timeline": [{"at": e["at"], "title": e["title"]} for e in status["timeline"]],
    }


def _words(value) -> str:
    """Dates as Vietnamese papers write them (30/11/2026); everything else as it is."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    return str(value)
