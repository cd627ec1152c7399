"""The National Population Database (Cơ sở dữ liệu quốc gia về dân cư): citizens and households,
the port the handlers read it through, its two adapters and the local one's write side.

The register also answers what it knows of a household (hộ gia đình): its address and its
members with their relationship to the head of household (quan hệ với chủ hộ). The extraction
of the residence declaration (CT01, handlers/extraction.py) needs the head's name and ID number.

The register is chosen by ``register_from_environment()`` on first use: ``HttpRegister`` when
``LIENTHONG_POPULATION_REGISTER_URL`` is set, otherwise ``LocalRegister`` over the shipped sample
of fictional citizens. Tests swap it with ``use_register(...)``.

Who changes the register: the real one is changed by the agencies' own systems (a death
registered by the civil-status software, a residence deleted by the police), so ``HttpRegister``
has no write methods. The local one stands in for all of them: the local agency stand-ins
(agencies/local.py) record a death and a departure from the household with ``record_death``
and ``record_leaving_household`` in the table ``population_change``, and a ``LocalRegister``
read through a database (``current_register(database)``) lays those rows over the read-only
sample, so the API process and every worker see the same register.
"""
from __future__ import annotations

import copy
import json
import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.personal_id import normalise

from .adapter_slot import AdapterSlot
from .http import get_json
from .models import PopulationChange

ENVIRONMENT_VARIABLE = "LIENTHONG_POPULATION_REGISTER_URL"
REGISTER_NAME = "Cơ sở dữ liệu quốc gia về dân cư"
MISMATCH = "IDENTITY_MISMATCH"


@dataclass(frozen=True)
class Role:
    """A person a declaration names: its section in the declaration, and the words for messages."""

    name: str
    who: str                 # "người mẹ": in messages ("của người mẹ" ...)
    optional: bool = False   # the declaration may leave the section out (null)
    dead_means: str = "đã chết"  # what "recorded as dead" says of this person


ROLES = {role.name: role for role in (
    Role("requester", "người yêu cầu"),
    Role("mother", "người mẹ"),
    Role("father", "người cha", optional=True),  # a birth may have no father recorded
    # The deceased must be alive in the register: dead there means the death is registered already.
    Role("deceased", "người chết", dead_means="đã được đăng ký khai tử"),
)}
DEFAULT_ROLES = "requester,mother,father"
HOUSEHOLD_ROLES = ("mother", "deceased")  # whose household a declaration is about, when not told


@dataclass(frozen=True)
class Citizen:
    id_number: str
    full_name: str
    date_of_birth: str      # ISO "YYYY-MM-DD"
    sex: str                # "male" or "female"
    residence: str
    household_id: str       # "" once the permanent residence is deleted (the local register)
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
        number = normalise(id_number)
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


# --- the registers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterChange:
    """A population_change row as the local register reads it."""

    deceased_on: date | None
    left_household_on: date | None


class LocalRegister:
    """An in-memory register; by default the shipped sample file registers/data/population_sample.json.

    Read through a database (``with_changes_from(database)``, or ``current_register(database)``),
    it shows the changes the local agency stand-ins recorded there (table ``population_change``):
    a person whose death was registered is ``deceased``; a person whose permanent residence was
    deleted has no ``household_id`` ("") and is no longer a member of their household. A household
    left by all its members is gone (None). A household whose head left while others stay has no
    head until a change of head is registered, which no stand-in does: asking for it is a
    ValueError saying so.
    """

    def __init__(self, citizens: list[Citizen] | None = None, households: list[Household] | None = None):
        if citizens is None:
            citizens, sample_households = load_sample_register()
            households = sample_households if households is None else households
        self._by_id = {citizen.id_number: citizen for citizen in citizens}
        self._households = {household.household_id: household for household in households or ()}
        self._changes_from = None  # a Database: where the stand-ins recorded their changes

    def with_changes_from(self, database) -> LocalRegister:
        """This register as changed in `database` (the same citizens, no copy of them)."""
        view = copy.copy(self)
        view._changes_from = database
        return view

    def find(self, id_number: str) -> Citizen | None:
        citizen = self._by_id.get(normalise(id_number))
        if citizen is None or self._changes_from is None:
            return citizen
        return _changed(citizen, self._changes((citizen.id_number,)).get(citizen.id_number))

    def household(self, household_id: str) -> Household | None:
        household = self._households.get(str(household_id).strip())
        if household is None or self._changes_from is None:
            return household
        changes = self._changes([member.citizen.id_number for member in household.members])
        if not changes:
            return household
        staying = tuple(HouseholdMember(_changed(m.citizen, changes.get(m.citizen.id_number)), m.relationship)
                        for m in household.members if not _left(changes.get(m.citizen.id_number)))
        if not staying:
            return None
        head = household.head
        if _left(changes.get(head.citizen.id_number)):
            raise ValueError(f"household {household.household_id}: its head {head.citizen.full_name} "
                             f"({head.citizen.id_number}) left it on "
                             f"{changes[head.citizen.id_number].left_household_on.isoformat()}; "
                             f"a new head must be registered first (thay đổi chủ hộ)")
        return Household(household.household_id, household.address, staying)

    def __iter__(self) -> Iterator[Citizen]:
        if self._changes_from is None:
            return iter(self._by_id.values())
        changes = self._changes(None)
        return iter([_changed(citizen, changes.get(number)) for number, citizen in self._by_id.items()])

    def __len__(self) -> int:
        return len(self._by_id)

    def _changes(self, id_numbers: Iterable[str] | None) -> dict[str, RegisterChange]:
        query = select(PopulationChange.id_number, PopulationChange.deceased_on, PopulationChange.left_household_on)
        if id_numbers is not None:
            query = query.where(PopulationChange.id_number.in_(list(id_numbers)))
        with self._changes_from.reading() as session:
            return {number: RegisterChange(deceased_on, left_on) for number, deceased_on, left_on in session.execute(query)}


