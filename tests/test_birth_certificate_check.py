"""Issue 15, the health sector (Y tế): the birth certificate (giấy chứng sinh) a declaration cites is
checked at receipt against the health facility that issued it: its number, the facility, the child
(name, date of birth, sex) and the mother. A mismatch refuses the dossier at receipt with the reason;
over HTTP with the real diagram, and the adapter against a real HTTP server on loopback."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest

from engine.clock import ManualClock
from engine.handler_registry import BpmnError, TaskContext, registry
from forms.birth import BirthDeclarationSchema
from handlers.birth_certificate_check import check_birth_certificate
from registers.health import (
    ENVIRONMENT_VARIABLE,
    CertificatesUnavailable,
    HttpBirthCertificates,
    LocalBirthCertificates,
    certificates_from_environment,
    use_certificates,
)
from tests.birth_examples import DELETE, birth_declaration, set_path
from tests.live import wait_for
from tests.loopback import loopback_server
from tests.portal import MONDAY_9AM, running_service

KHANG = {"number": "GCS-87001-2024-000512", "facilityCode": "87001"}  # the sample's certificate of the example child


def declaration(**changes) -> dict:
    data = BirthDeclarationSchema(today=date(2024, 6, 15)).load(birth_declaration(birthCertificate=dict(KHANG)))
    for path, value in changes.items():
        set_path(data, path, value)
    return data


def task(data: dict) -> TaskContext:
    return TaskContext(topic="birth-certificate.check", variables={"declaration": data}, properties={},
                       instance_id="pi-1", business_key="H19.87.001-240615-0001",
                       activity_id="Task_CheckBirthCertificate", definition_key="birth_linked",
                       idempotency_key="job-1", services=None)


@pytest.fixture
def sample():
    with use_certificates(LocalBirthCertificates()) as certificates:
        yield certificates


def problems(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(BpmnError) as refused:
        check_birth_certificate(task(data))
    assert refused.value.code == "BIRTH_CERTIFICATE_MISMATCH"
    found = refused.value.variables["birthCertificateProblems"]
    assert refused.value.message == "; ".join(p["message"] for p in found) + "."
    return [(p["field"], p["problem"]) for p in found]


def test_the_handler_is_registered():
    assert registry.get("birth-certificate.check") is check_birth_certificate


def test_a_matching_certificate_is_verified(sample):
    assert check_birth_certificate(task(declaration())) == {"birthCertificateVerified": True}
    # Names compare as the population check's do: case and spacing aside, diacritics count.
    assert check_birth_certificate(task(declaration(child__fullName="nguyễn  minh KHANG", birthCertificate__number=
                                                    "gcs-87001-2024-000512"))) == {"birthCertificateVerified": True}


def test_a_declaration_citing_no_certificate_is_not_checked_here(sample):
    assert check_birth_certificate(task(declaration(birthCertificate=None))) == {"birthCertificateVerified": False}
    assert check_birth_certificate(task(declaration(birthCertificate=DELETE))) == {"birthCertificateVerified": False}


@pytest.mark.parametrize("changes, expected", [
    ({"birthCertificate__number": "GCS-87001-2024-999999"}, [("birthCertificate.number", "notFound")]),
    ({"birthCertificate__facilityCode": "87002"}, [("birthCertificate.facilityCode", "facilityMismatch")]),
    ({"child__fullName": "Nguyễn Minh Khôi"}, [("child.fullName", "childNameMismatch")]),
    ({"child__fullName": "Nguyen Minh Khang"}, [("child.fullName", "childNameMismatch")]),
    ({"child__dateOfBirth": "2024-05-21"}, [("child.dateOfBirth", "dateOfBirthMismatch")]),
    ({"child__sex": "female"}, [("child.sex", "sexMismatch")]),
    ({"mother__idNumber": "001192034567"}, [("mother.idNumber", "motherMismatch")]),
    ({"mother__fullName": "Trần Thị Bính"}, [("mother.fullName", "motherNameMismatch")]),
])
def test_each_mismatch_is_named(sample, changes, expected):
    assert problems(declaration(**changes)) == expected


def test_every_problem_is_reported_at_once_in_vietnamese(sample):
    data = declaration(birthCertificate__facilityCode="01003", child__sex="female", child__dateOfBirth="2024-05-19")
    with pytest.raises(BpmnError) as refused:
        check_birth_certificate(task(data))
    assert refused.value.message == (
        "Giấy chứng sinh số GCS-87001-2024-000512 do Bệnh viện Đa khoa Đồng Tháp (mã 87001) cấp, không phải cơ sở có "
        "mã 01003; Ngày sinh của trẻ không khớp với giấy chứng sinh số GCS-87001-2024-000512; Giới tính của trẻ không "
        "khớp với giấy chứng sinh số GCS-87001-2024-000512 (giấy chứng sinh ghi nam).")


def test_the_form_refuses_a_malformed_certificate():
    from marshmallow import ValidationError
    with pytest.raises(ValidationError) as refused:
        BirthDeclarationSchema(today=date(2024, 6, 15)).load(
            birth_declaration(birthCertificate={"number": " ", "facilityCode": "8700"}))
    assert refused.value.messages["birthCertificate"] == {
        "number": ["Vui lòng nhập số giấy chứng sinh."],
        "facilityCode": ["Mã cơ sở y tế cấp giấy chứng sinh gồm 5 chữ số, ví dụ 87001 (in trên giấy chứng sinh)."]}


# --- the HTTP adapter against a real loopback server ---------------------------------------------

CERTIFICATE = {"number": "GCS-87001-2024-000512", "facilityCode": "87001", "facilityName": "Bệnh viện Đa khoa Đồng Tháp",
               "childName": "Nguyễn Minh Khang", "dateOfBirth": "2024-05-20", "sex": "male",
               "motherName": "Trần Thị Bình", "motherIdNumber": "087190001234"}


@contextmanager
def health_server():
    def respond(request, release):
        number = request["path"].rsplit("/", 1)[-1]
        if number == "GCS-500":
            return 500, {"error": "internal"}
        if number == "GCS-SLOW":
            release.wait(5)
            return 404, {}
        if number == "GCS-GARBLED":
            return 200, b"not json"
        if request["path"] == "/api/birth-certificates/GCS-87001-2024-000512":
            return 200, CERTIFICATE
        return 404, {"error": "not found"}

    with loopback_server(respond) as (url, seen):
        yield url + "/api", seen


def test_http_adapter_found_and_not_found():
    with health_server() as (url, seen):
        certificates = HttpBirthCertificates(url + "/", timeout=2)
        found = certificates.find(" gcs-87001-2024-000512 ")
        assert found.facility_name == "Bệnh viện Đa khoa Đồng Tháp" and found.mother_id_number == "087190001234"
        assert certificates.find("GCS-0") is None
    assert seen[0]["method"] == "GET" and seen[0]["headers"]["Accept"] == "application/json"


@pytest.mark.parametrize("number, timeout", [("GCS-500", 2), ("GCS-GARBLED", 2), ("GCS-SLOW", 0.2)])
def test_http_adapter_failures_are_technical(number, timeout):
    with health_server() as (url, _):
        with pytest.raises(CertificatesUnavailable):
            HttpBirthCertificates(url, timeout=timeout).find(number)


def test_the_handler_checks_through_the_http_adapter(monkeypatch):
    with health_server() as (url, seen):
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, url)
        with use_certificates(certificates_from_environment()):
            assert check_birth_certificate(task(declaration())) == {"birthCertificateVerified": True}
            with pytest.raises(BpmnError):
                check_birth_certificate(task(declaration(child__sex="female")))
    assert [r["path"] for r in seen] == ["/api/birth-certificates/GCS-87001-2024-000512"] * 2


# --- at receipt, over HTTP with the real diagram ----------------------------------------------------

@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    with use_certificates(LocalBirthCertificates()), running_service(database, ManualClock(MONDAY_9AM), "birth") as portal:
        yield portal


def test_a_certificate_that_does_not_match_refuses_the_dossier_at_receipt(service):
    code = service.file(birth_declaration(birthCertificate={**KHANG, "facilityCode": "79020"}, child__sex="female"))["code"]
    rejected = service.wait_dossier(code, "rejected")
    assert rejected["reason"] == (
        "Giấy chứng sinh số GCS-87001-2024-000512 do Bệnh viện Đa khoa Đồng Tháp (mã 87001) cấp, không phải cơ sở có "
        "mã 79020; Giới tính của trẻ không khớp với giấy chứng sinh số GCS-87001-2024-000512 (giấy chứng sinh ghi nam).")
    assert [p["state"] for p in rejected["parts"]] == ["rejected", "rejected", "rejected"]
    assert service.inbox("tu-phap-ho-tich", code) == []
    # Refused at receipt, it does not stand: the same child may be filed again with the right certificate.
    again = service.file(birth_declaration(birthCertificate=dict(KHANG)))["code"]
    wait_for(lambda: service.inbox("tu-phap-ho-tich", again), lambda tasks: len(tasks) == 1, timeout=20)
    assert service.status(again)["state"] == "processing"
