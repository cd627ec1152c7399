"""Whom a dossier registers (the child, the deceased), and while it stands in the way of another.

A second dossier for the same subject is refused while an earlier one stands: twice over, first by
a look-up at filing (a clear 400 naming the earlier dossier), then by the database itself, a
unique index on the standing dossiers' subject key (``uq_dossier_standing_subject``), so two
filings of the same child at the same moment cannot both pass the look-up and both be stored.
The index holds a dossier's first subject; the other children of a declaration with several
(twins, ``dossier_subject``) are checked by the look-up only.
"""
from __future__ import annotations

import hashlib

from forms.birth import children_of

# A dossier no longer stands (a new one for the same subject may be filed) when it, or the part
# that registers its subject, ended without registering.
NOT_STANDING_DOSSIER = frozenset({"rejected", "cancelled", "withdrawn", "terminated"})
NOT_STANDING_PART = frozenset({"refused", "rejected", "not-processed", "cancelled", "withdrawn", "terminated"})
SUBJECT_PART = {"birth": "birth", "death": "death"}  # procedure -> the part that registers its subject


def subjects_of(procedure: str, declaration: dict) -> tuple[list[tuple[str, str]], str]:
    """Whom a dossier registers: ([(a hash of a person's identifying data, the declaration's field a
    duplicate of them is reported on)], the part that registers them). The same child is the same
    mother's ID number, child's name (case and spacing aside) and date of birth; each child of a
    declaration with several (twins) is a subject of its own. The same death is the deceased's ID number."""
    if procedure == "birth":
        mother = declaration["mother"]
        subjects = []
        for field, child in (("declaration.child", declaration["child"]),) if "child" in declaration else (
                (f"declaration.children.{index}", child) for index, child in enumerate(children_of(declaration))):
            name = " ".join(child["fullName"].casefold().split())
            subjects.append((_hash(f"birth|{mother['idNumber']}|{name}|{child['dateOfBirth']}"), field))
        return subjects, SUBJECT_PART[procedure]
    return [(_hash(f"death|{declaration['deceased']['idNumber']}"), "declaration.deceased.idNumber")], SUBJECT_PART[procedure]


def _hash(facts: str) -> str:
    return hashlib.sha256(facts.encode("utf-8")).hexdigest()


def still_stands(procedure: str, dossier_state: str, part_states: dict[str, str]) -> bool:
    """Whether a dossier in these states still holds its subject (see NOT_STANDING_*)."""
    if dossier_state in NOT_STANDING_DOSSIER:
        return False
    return part_states.get(SUBJECT_PART.get(procedure, ""), "") not in NOT_STANDING_PART


def duplicate_message(procedure: str, earlier: str) -> str:
    what = "Trẻ này đã có hồ sơ khai sinh" if procedure == "birth" else "Người này đã có hồ sơ khai tử"
    return (f"{what} {earlier} đang giải quyết hoặc đã đăng ký; không nộp lại. "
            f"Tra cứu hồ sơ {earlier} hoặc liên hệ cơ quan tiếp nhận.")
