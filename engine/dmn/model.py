"""DMN decisions as evaluated: inputs, outputs, rules and hit policies (parser.py builds them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import EngineError, ExpressionError
from .types import coerce

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
            return coerce(value, column.type_ref)
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
            return coerce(value, output.type_ref)
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
