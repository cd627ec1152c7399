"""forms/printing.py: render_declaration for the residence (CT01, registering a newborn or deleting a
deceased's residence), BHYT (TK1-TS), death registration and funeral support (form 04) declarations,
read back with pypdf. The birth declaration: tests/test_printing.py."""
from __future__ import annotations

import copy
import io
import re
import time
from datetime import date

import pytest
from pypdf import PdfReader

from forms.extraction import extract_declarations
from forms.printing import FORMS, render_declaration, render_declaration_html
from registers.population import LocalRegister
from tests.birth_examples import DELETE, birth_declaration
from tests.death_examples import death_declaration

RECEIVED = date(2024, 6, 3)
HOSTILE = "<b>x</b>&amp;"
HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def extracted(**changes) -> dict[str, dict]:
    household = LocalRegister().household("HGD-087-000777").to_json()
    return extract_declarations(birth_declaration(requester__email="an.nguyen@gmail.com", **changes),
                                received_on=RECEIVED, household=household)


DIED_RECEIVED = date(2026, 11, 23)
# The population sample's household of Nguyễn Văn An, where his father Nguyễn Văn Tám lived.
TAMS_HOUSEHOLD = {"householdId": "HGD-087-000777", "address": "Ấp 1, xã Mỹ An, Đồng Tháp", "members": [
    {"idNumber": "087084000999", "fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
     "relationship": "Chủ hộ"},
    {"idNumber": "087190001234", "fullName": "Trần Thị Bình", "dateOfBirth": "1990-07-08", "sex": "female",
     "relationship": "Vợ"},
    {"idNumber": "087040000888", "fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male",
     "relationship": "Bố"}]}


def extracted_death(household=TAMS_HOUSEHOLD, **changes) -> dict[str, dict]:
    return extract_declarations(death_declaration(requester__email="an.nguyen@gmail.com", **changes), procedure="death",
                                received_on=DIED_RECEIVED, household=household)


def declaration_for(form: str) -> dict:
    """The example extraction of `form`: "residence" is the birth group's (see the deletion's own tests)."""
    return (extracted_death() if form in ("death", "funeral") else extracted())[form]


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """(page count, the text of all pages with every run of whitespace made one space: lines wrap)."""
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def timed(form: str, data: dict, **where) -> tuple[bytes, float]:
    render_declaration(form, data, **where)  # warm-up: the first render in a process also loads Pango and fonts
    started = time.perf_counter()
    pdf = render_declaration(form, data, **where)
    return pdf, time.perf_counter() - started


def test_the_forms():
    assert list(FORMS) == ["birth", "death", "residence", "bhyt", "funeral"]


def test_the_residence_declaration_prints_like_form_ct01():
    data = extracted()["residence"]
    pdf, elapsed = timed("residence", data, place="UBND xã Mỹ An", on=RECEIVED)
    pages, text = pdf_text(pdf)
    print(f"\n[printing] residence declaration (CT01): {pages} page(s), {len(pdf) / 1024:.0f} KiB, "
          f"rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-") and pages == 1
    assert text.startswith("Mẫu CT01")  # the form code, top right
    for expected in HEADER + (
        "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        "Kính gửi: UBND xã Mỹ An",
        "1. Họ, chữ đệm và tên: Nguyễn Văn An",
        "2. Ngày, tháng, năm sinh: 15/01/1984",
        "3. Giới tính: Nam",
        "4. Số định danh cá nhân: 087084000999",
        "5. Số điện thoại liên hệ: 0912345678",
        "6. Email: an.nguyen@gmail.com",
        "7. Họ, chữ đệm và tên chủ hộ: Nguyễn Văn An",
        "8. Mối quan hệ với chủ hộ: Chủ hộ",
        "9. Số định danh cá nhân của chủ hộ: 087084000999",
        "10. Nội dung đề nghị: Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của cha, mẹ: Ấp 1, xã Mỹ An, Đồng Tháp",
        "11. Những thành viên trong hộ gia đình cùng thay đổi:",
        "TT Họ, chữ đệm và tên Ngày, tháng, năm sinh Giới tính Số định danh cá nhân Mối quan hệ với chủ hộ",
        "1 Nguyễn Minh Khang 20/05/2024 Nam Con",  # the newborn's ID number: not issued yet, blank
        "UBND xã Mỹ An, ngày 03 tháng 06 năm 2024",
        "Ý KIẾN CỦA CHỦ HỘ", "Ý KIẾN CỦA CHỦ SỞ HỮU CHỖ Ở HỢP PHÁP", "Ý KIẾN CỦA CHA, MẸ HOẶC NGƯỜI GIÁM HỘ",
        "NGƯỜI KÊ KHAI (Ký, ghi rõ họ tên)",
    ):
        assert expected in text, expected
    assert text.endswith("Nguyễn Văn An Nguyễn Văn An")  # the head's and the declarant's names under their blocks


