"""DMN decision tables as Camunda Modeler 7 saves them (fixtures in tests/fixtures/dmn/)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.dmn import DecisionError, map_decision_result, parse_dmn
from engine.errors import DeploymentError

FIXTURES = Path(__file__).parent / "fixtures" / "dmn"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def load(name: str, text: str | None = None) -> dict:
    content = (text if text is not None else fixture_text(name)).encode("utf-8")
    return {decision.key: decision for decision in parse_dmn(content, name)}


def changed(name: str, old: str, new: str, count: int = 1) -> str:
    """The fixture with an edit, as a user would make it in the Modeler's XML view."""
    text = fixture_text(name)
    assert text.count(old) >= 1, f"{old!r} not in {name}"
    return text.replace(old, new, count)


def refusal(name: str, text: str) -> DeploymentError:
    with pytest.raises(DeploymentError) as info:
        parse_dmn(text.encode("utf-8"), name)
    return info.value


def assert_refused(filename: str, text: str, element_id: str | None, *words: str) -> DeploymentError:
    error = refusal(filename, text)
    assert_problem(error, filename, element_id, *words)
    return error


def assert_problem(error: DeploymentError, filename: str, element_id: str | None, *words: str) -> None:
    found = [p for p in error.problems if p.element_id == element_id]
    assert found, f"no problem for element {element_id!r} in {error.problems}"
    assert all(p.file == filename for p in error.problems)
    assert any(all(word.lower() in p.reason.lower() for word in words) for p in found), found
    message = str(error)
    assert filename in message and (element_id is None or element_id in message)


# --- UNIQUE, unary tests, typeRef coercion ---


@pytest.fixture(scope="module")
def dish():
    return load("dish.dmn")["dish"]


def test_modeler_attributes_are_read(dish):
    assert (dish.key, dish.name, dish.version_tag) == ("dish", "Dish", "2")
    assert (dish.hit_policy, dish.aggregation) == ("UNIQUE", None)
    assert [column.label for column in dish.inputs] == ["Season", "How many guests"]
    assert [(output.name, output.type_ref) for output in dish.outputs] == [("desiredDish", "string")]
    assert len(dish.rules) == 7 and dish.rules[3].id == "DecisionRule_1sprng8"
    assert dish.rules[3].description == "Save money"
    assert dish.rules[3].input_entries == ('"Spring"', "[5..8]")


@pytest.mark.parametrize(
    "season, guests, dish_name, rule_id",
    [
        ("Fall", 8, "Spareribs", "DecisionRule_0fall8x"),  # comparison
        ("Spring", 4, "Dry Aged Gourmet Steak", "DecisionRule_0sprng4"),
        ("Spring", 5, "Steak", "DecisionRule_1sprng8"),  # closed range, lower end
        ("Spring", 8, "Steak", "DecisionRule_1sprng8"),  # closed range, upper end
        ("Winter", 10, "Stew", "DecisionRule_0stew12"),  # list of values
        # '-' matches anything, and not("Summer") does not match
        ("Summer", 100, "Light Salad and a nice Steak", "DecisionRule_1summr0"),
        ("Summer", None, "Light Salad and a nice Steak", "DecisionRule_1summr0"),  # '-' matches null too
    ],
)
def test_unique_picks_the_single_matching_rule(dish, season, guests, dish_name, rule_id):
    results, rule_ids = dish.evaluate_with_rules({"season": season, "guestCount": guests})
    assert results == [{"desiredDish": dish_name}]
    assert rule_ids == [rule_id]
    assert dish.evaluate({"season": season, "guestCount": guests}) == results


def test_no_matching_rule_gives_an_empty_result(dish):
    assert dish.evaluate_with_rules({"season": "Monsoon", "guestCount": 3}) == ([], [])


def test_negation_matches_everything_else(dish):
    assert dish.evaluate({"season": "Monsoon", "guestCount": 30}) == [{"desiredDish": "Catering"}]


def test_unique_violation_names_the_decision_and_every_matching_rule(dish):
    with pytest.raises(DecisionError) as info:
        dish.evaluate({"season": "Fall", "guestCount": 30})
    error = info.value
    assert error.decision_key == "dish"
    assert error.rule_ids == ["DecisionRule_0stew12", "DecisionRule_0catr20"]
    assert "UNIQUE" in str(error) and "'dish'" in str(error)
    assert "DecisionRule_0stew12" in str(error) and "DecisionRule_0catr20" in str(error)


