import datetime

import pytest

from engine.errors import ExpressionError
from engine.feel import compile_feel_expression, compile_unary_tests

CONTEXT = {
    "age": 30,
    "income": 1500.5,
    "region": "north",
    "approved": True,
    "nothing": None,
    "applicant": {"name": "Lan", "address": {"province": "Hue"}},
    "birth": datetime.date(2024, 7, 1),
    "limit": 5,
    "huge": "P999999999999D",
}


def ev(text, context=CONTEXT):
    return compile_feel_expression(text).evaluate(context)


def matches(text, value, context=CONTEXT):
    return compile_unary_tests(text).matches(value, context)


@pytest.mark.parametrize(
    "text, expected",
    [
        # literals
        ("1", 1),
        ("1.25", 1.25),
        (".5", 0.5),
        ('"text"', "text"),
        (r'"say \"hi\"\n\u00e9"', 'say "hi"\né'),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 2, 3]", [1, 2, 3]),
        ("[]", []),
        # names and paths; unknown means null
        ("age", 30),
        ("applicant.address.province", "Hue"),
        ("applicant.missing", None),
        ("applicant.name.first", None),
        ("unknown", None),
        ("unknown.path", None),
        # arithmetic: ints stay exact
        ("20 * 500000", 10000000),
        ("age + 1", 31),
        ("age - 31", -1),
        ("10 / 4", 2.5),
        ("10 / 2", 5),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-age", -30),
        ("income * 2", 3001.0),
        ('"ab" + "cd"', "abcd"),
        # null and mismatched operands give null
        ("nothing + 1", None),
        ('age + "1"', None),
        ("true * 2", None),
        ("1 / 0", None),
        ("-\"x\"", None),
        ("(-8) ** 0.5", None),
        ("10 ** 100000", None),
        # comparisons
        ("age = 30", True),
        ("age = 30.0", True),
        ("age != 30", False),
        ("age < 40", True),
        ("age <= 30", True),
        ("age > 30", False),
        ("age >= 31", False),
        ('region = "north"', True),
        ('region < "south"', True),
        ('age = "30"', False),
        ('age < "40"', None),
        ("nothing = null", True),
        ("nothing < 1", None),
        ("approved = true", True),
        # logic is three-valued
        ("approved and age > 18", True),
        ("approved and nothing", None),
        ("false and nothing", False),
        ("nothing or true", True),
        ("nothing or false", None),
        ("false or false", False),
        ("not(approved)", False),
        ("not(nothing)", None),
        # between, in, if
        ("age between 18 and 65", True),
        ("age between 31 and 65", False),
        ("nothing between 1 and 2", None),
        ("age in [1..30]", True),
        ("age in [1..30)", False),
        ("age in [10, 30]", True),
        ("age in < 18", False),
        ('region in ["north", "south"]', True),
        ('if age >= 18 then "adult" else "minor"', "adult"),
        ('if nothing then "yes" else "no"', "no"),
        ("if false then 1 else if true then 2 else 3", 2),
        # built-ins
        ('date("2024-07-01")', datetime.date(2024, 7, 1)),
        ('date and time("2024-07-01T08:30:00+07:00")',
         datetime.datetime(2024, 7, 1, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=7)))),
        ('date and   time("2024-07-01T08:30:00")', datetime.datetime(2024, 7, 1, 8, 30)),
        ('duration("P2DT3H")', datetime.timedelta(days=2, hours=3)),
        ('duration("-PT90M")', -datetime.timedelta(minutes=90)),
        ('string length("Lan")', 3),
        ("string length(age)", None),
        ("date(region)", None),
        ("duration(huge)", None),
        ('birth + duration("P30D")', datetime.date(2024, 7, 31)),
        ('date("2024-07-10") - birth', datetime.timedelta(days=9)),
        ('birth < date("2024-12-31")', True),
        ('birth > date and time("2024-12-31T00:00:00")', None),
    ],
)
def test_evaluate(text, expected):
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 * 3 ** 2", 18),
        ("-2 ** 2", 4),
        ("2 ** 3 ** 2", 64),
        ("10 - 4 - 3", 3),
        ("1 + 2 = 3", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("1 < 2 and 3 < 2 or true", True),
        ("age between 20 and 40 and false", False),
        ("if true then 1 else 2 + 10", 1),
        ("if false then 1 else 2 + 10", 12),
    ],
)
def test_precedence(text, expected):
    assert ev(text) == expected


def test_variable_names_are_top_level_names():
    expr = compile_feel_expression('applicant.name = x and date("2024-01-01") < y and not(z)')
    assert expr.variable_names == frozenset({"applicant", "x", "y", "z"})


