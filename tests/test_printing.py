"""forms/printing.py: the birth declaration printed as PDF (WeasyPrint), read back with pypdf.

The residence (CT01), BHYT (TK1-TS), death registration and funeral support (form 04) declarations:
tests/test_printing_forms.py.
"""
from __future__ import annotations

import io
import time
from datetime import date

import pytest
from pypdf import PdfReader

from forms.extraction import extract_declarations
from forms.printing import (
    date_in_figures,
    date_in_words,
    html_to_pdf,
    number_in_words,
    render_birth_declaration,
    render_declaration,
    render_declaration_html,
    render_html,
)

TODAY = date(2026, 6, 1)
SIGNED_ON = date(2026, 6, 1)
HOSTILE = "<b>x</b>&amp;"


def complete(**changes) -> dict:
    """The birth registration declaration extracted from a valid citizen declaration, so the printer
    sees exactly what it will get."""
    data = {
        "receivingAgency": "Ủy ban nhân dân xã Mỹ An",
        "requester": {"fullName": "Trần Văn Dũng", "idNumber": "087084000999",
                      "residence": "Ấp 1, xã Mỹ An, tỉnh Đồng Tháp", "relationship": "Cha",
                      "phone": "0912345678"},
        "child": {"fullName": "Trần Nguyễn Bảo Ngọc", "dateOfBirth": "2026-05-20", "sex": "female",
                  "ethnicity": "Kinh", "nationality": "Việt Nam", "placeOfBirth": "Bệnh viện Đa khoa Đồng Tháp",
                  "homeTown": "Cao Lãnh, Đồng Tháp"},
        "mother": {"fullName": "Nguyễn Thị Hồng Nhung", "birthYear": 1990, "ethnicity": "Kinh",
                   "nationality": "Việt Nam", "residence": "Ấp 1, xã Mỹ An, tỉnh Đồng Tháp", "idNumber": "087190001234"},
        "father": {"fullName": "Trần Văn Dũng", "birthYear": 1984, "ethnicity": "Kinh", "nationality": "Việt Nam",
                   "residence": "Ấp 1, xã Mỹ An, tỉnh Đồng Tháp", "idNumber": "087084000999"},
        "marriage": {"certificateNumber": "15/2018", "issuedBy": "UBND xã Mỹ An", "issuedOn": "2018-09-02"},
        "parts": ["birth", "residence", "bhyt"],
        "delivery": "electronic",
        "copies": 2,
        "commitment": True,
    }
    data.update(changes)
    return extract_declarations(data, received_on=TODAY)["birth"]


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """(page count, the text of all pages with every run of whitespace made one space: lines wrap)."""
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- numbers and dates in words ---------------------------------------------------------------

@pytest.mark.parametrize(("number", "words"), [
    (0, "không"), (1, "một"), (4, "bốn"), (5, "năm"), (10, "mười"), (11, "mười một"), (14, "mười bốn"),
    (15, "mười lăm"), (20, "hai mươi"), (21, "hai mươi mốt"), (24, "hai mươi bốn"), (25, "hai mươi lăm"),
    (30, "ba mươi"), (31, "ba mươi mốt"), (100, "một trăm"), (105, "một trăm linh năm"),
    (115, "một trăm mười lăm"), (1990, "một nghìn chín trăm chín mươi"), (2000, "hai nghìn"),
    (2001, "hai nghìn không trăm linh một"), (2010, "hai nghìn không trăm mười"),
    (2015, "hai nghìn không trăm mười lăm"), (2026, "hai nghìn không trăm hai mươi sáu"),
    (2100, "hai nghìn một trăm"), (1_000_005, "một triệu không trăm linh năm"),
])
def test_numbers_in_vietnamese_words(number, words):
    assert number_in_words(number) == words


@pytest.mark.parametrize("bad", [-1, 1_000_000_000, 2.5, True, "12"])
def test_numbers_it_cannot_read_are_refused(bad):
    with pytest.raises(ValueError):
        number_in_words(bad)


@pytest.mark.parametrize(("day", "words"), [
    (date(2026, 5, 20), "Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi sáu"),
    (date(2024, 4, 1), "Ngày một tháng tư năm hai nghìn không trăm hai mươi bốn"),
    (date(2025, 12, 31), "Ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi lăm"),
    (date(2021, 11, 15), "Ngày mười lăm tháng mười một năm hai nghìn không trăm hai mươi mốt"),
])
def test_dates_in_words(day, words):
    assert date_in_words(day) == words


def test_dates_in_figures_are_dd_mm_yyyy():
    assert date_in_figures(date(2026, 5, 2)) == "02/05/2026"


# --- the printed declaration ------------------------------------------------------------------

