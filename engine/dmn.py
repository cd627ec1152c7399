"""DMN decisions as Camunda Modeler 7 saves them: decision tables and literal expressions.

Parsing compiles every expression once, so that a file is refused with all of its problems at
deployment and evaluation is only calls on compiled objects. Evaluation follows Camunda 7's DMN
engine rather than the letter of the DMN specification wherever the two differ, because the
files come from Camunda Modeler and their authors expect Camunda's answers:

- every input is evaluated (and coerced to its typeRef) before rules are filtered column by
  column; the input value is visible to input entries as `cellInput` (or camunda:inputVariable);
- only matching rules have their output entries evaluated, and an empty output entry leaves that
  output out of the result entry instead of setting it to null;
- PRIORITY and OUTPUT ORDER are refused, as Camunda 7 refuses them;
- required decisions are evaluated first and their outputs become variables of the decisions
  that require them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
import re
from typing import Any, Callable, Mapping, Sequence

from lxml import etree

from .errors import DeploymentError, EngineError, ExpressionError, Problem
from .expressions import compile_expression
from .feel import compile_feel_expression, compile_unary_tests
from .xml import parse_untrusted

DMN_NAMESPACES = frozenset(
    {
        "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3, Camunda Modeler 4.5 and later
        "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1, older Camunda Modelers
    }
)
CAMUNDA_NS = "http://camunda.org/schema/1.0/dmn"

HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
DECISION_RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")

# A rule's compiled input entry is called with the input value and the variables (cellInput
# included); a compiled expression is called with the variables.
Test = Callable[[Any, Mapping[str, Any]], bool]
Evaluate = Callable[[Mapping[str, Any]], Any]


class DecisionError(EngineError):
    """A decision could not be evaluated, or its result does not fit the requested mapping."""

    kind = "DmnEvaluationException"

    def __init__(
        self,
        message: str,
        decision_key: str | None = None,
        rule_ids: Sequence[str | None] = (),
        kind: str | None = None,
    ):
        self.decision_key = decision_key
        self.rule_ids = list(rule_ids)
        if kind:
            self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class DecisionInput:
    id: str | None
    label: str | None
    expression: str
    type_ref: str | None
    input_variable: str
    evaluate: Evaluate = field(repr=False, compare=False)


@dataclass(frozen=True)
class DecisionOutput:
    """A decision table output column, or the variable of a literal-expression decision."""

    id: str | None
    label: str | None
    name: str | None  # None only when it is the single output (Camunda then keys the result by null)
    type_ref: str | None


@dataclass(frozen=True)
class Rule:
    id: str | None
    description: str | None
    input_entries: tuple[str, ...]
    output_entries: tuple[str, ...]
    # One per input; None where the entry is '-' or empty and so matches anything.
    tests: tuple[Test | None, ...] = field(repr=False, compare=False)
    # (output index, expression) for each non-empty output entry.
    conclusions: tuple[tuple[int, Evaluate], ...] = field(repr=False, compare=False)


@dataclass
class DecisionDefinition:
    key: str
    name: str | None
    version_tag: str | None
    hit_policy: str | None  # None for a literal-expression decision
    aggregation: str | None
    inputs: tuple[DecisionInput, ...] = ()
    outputs: tuple[DecisionOutput, ...] = ()
    rules: tuple[Rule, ...] = ()
    required_decisions: tuple[str, ...] = ()
    literal_expression: str | None = None
    literal: Evaluate | None = field(default=None, repr=False, compare=False)
    # The decisions of the same file, which is where Camunda looks for required decisions.
    drg: Mapping[str, DecisionDefinition] = field(default_factory=dict, repr=False, compare=False)

    def evaluate(
        self, variables: Mapping[str, Any], decisions: Mapping[str, DecisionDefinition] | None = None
    ) -> list[dict[str, Any]]:
        """Camunda's DmnDecisionResult: one dict per matched rule, output name -> value."""
        return self.evaluate_with_rules(variables, decisions)[0]

    def evaluate_with_rules(
        self, variables: Mapping[str, Any], decisions: Mapping[str, DecisionDefinition] | None = None
    ) -> tuple[list[dict[str, Any]], list[str | None]]:
        """The result and the ids of the rules it came from (as Camunda's history records them).

        `decisions` resolves required decisions by key instead of the decisions of this file.
        """
        if self.required_decisions:
            variables = self._with_required_results(variables, self.drg if decisions is None else decisions)
        return self._evaluate_logic(variables)

    def _evaluate_logic(self, variables: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str | None]]:
        if self.literal is not None:
            output = self.outputs[0]
            return [{output.name: self._output_value(output, self.literal, variables, None)}], []
        return self._conclude(self._matching_rules(variables), variables)

    def _with_required_results(
        self, variables: Mapping[str, Any], decisions: Mapping[str, DecisionDefinition]
    ) -> dict[str, Any]:
        scope = dict(variables)
        for required in _required_in_order(self, decisions):
            results, _ = required._evaluate_logic(scope)
            _add_to_variables(scope, required, results)
        return scope

    def _matching_rules(self, variables: Mapping[str, Any]) -> list[Rule]:
        context = dict(variables)
        matching: Sequence[Rule] = self.rules
        for index, column in enumerate(self.inputs):
            value = self._input_value(column, variables)
            context[column.input_variable] = value
            remaining = []
            for rule in matching:
                test = rule.tests[index]
                try:
                    if test is None or test(value, context):
                        remaining.append(rule)
                except ExpressionError as exc:
                    raise DecisionError(
                        f"Decision '{self.key}': input entry '{rule.input_entries[index]}' of rule "
                        f"'{rule.id}' cannot be applied to {_describe(column)} = {value!r}: {exc}",
                        self.key,
                        [rule.id],
                    ) from exc
            matching = remaining
        return list(matching)

    def _input_value(self, column: DecisionInput, variables: Mapping[str, Any]) -> Any:
        try:
            value = column.evaluate(variables)
        except ExpressionError as exc:
            raise DecisionError(
                f"Decision '{self.key}': input expression '{column.expression}' of {_describe(column)} "
                f"failed: {exc}",
                self.key,
            ) from exc
        try:
            return _coerce(value, column.type_ref)
        except (TypeError, ValueError, ArithmeticError):
            raise DecisionError(
                f"Decision '{self.key}': cannot convert value {value!r} of {_describe(column)} "
                f"to type '{column.type_ref}'",
                self.key,
            ) from None

    def _conclude(
        self, matched: list[Rule], variables: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], list[str | None]]:
        policy = self.hit_policy
        if policy == "UNIQUE" and len(matched) > 1:
            raise DecisionError(
                f"Hit policy 'UNIQUE' only allows a single rule to match in decision '{self.key}'. "
                f"Actually matched rules: {_rule_list(matched)}.",
                self.key,
                [rule.id for rule in matched],
                kind="DmnHitPolicyException",
            )
        if policy in ("UNIQUE", "FIRST"):
            matched = matched[:1]
        results = [self._result_entry(rule, variables) for rule in matched]
        if policy == "ANY" and results:
            if any(entry != results[0] for entry in results[1:]):
                raise DecisionError(
                    f"Hit policy 'ANY' only allows multiple matching rules with equal output in decision "
                    f"'{self.key}'. Matching rules: {_rule_list(matched)}.",
                    self.key,
                    [rule.id for rule in matched],
                    kind="DmnHitPolicyException",
                )
            matched, results = matched[:1], results[:1]
        rule_ids = [rule.id for rule in matched]
        if self.aggregation:
            return self._aggregate(results, rule_ids), rule_ids
        return results, rule_ids

    def _result_entry(self, rule: Rule, variables: Mapping[str, Any]) -> dict[str, Any]:
        entry = {}
        for index, conclusion in rule.conclusions:
            output = self.outputs[index]
            entry[output.name] = self._output_value(output, conclusion, variables, rule)
        return entry

    def _output_value(
        self, output: DecisionOutput, expression: Evaluate, variables: Mapping[str, Any], rule: Rule | None
    ) -> Any:
        if rule is None:
            where, rule_ids = f"literal expression '{output.name}'", []
        else:
            where, rule_ids = f"output '{output.name}' of rule '{rule.id}'", [rule.id]
        try:
            value = expression(variables)
        except ExpressionError as exc:
            raise DecisionError(f"Decision '{self.key}': {where} failed: {exc}", self.key, rule_ids) from exc
        try:
            return _coerce(value, output.type_ref)
        except (TypeError, ValueError, ArithmeticError):
            raise DecisionError(
                f"Decision '{self.key}': cannot convert value {value!r} of {where} to type '{output.type_ref}'",
                self.key,
                rule_ids,
            ) from None

    def _aggregate(self, results: list[dict[str, Any]], rule_ids: list[str | None]) -> list[dict[str, Any]]:
        name = self.outputs[0].name
        values = [entry[name] for entry in results if name in entry]
        if self.aggregation == "COUNT":
            return [{name: len(values)}]
        if not values:
            # Camunda gives no aggregate then, only the (empty) entries of the rules that matched.
            return results
        if any(isinstance(value, bool) or not isinstance(value, (int, float)) for value in values):
            raise DecisionError(
                f"Decision '{self.key}': cannot {self.aggregation} the values {values!r} of output "
                f"'{name}', they are not all numbers",
                self.key,
                rule_ids,
            )
        aggregate = {"SUM": sum, "MIN": min, "MAX": max}[self.aggregation]
        return [{name: aggregate(values)}]


