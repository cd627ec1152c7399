"""handlers/delivery.py: the results reach the citizen the way they chose."""
from __future__ import annotations

import pytest

from engine.handler_registry import TaskContext, registry
from agencies.post import LocalPostOffice, Shipment, current_post_office, tracking_number, use_post_office
from handlers.delivery import deliver_results, result_documents
from handlers.notify import render
from agencies.models import AgencyRecord
from tests.engine_helpers import rows

CODE = "UBND-MYAN-261123-0001"
RESULTS = {"childIdNumber": "087226004711", "birthCertificateNumber": "12/2026", "birthRegisteredOn": "2026-11-23",
           "residenceRegisteredOn": "2026-11-24", "bhytCardNumber": "TE1877226004711"}
DOCUMENTS = ["Giấy khai sinh số 12/2026 (bản chính)", "2 bản sao trích lục khai sinh",
             "Thông báo kết quả đăng ký thường trú", "Thẻ bảo hiểm y tế số TE1877226004711"]


def task(engine, delivery: str, key: str = "job-1", **results) -> TaskContext:
    declaration = {"receivingAgency": "UBND xã Mỹ An", "delivery": delivery, "copies": 2,
                   "requester": {"fullName": "Nguyễn Văn An", "residence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                                 "phone": "0912345678"}}
    return TaskContext(topic="results.deliver", variables={"dossierCode": CODE, "declaration": declaration,
                                                           **(results or RESULTS)},
                       properties={}, instance_id="pi-1", business_key=CODE, activity_id="Task_Deliver",
                       definition_key="birth_linked", idempotency_key=key, services=engine)


def shipments(engine) -> list[AgencyRecord]:
    return rows(engine, AgencyRecord, AgencyRecord.agency == "post", order_by=AgencyRecord.id)


def test_the_handler_is_registered():
    assert registry.get("results.deliver") is deliver_results


def test_documents_follow_the_results():
    assert result_documents({**RESULTS, "declaration": {"copies": 2}}) == DOCUMENTS
    assert result_documents({"birthCertificateNumber": "1/2026"}) == ["Giấy khai sinh số 1/2026 (bản chính)"]


def test_twins_get_a_certificate_with_its_copies_and_a_card_each():
    variables = {"birthCertificateNumber": "2/2026", "bhytCardNumber": "TE1872260000002", "declaration": {"copies": 1},
                 "births": [{"birthCertificateNumber": "1/2026"}, {"birthCertificateNumber": "2/2026"}],
                 "bhytCards": [{"bhytCardNumber": "TE1872260000001"}, {"bhytCardNumber": "TE1872260000002"}]}
    assert result_documents(variables) == [
        "Giấy khai sinh số 1/2026 (bản chính)", "1 bản sao trích lục khai sinh",
        "Giấy khai sinh số 2/2026 (bản chính)", "1 bản sao trích lục khai sinh",
        "Thẻ bảo hiểm y tế số TE1872260000001", "Thẻ bảo hiểm y tế số TE1872260000002"]


def test_a_death_dossiers_documents():
    assert result_documents({"deathExtractNumber": "3/2026", "residenceDeletedOn": "2026-11-30",
                             "funeralPaymentReference": "MT-BHXH-2026-000001", "survivorReference": "TUAT-2026-000001"}) == [
        "Trích lục khai tử số 3/2026", "Thông báo kết quả xóa đăng ký thường trú",
        "Quyết định chi trả mai táng phí số MT-BHXH-2026-000001", "Giấy biên nhận hồ sơ trợ cấp tuất số TUAT-2026-000001"]


def test_at_the_desk_of_an_agency_the_catalogue_does_not_list(engine):
    assert deliver_results(task(engine, "desk")) == {"resultDelivery": {
        "method": "desk", "documents": DOCUMENTS,
        "text": f"Nhận kết quả tại Bộ phận Một cửa của UBND xã Mỹ An; khi đến nhận, mang theo giấy tờ tùy thân, "
                f"mã hồ sơ {CODE} và bản chính các giấy tờ đã nộp để đối chiếu.",
        "notice": "Moi ong/ba nhan ket qua tai Bo phan Mot cua noi nop ho so, mang theo giay to tuy than."},
        "resultNote": f"Nhận kết quả tại Bộ phận Một cửa của UBND xã Mỹ An; khi đến nhận, mang theo giấy tờ tùy thân, "
                      f"mã hồ sơ {CODE} và bản chính các giấy tờ đã nộp để đối chiếu."}


def test_at_the_desk_the_citizen_is_told_where_and_when(engine):
    """Issue 15: the last text did not say where and how to collect the results."""
    code = "H19.87.001-261130-0001"  # the catalogue's Mỹ An (dossiers/data/agencies.json)
    context = task(engine, "desk")
    delivery = deliver_results(TaskContext(**{**context.__dict__, "variables": {**context.variables, "dossierCode": code},
                                              "business_key": code}))["resultDelivery"]
    assert delivery["text"] == ("Nhận kết quả tại Bộ phận Một cửa, số 1 đường 30/4, ấp 1, xã Mỹ An "
                                f"(T2-T6 7h30-11h30, 13h30-17h); khi đến nhận, mang theo giấy tờ tùy thân, mã hồ sơ {code} "
                                "và bản chính các giấy tờ đã nộp để đối chiếu.")
    sms = render("Ho so {dossierCode} da hoan thanh. {resultDelivery.notice}", {"dossierCode": code, "resultDelivery": delivery})
    assert sms == (f"Ho so {code} da hoan thanh. Nhan ket qua tai Bo phan Mot cua, so 1 duong 30/4, ap 1, xa My An; "
                   "T2-T6 7h30-11h30, 13h30-17h.")
    assert len(sms) <= 160


def test_electronic(engine):
    delivery = deliver_results(task(engine, "electronic"))["resultDelivery"]
    assert (delivery["method"], delivery["reference"], delivery["documents"]) == ("electronic", CODE, DOCUMENTS)
    assert CODE in delivery["text"] and "Cổng Dịch vụ công" in delivery["text"]


def test_by_post_books_one_shipment_per_job(engine):
    delivery = deliver_results(task(engine, "post"))["resultDelivery"]
    assert deliver_results(task(engine, "post"))["resultDelivery"] == delivery  # a retried job

    number = delivery["trackingNumber"]
    assert number.startswith("RR") and number.endswith("VN") and len(number) == 13
    assert delivery["address"] == "Ấp 1, xã Mỹ An, Đồng Tháp"
    assert "bưu chính công ích" in delivery["text"] and number in delivery["text"]
    [record] = shipments(engine)
    assert (record.dossier_code, record.issued_number, record.result) == (CODE, number, {"trackingNumber": number})
    assert record.request == {"dossier_code": CODE, "recipient": "Nguyễn Văn An", "address": "Ấp 1, xã Mỹ An, Đồng Tháp",
                              "phone": "0912345678", "documents": DOCUMENTS}


def test_tracking_numbers_never_repeat(engine, monkeypatch):
    draws = iter([47312482, 47312482, 5])
    monkeypatch.setattr("agencies.post.secrets.randbelow", lambda _: next(draws))
    first = deliver_results(task(engine, "post", key="job-1"))["resultDelivery"]["trackingNumber"]
    second = deliver_results(task(engine, "post", key="job-2"))["resultDelivery"]["trackingNumber"]
    assert (first, second) == ("RR473124829VN", "RR000000059VN")


def test_tracking_number_check_digit():
    # S10: weights 8 6 4 2 3 5 9 7; 11 - sum mod 11, where 10 -> 0 and 11 -> 5.
    assert tracking_number(47312482) == "RR473124829VN"
    assert tracking_number(0) == "RR000000005VN"
    assert tracking_number(8) == "RR000000080VN"


def test_another_post_office(engine):
    class Recorder:
        def __init__(self):
            self.shipments = []

        def ship(self, task, shipment: Shipment) -> str:
            self.shipments.append(shipment)
            return "EB000000001VN"

    post = Recorder()
    with use_post_office(post):
        assert deliver_results(task(engine, "post"))["resultDelivery"]["trackingNumber"] == "EB000000001VN"
    assert [s.recipient for s in post.shipments] == ["Nguyễn Văn An"] and shipments(engine) == []
    assert isinstance(current_post_office(), LocalPostOffice)


def test_an_unknown_method_is_a_modelling_error(engine):
    with pytest.raises(ValueError, match="'drone'"):
        deliver_results(task(engine, "drone"))
