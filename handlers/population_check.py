"""Identity check at receipt against the National Population Database (Cơ sở dữ liệu quốc gia về dân cư).

Topic ``identity.check``: each person the service task names must be found in the register by
personal ID number, be alive, and carry the declared full name. Names compare case- and
whitespace-insensitively (and NFC/NFD alike), but Vietnamese diacritics count: "Trần Thị Bình" is
not "Tran Thi Binh".

The service task's camunda properties say whom to check and whose household to return:

* ``roles``: comma-separated sections of the process variable ``declaration``, checked in that
  order: ``requester`` (người yêu cầu), ``mother`` (người mẹ), ``father`` (người cha, may be
  absent: a birth may have no father recorded), ``deceased`` (người chết). Default
  ``requester,mother,father`` (the birth group); the death group names ``requester,deceased``.
  For the deceased, "recorded as dead" means the death is already registered, and the message
  says so ("đã được đăng ký khai tử").
* ``householdOf``: the role whose household id is returned as ``householdId``. Default: the first
  of ``mother``, ``deceased`` that ``roles`` names (so the mother's for a birth, the deceased's for
  a death); none when neither is named. It must be one of ``roles``.

Outcomes:
* all good: returns ``{"identityVerified": True, "householdId": <that role's household id>}``;
* a mismatch: ``BpmnError("IDENTITY_MISMATCH", <Vietnamese reason>, {"identityProblems": [...]})``,
  every problem of every person at once, a business outcome the diagram catches;
* the register cannot answer (HTTP error status, timeout, bad JSON): ``RegisterUnavailable``,
  a technical failure, so the job is retried and then becomes an incident;
* a property naming an unknown role: ``ValueError``, a modelling error (an incident).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.handler_registry import BpmnError, TaskContext, handler
from registers.population import (
    DEFAULT_ROLES,
    HOUSEHOLD_ROLES,
    MISMATCH,
    ROLES,
    current_register,
    find_problems,
)


def roles_to_check(properties: Mapping[str, str], where: str = "identity.check") -> tuple[tuple[str, ...], str | None]:
    """The roles the task's ``roles`` property names, and the one whose household to return."""
    names = tuple(dict.fromkeys(name.strip() for name in str(properties.get("roles") or DEFAULT_ROLES).split(",")
                                if name.strip()))
    unknown = [name for name in names if name not in ROLES]
    if unknown or not names:
        raise ValueError(f"{where}: camunda property 'roles' must name some of {', '.join(ROLES)}, "
                         f"comma-separated (got {properties.get('roles')!r})")
    household_of = str(properties.get("householdOf") or "").strip() or None
    if household_of is None:
        household_of = next((name for name in HOUSEHOLD_ROLES if name in names), None)
    elif household_of not in names:
        raise ValueError(f"{where}: camunda property 'householdOf' ({household_of!r}) must be one of the roles "
                         f"checked: {', '.join(names)}")
    return names, household_of


@handler("identity.check")
def check_identity(task: TaskContext) -> dict:
    where = f"service task '{task.activity_id}' (identity.check)"
    roles, household_of = roles_to_check(task.properties, where)
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError("identity.check needs the process variable 'declaration' (the citizen's declaration)")
    register = current_register(task.database)
    problems, found = find_problems(declaration, register, roles)
    if problems:
        raise BpmnError(MISMATCH, "; ".join(entry["message"] for entry in problems) + ".",
                        {"identityProblems": problems})
    result: dict[str, Any] = {"identityVerified": True}
    if household_of in found:
        result["householdId"] = found[household_of].household_id
    return result
