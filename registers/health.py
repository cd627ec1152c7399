"""The health sector's birth certificates (giấy chứng sinh): what the facility that delivered a child
issued, for the birth registration to be checked against at receipt (Y tế, a linked sector).

A birth declaration may cite its certificate (section ``birthCertificate``: ``number`` and
``facilityCode``, the issuing facility's code). The check compares it with what the health sector
holds: the certificate exists, was issued by that facility, and names the same child (full name,
date of birth, sex) and the same mother (personal ID number and name). A declaration that cites no
certificate is not checked here: the law accepts a witness's statement or a commitment in its place
(Luật Hộ tịch, art. 16), which the civil-status officer judges.

Chosen on first use: ``HttpBirthCertificates`` when ``LIENTHONG_BIRTH_CERTIFICATES_URL`` is set,
otherwise ``LocalBirthCertificates`` over the shipped sample registers/data/birth_certificates_sample.json
(fictional certificates of the sample population's children). Tests swap it with ``use_certificates``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote


from forms.personal_id import normalise

from .adapter_slot import AdapterSlot
from .http import get_json
from .population import same_name

ENVIRONMENT_VARIABLE = "LIENTHONG_BIRTH_CERTIFICATES_URL"
REGISTER_NAME = "hệ thống giấy chứng sinh của ngành Y tế"
MISMATCH = "BIRTH_CERTIFICATE_MISMATCH"
SEX_WORDS = {"male": "nam", "female": "nữ"}


@dataclass(frozen=True)
class BirthCertificate:
    number: str
    facility_code: str
    facility_name: str
    child_name: str
    date_of_birth: str  # ISO "YYYY-MM-DD"
    sex: str            # "male" or "female"
    mother_name: str
    mother_id_number: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BirthCertificate:
        """From the health sector's camelCase JSON (and the sample file's, plus the facility's name)."""
        return cls(number=str(data["number"]), facility_code=str(data["facilityCode"]),
                   facility_name=str(data.get("facilityName") or data["facilityCode"]),
                   child_name=str(data["childName"]), date_of_birth=str(data["dateOfBirth"]),
                   sex=str(data["sex"]), mother_name=str(data["motherName"]),
                   mother_id_number=normalise(str(data["motherIdNumber"])))


@runtime_checkable
class BirthCertificates(Protocol):
    def find(self, number: str) -> BirthCertificate | None:
        """The certificate with this number, or None when the health sector issued none."""
        ...


class CertificatesUnavailable(Exception):
    """The health sector's system could not answer (technical failure: retried, then an incident)."""


class LocalBirthCertificates:
    """In memory; by default the shipped sample."""

    def __init__(self, certificates: list[BirthCertificate] | None = None):
        if certificates is None:
            certificates = load_sample()
        self._by_number = {_key(c.number): c for c in certificates}

    def find(self, number: str) -> BirthCertificate | None:
        return self._by_number.get(_key(number))


def _key(number: str) -> str:
    return "".join(str(number).split()).upper()


def load_sample() -> list[BirthCertificate]:
    text = resources.files(__package__).joinpath("data", "birth_certificates_sample.json").read_text(encoding="utf-8")
    data = json.loads(text)
    names = {facility["code"]: facility["name"] for facility in data["facilities"]}
    return [BirthCertificate.from_json({**entry, "facilityName": names[entry["facilityCode"]]})
            for entry in data["certificates"]]


class HttpBirthCertificates:
    """GET {base_url}/birth-certificates/{number}: 200 with the certificate's camelCase JSON
    (number, facilityCode, facilityName, childName, dateOfBirth, sex, motherName, motherIdNumber),
    or 404 when the health sector issued no certificate with that number."""

    def __init__(self, base_url: str, timeout: float = 5):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def find(self, number: str) -> BirthCertificate | None:
        return get_json(f"{self.base_url}/birth-certificates/{quote(_key(number), safe='')}", BirthCertificate.from_json,
                        timeout=self.timeout, what="birth certificates", unavailable=CertificatesUnavailable)


def certificates_from_environment() -> BirthCertificates:
    url = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return HttpBirthCertificates(url) if url else LocalBirthCertificates()


_certificates: AdapterSlot[BirthCertificates] = AdapterSlot(certificates_from_environment)


def current_certificates() -> BirthCertificates:
    return _certificates.current()


def use_certificates(certificates: BirthCertificates):
    """Use `certificates` inside the block, then put the previous ones back (for tests)."""
    return _certificates.use(certificates)


# --- the check ----------------------------------------------------------------------------------

def find_problems(declaration: Mapping[str, Any], certificates: BirthCertificates) -> list[dict]:
    """What differs between the declaration and the certificate it cites (dicts with field,
    problem, message; the field is the declaration's, for the portal to point at). None cited: []."""
    cited = declaration.get("birthCertificate")
    if not isinstance(cited, Mapping):
        return []
    number = str(cited.get("number") or "")
    certificate = certificates.find(number)
    if certificate is None:
        return [_problem("birthCertificate.number", "notFound",
                         f"Không tìm thấy giấy chứng sinh số {number} trong {REGISTER_NAME}")]
    problems = []
    facility = str(cited.get("facilityCode") or "").strip()
    if facility != certificate.facility_code:
        problems.append(_problem("birthCertificate.facilityCode", "facilityMismatch",
                                 f"Giấy chứng sinh số {number} do {certificate.facility_name} "
                                 f"(mã {certificate.facility_code}) cấp, không phải cơ sở có mã {facility}"))
    child = declaration.get("child") or {}
    mother = declaration.get("mother") or {}
    if not same_name(str(child.get("fullName") or ""), certificate.child_name):
        problems.append(_problem("child.fullName", "childNameMismatch",
                                 f"Họ tên của trẻ không khớp với giấy chứng sinh số {number}"))
    if str(child.get("dateOfBirth") or "") != certificate.date_of_birth:
        problems.append(_problem("child.dateOfBirth", "dateOfBirthMismatch",
                                 f"Ngày sinh của trẻ không khớp với giấy chứng sinh số {number}"))
    if child.get("sex") != certificate.sex:
        problems.append(_problem("child.sex", "sexMismatch",
                                 f"Giới tính của trẻ không khớp với giấy chứng sinh số {number} "
                                 f"(giấy chứng sinh ghi {SEX_WORDS.get(certificate.sex, certificate.sex)})"))
    if normalise(str(mother.get("idNumber") or "")) != certificate.mother_id_number:
        problems.append(_problem("mother.idNumber", "motherMismatch",
                                 f"Người mẹ trong tờ khai không phải người mẹ ghi trên giấy chứng sinh số {number}"))
    elif not same_name(str(mother.get("fullName") or ""), certificate.mother_name):
        problems.append(_problem("mother.fullName", "motherNameMismatch",
                                 f"Họ tên người mẹ không khớp với giấy chứng sinh số {number}"))
    return problems


def _problem(field: str, kind: str, message: str) -> dict:
    return {"field": field, "problem": kind, "message": message}
