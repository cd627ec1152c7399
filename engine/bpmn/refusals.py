"""SpiffWorkflow's and the BPMN schema's refusals, told as an analyst can act on them: the file,
the element (or the line when it has no id) and a reason in the words of the diagram, never the
parser's internals. Most of what Spiff would refuse is checked before it parses
(engine/validation*.py); what is left is translated here."""
from __future__ import annotations

import logging
import re

from lxml import etree

from ..errors import Problem

log = logging.getLogger("lienthong.engine")

_SPIFF = [
    (re.compile(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
     lambda m: f"an embedded subprocess needs exactly one start event; it has {m[1]}"),
    (re.compile(r"A SubWorkflow Must contain an End event"), lambda m: "an embedded subprocess needs an end event"),
    (re.compile(r"we found two items"), lambda m: "a sequence flow leaving this element leads to no element of its process"),
    (re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
     lambda m: "a flow leaving this gateway has no condition and is not its default flow"),
    (re.compile(r"Multiple outgoing flows are not supported"),
     lambda m: "this element cannot have several outgoing sequence flows"),
]
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_DATA_STORE = re.compile(r"Data Store with name (.+) has no implementation")
_NAMESPACES = {
    "{http://www.omg.org/spec/BPMN/20100524/MODEL}": "bpmn:",
    "{http://www.omg.org/spec/BPMN/20100524/DI}": "bpmndi:",
    "{http://www.omg.org/spec/DD/20100524/DC}": "dc:",
    "{http://www.omg.org/spec/DD/20100524/DI}": "di:",
}


def spiff_problem(exc, filename: str, root, fallback_id: str | None) -> Problem:
    """One Problem for a SpiffWorkflow parse error raised while parsing `root` (from `filename`)."""
    message = str(exc).split("\n")[0]
    element_id = getattr(exc, "id", None) or fallback_id
    store = _DATA_STORE.search(message)
    if store:
        named = [e.get("id") for e in root.iter(_BPMN + "dataStore") if e.get("name") == store[1]]
        element_id = named[0] if named else element_id
        return Problem(filename, element_id, f"the data store '{store[1]}' is not supported by this engine",
                       _line(root, element_id))
    for pattern, reason in _SPIFF:
        found = pattern.search(message)
        if found:
            return Problem(filename, element_id, reason(found), _line(root, element_id))
    # An internal error of the parser (a Python exception it wrapped): its words mean nothing to
    # an analyst, so the log keeps them and the answer points at the element.
    log.warning("parser refused an element", extra={"file": filename, "element": element_id, "error": message})
    return Problem(filename, element_id, "this element could not be read: check its type, its references "
                                         "and its attributes against what Camunda Modeler writes", _line(root, element_id))


def schema_problem(error, root, filename: str) -> Problem:
    """One error of the BPMN 2.0 schema (an lxml error-log entry)."""
    message = error.message
    for namespace, prefix in _NAMESPACES.items():
        message = message.replace(namespace, prefix)
    element_id = _element_at(root, error)

    return Problem(filename, element_id, f"not valid BPMN 2.0: {message}", error.line)


def _element_at(root, error) -> str | None:
    """The id of the element the schema error is about (its path uses the file's own prefixes)."""
    try:
        found = root.getroottree().xpath(error.path, namespaces={k: v for k, v in root.nsmap.items() if k})
    except etree.XPathError:
        found = [e for e in root.iter() if e.sourceline == error.line]
    return next((e.get("id") for e in found if isinstance(getattr(e, "tag", None), str) and e.get("id")), None)


def _line(root, element_id: str | None) -> int | None:
    if not element_id:
        return None
    element = next(iter(root.xpath("//*[@id=$id]", id=element_id)), None)
    return element.sourceline if element is not None else None
