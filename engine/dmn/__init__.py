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
from .model import DecisionDefinition, DecisionError, DecisionInput, DecisionOutput, Rule, map_decision_result
from .parser import parse_dmn

__all__ = ["DecisionDefinition", "DecisionError", "DecisionInput", "DecisionOutput", "Rule", "map_decision_result",
           "parse_dmn"]