def _describe(column: DecisionInput) -> str:
    return f"input '{column.label or column.expression}' ({column.id})"


def _rule_list(rules: list[Rule]) -> str:
    return ", ".join(f"'{rule.id}'" for rule in rules)


def _required_in_order(
    decision: DecisionDefinition, decisions: Mapping[str, DecisionDefinition]
) -> list[DecisionDefinition]:
    """Required decisions, transitively, each before the decisions requiring it, each once.

    Parsing refuses cycles and unknown keys within a file; these checks are for the mappings
    callers pass, which may mix files.
    """
    order: list[DecisionDefinition] = []
    done: set[str] = set()
    path = [decision.key]

    def visit(current: DecisionDefinition) -> None:
        for key in current.required_decisions:
            if key in done:
                continue
            if key in path:
                raise DecisionError(
                    f"Decision '{decision.key}': required decisions form a cycle through '{key}'", decision.key
                )
            required = decisions.get(key)
            if required is None:
                raise DecisionError(
                    f"Decision '{current.key}' requires decision '{key}', which is not available", decision.key
                )
            path.append(key)
            visit(required)
            path.pop()
            done.add(key)
            order.append(required)

    visit(decision)
    return order


def _add_to_variables(
    scope: dict[str, Any], decision: DecisionDefinition, results: list[dict[str, Any]]
) -> None:
    """Camunda's rule: a single result entry adds its outputs as values, except for tables that
    collect (COLLECT without aggregation, RULE ORDER), whose outputs become lists as soon as
    anything matched, so that the requiring decision sees the same type whatever the count."""
    if not results:
        return
    collecting = decision.hit_policy in ("COLLECT", "RULE ORDER") and decision.aggregation is None
    if len(results) == 1 and not collecting:
        scope.update(results[0])
        return
    for name in dict.fromkeys(name for entry in results for name in entry):
        scope[name] = [entry[name] for entry in results if name in entry]


