"""The FEEL subset that Camunda Modeler 7 writes into DMN decision tables.

Like engine.expressions, this parses with our own grammar and evaluates closures built
from it: no eval, no attribute access on Python objects, and only the built-ins listed in
FUNCTIONS (engine/feel_values.py) can be called.

Values follow FEEL's null semantics: an unknown name, a missing key, a path into a
non-context, arithmetic on null or on mismatched types, division by zero and ordering
across types all give null (None), and a unary test whose comparison is null does not
match. So citizens' odd input makes rules not match instead of failing the decision.

Numbers: integer literals are Python ints and stay exact through + - * and through / and
** when the result is whole; literals with a decimal point are floats (JSON variables are
floats anyway). Dates are datetime.date, `date and time` is datetime.datetime, and
`duration` gives a datetime.timedelta (days and times only, no years or months).

Precedence follows the usual FEEL implementations: `**` is left-associative and unary
minus binds tighter, so `-2 ** 2` is 4 and `2 ** 3 ** 2` is 64.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from lark import Lark, Token, Tree, UnexpectedInput

from .errors import ExpressionError
from .expressions import kind_of, parse_error
from .feel_values import ARITHMETIC, COMPARISONS, FUNCTIONS, LITERALS, all_true, feel_equal

_GRAMMAR = r"""
?expression: disjunction
           | _IF expression _THEN expression _ELSE expression -> if_
?disjunction: conjunction
            | disjunction _OR conjunction -> or_
?conjunction: comparison
            | conjunction _AND comparison -> and_
?comparison: sum
           | sum CMP_OP sum -> compare
           | sum _BETWEEN sum _AND sum -> between
           | sum _IN in_test -> in_
?sum: product
    | sum ADD_OP product -> arith
?product: power
        | product MUL_OP power -> arith
?power: unary
      | power POW_OP unary -> arith
?unary: postfix
      | "-" unary -> neg
?postfix: atom
        | postfix "." NAME -> path
?atom: NAME -> name
     | QMARK -> input
     | NUMBER -> number
     | STRING -> string
     | _TRUE -> true
     | _FALSE -> false
     | _NULL -> null
     | (NAME | SPACED_NAME) "(" [expression ("," expression)*] ")" -> call
     | "[" [expression ("," expression)*] "]" -> list
     | "(" expression ")"

unary_tests: positive_test ("," positive_test)*
?positive_test: simple_test
              | expression -> expression_test
?in_test: simple_test
        | sum -> value_test
?simple_test: CMP_OP sum -> compare_test
            | (LSQB | LPAR | RSQB) sum ".." sum (RSQB | RPAR | LSQB) -> interval

// Keywords must not run into a following letter (`index` is a name, not `in dex`).
_IF.2: /if(?!\w)/
_THEN.2: /then(?!\w)/
_ELSE.2: /else(?!\w)/
_OR.2: /or(?!\w)/
_AND.2: /and(?!\w)/
_BETWEEN.2: /between(?!\w)/
_IN.2: /in(?!\w)/
_TRUE.2: /true(?!\w)/
_FALSE.2: /false(?!\w)/
_NULL.2: /null(?!\w)/
// The built-ins whose names contain spaces, recognised only right before their "(".
SPACED_NAME.3: /(?:date\s+and\s+time|string\s+length)(?=\s*\()/
CMP_OP: "<=" | ">=" | "!=" | "<" | ">" | "="
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
POW_OP: "**"
QMARK: "?"
LSQB: "["
RSQB: "]"
LPAR: "("
RPAR: ")"
NAME: /[^\W\d]\w*/
NUMBER: /\d+(?:\.\d+)?|\.\d+/
STRING: /"(?:[^"\\]|\\.)*"/
%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", start=["expression", "unary_tests"])

_RESERVED = frozenset("if then else or and between in true false null".split())

Evaluator = Callable[[Mapping[str, Any], Any], Any]  # (context, input value for `?`) -> value
Test = Callable[[Any, Mapping[str, Any], Any], bool]  # (value, context, `?`) -> matches