@pytest.mark.parametrize("guests", ["6", 6.0, "+6"])
def test_input_is_coerced_to_its_type_ref(dish, guests):
    assert dish.evaluate({"season": "Fall", "guestCount": guests}) == [{"desiredDish": "Spareribs"}]


@pytest.mark.parametrize("guests", ["six", 6.5, True, "6.0", 2**40])
def test_input_that_does_not_fit_its_type_ref_is_a_clear_error(dish, guests):
    with pytest.raises(DecisionError) as info:
        dish.evaluate({"season": "Fall", "guestCount": guests})
    message = str(info.value)
    assert "'dish'" in message and "How many guests" in message and "integer" in message
    assert info.value.decision_key == "dish"


def test_string_type_ref_turns_values_into_camunda_strings():
    decisions = load("dish.dmn", changed("dish.dmn", "<text>\"Summer\"</text>", "<text>\"true\"</text>"))
    assert decisions["dish"].evaluate({"season": True, "guestCount": 1}) == [
        {"desiredDish": "Light Salad and a nice Steak"}
    ]


def test_date_type_ref_reads_iso_strings():
    text = changed("dish.dmn", '<text>guestCount</text>', "<text>bookedOn</text>")
    text = text.replace('typeRef="integer"', 'typeRef="date"')
    text = text.replace("<text>&lt;= 8</text>", '<text>&lt; date and time("2025-01-01T00:00:00")</text>', 1)
    decision = load("dish.dmn", text)["dish"]
    for booked_on in ("2024-06-01T10:30:00", "2024-06-01"):
        assert decision.evaluate({"season": "Fall", "bookedOn": booked_on}) == [{"desiredDish": "Spareribs"}]
    assert decision.evaluate({"season": "Fall", "bookedOn": "2025-06-01T10:30:00"}) == []
    with pytest.raises(DecisionError, match="'date'"):
        decision.evaluate({"season": "Fall", "bookedOn": "last Tuesday"})


def test_dollar_brace_input_expression_is_juel():
    text = changed("dish.dmn", "<text>guestCount</text>", "<text>${guestCount}</text>")
    decision = load("dish.dmn", text)["dish"]
    assert decision.evaluate({"season": "Winter", "guestCount": 2}) == [{"desiredDish": "Roastbeef"}]


@pytest.mark.parametrize(
    "namespace",
    ["http://www.omg.org/spec/DMN/20180521/MODEL/", "http://www.omg.org/spec/DMN/20151101/dmn.xsd"],
)
def test_dmn_1_1_and_1_2_namespaces_are_accepted(namespace):
    text = changed("dish.dmn", "https://www.omg.org/spec/DMN/20191111/MODEL/", namespace)
    decision = load("dish.dmn", text)["dish"]
    assert decision.evaluate({"season": "Fall", "guestCount": 2}) == [{"desiredDish": "Spareribs"}]


# --- FIRST, ANY ---


def test_first_returns_the_first_matching_rule_in_table_order():
    approver = load("approval.dmn")["approver"]
    assert approver.hit_policy == "FIRST"
    assert approver.evaluate_with_rules({"amount": 5000, "category": "travel"}) == (
        [{"approver": "board", "level": 3}],
        ["DecisionRule_0board1"],
    )
    assert approver.evaluate({"amount": 500, "category": "travel"}) == [{"approver": "manager", "level": 2}]
    assert approver.evaluate({"amount": 500, "category": "office"}) == [{"approver": "auto", "level": 1}]


def test_output_entries_are_coerced_to_the_output_type_ref():
    approver = load("approval.dmn")["approver"]
    [result] = approver.evaluate({"amount": "150.5", "category": "travel"})
    assert result["level"] == 2 and type(result["level"]) is int  # `1 + 1`, typeRef integer


def test_any_with_equal_outputs_returns_the_first_rule():
    eligible = load("eligibility.dmn")["eligible"]
    assert eligible.hit_policy == "ANY"
    assert eligible.evaluate_with_rules({"age": 30}) == ([{"eligible": True}], ["DecisionRule_0adult1"])
    assert eligible.evaluate_with_rules({"age": 80}) == ([{"eligible": True}], ["DecisionRule_0adult1"])
    assert eligible.evaluate({"age": 10}) == [{"eligible": False}]


