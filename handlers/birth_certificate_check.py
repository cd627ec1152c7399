"""The birth certificate checked at receipt against the health sector (Y tế): topic ``birth-certificate.check``.

The declaration's ``birthCertificate`` (number and issuing facility's code) must be a certificate
the health sector issued, by that facility, for the declared child (name, date of birth, sex) and
mother (ID number, name); registers/health.py says how each compares. Outcomes:

* it matches: ``{"birthCertificateVerified": True}``;
* the declaration cites none: ``{"birthCertificateVerified": False}`` (a witness's statement or a
  commitment stands in for it; the civil-status officer judges those);
* a mismatch: ``BpmnError("BIRTH_CERTIFICATE_MISMATCH", <every reason, in Vietnamese>,
  {"birthCertificateProblems": [...]})``, which the diagram catches to refuse the dossier at receipt;
* the health sector cannot answer: ``CertificatesUnavailable``, retried then an incident.
"""
from __future__ import annotations

from collections.abc import Mapping

from engine.handler_registry import BpmnError, TaskContext, handler
from registers.health import MISMATCH, current_certificates, find_problems


@handler("birth-certificate.check")
def check_birth_certificate(task: TaskContext) -> dict:
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError("birth-certificate.check needs the process variable 'declaration' (the birth declaration)")
    if not isinstance(declaration.get("birthCertificate"), Mapping):
        return {"birthCertificateVerified": False}
    problems = find_problems(declaration, current_certificates())
    if problems:
        raise BpmnError(MISMATCH, "; ".join(entry["message"] for entry in problems) + ".",
                        {"birthCertificateProblems": problems})
    return {"birthCertificateVerified": True}