@pytest.mark.parametrize(
    "text, value, expected",
    [
        # anything
        (None, "x", True),
        ("", None, True),
        ("-", 42, True),
        (" - ", None, True),
        # literals and lists of literals
        ('"a"', "a", True),
        ('"a"', "b", False),
        ('"a","b"', "b", True),
        ('"a", "b"', "c", False),
        ("5", 5, True),
        ("5", 5.0, True),
        ("5", "5", False),
        ("true", True, True),
        ("true", None, False),
        ("region", "north", True),
        ("applicant.address.province", "Hue", True),
        ("[1, 2]", 2, True),
        ("[1, 2]", 3, False),
        # null
        ("null", None, True),
        ("null", 0, False),
        ("null", "", False),
        # comparisons
        ("< 6", 5, True),
        ("< 6", 6, False),
        ("< 6", None, False),
        ("< 6", "5", False),
        ("<= 6", 6, True),
        ("> 5", 6, True),
        (">= 80", 80, True),
        (">= 80", 79.9, False),
        ('!= "x"', "y", True),
        ('!= "x"', "x", False),
        ('!= "x"', None, True),
        ("< limit", 4, True),
        ("< limit + 1", 5, True),
        ("< -1", -2, True),
        ('< date("2024-07-02")', datetime.date(2024, 7, 1), True),
        ('< date("2024-07-02")', "2024-07-01", False),
        # intervals
        ("[1..5]", 1, True),
        ("[1..5]", 5, True),
        ("[1..5]", 0, False),
        ("(1..5]", 1, False),
        ("]1..5]", 1, False),
        ("[1..5)", 5, False),
        ("[1..5[", 5, False),
        ("]1..5[", 3, True),
        ("[1..5]", None, False),
        ("[1.5..2.5]", 2, True),
        ("[limit..10]", 5, True),
        ('[date("2024-01-01")..date("2024-12-31")]', datetime.date(2024, 7, 1), True),
        # several tests, any may match
        ("< 5, > 10", 11, True),
        ("< 5, > 10", 7, False),
        ("[1..2], [8..9]", 8, True),
        # negation
        ('not("a","b")', "c", True),
        ('not("a","b")', "a", False),
        ("not(< 5)", 7, True),
        ("not(< 5)", 3, False),
        ("not([1..5])", 6, True),
        ("not(null)", None, False),
        (" not ( 1 ) ", 2, True),
        # input value `?`
        ("? > 5", 6, True),
        ("? > 5", 5, False),
        ("? > 5", None, False),
        ("? > 5 and ? < 10", 7, True),
        ("string length(?) > 3", "abcd", True),
        ("? in [1, 2]", 2, True),
        ("not(a) or not(b)", True, True),
    ],
)
def test_unary_tests(text, value, expected):
    context = dict(CONTEXT, a=False, b=True)
    assert matches(text, value, context) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("a +", "unexpected end of expression in 'a +'"),
        ("a & b", "unexpected '&' at column 3 in 'a & b'"),
        ("a < b < c", "unexpected '<' at column 7 in 'a < b < c'"),
        ("foo(1)", "unknown function 'foo' at column 1 in 'foo(1)'"),
        ("x.upper()", "unexpected '('"),
        ('date("2024-13-01")', "date: month must be in 1..12 at column 1"),
        ('date("01/07/2024")', "not a date (expected YYYY-MM-DD)"),
        ('date and time("2024-07-01")', "not a date and time"),
        ('duration("P1Y")', "not a days-and-time duration"),
        ('duration("P999999999999D")', "duration out of range"),
        ("date(1, 2)", "'date' takes 1 argument(s), got 2"),
        ("? > 1", "'?' (the input value) is only allowed in input entries; at column 1"),
        ("if a then b", "unexpected end of expression"),
        (r'"bad \q"', r"invalid escape sequence '\q'"),
        ('"open', "unexpected '\"' at column 1"),
        ("then", "'then' is a reserved word, not a name, at column 1 in 'then'"),
        ("a.in", "'in' is a reserved word"),
        ("'single'", "unexpected \"'\" at column 1"),
        ("1..5", "unexpected '..' at column 2"),
    ],
)
def test_expression_compile_errors_are_clear(text, message):
    with pytest.raises(ExpressionError) as info:
        compile_feel_expression(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("< ", "unexpected end of expression in '< '"),
        ("[1..", "unexpected end of expression"),
        ('"a",', "unexpected end of expression"),
        ("[1..5", "unexpected end of expression"),
        ("1..5", "unexpected '..' at column 2 in '1..5'"),
        ("<< 5", "unexpected '<' at column 2"),
        ("not(<)", "unexpected end of expression in 'not(<)'"),
        (" not( < 5 5)", "unexpected '5' at column 11 in ' not( < 5 5)'"),
        ('not(date("x"))', "not a date"),
        ("== 5", "unexpected '=' at column 2"),
    ],
)
def test_unary_test_compile_errors_are_clear(text, message):
    with pytest.raises(ExpressionError) as info:
        compile_unary_tests(text)
    assert message in str(info.value)


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    '" or true or "',
    "${1 + 1}",
    "not(\"a\")",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_citizen_values_are_data_never_code(value):
    context = {"answer": value}
    assert matches('"yes", "no"', value, context) is False
    assert matches("answer", value, context) is True
    assert matches("< 5", value, context) is False
    assert matches('not("yes")', value, context) is True
    assert ev("answer", context) == value
    assert ev('answer + "!"', context) == value + "!"
    assert ev('answer = "yes"', context) is False


def test_paths_read_mappings_not_attributes():
    class Sneaky(dict):
        secret = "attribute"

    assert ev("o.secret", {"o": Sneaky()}) is None
    assert ev("n.real", {"n": 1}) is None
    assert ev("s.__class__", {"s": "x"}) is None


def test_deep_nesting_is_refused_cleanly():
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_feel_expression("-" * 20000 + "1")


def test_compiling_the_same_text_twice_hits_the_cache():
    for compile_ in (compile_feel_expression, compile_unary_tests):
        text = "[1..5], > 100" if compile_ is compile_unary_tests else "age > 18 and region = \"cache\""
        before = compile_.cache_info().hits
        assert compile_(text) is compile_(text)
        assert compile_.cache_info().hits == before + 1
