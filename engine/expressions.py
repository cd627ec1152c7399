"""The `${...}` subset of Camunda's JUEL: conditions, timers, due dates, assignees.

Expressions come from BPMN files and read variables that hold citizens' input, so they
are parsed by our own grammar and evaluated by walking closures built from it: nothing
reaches eval, no attribute of a Python object is ever read, and there are no calls.

Typing follows JUEL where it is cheap to explain and is stricter where JUEL's coercions
would hide a modelling mistake:
- `==`/`!=` compare numbers with numbers (bool is not a number) and otherwise only values
  of the same kind; across kinds they are simply false/true.
- `< <= > >=` order numbers, strings, and dates/datetimes/timedeltas of the same type; with
  null they are false (as in JUEL); anything else raises ExpressionError.
- Arithmetic takes numbers; null counts as 0, as in JUEL. `/` and `div` always give a float,
  `%` and `mod` keep the sign of the dividend, as in Java.
- `&&`, `||`, `!` and `?:` take booleans; null counts as false, as in JUEL. Strings such as
  "true" are refused rather than coerced.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .errors import ExpressionError
from .expression_dates import FUNCTIONS, METHODS, Moments, call_function, call_method
from .expression_values import BINARY_OPERATORS, as_boolean, EvaluationFailure, is_empty, as_number, show, as_text, kind_of

_GRAMMAR = r"""
?start: ternary
?ternary: or_expr
        | or_expr "?" ternary ":" ternary -> cond
?or_expr: and_expr
        | or_expr _OR and_expr -> or_
?and_expr: eq_expr
         | and_expr _AND eq_expr -> and_
?eq_expr: rel_expr
        | eq_expr EQ_OP rel_expr -> binop
?rel_expr: add_expr
         | rel_expr REL_OP add_expr -> binop
?add_expr: mul_expr
         | add_expr ADD_OP mul_expr -> binop
?mul_expr: unary
         | mul_expr MUL_OP unary -> binop
?unary: postfix
      | "-" unary -> neg
      | _NOT unary -> not_
      | _EMPTY unary -> empty
?postfix: atom
        | postfix "." NAME -> attr
        | postfix "." NAME "(" [ternary ("," ternary)*] ")" -> method
        | postfix "[" ternary "]" -> index
?atom: NAME -> var
     | NAME "(" [ternary ("," ternary)*] ")" -> call
     | _TRUE -> true
     | _FALSE -> false
     | _NULL -> null
     | INT -> int_
     | FLOAT -> float_
     | STRING -> string
     | "(" ternary ")"

// Keywords are patterns that must not run into a following letter, so that `a orb`
// fails instead of reading `a or b`; priority 2 puts them ahead of NAME.
_OR.2: /\|\||or(?!\w)/
_AND.2: /&&|and(?!\w)/
_NOT.2: /!(?!=)|not(?!\w)/
_EMPTY.2: /empty(?!\w)/
_TRUE.2: /true(?!\w)/
_FALSE.2: /false(?!\w)/
_NULL.2: /null(?!\w)/
EQ_OP.2: /==|!=|(?:eq|ne)(?!\w)/
REL_OP.2: /<=|>=|<|>|(?:lt|gt|le|ge)(?!\w)/
ADD_OP: /[+-]/
MUL_OP.2: /[*\/%]|(?:div|mod)(?!\w)/
NAME: /[^\W\d]\w*/
FLOAT.2: /\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/
INT: /\d+/
STRING: /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/
%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr")

# JUEL's reserved words; outside operator position the lexer reads them as names.
_RESERVED = frozenset(
    "and or not eq ne lt gt le ge true false null empty div mod instanceof".split()
)

_OPEN = re.compile(r"[$#]\{")


class _Scope(dict):
    """The variables, and what now() and dateTime() read (only for an expression that calls them)."""

    __slots__ = ("moments",)


