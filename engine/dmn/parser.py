"""Parsing DMN files as Camunda Modeler 7 saves them into decisions (model.py): every expression
compiled once, so a file is refused with all of its problems at deployment."""
from __future__ import annotations

from typing import Mapping

from lxml import etree

from ..errors import DeploymentError, ExpressionError, Problem
from ..expressions import compile_expression
from ..feel import compile_feel_expression, compile_unary_tests
from ..xml import parse_untrusted
from .model import AGGREGATIONS, HIT_POLICIES, DecisionDefinition, DecisionInput, DecisionOutput, Evaluate, Rule, Test


DMN_NAMESPACES = frozenset(
    {
        "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3, Camunda Modeler 4.5 and later
        "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1, older Camunda Modelers
    }
)
CAMUNDA_NS = "http://camunda.org/schema/1.0/dmn"




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