def test_the_bhyt_declaration_prints_like_form_tk1_ts():
    data = extracted()["bhyt"]
    pdf, elapsed = timed("bhyt", data, place="UBND xã Mỹ An", on=RECEIVED)
    pages, text = pdf_text(pdf)
    print(f"\n[printing] BHYT declaration (TK1-TS): {pages} page(s), {len(pdf) / 1024:.0f} KiB, "
          f"rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-") and pages == 1
    assert text.startswith("Mẫu TK1-TS")
    for expected in HEADER + (
        "TỜ KHAI THAM GIA, ĐIỀU CHỈNH THÔNG TIN BẢO HIỂM XÃ HỘI, BẢO HIỂM Y TẾ",
        "[01]. Họ và tên: Nguyễn Minh Khang",
        "[02]. Giới tính: Nam",
        "[03]. Ngày, tháng, năm sinh: 20/05/2024",
        "[04]. Quốc tịch: Việt Nam",
        "[05]. Dân tộc: Kinh",
        "[06]. Nơi đăng ký khai sinh: UBND xã Mỹ An",
        "[07]. Số định danh cá nhân: [08]",  # blank until birth registration issues it
        "[08]. Số điện thoại liên hệ: 0912345678",
        "[09]. Họ tên cha/mẹ/người giám hộ (đối với trẻ em dưới 6 tuổi): Nguyễn Văn An",
        "[10]. Địa chỉ nhận kết quả: Ấp 1, xã Mỹ An, Đồng Tháp",
        "[12]. Mức tiền đóng: Ngân sách nhà nước đóng (trẻ em dưới 6 tuổi)",
        "[13]. Nơi đăng ký khám bệnh, chữa bệnh ban đầu: Trạm y tế xã nơi thường trú",
        "Tôi cam đoan những nội dung kê khai là đúng",
        "UBND xã Mỹ An, ngày 03 tháng 06 năm 2024",
        "Người kê khai (Ký, ghi rõ họ tên)",
    ):
        assert expected in text, expected
    assert text.endswith("Nguyễn Văn An")


def test_a_girl_and_an_issued_id_number():
    data = extracted(child__sex="female")
    residence = copy.deepcopy(data["residence"])
    residence["members"][0]["idNumber"] = "087324000123"
    _, text = pdf_text(render_declaration("residence", residence, place=None, on=None))
    assert "1 Nguyễn Minh Khang 20/05/2024 Nữ 087324000123 Con" in text
    _, text = pdf_text(render_declaration("bhyt", {**data["bhyt"], "idNumber": "087324000123"}, place=None, on=None))
    assert "[02]. Giới tính: Nữ" in text and "[07]. Số định danh cá nhân: 087324000123" in text


@pytest.mark.parametrize("form", ["residence", "bhyt", "death", "funeral"])
def test_without_place_or_date_the_blanks_print_as_dotted_lines(form):
    data = declaration_for(form)
    html = render_declaration_html(form, data, place=None, on=None)
    assert html.count('<span class="blank') == 4  # place, day, month, year: dotted blanks to write by hand
    _, text = pdf_text(render_declaration(form, data, place=None, on=None))
    assert ", ngày tháng năm" in text


