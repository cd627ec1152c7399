"""The `camunda:` names a diagram may use: a misspelt attribute or element (camunda:candidateGroup)
would be ignored and the task would reach nobody, so an unknown name is refused with the nearest
known one; a Camunda name this engine does not run is refused saying so.

The known names are those of Camunda 7's model extension (camunda-bpmn-moddle), attributes on BPMN
elements and elements inside `bpmn:extensionElements`.
"""
from __future__ import annotations

import difflib

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
C = "{%s}" % CAMUNDA

ATTRIBUTES = {
    "async", "asyncBefore", "asyncAfter", "exclusive", "jobPriority", "taskPriority", "type", "topic", "class",
    "delegateExpression", "expression", "resultVariable", "assignee", "candidateGroups", "candidateUsers",
    "dueDate", "followUpDate", "priority", "formKey", "formRef", "formRefBinding", "formRefVersion",
    "formHandlerClass", "decisionRef", "decisionRefBinding", "decisionRefVersion", "decisionRefVersionTag",
    "decisionRefTenantId", "mapDecisionResult", "calledElementBinding", "calledElementVersion",
    "calledElementVersionTag", "calledElementTenantId", "caseRef", "caseBinding", "caseVersion", "caseTenantId",
    "variableMappingClass", "variableMappingDelegateExpression", "initiator", "versionTag", "historyTimeToLive",
    "isStartableInTasklist", "candidateStarterGroups", "candidateStarterUsers", "errorCodeVariable",
    "errorMessageVariable", "errorMessage", "escalationCodeVariable", "collection", "elementVariable",
    "variableName", "variableEvents", "modelerTemplate", "modelerTemplateVersion", "diagramRelationId",
}
ELEMENTS = {
    "properties", "property", "inputOutput", "inputParameter", "outputParameter", "list", "map", "entry",
    "value", "script", "field", "string", "expression", "formData", "formField", "validation", "constraint",
    "formProperty", "executionListener", "taskListener", "connector", "connectorId", "in", "out",
    "failedJobRetryTimeCycle", "potentialStarter", "errorEventDefinition",
}
# Camunda names whose meaning this engine does not carry out: ignoring them would run the diagram
# differently from what the analyst drew.
NOT_SUPPORTED = {
    "async": "camunda:async is the old name of camunda:asyncBefore; write camunda:asyncBefore",
    "initiator": "camunda:initiator (the starting user kept in a variable) is not supported",
    "candidateStarterGroups": "camunda:candidateStarterGroups is not supported; who may start a process is "
                              "set by the roles of the service, not in the diagram",
    "candidateStarterUsers": "camunda:candidateStarterUsers is not supported; who may start a process is "
                             "set by the roles of the service, not in the diagram",
    "formRef": "camunda:formRef (Camunda Forms) is not supported; use camunda:formKey",
    "formHandlerClass": "camunda:formHandlerClass names Java code this engine cannot run",
    "variableMappingClass": "camunda:variableMappingClass names Java code this engine cannot run",
    "variableMappingDelegateExpression": "camunda:variableMappingDelegateExpression names Java code this engine cannot run",
    "caseRef": "case (CMMN) call activities are not supported; call a process with calledElement",
    "calledElementTenantId": "camunda:calledElementTenantId is not supported; a call resolves in its caller's tenant",
    "decisionRefTenantId": "camunda:decisionRefTenantId is not supported; a decision resolves in its caller's tenant",
}


def check_camunda_names(root, refuse) -> None:
    for element in root.iter():
        for name in element.attrib:
            if name.startswith(C):
                _check(element, name[len(C):], ATTRIBUTES, "attribute", refuse)
        if isinstance(element.tag, str) and element.tag.startswith(C):
            _check(_owner(element), element.tag[len(C):], ELEMENTS, "element", refuse)


def _check(element, name: str, known: set[str], what: str, refuse) -> None:
    if name in NOT_SUPPORTED:
        refuse(element, NOT_SUPPORTED[name])
    elif name not in known:
        nearest = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean camunda:{nearest[0]}?" if nearest else ""
        refuse(element, f"camunda:{name} is not a Camunda {what}{hint}")


def _owner(element):
    """The nearest element with an id (the task a camunda:property belongs to), for the report."""
    while element.getparent() is not None and not element.get("id"):
        element = element.getparent()
    return element