def test_any_with_differing_outputs_is_an_error_naming_the_rules():
    eligible = load("eligibility.dmn")["eligible"]
    with pytest.raises(DecisionError) as info:
        eligible.evaluate({"age": 65})
    assert info.value.rule_ids == ["DecisionRule_0adult1", "DecisionRule_1senr65", "DecisionRule_1gap603"]
    assert "ANY" in str(info.value) and "'eligible'" in str(info.value)


# --- RULE ORDER, COLLECT and its aggregations ---


@pytest.fixture(scope="module")
def benefits():
    return load("benefits.dmn")


@pytest.mark.parametrize("key", ["benefitsInOrder", "benefits"])
def test_rule_order_and_collect_return_every_match_in_order(benefits, key):
    decision = benefits[key]
    results, rule_ids = decision.evaluate_with_rules({"socialAssistanceLevel": 2, "children": 3})
    # Output entries compute with the variables: 20 * socialAssistanceLevel, 50 * children.
    assert results == [{"benefit": 40}, {"benefit": 150}, {"benefit": 100}]
    assert rule_ids == [rule.id for rule in decision.rules[:3]]


def test_an_empty_output_entry_leaves_the_output_out_as_camunda_does(benefits):
    decision = benefits["benefitsInOrder"]
    results, rule_ids = decision.evaluate_with_rules({"socialAssistanceLevel": 6, "children": 0})
    assert results == [{"benefit": 120}, {}]
    assert rule_ids == [decision.rules[0].id, decision.rules[3].id]


@pytest.mark.parametrize(
    "key, aggregation, expected",
    [
        ("benefitTotal", "SUM", 290),
        ("benefitSmallest", "MIN", 40),
        ("benefitLargest", "MAX", 150),
        ("benefitCount", "COUNT", 3),
    ],
)
def test_collect_aggregations_give_one_entry(benefits, key, aggregation, expected):
    decision = benefits[key]
    assert (decision.hit_policy, decision.aggregation) == ("COLLECT", aggregation)
    results, rule_ids = decision.evaluate_with_rules({"socialAssistanceLevel": 2, "children": 3})
    assert results == [{"benefit": expected}]
    assert rule_ids == [rule.id for rule in decision.rules[:3]]


@pytest.mark.parametrize("key", ["benefitTotal", "benefitSmallest", "benefitLargest"])
def test_aggregation_of_nothing_is_an_empty_result(benefits, key):
    assert benefits[key].evaluate({"socialAssistanceLevel": 0, "children": 0}) == []


def test_aggregation_when_only_empty_output_entries_matched(benefits):
    variables = {"socialAssistanceLevel": 6, "children": 0}
    assert benefits["benefitTotal"].evaluate(variables) == [{"benefit": 120}]
    text = changed("benefits.dmn", "<text>&gt;= 1</text>", "<text>&gt;= 10</text>", count=6)
    decision = load("benefits.dmn", text)["benefitTotal"]
    # Camunda then has no aggregate, only the empty entry of the rule that matched.
    assert decision.evaluate_with_rules(variables) == ([{}], [decision.rules[3].id])


def test_count_counts_values_not_rules(benefits):
    assert benefits["benefitCount"].evaluate({"socialAssistanceLevel": 0, "children": 0}) == [{"benefit": 0}]
    # The matching rule with an empty output entry contributes no value.
    assert benefits["benefitCount"].evaluate({"socialAssistanceLevel": 6, "children": 0}) == [{"benefit": 1}]


def test_sum_of_non_numbers_is_an_error():
    text = changed("benefits.dmn", "<text>100</text>", '<text>"a hundred"</text>', count=3)
    text = text.replace('name="benefit" typeRef="integer"', 'name="benefit"')
    decision = load("benefits.dmn", text)["benefitTotal"]
    with pytest.raises(DecisionError) as info:
        decision.evaluate({"socialAssistanceLevel": 2, "children": 3})
    assert "SUM" in str(info.value) and info.value.decision_key == "benefitTotal"


# --- DRD: required decisions, literal expressions ---


@pytest.fixture(scope="module")
def premium_drd():
    return load("premium.dmn")