class Expression:
    """A compiled template: literal text, one typed `${...}`, or text mixed with `${...}`."""

    __slots__ = ("source", "is_literal", "variable_names", "calls_clock", "_evaluate")

    def __init__(self, source: str, parts: list[str | Callable], names: frozenset[str], calls_clock: bool = False):
        self.source = source
        self.is_literal = all(isinstance(p, str) for p in parts)
        self.variable_names = names
        self.calls_clock = calls_clock
        self._evaluate = _template(source, parts)

    def evaluate(self, variables: Mapping[str, Any], moments: Moments | None = None) -> Any:
        """`moments` (the engine's clock and zone) is what now() and dateTime() read."""
        if self.calls_clock:
            variables = _Scope(variables)
            variables.moments = moments
        try:
            return self._evaluate(variables)
        except EvaluationFailure as exc:
            raise ExpressionError(f"{exc} in '{self.source}'", self.source) from None
        except RecursionError:
            raise ExpressionError(f"expression nested too deeply: '{self.source}'", self.source) from None

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def is_expression(text: str | None) -> bool:
    return bool(text) and _OPEN.search(text) is not None


@functools.lru_cache(maxsize=2048)
def compile_expression(text: str) -> Expression:
    """Parse `text` once; raise ExpressionError naming the column of the first mistake."""
    parts: list[str | Callable] = []
    names: set[str] = set()
    calls_clock = False
    pos = 0
    for start, end in _expression_spans(text):
        if start > pos:
            parts.append(text[pos:start])
        builder = _Builder(text, start + 2)
        try:
            tree = _PARSER.parse(text[start + 2 : end])
            parts.append(builder.build(tree))
        except UnexpectedInput as exc:
            raise parse_error(exc, text, start + 2) from None
        except RecursionError:
            raise ExpressionError(f"expression nested too deeply: '{text}'", text) from None
        names |= builder.names
        calls_clock = calls_clock or builder.calls_clock
        pos = end + 1
    if pos < len(text) or not parts:
        parts.append(text[pos:])
    return Expression(text, parts, frozenset(names), calls_clock)


def _template(text: str, parts: list[str | Callable]) -> Callable[[Mapping[str, Any]], Any]:
    pieces = [p for p in parts if callable(p)]
    if not pieces:
        return lambda variables: text
    if len(pieces) == 1 and all(callable(p) or not p.strip() for p in parts):
        # Exactly one ${...}, perhaps padded with blanks: keep the value's type.
        return pieces[0]
    return lambda variables: "".join(p if isinstance(p, str) else as_text(p(variables)) for p in parts)


def parse_error(exc: UnexpectedInput, source: str, offset: int = 0) -> ExpressionError:
    """Turn a lark error into a message an analyst can act on; `offset` is where the parsed
    text starts inside `source`, so columns count from the start of what they wrote."""
    if isinstance(exc, UnexpectedCharacters):
        what, at = repr(exc.char), exc.pos_in_stream
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        what, at = repr(str(exc.token)), exc.token.start_pos
    else:
        return ExpressionError(f"unexpected end of expression in '{source}'", source)
    hint = " (the only calls are now(), dateTime() and dateTime()'s methods)" if what == "'('" else ""
    return ExpressionError(f"unexpected {what} at column {offset + at + 1} in '{source}'{hint}", source)


def _expression_spans(text: str):
    """Yield (start, end) of each `${`/`#{` and its closing brace, skipping braces in quotes."""
    pos = 0
    while (match := _OPEN.search(text, pos)) is not None:
        i, quote = match.end(), None
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "}":
                break
            i += 1
        else:
            raise ExpressionError(
                f"'{match.group()}' at column {match.start() + 1} is never closed in '{text}'", text
            )
        yield match.start(), i
        pos = i + 1