class FeelExpression:
    __slots__ = ("source", "variable_names", "_evaluate")

    def __init__(self, source: str, evaluate: Evaluator, names: frozenset[str]):
        self.source = source
        self.variable_names = names
        self._evaluate = evaluate

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        try:
            return self._evaluate(context, None)
        except RecursionError:
            raise ExpressionError(f"expression nested too deeply: '{self.source}'", self.source) from None

    def __repr__(self) -> str:
        return f"FeelExpression({self.source!r})"


class UnaryTests:
    __slots__ = ("source", "_test")

    def __init__(self, source: str, test: Test):
        self.source = source
        self._test = test

    def matches(self, value: Any, context: Mapping[str, Any]) -> bool:
        try:
            return self._test(value, context, value)
        except RecursionError:
            raise ExpressionError(f"expression nested too deeply: '{self.source}'", self.source) from None

    def __repr__(self) -> str:
        return f"UnaryTests({self.source!r})"


@functools.lru_cache(maxsize=2048)
def compile_feel_expression(text: str) -> FeelExpression:
    builder = _Builder(text, 0, allow_input=False)
    evaluate = builder.parse(text, "expression")
    return FeelExpression(text, evaluate, frozenset(builder.names))


@functools.lru_cache(maxsize=2048)
def compile_unary_tests(text: str | None) -> UnaryTests:
    """An input entry: `-` or blank matches anything; `not(...)` negates the tests inside."""
    if text is None or text.strip() in ("", "-"):
        return UnaryTests(text or "", lambda value, context, q: True)
    # An LALR grammar cannot tell `not("a", "b")` from a call of the function not(x), so
    # first try the entry as a negation of what is inside the outer parentheses.
    negation = re.fullmatch(r"\s*not\s*\((.*)\)\s*", text, re.S)
    if not negation:
        return UnaryTests(text, _Builder(text, 0).parse(text, "unary_tests"))
    try:
        tests = _Builder(text, negation.start(1)).parse(negation.group(1), "unary_tests")
    except ExpressionError as error:
        try:  # e.g. `not(a) or not(b)`: one expression test, not a negation
            return UnaryTests(text, _Builder(text, 0).parse(text, "unary_tests"))
        except ExpressionError:
            raise error from None
    return UnaryTests(text, lambda value, context, q: not tests(value, context, q))


