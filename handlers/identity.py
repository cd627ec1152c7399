"""Identity check at receipt against the National Population Database (Cơ sở dữ liệu quốc gia về dân cư).

Topic ``identity.check``: the requester, the mother and (when declared) the father of a birth
declaration must each be found in the register by personal ID number, be alive, and carry the
declared full name. Names compare case- and whitespace-insensitively (and NFC/NFD alike), but
Vietnamese diacritics count: "Trần Thị Bình" is not "Tran Thi Binh".

Outcomes:
* all good: returns ``{"identityVerified": True, "householdId": <the mother's household id>}``;
* a mismatch: ``BpmnError("IDENTITY_MISMATCH", <Vietnamese reason>, {"identityProblems": [...]})``,
  a business outcome the diagram catches;
* the register cannot answer (HTTP error status, timeout, bad JSON): ``RegisterUnavailable``,
  a technical failure, so the job is retried and then becomes an incident.

The register also answers what it knows of a household (hộ gia đình): its address and its
members with their relationship to the head of household (quan hệ với chủ hộ). The extraction
of the residence declaration (CT01, handlers/extraction.py) needs the head's name and ID number.

The register is chosen by ``register_from_environment()`` on first use: ``HttpRegister`` when
``LIENTHONG_POPULATION_REGISTER_URL`` is set, otherwise ``LocalRegister`` over the shipped sample
of fictional citizens. Tests swap it with ``use_register(...)``.
"""
from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import requests

from engine.handlers import BpmnError, TaskContext, handler

from .adapters import AdapterSlot

ENVIRONMENT_VARIABLE = "LIENTHONG_POPULATION_REGISTER_URL"
REGISTER_NAME = "Cơ sở dữ liệu quốc gia về dân cư"
MISMATCH = "IDENTITY_MISMATCH"
# Who is checked, in order, with the Vietnamese words used in messages ("của người mẹ" ...).
ROLES = (("requester", "người đi đăng ký"), ("mother", "người mẹ"), ("father", "người cha"))


@dataclass(frozen=True)
class Citizen:
    id_number: str
    full_name: str
    date_of_birth: str      # ISO "YYYY-MM-DD"
    sex: str                # "male" or "female"
    residence: str
    household_id: str
    deceased: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Citizen:
        """From the camelCase JSON of the register (and of the sample file)."""
        return cls(
            id_number=str(data["idNumber"]),
            full_name=str(data["fullName"]),
            date_of_birth=str(data["dateOfBirth"]),
            sex=str(data["sex"]),
            residence=str(data["residence"]),
            household_id=str(data["householdId"]),
            deceased=bool(data.get("deceased", False)),
        )


HEAD_OF_HOUSEHOLD = "Chủ hộ"  # the relationship the register gives the head, as CT01 prints it


@dataclass(frozen=True)
class HouseholdMember:
    citizen: Citizen
    relationship: str  # to the head of household: "Chủ hộ", "Vợ", "Chồng", "Con", "Cháu"...