def test_a_complete_declaration_prints_like_the_official_form():
    declaration = complete()
    render_birth_declaration(declaration)  # warm-up: the first render in a process also loads Pango and fonts
    started = time.perf_counter()
    pdf = render_birth_declaration(declaration, place="xã Mỹ An", on=SIGNED_ON)
    elapsed = time.perf_counter() - started

    pages, text = pdf_text(pdf)
    print(f"\n[printing] birth declaration: {pages} page(s), {len(pdf) / 1024:.0f} KiB, rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-")
    assert 1 <= pages <= 2
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "TỜ KHAI ĐĂNG KÝ KHAI SINH",
        "Kính gửi: Ủy ban nhân dân xã Mỹ An",
        "Họ, chữ đệm, tên người yêu cầu: Trần Văn Dũng",
        "Quan hệ với người được khai sinh: Cha",
        "087084000999",
        "Họ, chữ đệm, tên: Trần Nguyễn Bảo Ngọc",
        "20/05/2026",
        "Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi sáu",
        "Giới tính: Nữ",
        "Dân tộc: Kinh",
        "Quốc tịch: Việt Nam",
        "Nơi sinh: Bệnh viện Đa khoa Đồng Tháp",
        "Quê quán: Cao Lãnh, Đồng Tháp",
        "Họ, chữ đệm, tên người mẹ: Nguyễn Thị Hồng Nhung",
        "Năm sinh: 1990",
        "087190001234",
        "Họ, chữ đệm, tên người cha: Trần Văn Dũng",
        "Giấy chứng nhận kết hôn số: 15/2018",
        "02/09/2018",
        "Số lượng: 2 bản",
        "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật",
        "Làm tại: xã Mỹ An, ngày 01 tháng 06 năm 2026",
        "Người yêu cầu",
        "(Ký, ghi rõ họ, chữ đệm, tên)",
    ):
        assert expected in text, expected
    assert text.rstrip().endswith("Trần Văn Dũng")  # the requester's name under the signature


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, as pypdf reads it (the PDFs' bytes differ: creation time, ids)."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_render_declaration_birth_is_render_birth_declaration():
    declaration = complete()
    assert render_html(declaration, place="xã Mỹ An", on=SIGNED_ON) == render_declaration_html(
        "birth", declaration, place="xã Mỹ An", on=SIGNED_ON)  # the same HTML either way
    registry = page_texts(render_declaration("birth", declaration, place="xã Mỹ An", on=SIGNED_ON))
    direct = page_texts(render_birth_declaration(declaration, place="xã Mỹ An", on=SIGNED_ON))
    assert registry == direct  # every page, the same text in the same places
    text = " ".join(" ".join(registry).split())
    assert "TỜ KHAI ĐĂNG KÝ KHAI SINH" in text and "Làm tại: xã Mỹ An, ngày 01 tháng 06 năm 2026" in text


def test_the_citizens_own_declaration_still_prints():
    """The portal may print the citizen's declaration before extraction: the shared keys suffice."""
    from forms.birth import BirthDeclarationSchema
    from tests.birth_examples import birth_declaration

    citizen = BirthDeclarationSchema(today=TODAY).load(birth_declaration())
    _, text = pdf_text(render_birth_declaration(citizen))
    assert "Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi bốn" in text  # computed from the date
    assert "Nguyễn Minh Khang" in text


def test_a_boy_prints_as_nam():
    child = {**complete()["child"], "sex": "male"}
    _, text = pdf_text(render_birth_declaration({**complete(), "child": child}))
    assert "Giới tính: Nam" in text


def test_the_citizens_text_is_printed_literally_never_as_html():
    declaration = complete()
    declaration["child"]["fullName"] = HOSTILE
    declaration["requester"]["residence"] = f"Ấp 1 {HOSTILE}"
    html = render_html(declaration)
    assert "&lt;b&gt;x&lt;/b&gt;&amp;amp;" in html and HOSTILE not in html

    _, text = pdf_text(render_birth_declaration(declaration))
    assert f"Họ, chữ đệm, tên: {HOSTILE}" in text
    assert f"Nơi cư trú: Ấp 1 {HOSTILE}" in text


def test_without_father_marriage_place_or_date_the_blanks_print_as_dotted_lines():
    declaration = complete(father=None, marriage=None)
    html = render_html(declaration)
    pdf = render_birth_declaration(declaration)

    pages, text = pdf_text(pdf)
    assert pdf.startswith(b"%PDF-") and 1 <= pages <= 2
    assert "Họ, chữ đệm, tên người cha: Năm sinh: Dân tộc: Quốc tịch:" in text  # labels over empty lines
    assert "Giấy chứng nhận kết hôn số: ngày cấp: Nơi cấp:" in text
    assert "Làm tại: , ngày tháng năm" in text
    assert "Nguyễn Thị Hồng Nhung" in text  # the mother still prints
    assert html.count('<span class="blank') == 4  # place, day, month, year: dotted blanks to write by hand


def test_printing_fetches_nothing_from_the_network():
    with pytest.raises(RuntimeError, match="may not fetch"):
        html_to_pdf('<html><head><link rel="stylesheet" href="https://example.invalid/x.css"></head><body>x</body></html>')
    with pytest.raises(RuntimeError, match="may not fetch"):
        html_to_pdf('<html><body><img src="file:///etc/hostname"></body></html>')
