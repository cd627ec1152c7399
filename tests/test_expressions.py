import datetime

import pytest

from engine.errors import ExpressionError
from engine.expressions import compile_expression, is_expression

VARS = {
    "amount": 1200,
    "rate": 0.5,
    "name": "Lan",
    "empty_text": "",
    "nothing": None,
    "yes": True,
    "no": False,
    "items": [10, 20, 30],
    "form": {"child": {"name": "Minh", "age": 0}, "tags": [], "list": [{"k": "v"}]},
    "born": datetime.date(2024, 7, 1),
    "deadline": datetime.date(2024, 8, 1),
}


def ev(text, variables=VARS):
    return compile_expression(text).evaluate(variables)


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, False),
        ("", False),
        ("PT48H", False),
        ("cost $5 {ok}", False),
        ("${a}", True),
        ("#{a}", True),
        ("due ${a}", True),
    ],
)
def test_is_expression(text, expected):
    assert is_expression(text) is expected


@pytest.mark.parametrize("text", ["PT48H", "R3/PT10M", "2026-12-01T08:00:00+07:00", "", "price $5 {x}"])
def test_literal_text_is_returned_unchanged(text):
    expr = compile_expression(text)
    assert expr.is_literal
    assert expr.variable_names == frozenset()
    assert expr.evaluate({}) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        # literals
        ("${1}", 1),
        ("${1.5}", 1.5),
        ("${.5}", 0.5),
        ("${1e3}", 1000.0),
        ("${'single'}", "single"),
        ('${"double"}', "double"),
        (r"${'it\'s'}", "it's"),
        (r'${"say \"hi\""}', 'say "hi"'),
        (r"${'back\\slash'}", "back\\slash"),
        ("${'a}b'}", "a}b"),
        ("${true}", True),
        ("${false}", False),
        ("${null}", None),
        # variables and paths
        ("${amount}", 1200),
        ("${form.child.name}", "Minh"),
        ('${form["child"]["age"]}', 0),
        ("${form.list[0].k}", "v"),
        ("${items[2]}", 30),
        ("${items[3]}", None),
        ("${form.missing}", None),
        ("${form.missing.deeper}", None),
        ("${nothing.x}", None),
        ("${nothing[0]}", None),
        # comparisons, symbolic and textual
        ("${amount == 1200}", True),
        ("${amount eq 1200.0}", True),
        ("${amount != 1200}", False),
        ("${amount ne 1}", True),
        ("${amount > 1000}", True),
        ("${amount gt 1000}", True),
        ("${amount >= 1200}", True),
        ("${amount ge 1201}", False),
        ("${amount < 1000}", False),
        ("${amount lt 1000}", False),
        ("${amount <= 1200}", True),
        ("${amount le 1199}", False),
        ("${name < 'Minh'}", True),
        ("${born < deadline}", True),
        ("${nothing < 1}", False),
        ("${nothing > 1}", False),
        ("${name == 1}", False),
        ("${name != 1}", True),
        ("${yes == 1}", False),
        ("${nothing == null}", True),
        ("${form.missing == null}", True),
        # logic
        ("${yes && no}", False),
        ("${yes and yes}", True),
        ("${no || yes}", True),
        ("${no or no}", False),
        ("${!no}", True),
        ("${not yes}", False),
        ("${!nothing}", True),
        ("${nothing || yes}", True),
        # empty
        ("${empty nothing}", True),
        ("${empty empty_text}", True),
        ("${empty form.tags}", True),
        ("${empty form.missing}", True),
        ("${empty items}", False),
        ("${empty name}", False),
        ("${empty 0}", False),
        ("${not empty name}", True),
        # arithmetic
        ("${amount + 1}", 1201),
        ("${amount - 1}", 1199),
        ("${amount * 2}", 2400),
        ("${amount * rate}", 600.0),
        ("${7 / 2}", 3.5),
        ("${6 div 2}", 3.0),
        ("${7 % 3}", 1),
        ("${-7 % 3}", -1),
        ("${7 mod -3}", 1),
        ("${7.5 % 2}", 1.5),
        ("${-amount}", -1200),
        ("${--amount}", 1200),
        ("${amount - -1}", 1201),
        ("${nothing + 1}", 1),
        ("${20 * 500000}", 10000000),
        # ternary
        ("${yes ? 'a' : 'b'}", "a"),
        ("${no ? 'a' : 'b'}", "b"),
        ("${nothing ? 'a' : 'b'}", "b"),
        ("${no ? 1 : yes ? 2 : 3}", 2),
        # typed value survives blanks around a single expression
        ("  ${amount}  ", 1200),
        ("${items}", [10, 20, 30]),
    ],
)
def test_evaluate(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        # * before +, + before comparison, comparison before ==, == before &&, && before ||
        ("${1 + 2 * 3}", 7),
        ("${(1 + 2) * 3}", 9),
        ("${10 - 4 - 3}", 3),
        ("${12 / 2 / 3}", 2.0),
        ("${-2 * 3}", -6),
        ("${1 + 2 > 2}", True),
        ("${1 < 2 == true}", True),
        ("${true || false && false}", True),
        ("${(true || false) && false}", False),
        ("${!true || true}", True),
        ("${!(true || true)}", False),
        ("${empty nothing && false}", False),
        ("${false ? 1 : 2 + 3}", 5),
        ("${true || false ? 'a' : 'b'}", "a"),
        ("${amount > 1000 && name == 'Lan' || no}", True),
    ],
)
def test_precedence(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "${no && undefined}",
        "${yes || undefined}",
        "${no && 1 / 0 == 1}",
        "${yes ? 1 : undefined}",
        "${no ? undefined : 2}",
    ],
)
def test_short_circuit_does_not_evaluate_the_other_side(text):
    ev(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Case ${name} (${amount})", "Case Lan (1200)"),
        ("${nothing}x", "x"),
        ("${yes}/${no}", "true/false"),
        ("PT${form.child.age + 48}H", "PT48H"),
        ("${'a'}${'b'}", "ab"),
    ],
)
def test_templates_concatenate_as_text(text, expected):
    assert ev(text) == expected


