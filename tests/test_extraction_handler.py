"""handlers/extraction.py: the service task "declarations.extract", called with a hand-built TaskContext."""
from __future__ import annotations

import re

import pytest

from engine.handler_registry import TaskContext, registry
from forms.birth import BirthDeclarationSchema
from forms.death import DeathDeclarationSchema
from handlers.extraction import TOPIC, extract
from registers.population import Citizen, Household, HouseholdMember, LocalRegister, RegisterUnavailable, use_register
from tests.birth_examples import birth_declaration
from tests.death_examples import death_declaration

WHERE = re.escape("service task 'Task_Extract' (declarations.extract)")


def loaded(**changes) -> dict:
    """The citizen declaration as the dossier service stores it: loaded by its schema."""
    from datetime import date

    return BirthDeclarationSchema(today=date(2024, 6, 3)).load(birth_declaration(**changes))


def task(**variables) -> TaskContext:
    return TaskContext(topic=TOPIC, variables=variables, properties={}, instance_id="pi-1",
                       business_key="H19.87.001-240603-0001", activity_id="Task_Extract",
                       definition_key="birth_linked", idempotency_key="job-1")


@pytest.fixture
def sample_register():
    with use_register(LocalRegister()) as register:
        yield register


class NoHouseholds:
    """A register that must not be asked about households."""

    def find(self, id_number):
        raise AssertionError("not asked")

    def household(self, household_id):
        raise AssertionError(f"asked for household {household_id}")


def test_the_handler_is_registered():
    assert registry.get("declarations.extract") is extract


def test_all_three_declarations_with_the_mothers_household(sample_register):
    result = extract(task(declaration=loaded(), receivedAt="2024-06-03T09:00:00+07:00", householdId="HGD-087-000777"))
    declarations = result["declarations"]
    assert list(result) == ["declarations", "children", "childCount"] and list(declarations) == ["birth", "residence", "bhyt"]
    assert result["children"] == [{"fullName": "Nguyễn Minh Khang", "birth": "birth", "bhyt": "bhyt"}]
    assert {d["declaredOn"] for d in declarations.values()} == {"2024-06-03"}
    assert declarations["residence"]["headOfHousehold"] == {"fullName": "Nguyễn Văn An", "idNumber": "087084000999"}
    assert declarations["residence"]["members"][0]["relationship"] == "Con"
    assert declarations["birth"]["child"]["fullName"] == "Nguyễn Minh Khang"
    assert declarations["bhyt"]["idNumber"] is None


@pytest.mark.parametrize("received_at, day", [
    ("2024-06-02T18:30:00Z", "2024-06-03"),        # 01:30 on the 3rd in Hanoi
    ("2024-06-03T16:59:59.5+00:00", "2024-06-03"),  # 23:59:59 in Hanoi
    ("2024-06-03T17:00:00+00:00", "2024-06-04"),
    ("2024-06-03T08:00:00+07:00", "2024-06-03"),
])
def test_declarations_are_dated_in_vietnam_time(received_at, day):
    with use_register(NoHouseholds()):
        result = extract(task(declaration=loaded(), receivedAt=received_at))
    assert {d["declaredOn"] for d in result["declarations"].values()} == {day}


def test_without_a_household_id_the_register_is_not_asked():
    with use_register(NoHouseholds()):
        residence = extract(task(declaration=loaded(), receivedAt="2024-06-03T09:00:00+07:00"))["declarations"]["residence"]
    assert residence["headOfHousehold"] is None


def test_without_residence_the_household_is_not_asked():
    with use_register(NoHouseholds()):
        result = extract(task(declaration=loaded(parts=["birth", "bhyt"]), receivedAt="2024-06-03T09:00:00+07:00",
                              householdId="HGD-087-000777"))
    assert list(result["declarations"]) == ["birth", "bhyt"]


def test_an_unknown_household_is_a_technical_failure(sample_register):
    with pytest.raises(ValueError, match=rf"^{WHERE}: the population register has no household 'HGD-000-000000'"):
        extract(task(declaration=loaded(), receivedAt="2024-06-03T09:00:00+07:00", householdId="HGD-000-000000"))