def map_decision_result(results: list[dict[str, Any]], mapping: str | None) -> Any:
    """Camunda's camunda:mapDecisionResult on a business rule task (default resultList)."""
    mapping = mapping or "resultList"
    if mapping == "resultList":
        return results
    if mapping == "singleResult":
        return _single_result(results, mapping)
    if mapping == "singleEntry":
        entry = _single_result(results, mapping)
        if entry is None:
            return None
        if len(entry) > 1:
            raise _mapping_error(
                mapping,
                results,
                f"Unable to get single decision result entry as it has more than one entry '{entry}'",
            )
        return next(iter(entry.values()), None)
    if mapping == "collectEntries":
        names = list(dict.fromkeys(name for entry in results for name in entry))
        if len(names) > 1:
            raise _mapping_error(
                mapping,
                results,
                f"The decision outputs should only contains values for one output name but found {names}",
            )
        return [value for entry in results for value in entry.values()]
    raise DecisionError(
        f"No decision result mapper found for name '{mapping}'. Supported names are: "
        + ", ".join(DECISION_RESULT_MAPPINGS),
        kind="ProcessEngineException",
    )


def _single_result(results: list[dict[str, Any]], mapping: str) -> dict[str, Any] | None:
    if len(results) > 1:
        raise _mapping_error(
            mapping, results, f"Unable to get single decision result as it has more than one result '{results}'"
        )
    return results[0] if results else None