@dataclass(frozen=True)
class Household:
    household_id: str
    address: str  # the household's place of permanent residence
    members: tuple[HouseholdMember, ...]

    def __post_init__(self):
        heads = [m for m in self.members if _is_head(m.relationship)]
        if len(heads) != 1:
            raise ValueError(f"household {self.household_id} has {len(heads)} heads ({HEAD_OF_HOUSEHOLD!r}), not 1")

    @property
    def head(self) -> HouseholdMember:
        return next(m for m in self.members if _is_head(m.relationship))

    def member(self, id_number: str) -> HouseholdMember | None:
        number = _clean_id(id_number)
        return next((m for m in self.members if m.citizen.id_number == number), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Household:
        """From the register's camelCase JSON: each member is a citizen plus its "relationship"."""
        return cls(household_id=str(data["householdId"]), address=str(data["address"]),
                   members=tuple(HouseholdMember(Citizen.from_json(m), str(m["relationship"])) for m in data["members"]))

    def to_json(self) -> dict:
        """The same JSON (what forms.extraction.extract_declarations takes as `household`)."""
        return {"householdId": self.household_id, "address": self.address,
                "members": [{**_citizen_json(m.citizen), "relationship": m.relationship} for m in self.members]}


def _is_head(relationship: str) -> bool:
    return " ".join(relationship.split()).casefold() == HEAD_OF_HOUSEHOLD.casefold()


def _citizen_json(citizen: Citizen) -> dict:
    return {"idNumber": citizen.id_number, "fullName": citizen.full_name, "dateOfBirth": citizen.date_of_birth,
            "sex": citizen.sex, "residence": citizen.residence, "householdId": citizen.household_id,
            "deceased": citizen.deceased}


@runtime_checkable
class PopulationRegister(Protocol):
    def find(self, id_number: str) -> Citizen | None:
        """The citizen with this personal ID number, or None when the register has none."""
        ...

    def household(self, household_id: str) -> Household | None:
        """The household with this id (as in Citizen.household_id), or None when the register has none."""
        ...


class RegisterUnavailable(Exception):
    """The register could not answer (technical failure: the job is retried, then an incident)."""


def _clean_id(id_number: str) -> str:
    return "".join(str(id_number).split())


# --- the registers ----------------------------------------------------------------------------

class LocalRegister:
    """An in-memory register; by default the shipped sample file handlers/data/population_sample.json."""

    def __init__(self, citizens: list[Citizen] | None = None, households: list[Household] | None = None):
        if citizens is None:
            citizens, sample_households = load_sample_register()
            households = sample_households if households is None else households
        self._by_id = {citizen.id_number: citizen for citizen in citizens}
        self._households = {household.household_id: household for household in households or ()}

    def find(self, id_number: str) -> Citizen | None:
        return self._by_id.get(_clean_id(id_number))

    def household(self, household_id: str) -> Household | None:
        return self._households.get(str(household_id).strip())

    def __iter__(self) -> Iterator[Citizen]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


def load_sample() -> list[Citizen]:
    return load_sample_register()[0]


def load_sample_register() -> tuple[list[Citizen], list[Household]]:
    """The sample's citizens and households; a household lists its members by ID number."""
    text = resources.files(__package__).joinpath("data", "population_sample.json").read_text(encoding="utf-8")
    data = json.loads(text)
    citizens = [Citizen.from_json(entry) for entry in data["citizens"]]
    by_id = {citizen.id_number: citizen for citizen in citizens}
    households = []
    for entry in data.get("households", []):
        members = []
        for member in entry["members"]:
            citizen = by_id[member["idNumber"]]
            if citizen.household_id != entry["householdId"]:
                raise ValueError(f"sample: {citizen.id_number} is listed in {entry['householdId']} "
                                 f"but belongs to {citizen.household_id}")
            members.append(HouseholdMember(citizen, member["relationship"]))
        households.append(Household(entry["householdId"], entry["address"], tuple(members)))
    return citizens, households


class HttpRegister:
    """GET {base_url}/citizens/{id}: 200 with the citizen's camelCase JSON, or 404 for nobody.

    GET {base_url}/households/{householdId}: 200 with {"householdId", "address", "members": [the
    citizen's JSON plus "relationship" to the head, "Chủ hộ" for the head]}, or 404.
    """

    def __init__(self, base_url: str, timeout: float = 5):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def find(self, id_number: str) -> Citizen | None:
        return self._get(f"citizens/{quote(_clean_id(id_number), safe='')}", Citizen.from_json)

    def household(self, household_id: str) -> Household | None:
        return self._get(f"households/{quote(str(household_id).strip(), safe='')}", Household.from_json)

    def _get(self, path: str, parse):
        url = f"{self.base_url}/{path}"
        try:
            response = requests.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        except requests.Timeout as exc:
            raise RegisterUnavailable(f"population register timed out after {self.timeout}s: GET {url}") from exc
        except requests.RequestException as exc:
            raise RegisterUnavailable(f"population register unreachable: GET {url}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegisterUnavailable(
                f"population register answered {response.status_code} to GET {url}: {response.text[:200]}")
        try:
            return parse(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise RegisterUnavailable(f"population register sent an unreadable answer to GET {url}: {exc!r}") from exc


def register_from_environment() -> PopulationRegister:
    url = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return HttpRegister(url) if url else LocalRegister()


# --- the register the handler uses --------------------------------------------------------------

_registers: AdapterSlot[PopulationRegister] = AdapterSlot(register_from_environment)


def current_register() -> PopulationRegister:
    """The module's register, created on first use from the environment."""
    return _registers.current()


def set_register(register: PopulationRegister | None) -> None:
    """Replace the module's register; None means "choose again from the environment on next use"."""
    _registers.set(register)


def use_register(register: PopulationRegister):
    """Use `register` inside the block, then put the previous one back (for tests)."""
    return _registers.use(register)


# --- the check ----------------------------------------------------------------------------------

def same_name(declared: str, registered: str) -> bool:
    """Equal ignoring case and whitespace (also NFC vs NFD forms); diacritics are significant."""
    def key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name).casefold().split())
    return key(declared) == key(registered)


def find_problems(declaration: Mapping[str, Any], register: PopulationRegister) -> tuple[list[dict], dict[str, Citizen]]:
    """Each person's problems (dicts with role, idNumber, problem, message) and the citizens found."""
    problems: list[dict] = []
    found: dict[str, Citizen] = {}
    looked_up: dict[str, Citizen | None] = {}  # the requester is often a parent: ask the register once
    for role, who in ROLES:
        person = declaration.get(role)
        if not isinstance(person, Mapping):
            if role == "father":
                continue  # a birth may have no father recorded
            raise ValueError(f"the declaration has no {role} section")  # forms/birth.py guarantees it
        id_number = _clean_id(person.get("idNumber") or "")
        if id_number not in looked_up:
            looked_up[id_number] = register.find(id_number)
        citizen = looked_up[id_number]
        found_here: list[tuple[str, str]] = []
        if citizen is None:
            found_here.append(("notFound", f"Không tìm thấy số định danh cá nhân {id_number} của {who} trong {REGISTER_NAME}"))
        else:
            found[role] = citizen
            if citizen.deceased:
                found_here.append(("deceased", f"Theo {REGISTER_NAME}, {who} có số định danh cá nhân {id_number} đã chết"))
            if not same_name(str(person.get("fullName") or ""), citizen.full_name):
                found_here.append(("nameMismatch", f"Họ tên {who} không khớp với {REGISTER_NAME}"))
        problems.extend({"role": role, "idNumber": id_number, "problem": kind, "message": message}
                        for kind, message in found_here)
    return problems, found


@handler("identity.check")
def check_identity(task: TaskContext) -> dict:
    declaration = task.variables.get("declaration")
    if not isinstance(declaration, Mapping):
        raise TypeError("identity.check needs the process variable 'declaration' (the birth declaration)")
    problems, found = find_problems(declaration, current_register())
    if problems:
        raise BpmnError(MISMATCH, "; ".join(entry["message"] for entry in problems) + ".",
                        {"identityProblems": problems})
    return {"identityVerified": True, "householdId": found["mother"].household_id}