def test_required_decisions_are_read(premium_drd):
    assert premium_drd["premium"].required_decisions == ("riskClass", "baseRate", "surcharges")
    assert premium_drd["riskClass"].required_decisions == ()  # input data requirements are not decisions


def test_literal_expression_decision(premium_drd):
    base_rate = premium_drd["baseRate"]
    assert base_rate.hit_policy is None and base_rate.literal_expression == "40 + age * 2"
    assert base_rate.evaluate_with_rules({"age": 25}) == ([{"baseRate": 90}], [])


@pytest.mark.parametrize(
    "variables, premium, surcharges",
    [
        ({"age": 25, "smoker": True}, 90.0, [50]),
        ({"age": 65, "smoker": True}, 255.0, [50, 80]),
        # Nothing collected: the variable is not set, so the output entry reads null.
        ({"age": 40, "smoker": False}, 180.0, None),
    ],
)
def test_required_decision_outputs_become_variables(premium_drd, variables, premium, surcharges):
    results, rule_ids = premium_drd["premium"].evaluate_with_rules(variables)
    # A COLLECT decision's output arrives as a list even when one rule matched.
    assert results == [{"premium": premium, "allSurcharges": surcharges}]
    assert type(results[0]["premium"]) is float  # typeRef double
    assert len(rule_ids) == 1 and rule_ids[0] in {"DecisionRule_0low9ru", "DecisionRule_1hgh3ru"}


def test_required_decisions_can_be_resolved_by_the_caller(premium_drd):
    text = changed("premium.dmn", "<text>&lt; 30</text>", "<text>&lt; 18</text>")
    text = text.replace("<text>&gt;= 30</text>", "<text>&gt;= 18</text>")
    stricter = load("premium.dmn", text)["riskClass"]
    decisions = {**premium_drd, "riskClass": stricter}
    assert premium_drd["premium"].evaluate({"age": 25, "smoker": False}, decisions) == [
        {"premium": 135.0, "allSurcharges": None}
    ]
    with pytest.raises(DecisionError) as info:
        premium_drd["premium"].evaluate({"age": 25, "smoker": False}, {"riskClass": stricter})
    assert "baseRate" in str(info.value)


def test_a_cycle_among_caller_resolved_decisions_is_an_error(premium_drd):
    looping = load("premium.dmn")
    looping["baseRate"].required_decisions = ("premium",)  # as if taken from another file
    with pytest.raises(DecisionError, match="cycle"):
        premium_drd["premium"].evaluate({"age": 25}, looping)


# --- Camunda Modeler 3 (DMN 1.1) file with JUEL and camunda:inputVariable ---


def test_legacy_dmn_1_1_with_juel_and_input_variable():
    fee = load("legacy_dmn11.dmn")["fee"]
    assert fee.version_tag == "legacy" and fee.inputs[0].input_variable == "daysLate"
    assert fee.evaluate_with_rules({"daysSinceBirth": 20}) == ([{"fee": 0}], ["DecisionRule_0zkmn4o"])
    assert fee.evaluate({"daysSinceBirth": 40}) == [{"fee": 80}]


def test_failing_input_expression_names_the_decision_and_input():
    fee = load("legacy_dmn11.dmn")["fee"]
    with pytest.raises(DecisionError) as info:
        fee.evaluate({})
    assert "'fee'" in str(info.value) and "Late registration" in str(info.value)


# --- camunda:mapDecisionResult ---


def test_single_entry():
    assert map_decision_result([{"dish": "Stew"}], "singleEntry") == "Stew"
    assert map_decision_result([], "singleEntry") is None
    assert map_decision_result([{}], "singleEntry") is None


def test_single_entry_refuses_several_outputs_or_rules():
    with pytest.raises(DecisionError, match="more than one entry"):
        map_decision_result([{"approver": "board", "level": 3}], "singleEntry")
    with pytest.raises(DecisionError, match="more than one result"):
        map_decision_result([{"dish": "Stew"}, {"dish": "Steak"}], "singleEntry")


def test_single_result():
    entry = {"approver": "board", "level": 3}
    assert map_decision_result([entry], "singleResult") == entry
    assert map_decision_result([], "singleResult") is None
    with pytest.raises(DecisionError, match="more than one result"):
        map_decision_result([{"a": 1}, {"a": 2}], "singleResult")