def test_a_household_without_the_mother_is_a_technical_failure(sample_register):
    with pytest.raises(ValueError, match="does not list the mother 087190001234"):
        extract(task(declaration=loaded(), receivedAt="2024-06-03T09:00:00+07:00", householdId="HGD-001-004512"))


def test_an_unavailable_register_is_a_technical_failure():
    class Down:
        def find(self, id_number):
            raise RegisterUnavailable("down")

        def household(self, household_id):
            raise RegisterUnavailable("down")

    with use_register(Down()), pytest.raises(RegisterUnavailable):
        extract(task(declaration=loaded(), receivedAt="2024-06-03T09:00:00+07:00", householdId="HGD-087-000777"))


@pytest.mark.parametrize("variables, message", [
    ({"receivedAt": "2024-06-03T09:00:00+07:00"}, "process variable 'declaration' .* is missing"),
    ({"declaration": "x", "receivedAt": "2024-06-03T09:00:00+07:00"}, "process variable 'declaration' .* not an object"),
    ({"declaration": {}}, "process variable 'receivedAt' is missing"),
    ({"declaration": {}, "receivedAt": ""}, "process variable 'receivedAt' is missing"),
    ({"declaration": {}, "receivedAt": "3 June 2024"},
     "process variable 'receivedAt' is not an ISO 8601 date-time: '3 June 2024'"),
    ({"declaration": {}, "receivedAt": "2024-06-03T09:00:00"}, r"process variable 'receivedAt' needs a UTC offset"),
    ({"declaration": {}, "receivedAt": 20240603}, "process variable 'receivedAt' must be an ISO 8601 string, not int"),
])
def test_bad_variables_raise_value_errors_naming_them(variables, message):
    with pytest.raises(ValueError, match=rf"^{WHERE}: {message}"):
        extract(task(**variables))


def test_an_invalid_declaration_names_the_field():
    data = loaded()
    data["requester"] = {**data["requester"], "phone": "12345"}
    with use_register(NoHouseholds()), pytest.raises(ValueError) as refused:
        extract(task(declaration=data, receivedAt="2024-06-03T09:00:00+07:00"))
    assert re.match(f"{WHERE}: the citizen's birth declaration is not valid:", str(refused.value))
    assert "'phone'" in str(refused.value)


# --- the death group ------------------------------------------------------------------------------

def loaded_death(**changes) -> dict:
    """The citizen's death declaration as the dossier service stores it: loaded by its schema."""
    from datetime import date

    return DeathDeclarationSchema(today=date(2026, 11, 23)).load(death_declaration(**changes))


@pytest.fixture
def tams_register():
    """Nguyễn Văn An's household with his father Nguyễn Văn Tám, as the population sample has them."""
    an = Citizen("087084000999", "Nguyễn Văn An", "1984-01-15", "male", "Ấp 1, xã Mỹ An, Đồng Tháp", "HGD-087-000777")
    tam = Citizen("087040000888", "Nguyễn Văn Tám", "1940-02-15", "male", "Ấp 1, xã Mỹ An, Đồng Tháp", "HGD-087-000777")
    home = Household("HGD-087-000777", "Ấp 1, xã Mỹ An, Đồng Tháp",
                     (HouseholdMember(an, "Chủ hộ"), HouseholdMember(tam, "Bố")))
    with use_register(LocalRegister([an, tam], [home])) as register:
        yield register


