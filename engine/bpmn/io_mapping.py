"""Input/output mappings as Camunda 7 applies them (docs: "Input/Output Variable Mapping").

- `camunda:inputOutput`: each `camunda:inputParameter` is evaluated when the activity starts, in
  the scope around it, and becomes a *local* variable of the activity (its form, due date, handler
  and, for a subprocess, every task inside see it; the process does not). Each
  `camunda:outputParameter` is evaluated when the activity ends, in the activity's scope, and is
  written to the process scope. A value is a text (a literal string, or `${...}`), a
  `camunda:list` of values or a `camunda:map` of entries, nested as deep as written.
- A call activity's `camunda:in` (`source`, `sourceExpression`, `target`) gives the called process
  local variables; `camunda:out` copies the called process's values back when it ends.
  `variables="all"` is what this engine does anyway (the called process shares the caller's
  variables), and `businessKey` may only pass the caller's own key on, since the called process
  runs under the caller's instance.

The definitions are parsed into plain JSON (`spec.extensions`), so specs round-trip unchanged.
"""
from __future__ import annotations

from datetime import date, datetime

from ..expression_dates import DateTime
from ..expressions import compile_expression, is_expression

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
INPUTS_DONE = "inputsEvaluated"  # in a task's internal data: its input mappings were evaluated
# What a call activity's businessKey mapping may say: the caller's key, which the called process has anyway.
SAME_BUSINESS_KEY = {"${execution.processBusinessKey}", "#{execution.processBusinessKey}"}


# --- parsing (at deploy) -------------------------------------------------------------------------


def parse_value(element) -> dict | None:
    """A parameter's, value's or entry's content: None (null), {"text"}, {"list"} or {"map"}."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        text = element.text or ""
        return {"text": text} if text.strip() else None
    child = children[0]
    name = child.tag.split("}", 1)[-1]
    if name == "list":
        return {"list": [parse_value(v) for v in child if isinstance(v.tag, str)]}
    if name == "map":
        return {"map": [[e.get("key"), parse_value(e)] for e in child if isinstance(e.tag, str)]}
    return {"unsupported": name}


def parse_mappings(node) -> dict:
    """The extensions an activity's mappings add (nothing when it has none)."""
    ext: dict = {}
    io = node.find(f"./{{http://www.omg.org/spec/BPMN/20100524/MODEL}}extensionElements/{CAMUNDA}inputOutput")
    if io is not None:
        ext["inputParameters"] = [[p.get("name"), parse_value(p)] for p in io.findall(CAMUNDA + "inputParameter")]
        ext["outputParameters"] = [[p.get("name"), parse_value(p)] for p in io.findall(CAMUNDA + "outputParameter")]
    extensions = node.find("./{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements")
    if extensions is not None:
        for kind in ("in", "out"):
            found = [_call_mapping(m) for m in extensions.findall(CAMUNDA + kind)
                     if m.get("variables") != "all" and m.get("businessKey") is None]
            if found:
                ext["callInputs" if kind == "in" else "callOutputs"] = found
    return ext


def _call_mapping(mapping) -> dict:
    return {"source": mapping.get("source"), "sourceExpression": mapping.get("sourceExpression"),
            "target": mapping.get("target")}


def value_texts(value: dict | None):
    """Every text inside a value (to compile at deploy)."""
    if value is None:
        return
    if "text" in value:
        yield value["text"]
    for item in value.get("list", []):
        yield from value_texts(item)
    for _, item in value.get("map", []):
        yield from value_texts(item)


def mapping_problems(node) -> list[tuple[str, str | None]]:
    """(reason, expression to compile or None) for an activity's mappings."""
    found: list[tuple[str, str | None]] = []
    ext = parse_mappings(node)
    for kind in ("inputParameters", "outputParameters"):
        for name, value in ext.get(kind, []):
            if not name:
                found.append((f"a camunda:{kind[:-1]} needs a name", None))
            found.extend(_value_problems(name, value))
    extensions = node.find("./{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements")
    mappings = [] if extensions is None else [m for m in extensions if m.tag in (CAMUNDA + "in", CAMUNDA + "out")]
    for mapping in mappings:
        kind = mapping.tag.split("}", 1)[-1]
        if mapping.get("variables") == "all":
            continue
        if mapping.get("businessKey") is not None:
            if kind == "out" or mapping.get("businessKey").strip() not in SAME_BUSINESS_KEY:
                found.append(("camunda:in businessKey may only be ${execution.processBusinessKey}: the called process "
                              "runs under the caller's dossier and keeps its business key", None))
            continue
        if mapping.get("local") == "true":
            found.append((f"camunda:{kind} local=\"true\" is not supported: the called process shares the caller's "
                          "variables; name the variable with source and target", None))
        if not mapping.get("target") or not (mapping.get("source") or mapping.get("sourceExpression")):
            found.append((f"camunda:{kind} needs a target and a source or sourceExpression (or variables=\"all\")", None))
        if mapping.get("sourceExpression"):
            found.append(("", mapping.get("sourceExpression")))
    return found


def _value_problems(name, value):
    if value is None:
        return
    if "unsupported" in value:
        what = value["unsupported"]
        reason = (f"the mapping '{name}' is a script, which this engine does not run; write ${{...}}, a list or a map"
                  if what == "script" else f"the mapping '{name}': camunda:{what} is not supported")
        yield reason, None
        return
    for text in value_texts(value):
        if is_expression(text):
            yield "", text
    for item in value.get("list", []):
        yield from _value_problems(name, item)
    for _, item in value.get("map", []):
        yield from _value_problems(name, item)


# --- evaluating (at run time) --------------------------------------------------------------------


def evaluate_value(value: dict | None, variables: dict, moments):
    if value is None:
        return None
    if "text" in value:
        text = value["text"]
        return _plain(compile_expression(text).evaluate(variables, moments)) if is_expression(text) else text
    if "list" in value:
        return [evaluate_value(v, variables, moments) for v in value["list"]]
    return {key: evaluate_value(v, variables, moments) for key, v in value["map"]}


def _plain(value):
    """A variable holds JSON: dates become ISO text (Camunda would store a Date)."""
    if isinstance(value, DateTime):
        return value.to_string()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def inputs_of(task_spec, variables: dict, moments) -> dict:
    """The local variables an activity's input mappings give it, evaluated in `variables`."""
    ext = getattr(task_spec, "extensions", None) or {}
    found = {}
    for name, value in ext.get("inputParameters", []):
        found[name] = evaluate_value(value, {**variables, **found}, moments)
    for mapping in ext.get("callInputs", []):
        found[mapping["target"]] = _source(mapping, variables, moments)
    return found


def outputs_of(task_spec, variables: dict, moments) -> dict:
    """What an activity's output mappings write to the process scope when it ends."""
    ext = getattr(task_spec, "extensions", None) or {}
    found = {}
    for name, value in ext.get("outputParameters", []):
        found[name] = evaluate_value(value, variables, moments)
    for mapping in ext.get("callOutputs", []):
        found[mapping["target"]] = _source(mapping, variables, moments)
    return found


def has_inputs(task_spec) -> bool:
    ext = getattr(task_spec, "extensions", None) or {}
    return bool(ext.get("inputParameters") or ext.get("callInputs"))


def has_outputs(task_spec) -> bool:
    ext = getattr(task_spec, "extensions", None) or {}
    return bool(ext.get("outputParameters") or ext.get("callOutputs"))


def _source(mapping: dict, variables: dict, moments):
    if mapping.get("sourceExpression"):
        return _plain(compile_expression(mapping["sourceExpression"]).evaluate(variables, moments))
    return variables.get(mapping["source"])
