"""handlers/eligibility.py: what the deceased received, from the registers, as the funeral support DMN's inputs."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.handler_registry import TaskContext, registry
from registers import social as eligibility
from forms.death import died_on
from handlers.eligibility import age_on, look_up_eligibility

from registers.social import (
    load_sample,
    HttpSocialRegisters,
    LocalSocialRegisters,
    ReceivedBenefits,
    SocialRegisters,
    SocialRegistersUnavailable,
    social_registers_from_environment,
    use_social_registers,
)
from registers.population import LocalRegister, RegisterUnavailable, record_death, use_register
from tests.death_cases import CASES, NOTHING
from tests.loopback import loopback_server

PENSIONER = next(case for case in CASES if case["case"] == "social-insurance-pensioner")


def declaration(case: dict, **death) -> dict:
    """Only what eligibility.lookup reads of a death declaration (forms/death.py)."""
    return {"deceased": {"idNumber": case["idNumber"], "fullName": case["fullName"], "dateOfBirth": case["dateOfBirth"]},
            "death": {"diedAt": case["declarationChanges"]["death__diedAt"], **death}}


def task(variables: dict, engine=None) -> TaskContext:
    return TaskContext(topic="eligibility.lookup", variables=variables, properties={}, instance_id="pi-1",
                       business_key="UBND-MYAN-261123-0001", activity_id="Task_Eligibility",
                       definition_key="death_linked", idempotency_key="job-1", services=engine)


@pytest.fixture(autouse=True)
def sample_registers():
    with use_register(LocalRegister()), use_social_registers(LocalSocialRegisters()) as registers:
        yield registers


def test_the_handler_is_registered():
    assert registry.get("eligibility.lookup") is look_up_eligibility


@pytest.mark.parametrize("case", CASES, ids=[case["case"] for case in CASES])
def test_each_case_reads_what_the_registers_say(case):
    assert look_up_eligibility(task({"declaration": declaration(case)})) == case["eligibility"]


def test_the_sample_people_are_in_the_population_sample():
    register = LocalRegister()
    assert isinstance(LocalSocialRegisters(), SocialRegisters)
    for id_number in load_sample():
        assert register.find(id_number) is not None, id_number
    for case in CASES:
        citizen = register.find(case["idNumber"])
        assert (citizen.full_name, citizen.date_of_birth, citizen.sex, citizen.deceased) == (
            case["fullName"], case["dateOfBirth"], case["sex"], False)
        assert citizen.residence == case["declarationChanges"]["deceased__lastResidence"]
    assert len({case["idNumber"] for case in CASES}) == len(CASES)


def test_eligibility_comes_from_the_registers_not_the_declaration():
    data = declaration(PENSIONER)
    data["deceased"].update(dateOfBirth="1930-01-01", monthlySocialAllowance=True, meritoriousPerson=True)
    result = look_up_eligibility(task({"declaration": data, "meritoriousPerson": True}))
    assert result == PENSIONER["eligibility"]  # aged 69 by the register, a pensioner only


def test_a_benefit_counts_on_the_day_of_death_only():
    registers = LocalSocialRegisters()
    mai = "075170004488"  # a monthly social allowance from 2018-01-01 to 2021-12-31
    assert registers.benefits_on(mai, date(2017, 12, 31)) == ReceivedBenefits()
    assert registers.benefits_on(mai, date(2018, 1, 1)).monthlySocialAllowance is True
    assert registers.benefits_on(mai, date(2021, 12, 31)).monthlySocialAllowance is True
    assert registers.benefits_on(mai, date(2022, 1, 1)) == ReceivedBenefits()
    assert registers.benefits_on("001001000000", date(2025, 1, 1)).to_variables() == NOTHING  # a stranger


@pytest.mark.parametrize("died_at, day", [
    ("2025-01-08", date(2025, 1, 8)),
    ("2025-01-08T02:10", date(2025, 1, 8)),              # Vietnam wall-clock, as forms/death.py loads it
    ("2025-01-07T19:30:00Z", date(2025, 1, 8)),          # 02:30 on the 8th in Vietnam
    ("2025-01-07T23:30:00+09:00", date(2025, 1, 7)),     # 21:30 on the 7th in Vietnam
    ("2025-01-08 02:10:00", date(2025, 1, 8)),
])
def test_the_day_of_death_is_vietnams(died_at, day):
    assert died_on(died_at) == day
    assert look_up_eligibility(task({"declaration": declaration(PENSIONER, diedAt=died_at)}))["dateOfDeath"] == day.isoformat()


def test_age_in_whole_years():
    assert age_on(date(1945, 9, 10), date(2025, 9, 9)) == 79
    assert age_on(date(1945, 9, 10), date(2025, 9, 10)) == 80
    assert age_on(date(1944, 2, 29), date(2024, 2, 28)) == 79
    assert age_on(date(1944, 2, 29), date(2025, 3, 1)) == 81


@pytest.mark.parametrize("data, message", [
    (None, "process variable 'declaration'"),
    ({"deceased": {"fullName": "Cao Văn Minh"}, "death": {"diedAt": "2025-01-08"}}, "no deceased.idNumber"),
    ({"deceased": {"idNumber": "001055009934"}}, "no death section"),
    ({"deceased": {"idNumber": "001055009934"}, "death": {"diedAt": "08/01/2025"}}, "death.diedAt: .*neither an ISO date"),
    ({"deceased": {"idNumber": "001055009934"}, "death": {}}, "death.diedAt: the date of death is missing"),
    ({"deceased": {"idNumber": "001055009934"}, "death": {"diedAt": "1950-01-01"}}, "before the birth"),
    ({"deceased": {"idNumber": "087040009999"}, "death": {"diedAt": "2025-01-08"}}, "does not know the deceased 087040009999"),
])
def test_bad_input_is_a_technical_failure(data, message):
    with pytest.raises(ValueError, match=message):
        look_up_eligibility(task({"declaration": data}))


def test_a_registered_death_is_still_looked_up(engine):
    """eligibility.lookup may run after handoff.death has marked the person deceased."""
    case = PENSIONER
    with engine.db.session() as session:
        record_death(session, case["idNumber"], date(2025, 1, 8), "UBND-MYAN-261123-0001", engine.clock.now())
    assert look_up_eligibility(task({"declaration": declaration(case)}, engine)) == case["eligibility"]


def test_an_unavailable_population_register_is_a_technical_failure():
    class Down:
        def find(self, id_number):
            raise RegisterUnavailable("down")

    with use_register(Down()), pytest.raises(RegisterUnavailable):
        look_up_eligibility(task({"declaration": declaration(PENSIONER)}))


# --- HttpSocialRegisters against a real loopback server ----------------------------------------------

@contextmanager
def social_registers_server():
    local = LocalSocialRegisters()

    def respond(request, release):
        url = urlsplit(request["path"])
        parts = url.path.strip("/").split("/")
        number = parts[2] if len(parts) == 4 else ""
        if number == "500500500500":
            return 500, {"error": "internal"}
        if number == "999999999999":
            release.wait(5)
            return 200, NOTHING
        if number == "777777777777":
            return 200, b"not json"
        if number == "666666666666":
            return 200, {**NOTHING, "meritoriousPerson": None}
        if parts[:2] != ["api", "people"] or parts[3:] != ["benefits"]:
            return 404, {"error": "no such resource"}
        [on] = parse_qs(url.query)["on"]
        return 200, local.benefits_on(number, date.fromisoformat(on)).to_variables()

    with loopback_server(respond) as (url, seen):
        yield url + "/api", seen


def test_http_social_registers_answer_for_the_day():
    with social_registers_server() as (url, seen):
        registers = HttpSocialRegisters(url + "/", timeout=2)
        assert registers.benefits_on("075 170 004 488", date(2020, 5, 1)) == ReceivedBenefits(monthlySocialAllowance=True)
        assert registers.benefits_on("075170004488", date(2025, 2, 17)) == ReceivedBenefits()
        assert registers.benefits_on("001001000000", date(2025, 2, 17)) == ReceivedBenefits()
    assert [r["path"] for r in seen] == ["/api/people/075170004488/benefits?on=2020-05-01",
                                         "/api/people/075170004488/benefits?on=2025-02-17",
                                         "/api/people/001001000000/benefits?on=2025-02-17"]
    assert {r["method"] for r in seen} == {"GET"}


def test_http_social_registers_that_cannot_answer():
    with social_registers_server() as (url, _):
        for id_number, expected in (("500500500500", "answered 500"), ("777777777777", "unreadable"),
                                    ("666666666666", "unreadable.*no boolean for meritoriousPerson")):
            with pytest.raises(SocialRegistersUnavailable, match=expected):
                HttpSocialRegisters(url, timeout=2).benefits_on(id_number, date(2025, 1, 1))
        # A wrong URL's 404 must not read as "received nothing": money would be refused silently.
        with pytest.raises(SocialRegistersUnavailable, match="answered 404"):
            HttpSocialRegisters(url + "/v9", timeout=2).benefits_on("001055009934", date(2025, 1, 1))
        with pytest.raises(SocialRegistersUnavailable, match="timed out"):
            HttpSocialRegisters(url, timeout=0.2).benefits_on("999999999999", date(2025, 1, 1))
    with pytest.raises(SocialRegistersUnavailable, match="unreachable"):
        HttpSocialRegisters(url, timeout=0.5).benefits_on("001055009934", date(2025, 1, 1))


def test_social_registers_from_the_environment(monkeypatch):
    monkeypatch.delenv(eligibility.ENVIRONMENT_VARIABLE, raising=False)
    assert isinstance(social_registers_from_environment(), LocalSocialRegisters)
    monkeypatch.setenv(eligibility.ENVIRONMENT_VARIABLE, "https://an-sinh.example/api/")
    chosen = social_registers_from_environment()
    assert isinstance(chosen, HttpSocialRegisters) and chosen.base_url == "https://an-sinh.example/api"


@pytest.mark.parametrize("case", [c for c in CASES if c["case"] in ("several-apply", "none")], ids=lambda c: c["case"])
def test_the_handler_uses_http_social_registers(monkeypatch, case):
    with social_registers_server() as (url, seen):
        monkeypatch.setenv(eligibility.ENVIRONMENT_VARIABLE, url)
        with use_social_registers(social_registers_from_environment()):
            assert look_up_eligibility(task({"declaration": declaration(case)})) == case["eligibility"]
    assert [r["path"] for r in seen] == [f"/api/people/{case['idNumber']}/benefits?on={case['eligibility']['dateOfDeath']}"]