class _Builder:
    """Turns a parse tree into closures; `offset` places columns inside the original text."""

    def __init__(self, source: str, offset: int, allow_input: bool = True):
        self.source = source
        self.offset = offset
        self.allow_input = allow_input
        self.names: set[str] = set()

    def parse(self, text: str, start: str):
        try:
            return self.build(_PARSER.parse(text, start=start))
        except UnexpectedInput as exc:
            raise parse_error(exc, self.source, self.offset) from None
        except RecursionError:
            raise ExpressionError(f"expression nested too deeply: '{self.source}'", self.source) from None

    def build(self, node: Tree):
        # Dispatch on our own grammar's rule names; nothing from the text picks a method.
        return getattr(self, "_" + node.data)(*node.children)

    def _fail(self, message: str, token: Token) -> ExpressionError:
        column = self.offset + token.start_pos + 1
        return ExpressionError(f"{message} at column {column} in '{self.source}'", self.source)

    def _checked(self, token: Token) -> str:
        if token in _RESERVED:
            raise self._fail(f"'{token}' is a reserved word, not a name,", token)
        return str(token)

    # -- values

    def _name(self, token):
        name = self._checked(token)
        self.names.add(name)
        return lambda context, q: context.get(name)

    def _path(self, target, token):
        target, key = self.build(target), self._checked(token)

        def path(context, q):
            obj = target(context, q)
            return obj.get(key) if isinstance(obj, Mapping) else None

        return path

    def _input(self, token):
        if not self.allow_input:
            raise self._fail("'?' (the input value) is only allowed in input entries;", token)
        return lambda context, q: q

    def _number(self, token):
        value = float(token) if "." in token else int(token)
        return lambda context, q: value

    def _string(self, token):
        value = self._unquote(token)
        return lambda context, q: value

    def _true(self):
        return lambda context, q: True

    def _false(self):
        return lambda context, q: False

    def _null(self):
        return lambda context, q: None

    def _list(self, *items):
        items = [self.build(i) for i in items if i is not None]
        return lambda context, q: [item(context, q) for item in items]

    def _call(self, token, *args):
        name = " ".join(token.split())
        if name not in FUNCTIONS:
            raise self._fail(f"unknown function '{name}'", token)
        function, arity = FUNCTIONS[name]
        args = [a for a in args if a is not None]
        if len(args) != arity:
            raise self._fail(f"'{name}' takes {arity} argument(s), got {len(args)},", token)
        if all(a.data in LITERALS for a in args):
            # Constant arguments: a malformed date is a modelling error, report it now.
            values = [self.build(a)(None, None) for a in args]
            try:
                value = function(*values)
            except ValueError as exc:
                raise self._fail(f"{name}: {exc}", token) from None
            return lambda context, q: value
        args = [self.build(a) for a in args]

        def call(context, q):
            try:
                return function(*(a(context, q) for a in args))
            except ValueError:
                return None

        return call

    # -- operators

    def _neg(self, operand):
        operand = self.build(operand)

        def neg(context, q):
            value = operand(context, q)
            return -value if kind_of(value) in ("number", "timedelta") else None

        return neg

    def _arith(self, left, op, right):
        left, right, apply = self.build(left), self.build(right), ARITHMETIC[str(op)]
        return lambda context, q: apply(left(context, q), right(context, q))

    def _compare(self, left, op, right):
        left, right, apply = self.build(left), self.build(right), COMPARISONS[str(op)]
        return lambda context, q: apply(left(context, q), right(context, q))

    def _between(self, value, low, high):
        value, low, high = self.build(value), self.build(low), self.build(high)

        def between(context, q):
            v = value(context, q)
            return all_true(COMPARISONS[">="](v, low(context, q)), COMPARISONS["<="](v, high(context, q)))

        return between

    def _and_(self, left, right):
        left, right = self.build(left), self.build(right)

        def and_(context, q):
            # FEEL's three-valued logic: false wins, then null, then true.
            a = left(context, q)
            return False if a is False else all_true(a, right(context, q))

        return and_

    def _or_(self, left, right):
        left, right = self.build(left), self.build(right)

        def or_(context, q):
            a = left(context, q)
            if a is True:
                return True
            b = right(context, q)
            return True if b is True else False if a is False and b is False else None

        return or_

    def _if_(self, test, then, otherwise):
        test, then, otherwise = self.build(test), self.build(then), self.build(otherwise)
        return lambda context, q: then(context, q) if test(context, q) is True else otherwise(context, q)

    def _in_(self, value, test):
        value, test = self.build(value), self.build(test)
        return lambda context, q: test(value(context, q), context, q)

    # -- tests: (value, context, q) -> bool

    def _unary_tests(self, *tests):
        tests = [self.build(t) for t in tests]
        return lambda value, context, q: any(t(value, context, q) for t in tests)

    def _compare_test(self, op, operand):
        operand, apply = self.build(operand), COMPARISONS[str(op)]
        return lambda value, context, q: apply(value, operand(context, q)) is True

    def _interval(self, opening, low, high, closing):
        low, high = self.build(low), self.build(high)
        above = COMPARISONS[">=" if opening == "[" else ">"]
        below = COMPARISONS["<=" if closing == "]" else "<"]
        return lambda value, context, q: (
            above(value, low(context, q)) is True and below(value, high(context, q)) is True
        )

    def _expression_test(self, expression):
        # With `?` the entry is a condition on the input; otherwise the input must equal
        # the entry's value, or be one of its items when that value is a list.
        if any(node.data == "input" for node in expression.iter_subtrees()):
            expression = self.build(expression)
            return lambda value, context, q: expression(context, q) is True
        return self._value_test(expression)

    def _value_test(self, expression):
        expression = self.build(expression)

        def test(value, context, q):
            expected = expression(context, q)
            if isinstance(expected, list):
                return any(feel_equal(value, item) for item in expected)
            return feel_equal(value, expected)

        return test

    _ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}

    def _unquote(self, token: Token) -> str:
        def unescape(match):
            code = match.group(1)
            if code.startswith("u"):
                return chr(int(code[1:], 16))
            if code not in self._ESCAPES:
                raise self._fail(f"invalid escape sequence '\\{code}' in string {token}", token)
            return self._ESCAPES[code]

        return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", unescape, token[1:-1], flags=re.S)
