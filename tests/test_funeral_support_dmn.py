"""workflows/funeral_support.dmn, row by row, over HTTP (Camunda's decision evaluate endpoint):
who pays the funeral support or allowance, how much, on what legal basis; only the highest of
several; the base levels by date of death."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import Rest, live_server

DMN = Path(__file__).resolve().parent.parent / "workflows" / "funeral_support.dmn"
NOBODY = {"socialInsurancePensioner": False, "meritoriousPerson": False, "monthlySocialAllowance": False,
          "childOfPoorSingleParent": False, "deceasedAge": 70, "monthlySocialInsuranceAllowance": False,
          "dateOfDeath": "2026-11-20"}
ROWS = [  # (what the registers say, agency, amount in VND)
    ({"monthlySocialAllowance": True}, "ldtbxh", 10_000_000),  # 20 × 500,000
    ({"childOfPoorSingleParent": True}, "ldtbxh", 10_000_000),
    ({"deceasedAge": 80, "monthlySocialInsuranceAllowance": True}, "ldtbxh", 10_000_000),
    ({"deceasedAge": 79, "monthlySocialInsuranceAllowance": True}, "none", 0),  # not yet 80
    ({"deceasedAge": 85}, "none", 0),  # 80+ without a monthly allowance
    ({"socialInsurancePensioner": True}, "bhxh", 23_400_000),  # 10 × 2,340,000
    ({"meritoriousPerson": True}, "ldtbxh", 23_400_000),
    ({}, "none", 0),
    # several apply: the highest only
    ({"socialInsurancePensioner": True, "monthlySocialAllowance": True, "deceasedAge": 85,
      "monthlySocialInsuranceAllowance": True}, "bhxh", 23_400_000),
    # the base levels follow the date of death
    ({"monthlySocialAllowance": True, "dateOfDeath": "2024-06-30"}, "ldtbxh", 7_200_000),  # 20 × 360,000
    ({"socialInsurancePensioner": True, "dateOfDeath": "2024-06-30"}, "bhxh", 18_000_000),  # 10 × 1,800,000
    ({"socialInsurancePensioner": True, "dateOfDeath": "2022-03-01"}, "bhxh", 14_900_000),  # 10 × 1,490,000
]


@pytest.fixture(scope="module")
def rest(tmp_path_factory):
    from engine.db import Database
    from engine.service import ProcessEngine

    path = tmp_path_factory.mktemp("dmn") / "dmn.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    engine = ProcessEngine(database)
    with live_server(engine, worker=False) as base:
        client = Rest(base)
        client.call("POST", "/deployment/create", files={"data": (DMN.name, DMN.read_bytes())}, expect=200)
        yield client
    database.dispose()


def typed(values: dict) -> dict:
    return {name: {"value": value} for name, value in values.items()}


@pytest.mark.parametrize("facts, agency, amount", ROWS, ids=[str(i) for i in range(len(ROWS))])
def test_each_row(rest, facts, agency, amount):
    [result] = rest.post("/decision-definition/key/funeral_support/evaluate", {"variables": typed({**NOBODY, **facts})})
    assert result["funeralAgency"]["value"] == agency
    assert result["funeralAmount"]["value"] == amount and result["funeralAmount"]["type"] in ("Integer", "Long")
    assert result["funeralLegalBasis"]["value"]  # always says why
    # Form 04 and the chairman's step are Decree 20/2021's (social protection), not social insurance's.
    assert result["form04"]["value"] is ("Nghị định 20/2021" in result["funeralLegalBasis"]["value"])


def test_the_base_levels_are_a_table_of_their_own(rest):
    [levels] = rest.post("/decision-definition/key/funeral_base_levels/evaluate", {"variables": typed({"dateOfDeath": "2026-01-01"})})
    assert (levels["socialAssistanceLevel"]["value"], levels["referenceSalary"]["value"]) == (500_000, 2_340_000)


def test_an_unknown_decision_is_404(rest):
    assert "nope" in rest.post("/decision-definition/key/nope/evaluate", {"variables": {}}, expect=404)["message"]


@pytest.mark.parametrize("date_of_death", ["2021-06-30", "2019-01-01", None], ids=["day-before-first-row", "2019", "missing"])
def test_a_date_outside_the_table_is_refused_not_answered_with_an_old_amount(rest, date_of_death):
    facts = {**NOBODY, "socialInsurancePensioner": True}
    if date_of_death is None:
        del facts["dateOfDeath"]
    else:
        facts["dateOfDeath"] = date_of_death
    # Before: the first base levels' row matched any date, so 14.900.000 was answered for a death in 2019
    # (whose levels the table does not hold) and for no date at all. Now no row matches: no answer.
    assert rest.post("/decision-definition/key/funeral_support/evaluate", {"variables": typed(facts)}) == []
    assert rest.post("/decision-definition/key/funeral_base_levels/evaluate", {"variables": typed(facts)}) == []


def test_the_first_day_of_the_first_row_is_inside_the_table(rest):
    facts = {**NOBODY, "socialInsurancePensioner": True, "dateOfDeath": "2021-07-01"}
    [result] = rest.post("/decision-definition/key/funeral_support/evaluate", {"variables": typed(facts)})
    assert result["funeralAmount"]["value"] == 14_900_000
