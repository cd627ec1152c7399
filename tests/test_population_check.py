"""registers/population.py: the identity check against the National Population Database."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from datetime import date

import pytest

from engine.handler_registry import BpmnError, TaskContext, registry
from forms.birth import BirthDeclarationSchema
from forms.personal_id import parse_personal_id
from registers import population
from handlers.population_check import check_identity, roles_to_check
from registers.population import (
    Citizen,
    HttpRegister,
    LocalRegister,
    PopulationRegister,
    RegisterUnavailable,
    current_register,
    record_death,
    register_from_environment,
    same_name,
    use_register,
)
from tests.birth_examples import birth_declaration, set_path
from tests.loopback import loopback_server

REGISTER = "Cơ sở dữ liệu quốc gia về dân cư"


# --- LocalRegister and the sample file ------------------------------------------------------------

def test_local_register_finds_sample_citizens():
    register = LocalRegister()
    assert isinstance(register, PopulationRegister)
    assert len(register) == 24
    mother = register.find("087190001234")
    assert mother == Citizen(id_number="087190001234", full_name="Trần Thị Bình", date_of_birth="1990-07-08",
                             sex="female", residence="Ấp 1, xã Mỹ An, Đồng Tháp",
                             household_id="HGD-087-000777", deceased=False)
    assert register.find("087 190 001 234") == mother  # grouped as printed on the card
    assert register.find("001001000000") is None
    assert register.find("038052004321").deceased is True


def test_sample_couples_share_their_household():
    register = LocalRegister()
    hanoi = {register.find(n).household_id for n in ("001088012345", "001192034567")}
    dong_thap = {register.find(n).household_id for n in ("087084000999", "087190001234")}
    assert len(hanoi) == 1 and len(dong_thap) == 1 and hanoi != dong_thap


def test_every_sample_id_number_is_valid_and_consistent():
    citizens = list(LocalRegister())
    assert len({c.id_number for c in citizens}) == len(citizens)
    assert sum(c.deceased for c in citizens) >= 1
    for citizen in citizens:
        decoded = parse_personal_id(citizen.id_number)  # raises on a bad province or shape
        born = date.fromisoformat(citizen.date_of_birth)
        assert decoded.birth_year == born.year, citizen
        assert decoded.sex == citizen.sex, citizen
        assert citizen.full_name.strip() and citizen.household_id and citizen.residence


def test_register_from_environment(monkeypatch):
    monkeypatch.delenv(population.ENVIRONMENT_VARIABLE, raising=False)
    assert isinstance(register_from_environment(), LocalRegister)
    monkeypatch.setenv(population.ENVIRONMENT_VARIABLE, "http://register.example/api/")
    chosen = register_from_environment()
    assert isinstance(chosen, HttpRegister) and chosen.base_url == "http://register.example/api"


def test_the_module_register_is_created_lazily_and_swappable(monkeypatch):
    monkeypatch.delenv(population.ENVIRONMENT_VARIABLE, raising=False)
    population.set_register(None)  # choose again from the environment
    assert isinstance(current_register(), LocalRegister)
    stand_in = LocalRegister([])
    before = current_register()
    with use_register(stand_in):
        assert current_register() is stand_in
    assert current_register() is before


def test_name_comparison():
    assert same_name("  trần  thị BÌNH ", "Trần Thị Bình")
    assert same_name("Tr\u00e2\u0300n Thị Bình", "Trần Thị Bình")  # NFD from some keyboards
    assert not same_name("Tran Thi Binh", "Trần Thị Bình")  # diacritics are significant
    assert not same_name("Trần Thị Bính", "Trần Thị Bình")


# --- HttpRegister against a real loopback server ------------------------------------------------

@contextmanager
def register_server(citizens: dict[str, dict]):
    def respond(request, release):
        number = request["path"].rsplit("/", 1)[-1]
        if number == "500500500500":
            return 500, {"error": "internal"}
        if number == "999999999999":
            release.wait(5)  # longer than the client's timeout; released at teardown
            return 404, {}
        if number == "777777777777":
            return 200, b"not json"
        if not request["path"].startswith("/api/citizens/") or number not in citizens:
            return 404, {"error": "not found"}
        return 200, citizens[number]

    with loopback_server(respond) as (url, seen):
        yield url + "/api", seen


AN = {"idNumber": "087084000999", "fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
      "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "householdId": "HGD-087-000777", "deceased": False}


def test_http_register_found_and_not_found():
    with register_server({AN["idNumber"]: AN}) as (url, seen):
        register = HttpRegister(url + "/", timeout=2)
        citizen = register.find("087 084 000 999")
        assert citizen == Citizen("087084000999", "Nguyễn Văn An", "1984-01-15", "male",
                                  "Ấp 1, xã Mỹ An, Đồng Tháp", "HGD-087-000777", False)
        assert register.find("001001000000") is None
        assert [r["path"] for r in seen] == ["/api/citizens/087084000999", "/api/citizens/001001000000"]


def test_http_register_server_error_is_a_technical_failure():
    with register_server({}) as (url, _):
        with pytest.raises(RegisterUnavailable, match="500"):
            HttpRegister(url, timeout=2).find("500500500500")
        with pytest.raises(RegisterUnavailable, match="unreadable"):
            HttpRegister(url, timeout=2).find("777777777777")


def test_http_register_timeout_is_a_technical_failure():
    with register_server({}) as (url, _), pytest.raises(RegisterUnavailable, match="timed out"):
        HttpRegister(url, timeout=0.2).find("999999999999")


def test_http_register_unreachable_is_a_technical_failure():
    with register_server({}) as (url, _):
        pass  # the server is gone: nothing listens on that port any more
    with pytest.raises(RegisterUnavailable):
        HttpRegister(url, timeout=0.5).find("087084000999")


# --- the handler ----------------------------------------------------------------------------------

def declaration(**changes) -> dict:
    """A birth declaration as forms/birth.py loads it, then changed by path (e.g. mother__fullName)."""
    data = BirthDeclarationSchema(today=date(2024, 6, 15)).load(birth_declaration())
    for path, value in changes.items():
        set_path(data, path, value)
    return data


def task(variables: dict, engine=None, **properties: str) -> TaskContext:
    return TaskContext(topic="identity.check", variables=variables, properties=properties, instance_id="pi-1",
                       business_key="000.00.00.H00-240615-0001", activity_id="CheckIdentity",
                       definition_key="birth_linked", idempotency_key="job-1", services=engine)


@pytest.fixture
def sample_register():
    with use_register(LocalRegister()) as register:
        yield register


def refusal(data: dict) -> BpmnError:
    with pytest.raises(BpmnError) as refused:
        check_identity(task({"declaration": data}))
    assert refused.value.code == "IDENTITY_MISMATCH"
    return refused.value


def test_the_handler_is_registered():
    assert registry.get("identity.check") is check_identity


def test_a_matching_declaration_is_verified(sample_register):
    result = check_identity(task({"declaration": declaration()}))
    assert result == {"identityVerified": True, "householdId": "HGD-087-000777"}


def test_names_match_ignoring_case_and_spacing(sample_register):
    data = declaration(mother__fullName="TRẦN  THỊ  BÌNH", requester__fullName="nguyễn văn an")
    assert check_identity(task({"declaration": data}))["identityVerified"] is True


def test_no_father_declared(sample_register):
    data = declaration(father=None, marriage=None, requester__fullName="Đặng Thị Lan",
                       requester__idNumber="001165007788", requester__relationship="bà ngoại")
    assert check_identity(task({"declaration": data})) == {"identityVerified": True,
                                                           "householdId": "HGD-087-000777"}


def test_an_unknown_person_is_a_mismatch(sample_register):
    error = refusal(declaration(father__idNumber="087084111111"))
    assert error.message == (f"Không tìm thấy số định danh cá nhân 087084111111 của người cha trong {REGISTER}.")
    assert error.variables == {"identityProblems": [
        {"role": "father", "idNumber": "087084111111", "problem": "notFound", "message": error.message[:-1]}]}


def test_a_deceased_person_is_a_mismatch(sample_register):
    error = refusal(declaration(requester__fullName="Hoàng Văn Thái", requester__idNumber="038052004321",
                                requester__relationship="ông nội"))
    assert "người yêu cầu" in error.message and "đã chết" in error.message and REGISTER in error.message
    [problem] = error.variables["identityProblems"]
    assert (problem["role"], problem["problem"], problem["idNumber"]) == ("requester", "deceased", "038052004321")


def test_a_name_mismatch_names_who(sample_register):
    error = refusal(declaration(mother__fullName="Tran Thi Binh"))  # diacritics dropped: not the same name
    assert error.message == f"Họ tên người mẹ không khớp với {REGISTER}."
    [problem] = error.variables["identityProblems"]
    assert (problem["role"], problem["problem"]) == ("mother", "nameMismatch")


def test_every_problem_is_reported_at_once(sample_register):
    data = declaration(mother__fullName="Trần Thị Bính", father__idNumber="087084111111",
                       requester__idNumber="087084111111")
    error = refusal(data)
    assert [(p["role"], p["problem"]) for p in error.variables["identityProblems"]] == [
        ("requester", "notFound"), ("mother", "nameMismatch"), ("father", "notFound")]
    assert error.message.count(REGISTER) == 3


def test_an_unavailable_register_is_a_technical_failure():
    class Down:
        def find(self, id_number):
            raise RegisterUnavailable("down")

    with use_register(Down()), pytest.raises(RegisterUnavailable):
        check_identity(task({"declaration": declaration()}))


def test_the_handler_uses_an_http_register(monkeypatch):
    people = {entry.id_number: entry for entry in LocalRegister()}
    as_json = {number: {"idNumber": c.id_number, "fullName": c.full_name, "dateOfBirth": c.date_of_birth,
                        "sex": c.sex, "residence": c.residence, "householdId": c.household_id,
                        "deceased": c.deceased} for number, c in people.items()}
    with register_server(as_json) as (url, seen):
        monkeypatch.setenv(population.ENVIRONMENT_VARIABLE, url)
        with use_register(register_from_environment()):
            result = check_identity(task({"declaration": copy.deepcopy(declaration())}))
    assert result == {"identityVerified": True, "householdId": "HGD-087-000777"}
    assert len(seen) == 2  # the requester is the father: looked up once


def test_the_birth_groups_roles_are_the_default():
    assert roles_to_check({}) == (("requester", "mother", "father"), "mother")
    assert roles_to_check({"roles": " requester , deceased "}) == (("requester", "deceased"), "deceased")
    assert roles_to_check({"roles": "requester,mother", "householdOf": "requester"}) == (("requester", "mother"), "requester")
    assert roles_to_check({"roles": "requester,father"}) == (("requester", "father"), None)


@pytest.mark.parametrize("properties, message", [
    ({"roles": "requester,widow"}, "'roles' must name some of requester, mother, father, deceased"),
    ({"roles": " , "}, "'roles' must name"),
    ({"roles": "requester,deceased", "householdOf": "mother"}, r"'householdOf' \('mother'\) must be one of the roles"),
])
def test_a_property_naming_an_unknown_role_is_a_modelling_error(sample_register, properties, message):
    with pytest.raises(ValueError, match=message):
        check_identity(task({"declaration": declaration()}, **properties))


def test_the_household_returned_is_a_property(sample_register):
    data = declaration(requester__fullName="Đặng Thị Lan", requester__idNumber="001165007788")
    assert check_identity(task({"declaration": data}, householdOf="requester")) == {
        "identityVerified": True, "householdId": "HGD-001-002290"}
    assert check_identity(task({"declaration": data}, roles="requester,father")) == {"identityVerified": True}


# --- the death group: roles="requester,deceased" ----------------------------------------------------

TAM = {"fullName": "Nguyễn Văn Tám", "idNumber": "087040000888", "dateOfBirth": "1940-02-15", "sex": "male"}


def death_declaration(**deceased) -> dict:
    """Only what identity.check reads of a death declaration (forms/death.py): the son declares his father's death."""
    return {"requester": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999", "relationship": "con"},
            "deceased": {**TAM, **deceased}, "death": {"diedAt": "2026-11-20T14:30"}}


