"""Service task ``declarations.extract``: the citizen's one declaration into the official ones.

Reads the process variables
* ``procedure``: the linked group, "birth" or "death"; "birth" when absent (birth instances started
  before the variable existed);
* ``declaration``: the citizen's declaration as forms/birth.py or forms/death.py loads it;
* ``receivedAt``: when the dossier was received, ISO 8601 with a UTC offset; its date in Vietnam
  time dates the declarations (``declaredOn``);
* ``householdId`` (optional, set by ``identity.check``): the mother's household (birth) or the
  deceased's (death); when the citizen chose the residence part, the population register's answer
  for it fills the CT01 head of household fields (registers/population.py, ``current_register(db).household(...)``,
  read like identity.check reads it: the local register with the changes recorded in the task's database).

Returns ``{"declarations": {part: extracted}}`` for each part in ``declaration["parts"]`` that has a
declaration: "birth", "residence", "bhyt" ("birth-registration", "residence-declaration",
"bhyt-declaration"), or "death", "residence", "funeral" ("death-registration", the CT01
"residence-declaration" deleting the residence, "funeral-support"); "survivor" has none. See
forms/extraction.py. A birth also returns ``children``, one ``{"fullName", "birth", "bhyt"}`` per
child with the keys of its declarations ("birth-2"...; ``bhyt`` None when not filed), and
``childCount``: the birth hand-off runs once per child over ``children``.

Bad input (a missing or invalid variable, an extraction that fails its schema, a household the
register does not know) raises ValueError; the register being unreachable raises
RegisterUnavailable. Both are technical failures: the job is retried, then becomes an incident.
"""
from __future__ import annotations

from collections.abc import Mapping

from engine.handler_registry import TaskContext, handler
from forms.birth import children_of
from forms.extraction import PROCEDURES, declaration_key, extract_declarations
from registers.population import current_register

from .deadlines import parse_received_at

TOPIC = "declarations.extract"


@handler(TOPIC)
def extract(task: TaskContext) -> dict:
    where = f"service task '{task.activity_id}' ({TOPIC})"
    procedure = task.variables.get("procedure")
    if procedure is None:
        procedure = "birth"  # instances started before the death group carry no `procedure`
    if not isinstance(procedure, str) or procedure not in PROCEDURES:
        raise ValueError(f"{where}: process variable 'procedure' is {procedure!r}; known: {', '.join(PROCEDURES)}")
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise ValueError(f"{where}: process variable 'declaration' (the citizen's {procedure} declaration) is missing "
                         f"or not an object")
    if task.variables.get("receivedAt") in (None, ""):
        raise ValueError(f"{where}: process variable 'receivedAt' is missing")
    received_on = parse_received_at(task.variables["receivedAt"], where).astimezone(task.timezone).date()

    household = None
    household_id = task.variables.get("householdId")
    parts = declaration.get("parts")
    if household_id not in (None, "") and isinstance(parts, list) and "residence" in parts:
        found = current_register(task.database).household(str(household_id))
        if found is None:
            raise ValueError(f"{where}: the population register has no household {household_id!r} "
                             f"(process variable 'householdId')")
        household = found.to_json()
    try:
        declarations = extract_declarations(declaration, procedure=procedure, received_on=received_on,
                                            household=household)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if procedure != "birth":
        return {"declarations": declarations}
    # The children, in the declaration's order, each with the keys of its own declarations: the
    # collection the birth registration runs once per child (multi-instance in the diagram).
    children = [{"fullName": child["fullName"], "birth": declaration_key("birth", index),
                 "bhyt": declaration_key("bhyt", index) if "bhyt" in declarations else None}
                for index, child in enumerate(children_of(declaration))]
    return {"declarations": declarations, "children": children, "childCount": len(children)}