def _left(change: RegisterChange | None) -> bool:
    return change is not None and change.left_household_on is not None


def _changed(citizen: Citizen, change: RegisterChange | None) -> Citizen:
    if change is None:
        return citizen
    return replace(citizen, deceased=citizen.deceased or change.deceased_on is not None,
                   household_id="" if _left(change) else citizen.household_id)


# --- the local register's changes ---------------------------------------------------------------
# Written in the caller's transaction (a local agency stand-in's record_once), so the change and
# the agency's record of the hand-off commit together or not at all. One row a person: two
# workers recording the same person at once make one of them fail on the unique id_number, and
# record_once runs that one again.

def record_death(session: Session, id_number: str, died_on: date, dossier_code: str, now: datetime) -> bool:
    """Mark the person deceased from `died_on`; False when the table already had their death."""
    return _record(session, id_number, "deceased_on", died_on, dossier_code, now)


def record_leaving_household(session: Session, id_number: str, left_on: date, dossier_code: str,
                             now: datetime) -> bool:
    """Take the person out of their household from `left_on`; False when they had left already."""
    return _record(session, id_number, "left_household_on", left_on, dossier_code, now)


def _record(session: Session, id_number: str, column: str, on: date, dossier_code: str, now: datetime) -> bool:
    """Set one change of the person's row once; False when it was set already."""
    change = _change_row(session, id_number, dossier_code, now)
    if getattr(change, column) is not None:
        return False
    setattr(change, column, on)
    session.flush()
    return True


def _change_row(session: Session, id_number: str, dossier_code: str, now: datetime) -> PopulationChange:
    number = normalise(id_number)
    change = session.scalars(select(PopulationChange).where(PopulationChange.id_number == number)).first()
    if change is None:
        change = PopulationChange(id_number=number, dossier_code=dossier_code, created=now)
        session.add(change)
    return change


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

    Read-only: the agencies' own systems change the real register (a death registered, a
    residence deleted), and this adapter sees their changes on its next read.
    """

    def __init__(self, base_url: str, timeout: float = 5):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def find(self, id_number: str) -> Citizen | None:
        return self._get(f"citizens/{quote(normalise(id_number), safe='')}", Citizen.from_json)

    def household(self, household_id: str) -> Household | None:
        return self._get(f"households/{quote(str(household_id).strip(), safe='')}", Household.from_json)

    def _get(self, path: str, parse):
        return get_json(f"{self.base_url}/{path}", parse, timeout=self.timeout, what="population register",
                        unavailable=RegisterUnavailable)


def register_from_environment() -> PopulationRegister:
    url = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return HttpRegister(url) if url else LocalRegister()


# --- the register the handler uses --------------------------------------------------------------

_registers: AdapterSlot[PopulationRegister] = AdapterSlot(register_from_environment)


def current_register(database=None) -> PopulationRegister:
    """The module's register, created on first use from the environment.

    Given the database the task runs on (``task.database``), the local register answers with the
    changes recorded there (a death, a deleted residence); the others answer as they are.
    """
    register = _registers.current()
    if database is not None and isinstance(register, LocalRegister):
        return register.with_changes_from(database)
    return register


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


def find_problems(declaration: Mapping[str, Any], register: PopulationRegister,
                  roles: Sequence[str] = tuple(DEFAULT_ROLES.split(","))) -> tuple[list[dict], dict[str, Citizen]]:
    """Each person's problems (dicts with role, idNumber, problem, message) and the citizens found."""
    problems: list[dict] = []
    found: dict[str, Citizen] = {}
    looked_up: dict[str, Citizen | None] = {}  # the requester is often a parent: ask the register once
    for role in (ROLES[name] for name in roles):
        person = declaration.get(role.name)
        if not isinstance(person, Mapping):
            if role.optional:
                continue
            raise ValueError(f"the declaration has no {role.name} section")  # the form's schema guarantees it
        id_number = normalise(str(person.get("idNumber") or ""))
        if id_number not in looked_up:
            looked_up[id_number] = register.find(id_number)
        citizen = looked_up[id_number]
        found_here: list[tuple[str, str]] = []
        if citizen is None:
            found_here.append(("notFound", f"Không tìm thấy số định danh cá nhân {id_number} của {role.who} trong {REGISTER_NAME}"))
        else:
            found[role.name] = citizen
            if citizen.deceased:
                found_here.append(("deceased", f"Theo {REGISTER_NAME}, {role.who} có số định danh cá nhân "
                                               f"{id_number} {role.dead_means}"))
            if not same_name(str(person.get("fullName") or ""), citizen.full_name):
                found_here.append(("nameMismatch", f"Họ tên {role.who} không khớp với {REGISTER_NAME}"))
        problems.extend({"role": role.name, "idNumber": id_number, "problem": kind, "message": message}
                        for kind, message in found_here)
    return problems, found