def test_variable_names_are_top_level_names():
    expr = compile_expression("${form.child.name == x[y] && !z} and ${amount}")
    assert expr.variable_names == frozenset({"form", "x", "y", "z", "amount"})
    assert not expr.is_literal
    assert not compile_expression("${1 + 2}").is_literal


def test_unknown_variable_is_an_error_naming_it():
    with pytest.raises(ExpressionError) as info:
        ev("${x > 1}", {})
    assert str(info.value) == "Unknown variable 'x' in '${x > 1}'"
    assert info.value.expression == "${x > 1}"


def test_a_variable_set_to_null_is_known():
    assert ev("${x == null}", {"x": None}) is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("${a & b}", "unexpected '&' at column 5 in '${a & b}'"),
        ("x = ${a | b}", "unexpected '|' at column 9 in 'x = ${a | b}'"),
        ("${a +}", "unexpected end of expression in '${a +}'"),
        ("${}", "unexpected end of expression in '${}'"),
        ("${a b}", "unexpected 'b' at column 5 in '${a b}'"),
        ("${a orb}", "unexpected 'orb' at column 5 in '${a orb}'"),
        ("${x.foo()}", "unknown method 'foo()' at column 5 in '${x.foo()}'"),
        ("${foo(1)}", "unknown function 'foo()' at column 3 in '${foo(1)}' (the only functions are now() and dateTime())"),
        ("${now(1)}", "now() takes no arguments"),
        ("${execution.getVariable('x')}", "unknown method 'getVariable()' at column 13"),
        ("${'abc}", "'${' at column 1 is never closed in '${'abc}'"),
        ("due ${a", "'${' at column 5 is never closed"),
        ("${x.__class__}", "names starting with '_' are not allowed: '__class__' at column 5 in '${x.__class__}'"),
        ("${__import__}", "names starting with '_' are not allowed: '__import__' at column 3"),
        ("${a['__globals__']}", "names starting with '_' are not allowed: '__globals__' at column 5"),
        ("${_private > 1}", "names starting with '_' are not allowed"),
        ("${or}", "'or' is a reserved word, not a name, at column 3 in '${or}'"),
        ("${a.empty}", "'empty' is a reserved word"),
        (r"${'a\nb'}", r"invalid escape sequence '\n'"),
        ("${a = 1}", "unexpected '=' at column 5"),
        ("${a ? b}", "unexpected end of expression"),
    ],
)
def test_compile_errors_are_clear(text, message):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert message in str(info.value)


def test_deep_nesting_is_refused_cleanly():
    text = "${" + "-" * 20000 + "1}"
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression(text).evaluate({})


@pytest.mark.parametrize(
    "text, variables, message",
    [
        ("${a < 1}", {"a": "a"}, "cannot compare string 'a' with number 1 using '<' in '${a < 1}'"),
        ("${a >= b}", {"a": True, "b": False}, "cannot compare boolean True with boolean False using '>='"),
        ("${a > b}", {"a": datetime.date(2024, 1, 1), "b": "2024-01-01"}, "cannot compare date"),
        ("${a + 1}", {"a": "5"}, "'+' needs numbers, got string '5'"),
        ("${a * 2}", {"a": True}, "'*' needs numbers, got boolean True"),
        ("${-a}", {"a": "x"}, "'-' needs numbers"),
        ("${a / 0}", {"a": 1}, "division by zero"),
        ("${a % 0}", {"a": 1}, "division by zero"),
        ("${a && true}", {"a": "true"}, "'&&' needs a boolean, got string 'true'"),
        ("${!a}", {"a": 1}, "'!' needs a boolean, got number 1"),
        ("${a ? 1 : 2}", {"a": "yes"}, "'?:' needs a boolean"),
        ("${a.b}", {"a": "text"}, "cannot read property 'b' of a string"),
        ("${a['x']}", {"a": [1]}, "a list index must be an integer, not string"),
        ("${a[true]}", {"a": [1]}, "a list index must be an integer, not boolean"),
        ("${a > b}", {"a": datetime.datetime(2024, 1, 1), "b": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},
         "cannot compare datetime"),
    ],
)
def test_runtime_type_errors_are_expression_errors(text, variables, message):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text).evaluate(variables)
    assert message in str(info.value)
    assert text in str(info.value)


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "${__import__('os').system('x')}",
    "#{1 + 1}",
    "'); drop table users; --",
    "{{7*7}}",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_citizen_values_are_data_never_code(value):
    variables = {"answer": value, "form": {"note": value}}
    assert ev("${answer}", variables) == value
    assert ev("${answer == 'yes'}", variables) is False
    assert ev("${form.note}", variables) == value
    assert ev("Note: ${form.note}", variables) == "Note: " + value
    assert ev("${empty answer}", variables) is False
    assert ev("${form[answer]}", variables) is None


def test_dict_keys_come_from_mappings_not_attributes():
    class Sneaky(dict):
        secret = "attribute"

    assert ev("${o.secret}", {"o": Sneaky()}) is None
    with pytest.raises(ExpressionError, match="cannot read property 'real' of a number"):
        ev("${n.real}", {"n": 1})


def test_compiling_the_same_text_twice_hits_the_cache():
    text = "${amount > 1000 && name == 'cache-check'}"
    before = compile_expression.cache_info().hits
    first = compile_expression(text)
    second = compile_expression(text)
    assert first is second
    assert compile_expression.cache_info().hits == before + 1