def test_unknown_household_prints_blank_head_fields():
    household_less = extract_declarations(birth_declaration(), received_on=RECEIVED)["residence"]
    _, text = pdf_text(render_declaration("residence", household_less, place="UBND xã Mỹ An", on=RECEIVED))
    assert "2. Ngày, tháng, năm sinh: 3. Giới tính: Nam" in text
    assert "6. Email: 7. Họ, chữ đệm và tên chủ hộ: 8. Mối quan hệ với chủ hộ: 9. Số định danh cá nhân của chủ hộ: 10." in text
    assert "1 Nguyễn Minh Khang 20/05/2024 Nam UBND xã Mỹ An, ngày" in text  # no ID number, no relationship


@pytest.mark.parametrize("form, path", [
    ("residence", ("declarant", "fullName")), ("residence", ("request",)), ("bhyt", ("fullName",)),
    ("bhyt", ("resultAddress",)), ("bhyt", ("clinic",)), ("death", ("death", "cause")),
    ("death", ("requester", "residence")), ("funeral", ("burial", "place")), ("funeral", ("organiser", "relationship")),
])
def test_the_citizens_text_is_printed_literally_never_as_html(form, path):
    data = copy.deepcopy(declaration_for(form))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = f"Ấp 1 {HOSTILE}"
    html = render_declaration_html(form, data, place=HOSTILE, on=RECEIVED)
    assert "&lt;b&gt;x&lt;/b&gt;&amp;amp;" in html and HOSTILE not in html
    _, text = pdf_text(render_declaration(form, data, place=HOSTILE, on=RECEIVED))
    assert f"Ấp 1 {HOSTILE}" in text and f"{HOSTILE}, ngày 03 tháng 06 năm 2024" in text


def test_diacritics_print_as_composed_characters():
    _, text = pdf_text(render_declaration("residence", extracted()["residence"], place="Ủy ban nhân dân xã Mỹ An",
                                          on=RECEIVED))
    assert "Ủy ban nhân dân xã Mỹ An, ngày 03 tháng 06 năm 2024" in text
    for word in ("ĐỔI", "CƯ TRÚ", "Ý KIẾN", "chữ đệm", "Đăng ký thường trú", "Đồng Tháp"):
        assert word in text, word


def test_an_unknown_form_or_data_is_refused():
    with pytest.raises(ValueError, match="no printed form 'survivor'; known: birth, death, residence, bhyt, funeral"):
        render_declaration("survivor", {}, place=None, on=None)
    with pytest.raises(ValueError, match="must be an object"):
        render_declaration("bhyt", ["x"], place=None, on=None)


def test_the_templates_draw_no_dotted_borders():
    """Dotted lines are the background pattern of .value/.blank: a dotted border doubles the render time."""
    from forms.printing import TEMPLATES

    for path in TEMPLATES.iterdir():
        assert not re.search(r"border[\w-]*\s*:[^;]*dotted", path.read_text(encoding="utf-8")), path.name