def test_collect_entries(benefits):
    results = benefits["benefits"].evaluate({"socialAssistanceLevel": 2, "children": 3})
    assert map_decision_result(results, "collectEntries") == [40, 150, 100]
    assert map_decision_result([], "collectEntries") == []
    with pytest.raises(DecisionError, match="one output name"):
        map_decision_result([{"approver": "board", "level": 3}], "collectEntries")


def test_result_list_is_the_default():
    results = [{"a": 1, "b": 2}, {"a": 3}]
    assert map_decision_result(results, "resultList") == results
    assert map_decision_result(results, None) == results


def test_unknown_mapping_is_refused():
    with pytest.raises(DecisionError, match="No decision result mapper found for name 'firstEntry'"):
        map_decision_result([], "firstEntry")


# --- refusals at deployment ---


def test_not_a_dmn_file():
    bpmn = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1"/>'
    assert_refused("process.dmn", bpmn, "Definitions_1", "not a DMN file")


def test_doctype_billion_laughs_is_refused():
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
        + fixture_text("dish.dmn").split("\n", 1)[1].replace('"Fall"', "&lol3;")
    )
    assert_refused("lolz.dmn", text, None, "DOCTYPE")


def test_malformed_xml_is_refused():
    assert_refused("broken.dmn", fixture_text("dish.dmn")[:-30], None, "well-formed")


def test_decision_without_decision_table():
    context = '<context id="Context_0x1" />'
    text = re.sub(r"<decisionTable.*</decisionTable>", context, fixture_text("dish.dmn"), flags=re.S)
    assert_refused("dish.dmn", text, "dish", "context", "not supported")


def test_decision_without_any_logic():
    text = re.sub(r"<decisionTable.*</decisionTable>", "", fixture_text("dish.dmn"), flags=re.S)
    assert_refused("dish.dmn", text, "dish", "no decision table")


@pytest.mark.parametrize("policy", ["PRIORITY", "OUTPUT ORDER", "SOMETIMES"])
def test_unsupported_hit_policy(policy):
    table = 'id="DecisionTable_1nj3k9a"'
    text = changed("dish.dmn", table, f'{table} hitPolicy="{policy}"')
    assert_refused("dish.dmn", text, "DecisionTable_1nj3k9a", f"hit policy '{policy}'", "not supported")


def test_unsupported_aggregation():
    text = changed("benefits.dmn", 'aggregation="SUM"', 'aggregation="AVG"')
    error = refusal("benefits.dmn", text)
    table_id = re.search(r'<decisionTable id="(\w+)" hitPolicy="COLLECT" aggregation="AVG"', text).group(1)
    assert_problem(error, "benefits.dmn", table_id, "aggregation 'AVG'", "not supported")


def test_aggregation_without_collect():
    text = changed("approval.dmn", 'hitPolicy="FIRST"', 'hitPolicy="FIRST" aggregation="SUM"')
    assert_refused("approval.dmn", text, "DecisionTable_0appr1s", "only allowed", "COLLECT")


def test_aggregation_over_several_outputs():
    text = changed("approval.dmn", 'hitPolicy="FIRST"', 'hitPolicy="COLLECT" aggregation="MAX"')
    assert_refused("approval.dmn", text, "DecisionTable_0appr1s", "exactly one output")


def test_input_entry_that_does_not_compile():
    text = changed("dish.dmn", "<text>[5..8]</text>", "<text>[5..</text>")
    assert_refused("dish.dmn", text, "UnaryTests_1u2e6hg", "input entry '[5..'", "does not compile")


def test_output_entry_that_does_not_compile():
    text = changed("dish.dmn", '<text>"Steak"</text>', '<text>"Steak" +</text>')
    assert_refused("dish.dmn", text, "LiteralExpression_1d9c3yj", "output entry", "does not compile")


def test_input_expression_that_does_not_compile():
    text = changed("dish.dmn", "<text>guestCount</text>", "<text>guestCount +</text>")
    assert_refused("dish.dmn", text, "LiteralExpression_1c4lw0n", "input expression", "does not compile")


def test_empty_input_expression():
    text = changed("dish.dmn", "<text>season</text>", "<text></text>")
    assert_refused("dish.dmn", text, "LiteralExpression_0tb7r2y", "input expression is empty")