def test_the_death_declarations_with_the_deceaseds_household(tams_register):
    result = extract(task(procedure="death", declaration=loaded_death(), receivedAt="2026-11-23T09:00:00+07:00",
                          householdId="HGD-087-000777"))
    declarations = result["declarations"]
    assert list(declarations) == ["death", "residence", "funeral"]  # survivor: no declaration of its own
    assert {d["declaredOn"] for d in declarations.values()} == {"2026-11-23"}
    assert declarations["death"]["death"]["diedAt"] == "2026-11-20T05:30"
    assert declarations["residence"]["request"] == "Xóa đăng ký thường trú do người trong hộ đã chết"
    assert declarations["residence"]["members"][0]["relationship"] == "Bố"
    assert declarations["residence"]["headOfHousehold"] == {"fullName": "Nguyễn Văn An", "idNumber": "087084000999"}
    assert declarations["funeral"]["deceased"]["fullName"] == "NGUYỄN VĂN TÁM"


def test_a_two_part_death_dossier(tams_register):
    result = extract(task(procedure="death", declaration=loaded_death(parts=["death", "residence"], burial=None),
                          receivedAt="2026-11-23T09:00:00+07:00", householdId="HGD-087-000777"))
    assert list(result["declarations"]) == ["death", "residence"]


def test_a_household_without_the_deceased_is_a_technical_failure(sample_register):
    with pytest.raises(ValueError, match=rf"^{WHERE}: household 'HGD-001-004512' does not list the deceased 087040000888"):
        extract(task(procedure="death", declaration=loaded_death(), receivedAt="2026-11-23T09:00:00+07:00",
                     householdId="HGD-001-004512"))


def test_without_procedure_a_death_declaration_is_read_as_a_birth_one():
    with use_register(NoHouseholds()), pytest.raises(ValueError) as refused:
        extract(task(declaration=loaded_death(), receivedAt="2026-11-23T09:00:00+07:00"))
    assert re.match(f"{WHERE}: the citizen's birth declaration is not valid:", str(refused.value))


@pytest.mark.parametrize("procedure", ["marriage", "", ["death"], 1])
def test_an_unknown_procedure_is_a_technical_failure(procedure):
    with pytest.raises(ValueError, match=rf"^{WHERE}: process variable 'procedure' is .*; known: birth, death$"):
        extract(task(procedure=procedure, declaration=loaded_death(), receivedAt="2026-11-23T09:00:00+07:00"))


def test_a_missing_death_declaration_is_named_as_such():
    with pytest.raises(ValueError, match=rf"^{WHERE}: process variable 'declaration' \(the citizen's death declaration\)"):
        extract(task(procedure="death", receivedAt="2026-11-23T09:00:00+07:00"))


def test_the_household_is_read_with_the_changes_recorded_in_the_database(engine, tams_register):
    """Like identity.check, the local register shows what the agencies' stand-ins recorded in the task's
    database: once an earlier dossier deleted Tám's residence, his household no longer lists him."""
    from dataclasses import replace
    from datetime import date, datetime, timezone

    from registers.population import record_leaving_household

    context = task(procedure="death", declaration=loaded_death(), receivedAt="2026-11-23T09:00:00+07:00",
                   householdId="HGD-087-000777")
    assert extract(replace(context, services=engine))["declarations"]["residence"]["members"][0]["relationship"] == "Bố"
    with engine.db.session() as session:
        record_leaving_household(session, "087040000888", date(2026, 11, 21), "H19.87.001-261121-0001",
                                 datetime(2026, 11, 21, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="household 'HGD-087-000777' does not list the deceased 087040000888"):
        extract(replace(context, services=engine))
    assert extract(context)["declarations"]["residence"]["members"][0]["idNumber"] == "087040000888"  # no database


def test_a_birth_gives_the_children_the_birth_hand_off_runs_over():
    from datetime import date

    from tests.birth_examples import twins_declaration

    def loaded_twins():
        return BirthDeclarationSchema(today=date(2024, 6, 3)).load(twins_declaration())

    result = extract(task(declaration=loaded_twins(), receivedAt="2024-06-03T09:00:00+07:00"))
    assert result["childCount"] == 2
    assert result["children"] == [{"fullName": "Nguyễn Minh Khang", "birth": "birth", "bhyt": "bhyt"},
                                  {"fullName": "Nguyễn Ngọc Hân", "birth": "birth-2", "bhyt": "bhyt-2"}]
