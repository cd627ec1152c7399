"""The electronic copies of a dossier's results (bản điện tử), which a citizen who chose electronic
delivery downloads: one PDF a part, the paper it stands for with the facts the agency recorded
(the part's result) and whom it concerns (from the declaration). Rendered like the declarations
(forms/printing.py), from templates/result_copy.html."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .printing import date_in_figures, render_template_pdf

# part -> (the paper, whom it concerns: the declaration's section, [(result variable, label)])
PAPERS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "birth": ("GIẤY KHAI SINH", "child", (("birthCertificateNumber", "Số giấy khai sinh"),
                                         ("childIdNumber", "Số định danh cá nhân"),
                                         ("birthRegisteredOn", "Ngày đăng ký"))),
    "residence": ("THÔNG BÁO KẾT QUẢ ĐĂNG KÝ THƯỜNG TRÚ", "child", (("residenceAddress", "Nơi thường trú"),
                                                                   ("residenceRegisteredOn", "Ngày đăng ký"))),
    "bhyt": ("THẺ BẢO HIỂM Y TẾ", "child", (("bhytCardNumber", "Mã số thẻ"), ("bhytValidFrom", "Giá trị sử dụng từ"),
                                           ("bhytValidUntil", "Đến"))),
    "death": ("TRÍCH LỤC KHAI TỬ", "deceased", (("deathExtractNumber", "Số trích lục"),
                                               ("deathRegisteredOn", "Ngày đăng ký"))),
    "residence-deletion": ("THÔNG BÁO KẾT QUẢ XÓA ĐĂNG KÝ THƯỜNG TRÚ", "deceased",
                           (("residenceDeletedOn", "Ngày xóa đăng ký thường trú"),)),
}


def paper_of(procedure: str, part: str) -> str | None:
    """The key of PAPERS for a part of a procedure group (a death's residence part is a deletion)."""
    key = "residence-deletion" if (procedure, part) == ("death", "residence") else part
    return key if key in PAPERS else None


def render_result_copy(paper: str, *, declaration: Mapping[str, Any], result: Mapping[str, Any], dossier_code: str,
                       agency: str, issued_on: date) -> bytes:
    title, section, rows = PAPERS[paper]
    person = declaration.get(section) or {}
    facts = [("Họ, chữ đệm và tên", person.get("fullName"))]
    if person.get("dateOfBirth"):
        facts.append(("Ngày, tháng, năm sinh", _figures(person["dateOfBirth"])))
    facts += [(label, _figures(result[name])) for name, label in rows if result.get(name) not in (None, "")]
    return render_template_pdf("result_copy.html", {"title": title, "facts": facts, "code": dossier_code,
                                                    "agency": agency, "issued_on": date_in_figures(issued_on)})


def _figures(value: Any) -> str:
    """An ISO date as the papers write it (dd/mm/yyyy); anything else as it is."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date_in_figures(date.fromisoformat(value))
        except ValueError:
            pass
    return str(value)
