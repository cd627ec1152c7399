"""Service task ``declarations.print``: print each extracted declaration and keep the PDF with the dossier.

Reads the process variables
* ``declarations``: ``{form: declaration}`` as ``declarations.extract`` returns it, keyed by part:
  "birth", "residence", "bhyt" for a birth dossier; "death", "residence" (the CT01 deleting the
  residence), "funeral" for a death dossier (forms.printing.FORMS; "survivor" has no declaration);
  a birth with several children adds "birth-2", "bhyt-2"... (forms.extraction.declaration_key),
  printed on the same form and stored under that key;
* ``dossierCode``: the dossier the PDFs belong to (the ``dossier`` row must exist).

Each declaration is rendered with ``forms.printing.render_declaration`` (in the printing process,
forms/print_process.py, never in this one), made at its ``place``
(the receiving agency) on its ``declaredOn`` (the receipt date in Vietnam time), then stored with
``dossiers.documents.save_document`` (one row per dossier and form) in one transaction after all
are rendered. Returns ``{"printedDeclarations": [forms]}`` in the order of FORMS, which is each group's
canonical part order (birth, residence, bhyt; death, residence, funeral).
A retry prints again and replaces the rows: idempotent.

camunda:properties (optional), for a step that prints again once a number is issued:
* ``forms``: the forms to print, comma-separated (default: every declaration the dossier has);
* ``childIdVariable``: the variable holding the child's personal ID number issued by the birth
  registration (``childIdNumber``): the BHYT declaration and the newborn's row of CT01 are completed
  with it (forms.extraction.with_child_id) before printing, and the completed ``declarations`` are
  returned too, so that the agencies handed the parts afterwards receive the number.

Environment: ``LIENTHONG_PRINTING`` = ``on`` (default) or ``off``. ``off`` renders nothing and
stores nothing but still returns the list, so that benchmarks measure the engine alone (a render
costs 200–300 ms of CPU per form here; `python -m bench.printing`). Any other value is a configuration error (ValueError).

Bad variables raise ValueError, a technical failure: the job is retried, then becomes an incident.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date

from dossiers.documents import save_document
from engine.handler_registry import TaskContext, handler
from forms.extraction import ExtractionError, part_of, with_child_id
from forms.printing import FORMS, render_declaration

TOPIC = "declarations.print"
ENVIRONMENT_VARIABLE = "LIENTHONG_PRINTING"
_ON, _OFF = ("on", "1", "true", "yes"), ("off", "0", "false", "no")


def printing_enabled() -> bool:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "on").strip().lower() or "on"
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 'on' or 'off', not {value!r}")


@handler(TOPIC)
def print_declarations(task: TaskContext) -> dict:
    where = f"service task '{task.activity_id}' ({TOPIC})"
    declarations = task.variables.get("declarations")
    if not isinstance(declarations, Mapping) or not declarations:
        raise ValueError(f"{where}: process variable 'declarations' is missing or empty "
                         f"(expected {{form: declaration}} from declarations.extract)")
    unknown = [form for form in declarations if part_of(form) not in FORMS]
    if unknown:
        raise ValueError(f"{where}: no printed form for {', '.join(map(repr, unknown))}; known: {', '.join(FORMS)}")
    code = task.variables.get("dossierCode")
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"{where}: process variable 'dossierCode' is missing")
    result = {}
    id_variable = str(task.properties.get("childIdVariable") or "").strip()
    if id_variable:
        # Twins: every child's number, in the children's order (`births`, one entry per child)
        births = task.variables.get("births")
        numbers = ([b.get("childIdNumber") for b in births] if isinstance(births, list) and births
                   else [task.variables.get(id_variable)])
        if not all(isinstance(n, str) and n for n in numbers):
            raise ValueError(f"{where}: process variable '{id_variable}' (the child's personal ID number) is missing")
        try:
            declarations = result["declarations"] = with_child_id(declarations, numbers)
        except ExtractionError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    chosen = [name.strip() for name in str(task.properties.get("forms") or "").split(",") if name.strip()]
    if any(name not in FORMS for name in chosen):
        raise ValueError(f"{where}: camunda property 'forms' names {chosen!r}; known: {', '.join(FORMS)}")
    # birth, birth-2, residence...: every declaration of a chosen form
    forms = [key for form in FORMS for key in declarations if part_of(key) == form and (not chosen or form in chosen)]
    result["printedDeclarations"] = forms
    if not printing_enabled():
        return result

    printed = {}
    for form in forms:  # rendered before the transaction opens: no lock held while WeasyPrint works
        data = declarations[form]
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: the {form} declaration is not an object")
        try:
            on = date.fromisoformat(data["declaredOn"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: the {form} declaration has no ISO 'declaredOn' date") from None
        printed[form] = render_declaration(part_of(form), data, place=data.get("place"), on=on)
    with task.session() as session:
        now = task.now()
        for form, pdf in printed.items():
            save_document(session, code.strip(), form, pdf, now)
    return result