def test_feel_uri_as_the_file_expression_language_is_the_default():
    feel = 'expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/" exporter='
    decision = load("dish.dmn", changed("dish.dmn", "exporter=", feel))["dish"]
    assert decision.evaluate({"season": "Fall", "guestCount": 2}) == [{"desiredDish": "Spareribs"}]


def test_unsupported_expression_language():
    expression = 'id="LiteralExpression_1c4lw0n"'
    text = changed("dish.dmn", expression, f'{expression} expressionLanguage="javascript"')
    assert_refused("dish.dmn", text, "LiteralExpression_1c4lw0n", "javascript", "not supported")


def test_rule_with_missing_input_entry():
    entry = '<inputEntry id="UnaryTests_0e8r2bs">\n          <text>-</text>\n        </inputEntry>\n'
    text = changed("dish.dmn", entry, "")
    assert_refused("dish.dmn", text, "DecisionRule_1summr0", "1 input entries for 2 inputs")


def test_rule_with_extra_output_entry():
    extra = '<outputEntry id="LiteralExpression_9extra9"><text>"Fries"</text></outputEntry>\n      </rule>'
    text = changed("dish.dmn", "</outputEntry>\n      </rule>", "</outputEntry>\n        " + extra)
    assert_refused("dish.dmn", text, "DecisionRule_0fall8x", "2 output entries for 1 outputs")


def test_duplicate_output_names():
    text = changed("approval.dmn", 'name="level"', 'name="approver"')
    assert_refused("approval.dmn", text, "OutputClause_1level0", "output name 'approver'")


def test_unnamed_output_among_several():
    text = changed("approval.dmn", ' name="level"', "")
    assert_refused("approval.dmn", text, "OutputClause_1level0", "needs a name")


def test_single_unnamed_output_is_allowed_and_keyed_by_none():
    text = changed("dish.dmn", ' name="desiredDish"', "")
    decision = load("dish.dmn", text)["dish"]
    results = decision.evaluate({"season": "Fall", "guestCount": 2})
    assert results == [{None: "Spareribs"}]
    assert map_decision_result(results, "singleEntry") == "Spareribs"


def test_table_without_output():
    text = re.sub(r'\s*<output id="OutputClause_0elig2t"[^>]*/>', "", fixture_text("eligibility.dmn"))
    assert_refused("eligibility.dmn", text, "DecisionTable_1any0kq", "no output")


def test_two_decisions_with_one_id():
    text = changed("premium.dmn", '<decision id="baseRate"', '<decision id="riskClass"')
    text = text.replace('href="#baseRate"', 'href="#riskClass"')
    assert_refused("premium.dmn", text, "riskClass", "two decisions")


def test_decision_without_id():
    text = changed("dish.dmn", '<decision id="dish" name="Dish"', '<decision name="Dish"')
    assert_refused("dish.dmn", text, None, "'Dish' has no id")


def test_required_decision_that_does_not_exist():
    text = changed("premium.dmn", 'href="#surcharges"', 'href="#surcharge"')
    assert_refused("premium.dmn", text, "premium", "required decision 'surcharge'")


def test_required_decisions_in_a_cycle():
    table = '<decisionTable id="DecisionTable_1rsk9tb">'
    loop = '<informationRequirement id="InformationRequirement_9loop9"><requiredDecision href="#premium" />'
    text = changed("premium.dmn", table, f"{loop}</informationRequirement>\n    {table}")
    error = refusal("premium.dmn", text)
    assert_problem(error, "premium.dmn", "riskClass", "requires itself")
    assert_problem(error, "premium.dmn", "premium", "requires itself")


def test_literal_expression_without_variable():
    text = re.sub(r'\s*<variable id="InformationItem_0bse9va"[^>]*/>', "", fixture_text("premium.dmn"))
    assert_refused("premium.dmn", text, "baseRate", "variable")


def test_every_problem_is_listed_at_once():
    text = changed("dish.dmn", "<text>[5..8]</text>", "<text>[5..</text>")
    text = text.replace('id="DecisionTable_1nj3k9a"', 'id="DecisionTable_1nj3k9a" hitPolicy="PRIORITY"')
    text = text.replace("<text>guestCount</text>", "<text>guestCount +</text>")
    error = refusal("dish.dmn", text)
    assert {p.element_id for p in error.problems} == {
        "UnaryTests_1u2e6hg",
        "DecisionTable_1nj3k9a",
        "LiteralExpression_1c4lw0n",
    }