def test_printing_fetches_nothing_from_the_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("printing opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for form, data in [*extracted().items(), *extracted_death().items()]:
        assert render_declaration(form, data, place="UBND xã Mỹ An", on=RECEIVED).startswith(b"%PDF-")


# --- the death group --------------------------------------------------------------------------------

def test_the_death_declaration_prints_like_the_official_form():
    data = extracted_death()["death"]
    pdf, elapsed = timed("death", data, place="UBND xã Mỹ An", on=DIED_RECEIVED)
    pages, text = pdf_text(pdf)
    print(f"\n[printing] death declaration: {pages} page(s), {len(pdf) / 1024:.0f} KiB, "
          f"rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-") and pages == 1
    assert text.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc TỜ KHAI ĐĂNG KÝ KHAI TỬ")
    for expected in (
        "Kính gửi: UBND xã Mỹ An",
        "1. Họ, chữ đệm, tên người yêu cầu: Nguyễn Văn An",
        "2. Ngày, tháng, năm sinh: 15/01/1984",
        "3. Nơi cư trú: Ấp 1, xã Mỹ An, Đồng Tháp",
        "4. Giấy tờ tùy thân (số định danh cá nhân): 087084000999",
        "5. Quan hệ với người đã chết: con",
        "Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:",
        "6. Họ, chữ đệm, tên: Nguyễn Văn Tám",
        "7. Ngày, tháng, năm sinh: 15/02/1940 8. Giới tính: Nam",
        "9. Dân tộc: Kinh 10. Quốc tịch: Việt Nam",
        "11. Nơi cư trú cuối cùng: Ấp 1, xã Mỹ An, Đồng Tháp",
        "12. Giấy tờ tùy thân (số định danh cá nhân): 087040000888",
        "13. Đã chết vào lúc: 05 giờ 30 phút, ngày 20 tháng 11 năm 2026",
        "14. Nơi chết: Tại nhà, Ấp 1, xã Mỹ An, Đồng Tháp",
        "15. Nguyên nhân chết: Bệnh già",
        "16. Số giấy báo tử (hoặc giấy tờ thay thế giấy báo tử): GBT-2026-0415",
        "Ngày cấp: 20/11/2026 Nơi cấp: Trạm y tế xã Mỹ An",
        "Tôi cam đoan những nội dung khai trên đây là đúng sự thật",
        "Đề nghị cấp bản sao: Có ☒, Không ☐; Số lượng: 2 bản",
        "Làm tại: UBND xã Mỹ An, ngày 23 tháng 11 năm 2026",
        "Người yêu cầu (Ký, ghi rõ họ, chữ đệm, tên)",
    ):
        assert expected in text, expected
    assert text.endswith("Nguyễn Văn An")


def test_the_citizens_own_death_declaration_prints_too():
    """The portal may print the citizen's declaration before extraction: the shared keys suffice."""
    from forms.death import DeathDeclarationSchema

    citizen = DeathDeclarationSchema(today=DIED_RECEIVED).load(death_declaration(copies=DELETE))
    _, text = pdf_text(render_declaration("death", citizen))
    assert "13. Đã chết vào lúc: 05 giờ 30 phút, ngày 20 tháng 11 năm 2026" in text
    assert "Số lượng: 1 bản" in text


def test_an_unknown_time_of_death_prints_dotted_blanks():
    data = copy.deepcopy(extracted_death()["death"])
    data["death"]["diedAt"] = None
    html = render_declaration_html("death", data, place="UBND xã Mỹ An", on=DIED_RECEIVED)
    assert html.count('<span class="blank') == 5  # hour, minute, day, month, year
    _, text = pdf_text(render_declaration("death", data))
    assert "13. Đã chết vào lúc: giờ phút, ngày tháng năm 14. Nơi chết:" in text


def test_the_residence_deletion_prints_on_form_ct01():
    data = extracted_death()["residence"]
    pdf, elapsed = timed("residence", data, place="UBND xã Mỹ An", on=DIED_RECEIVED)
    pages, text = pdf_text(pdf)
    print(f"\n[printing] residence deletion (CT01): {pages} page(s), {len(pdf) / 1024:.0f} KiB, "
          f"rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-") and pages == 1 and text.startswith("Mẫu CT01")
    for expected in HEADER + (
        "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
        "1. Họ, chữ đệm và tên: Nguyễn Văn An",
        "2. Ngày, tháng, năm sinh: 15/01/1984",
        "6. Email: an.nguyen@gmail.com",
        "7. Họ, chữ đệm và tên chủ hộ: Nguyễn Văn An",
        "8. Mối quan hệ với chủ hộ: Chủ hộ",
        "10. Nội dung đề nghị: Xóa đăng ký thường trú do người trong hộ đã chết",
        "1 Nguyễn Văn Tám 15/02/1940 Nam 087040000888 Bố",
        "UBND xã Mỹ An, ngày 23 tháng 11 năm 2026",
    ):
        assert expected in text, expected
    assert text.endswith("Nguyễn Văn An Nguyễn Văn An")  # the head's and the declarant's names under their blocks


def test_a_deceased_head_of_household_does_not_sign_ct01():
    his_own = {"householdId": "HGD-087-000999", "address": "Ấp 1, xã Mỹ An, Đồng Tháp", "members": [
        {"idNumber": "087040000888", "fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male",
         "relationship": "Chủ hộ"}]}
    data = extracted_death(household=his_own)["residence"]
    _, text = pdf_text(render_declaration("residence", data, place="UBND xã Mỹ An", on=DIED_RECEIVED))
    assert "7. Họ, chữ đệm và tên chủ hộ: Nguyễn Văn Tám" in text
    assert "1 Nguyễn Văn Tám 15/02/1940 Nam 087040000888 Chủ hộ" in text
    assert text.endswith("NGƯỜI KÊ KHAI (Ký, ghi rõ họ tên) Nguyễn Văn An")  # no name under the head's block


def test_the_funeral_support_request_prints_like_form_04():
    data = extracted_death()["funeral"]
    pdf, elapsed = timed("funeral", data, place="UBND xã Mỹ An", on=DIED_RECEIVED)
    pages, text = pdf_text(pdf)
    print(f"\n[printing] funeral support request (form 04): {pages} page(s), {len(pdf) / 1024:.0f} KiB, "
          f"rendered in {elapsed * 1000:.0f} ms (warm)")
    assert pdf.startswith(b"%PDF-") and pages == 1
    assert text.startswith("Mẫu số 04")
    for expected in HEADER + (
        "TỜ KHAI ĐỀ NGHỊ HỖ TRỢ CHI PHÍ MAI TÁNG",
        "Kính gửi: UBND xã Mỹ An",
        "I. THÔNG TIN CỦA NGƯỜI CHẾT ĐƯỢC HỖ TRỢ CHI PHÍ MAI TÁNG",
        "1. Họ và tên (viết chữ in hoa): NGUYỄN VĂN TÁM",
        "Ngày, tháng, năm sinh: 15/02/1940 Giới tính: Nam Dân tộc: Kinh",
        "2. Nơi cư trú: Ấp 1, xã Mỹ An, Đồng Tháp",
        "3. Chết ngày 20 tháng 11 năm 2026",
        "4. Nguyên nhân chết: Bệnh già",
        "5. Thời gian mai táng: 22/11/2026",
        "6. Địa điểm mai táng: Nghĩa trang nhân dân xã Mỹ An",
        "II. THÔNG TIN CƠ QUAN, TỔ CHỨC, HỘ GIA ĐÌNH, CÁ NHÂN ĐỨNG RA MAI TÁNG",
        # The organisation's case: dotted blanks.
        "1. Trường hợp cơ quan, tổ chức đứng ra mai táng a) Tên cơ quan, tổ chức: b) Địa chỉ: "
        "c) Họ và tên người đại diện: Chức vụ: 2.",
        "2. Trường hợp hộ gia đình, cá nhân đứng ra mai táng",
        "a) Họ và tên chủ hộ hoặc người đứng ra mai táng: Nguyễn Văn An",
        "Ngày, tháng, năm sinh: 15/01/1984 Số định danh cá nhân: 087084000999",
        "b) Nơi cư trú: Ấp 1, xã Mỹ An, Đồng Tháp",
        "c) Quan hệ với người chết: con",
        "Tôi xin cam đoan những lời khai trên là đúng sự thật",
        "UBND xã Mỹ An, ngày 23 tháng 11 năm 2026",
        "Người khai (Ký, ghi rõ họ tên; cơ quan, tổ chức thì ký, đóng dấu)",
    ):
        assert expected in text, expected
    assert text.endswith("Nguyễn Văn An")


def test_death_group_diacritics_print_as_composed_characters():
    _, text = pdf_text(render_declaration("funeral", extracted_death(deceased__fullName="Ông Ích Khiêm Ửng")["funeral"],
                                          place="Ủy ban nhân dân xã Mỹ An", on=DIED_RECEIVED))
    assert "ÔNG ÍCH KHIÊM ỬNG" in text
    for word in ("ĐỀ NGHỊ HỖ TRỢ", "MAI TÁNG", "Nghĩa trang", "Ủy ban nhân dân xã Mỹ An", "Đồng Tháp", "chữ in hoa"):
        assert word in text, word