class _Builder:
    """Turns a parse tree into nested closures taking the variables mapping."""

    def __init__(self, source: str, offset: int):
        self.source = source
        self.offset = offset
        self.names: set[str] = set()
        self.calls_clock = False

    def build(self, node: Tree) -> Callable[[Mapping[str, Any]], Any]:
        # Dispatch on our own grammar's rule names; nothing from the text picks a method.
        return getattr(self, "_" + node.data)(*node.children)

    def _refuse_underscore(self, name: str, token: Token) -> None:
        # No attribute is ever read, but refusing `_` names keeps `__class__`-style probing
        # out of models altogether, so a reviewer never has to wonder.
        if name.startswith("_"):
            raise ExpressionError(
                f"names starting with '_' are not allowed: '{name}' at column "
                f"{self.offset + token.start_pos + 1} in '{self.source}'",
                self.source,
            )

    def _name(self, token: Token) -> str:
        name = str(token)
        self._refuse_underscore(name, token)
        if name in _RESERVED:
            raise ExpressionError(
                f"'{name}' is a reserved word, not a name, at column {self.offset + token.start_pos + 1}"
                f" in '{self.source}'",
                self.source,
            )
        return name

    def _var(self, token):
        name = self._name(token)
        self.names.add(name)

        def var(variables):
            try:
                return variables[name]
            except KeyError:
                raise EvaluationFailure(f"Unknown variable '{name}'") from None

        return var

    def _attr(self, target, token):
        key = self._name(token)
        return _member(self.build(target), lambda variables: key)

    def _call(self, token, *arguments):
        name = str(token)
        if name not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{name}()' at column {self.offset + token.start_pos + 1} in '{self.source}' "
                f"(the only functions are now() and dateTime())", self.source)
        if any(a is not None for a in arguments):
            raise ExpressionError(f"{name}() takes no arguments in '{self.source}'", self.source)
        self.calls_clock = True
        return lambda variables: call_function(name, getattr(variables, "moments", None))

    def _method(self, target, token, *arguments):
        name = str(token)
        if name not in METHODS:
            raise ExpressionError(
                f"unknown method '{name}()' at column {self.offset + token.start_pos + 1} in '{self.source}' "
                f"(dateTime() has {', '.join(sorted(METHODS))})", self.source)
        target = self.build(target)
        arguments = [self.build(a) for a in arguments if a is not None]
        return lambda variables: call_method(target(variables), name, [a(variables) for a in arguments])

    def _index(self, target, key):
        if key.data == "string":
            self._refuse_underscore(_unquote(key.children[0], self.source), key.children[0])
        return _member(self.build(target), self.build(key))

    def _true(self):
        return lambda variables: True

    def _false(self):
        return lambda variables: False

    def _null(self):
        return lambda variables: None

    def _int_(self, token):
        value = int(token)
        return lambda variables: value

    def _float_(self, token):
        value = float(token)
        return lambda variables: value

    def _string(self, token):
        value = _unquote(token, self.source)
        return lambda variables: value

    def _neg(self, operand):
        operand = self.build(operand)
        return lambda variables: -as_number(operand(variables), "-")

    def _not_(self, operand):
        operand = self.build(operand)
        return lambda variables: not as_boolean(operand(variables), "!")

    def _empty(self, operand):
        operand = self.build(operand)
        return lambda variables: is_empty(operand(variables))

    def _and_(self, left, right):
        left, right = self.build(left), self.build(right)
        return lambda variables: as_boolean(left(variables), "&&") and as_boolean(right(variables), "&&")

    def _or_(self, left, right):
        left, right = self.build(left), self.build(right)
        return lambda variables: as_boolean(left(variables), "||") or as_boolean(right(variables), "||")

    def _cond(self, test, then, otherwise):
        test, then, otherwise = self.build(test), self.build(then), self.build(otherwise)
        return lambda variables: then(variables) if as_boolean(test(variables), "?:") else otherwise(variables)

    def _binop(self, left, op, right):
        left, right = self.build(left), self.build(right)
        apply = BINARY_OPERATORS[str(op)]
        return lambda variables: apply(left(variables), right(variables))


def _member(target, key):
    """`a.b` and `a[k]`: lists and mappings only; a missing key or a null target gives null."""

    def member(variables):
        obj, k = target(variables), key(variables)
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            return obj.get(k)
        if isinstance(obj, (list, tuple)):
            if type(k) is not int:
                raise EvaluationFailure(f"a list index must be an integer, not {kind_of(k)}")
            return obj[k] if 0 <= k < len(obj) else None
        raise EvaluationFailure(f"cannot read property {show(k)} of a {kind_of(obj)}")

    return member


_ESCAPE = re.compile(r"\\(.)", re.S)


def _unquote(token: Token, source: str) -> str:
    quote, body = token[0], token[1:-1]

    def unescape(match):
        if match.group(1) not in ("\\", quote):
            raise ExpressionError(
                f"invalid escape sequence '\\{match.group(1)}' in string {token} in '{source}'"
                " (only \\\\ and \\" + quote + " are allowed)",
                source,
            )
        return match.group(1)

    return _ESCAPE.sub(unescape, body)