def check_death(data: dict, engine=None) -> dict:
    return check_identity(task({"declaration": data}, engine, roles="requester,deceased"))


def refused_death(data: dict, engine=None) -> BpmnError:
    with pytest.raises(BpmnError) as refused:
        check_death(data, engine)
    assert refused.value.code == "IDENTITY_MISMATCH"
    return refused.value


def test_a_death_declaration_returns_the_deceaseds_household(sample_register):
    assert check_death(death_declaration()) == {"identityVerified": True, "householdId": "HGD-087-000777"}


def test_a_deceased_already_recorded_as_dead_says_the_death_is_registered(sample_register):
    error = refused_death(death_declaration(fullName="Kiều Văn Tư", idNumber="087044001177"))
    assert error.message == (f"Theo {REGISTER}, người chết có số định danh cá nhân 087044001177 "
                             f"đã được đăng ký khai tử.")
    assert [(p["role"], p["problem"]) for p in error.variables["identityProblems"]] == [("deceased", "deceased")]


def test_every_problem_of_a_death_declaration_at_once(sample_register):
    data = death_declaration(fullName="Nguyễn Văn Tam", idNumber="087040000888")
    data["requester"]["idNumber"] = "087084111111"
    error = refused_death(data)
    assert error.message == (f"Không tìm thấy số định danh cá nhân 087084111111 của người yêu cầu trong {REGISTER}; "
                             f"Họ tên người chết không khớp với {REGISTER}.")
    assert [(p["role"], p["problem"]) for p in error.variables["identityProblems"]] == [
        ("requester", "notFound"), ("deceased", "nameMismatch")]
    unknown = refused_death(death_declaration(idNumber="087040009999"))
    assert "087040009999 của người chết" in unknown.message


def test_a_death_declaration_without_the_deceased_is_a_modelling_error(sample_register):
    with pytest.raises(ValueError, match="no deceased section"):
        check_death({"requester": death_declaration()["requester"]})


def test_a_death_recorded_in_the_database_is_seen_at_the_next_receipt(engine, sample_register):
    """The local stand-ins record a registered death in the database the task runs on; identity.check reads it there."""
    assert check_death(death_declaration(), engine)["identityVerified"] is True
    with engine.db.session() as session:
        record_death(session, "087040000888", date(2026, 11, 20), "UBND-MYAN-261123-0001", engine.clock.now())

    error = refused_death(death_declaration(), engine)
    assert "người chết có số định danh cá nhân 087040000888 đã được đăng ký khai tử" in error.message
    # The register itself stays as shipped: only a register read through the database sees the death.
    assert check_death(death_declaration())["identityVerified"] is True
    assert LocalRegister().find("087040000888").deceased is False