def _mapping_error(mapping: str, results: list[dict[str, Any]], reason: str) -> DecisionError:
    return DecisionError(
        f"The decision result mapper '{mapping}' failed to process '{results}': {reason}",
        kind="ProcessEngineException",
    )


# --- typeRef coercion, as Camunda's data type transformers do it (unknown types pass through) ---


def _coerce(value: Any, type_ref: str | None) -> Any:
    if value is None or type_ref is None:
        return value
    convert = _CONVERTERS.get(type_ref.lower())
    return value if convert is None else convert(value)


def _integer(limit: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d+", value):
                raise ValueError(value)
            number = int(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = int(value)
            if number != value:
                raise ValueError(value)
        else:
            raise TypeError(value)
        if not -limit <= number < limit:
            raise ValueError(value)
        return number

    return convert


def _double(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(value)
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(value)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(value)


def _date(value: Any) -> datetime:
    # Dates travel as ISO strings in process variables (see engine/variables.py).
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "boolean": _boolean,
    "integer": _integer(2**31),
    "long": _integer(2**63),
    "double": _double,
    "date": _date,
}


# --- parsing ---


def parse_dmn(content: bytes, filename: str) -> list[DecisionDefinition]:
    """Every decision of a DMN file, or DeploymentError listing every problem found in it."""
    root = parse_untrusted(content, filename)
    return _Parser(filename, root).parse()


class _Parser:
    def __init__(self, filename: str, root: etree._Element):
        self.file = filename
        self.root = root
        self.ns = etree.QName(root).namespace
        self.problems: list[Problem] = []
        # Modeler 4 wrote the FEEL URI here; it only restates the default.
        language = root.get("expressionLanguage")
        self.default_language = None if language and _language_of(language) == "feel" else language

    def parse(self) -> list[DecisionDefinition]:
        root = self.root
        if etree.QName(root).localname != "definitions" or self.ns not in DMN_NAMESPACES:
            raise DeploymentError(
                [Problem(self.file, root.get("id"), f"not a DMN file: the root element is {root.tag}")]
            )
        decisions: dict[str, DecisionDefinition] = {}
        for element in root.iterfind(self._tag("decision")):
            decision = self._decision(element)
            if decision is None:
                continue
            if decision.key in decisions:
                self._problem(decision.key, "two decisions have this id")
            decisions[decision.key] = decision
        self._check_requirements(decisions)
        if self.problems:
            raise DeploymentError(self.problems)
        for decision in decisions.values():
            decision.drg = decisions
        return list(decisions.values())

    def _problem(self, element_id: str | None, reason: str) -> None:
        self.problems.append(Problem(self.file, element_id, reason))

    def _tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def _text(self, element: etree._Element) -> str:
        return (element.findtext(self._tag("text")) or "").strip()

    def _decision(self, element: etree._Element) -> DecisionDefinition | None:
        key = element.get("id")
        if not key:
            self._problem(None, f"the decision '{element.get('name')}' has no id")
            return None
        requirements = f"{self._tag('informationRequirement')}/{self._tag('requiredDecision')}"
        hrefs = [requirement.get("href") or "" for requirement in element.iterfind(requirements)]
        decision = DecisionDefinition(
            key=key,
            name=element.get("name"),
            version_tag=element.get(f"{{{CAMUNDA_NS}}}versionTag"),
            hit_policy=None,
            aggregation=None,
            required_decisions=tuple(href.removeprefix("#") for href in hrefs),
        )
        table = element.find(self._tag("decisionTable"))
        literal = element.find(self._tag("literalExpression"))
        if table is not None:
            self._decision_table(decision, table)
        elif literal is not None:
            self._literal_expression(decision, element, literal)
        else:
            children = [etree.QName(child).localname for child in element if isinstance(child.tag, str)]
            logic = [name for name in children if name not in _DECISION_METADATA]
            reason = f"its logic '{logic[0]}' is not supported" if logic else "it has no decision table"
            self._problem(key, f"{reason} (only decision tables and literal expressions are)")
        return decision

    def _decision_table(self, decision: DecisionDefinition, table: etree._Element) -> None:
        table_id = table.get("id") or decision.key
        decision.hit_policy = policy = table.get("hitPolicy") or "UNIQUE"
        decision.aggregation = aggregation = table.get("aggregation")
        decision.inputs = tuple(self._input(element) for element in table.iterfind(self._tag("input")))
        decision.outputs = self._outputs(table, table_id)
        if policy not in HIT_POLICIES:
            self._problem(
                table_id, f"hit policy '{policy}' is not supported (supported: {', '.join(HIT_POLICIES)})"
            )
        if aggregation is not None:
            if policy != "COLLECT":
                self._problem(table_id, f"aggregation '{aggregation}' is only allowed with hit policy 'COLLECT'")
            elif aggregation not in AGGREGATIONS:
                self._problem(
                    table_id, f"aggregation '{aggregation}' is not supported (supported: {', '.join(AGGREGATIONS)})"
                )
            elif len(decision.outputs) != 1:
                self._problem(table_id, f"aggregation '{aggregation}' needs exactly one output column")
        decision.rules = tuple(
            self._rule(element, len(decision.inputs), len(decision.outputs))
            for element in table.iterfind(self._tag("rule"))
        )

    def _input(self, element: etree._Element) -> DecisionInput:
        expression = element.find(self._tag("inputExpression"))
        source = "" if expression is None else self._text(expression)
        expression_id = (element if expression is None else expression).get("id")
        compiled = None
        if not source:
            self._problem(expression_id, "the input expression is empty")
        else:
            compiled = self._expression(expression, source, expression_id, "input expression")
        return DecisionInput(
            id=element.get("id"),
            label=element.get("label"),
            expression=source,
            type_ref=None if expression is None else expression.get("typeRef"),
            input_variable=element.get(f"{{{CAMUNDA_NS}}}inputVariable") or "cellInput",
            evaluate=compiled,
        )

    def _outputs(self, table: etree._Element, table_id: str) -> tuple[DecisionOutput, ...]:
        outputs = tuple(
            DecisionOutput(element.get("id"), element.get("label"), element.get("name"), element.get("typeRef"))
            for element in table.iterfind(self._tag("output"))
        )
        if not outputs:
            self._problem(table_id, "the decision table has no output")
        seen: set[str | None] = set()
        for output in outputs:
            if len(outputs) > 1 and not output.name:
                self._problem(output.id, "an output of a table with several outputs needs a name")
            elif output.name in seen:
                self._problem(output.id, f"the output name '{output.name}' is used by another output")
            seen.add(output.name)
        return outputs

    def _rule(self, element: etree._Element, input_count: int, output_count: int) -> Rule:
        rule_id = element.get("id")
        input_entries = element.findall(self._tag("inputEntry"))
        output_entries = element.findall(self._tag("outputEntry"))
        if len(input_entries) != input_count:
            self._problem(rule_id, f"the rule has {len(input_entries)} input entries for {input_count} inputs")
        if len(output_entries) != output_count:
            self._problem(rule_id, f"the rule has {len(output_entries)} output entries for {output_count} outputs")
        input_texts = tuple(self._text(entry) for entry in input_entries)
        output_texts = tuple(self._text(entry) for entry in output_entries)
        return Rule(
            id=rule_id,
            description=element.findtext(self._tag("description")),
            input_entries=input_texts,
            output_entries=output_texts,
            tests=tuple(
                self._input_entry(entry, text, entry.get("id") or rule_id)
                for entry, text in zip(input_entries, input_texts)
            ),
            conclusions=tuple(
                (index, self._expression(entry, text, entry.get("id") or rule_id, "output entry"))
                for index, (entry, text) in enumerate(zip(output_entries, output_texts))
                if text
            ),
        )

    def _input_entry(self, element: etree._Element, text: str, element_id: str | None) -> Test | None:
        if text in ("", "-"):
            return None
        language = self._language(element, text, element_id)
        try:
            if language == "feel":
                return compile_unary_tests(text).matches
            if language == "juel":
                expression = compile_expression(text)
                # As in Camunda: a JUEL input entry matches when it yields true itself, not merely truthy.
                return lambda value, context: expression.evaluate(context) is True
        except ExpressionError as exc:
            self._problem(element_id, f"input entry '{text}' does not compile: {exc}")
        return None

    def _expression(
        self, element: etree._Element, text: str, element_id: str | None, what: str
    ) -> Evaluate | None:
        language = self._language(element, text, element_id)
        try:
            if language == "feel":
                return compile_feel_expression(text).evaluate
            if language == "juel":
                return compile_expression(text).evaluate
        except ExpressionError as exc:
            self._problem(element_id, f"{what} '{text}' does not compile: {exc}")
        return None

    def _language(self, element: etree._Element, text: str, element_id: str | None) -> str | None:
        """'feel' or 'juel'; None (and a problem) for a language this engine does not run."""
        declared = element.get("expressionLanguage")
        if declared is None and text.startswith(("${", "#{")):
            # No FEEL text starts so; it is a JUEL expression from a model made for Camunda < 7.13.
            return "juel"
        declared = declared or self.default_language
        if declared is None:
            return "feel"  # Camunda 7.13+ default for every DMN expression
        language = _language_of(declared)
        if language is None:
            self._problem(element_id, f"expression language '{declared}' is not supported (only FEEL and JUEL are)")
        return language

    def _literal_expression(
        self, decision: DecisionDefinition, element: etree._Element, literal: etree._Element
    ) -> None:
        variable = element.find(self._tag("variable"))
        if variable is None or not variable.get("name"):
            self._problem(decision.key, "a literal-expression decision needs a variable with a name")
        else:
            decision.outputs = (
                DecisionOutput(variable.get("id"), None, variable.get("name"), variable.get("typeRef")),
            )
        literal_id = literal.get("id") or decision.key
        decision.literal_expression = text = self._text(literal)
        if not text:
            self._problem(literal_id, "the literal expression is empty")
        else:
            decision.literal = self._expression(literal, text, literal_id, "literal expression")

    def _check_requirements(self, decisions: dict[str, DecisionDefinition]) -> None:
        for decision in decisions.values():
            for key in decision.required_decisions:
                if key not in decisions:
                    self._problem(decision.key, f"the required decision '{key}' is not a decision of this file")
            if _requires_itself(decision, decisions):
                self._problem(decision.key, "the decision requires itself through its required decisions")


def _requires_itself(decision: DecisionDefinition, decisions: Mapping[str, DecisionDefinition]) -> bool:
    pending, seen = list(decision.required_decisions), set()
    while pending:
        key = pending.pop()
        if key == decision.key:
            return True
        if key not in seen and key in decisions:
            seen.add(key)
            pending.extend(decisions[key].required_decisions)
    return False


def _language_of(declared: str) -> str | None:
    lowered = declared.strip().lower()
    if lowered == "feel" or "/feel" in lowered:  # "feel" or one of the OMG FEEL namespace URIs
        return "feel"
    if lowered == "juel":
        return "juel"
    return None


# Children of <decision> that describe it rather than say how it decides.
_DECISION_METADATA = frozenset(
    {
        "description",
        "extensionElements",
        "question",
        "allowedAnswers",
        "variable",
        "informationRequirement",
        "knowledgeRequirement",
        "authorityRequirement",
        "supportedObjective",
        "impactedPerformanceIndicator",
        "decisionMaker",
        "decisionOwner",
        "usingProcess",
        "usingTask",
    }
)
