"""What the deceased received, from the social registers: the inputs of the funeral support DMN.

Topic ``eligibility.lookup``. Reads the process variable ``declaration`` (the death declaration):
``declaration.deceased.idNumber`` and ``declaration.death.diedAt`` (an ISO date, or an ISO
date-time: with a UTC offset it is taken in Vietnam time, without one it is Vietnam time already).
The deceased's date of birth comes from the population register (handlers/identity.py), what
they received on the day of death from the social registers: eligibility data comes from the
registers, never from the citizen's declaration.

Returns the inputs of workflows/funeral_support.dmn as process variables:

* ``dateOfDeath``: ISO date; the DMN picks the base levels in force on it;
* ``deceasedAge``: whole years at death;
* ``monthlySocialAllowance`` (trợ cấp xã hội hằng tháng), ``childOfPoorSingleParent`` (con của
  người đơn thân nghèo), ``monthlySocialInsuranceAllowance`` (trợ cấp BHXH hằng tháng),
  ``socialInsurancePensioner`` (lương hưu), ``meritoriousPerson`` (người có công): booleans.

Outcomes: those variables; the registers unable to answer is ``SocialRegistersUnavailable`` (the
population register's ``RegisterUnavailable``), a technical failure, so the job is retried and
then becomes an incident; a declaration without the deceased's ID number or date of death, or a
deceased the population register does not know (identity.check comes first), is a ValueError,
also an incident.

The social registers are chosen on first use: ``HttpSocialRegisters`` when
``LIENTHONG_SOCIAL_REGISTERS_URL`` is set, otherwise ``LocalSocialRegisters`` over the shipped
sample handlers/data/social_registers_sample.json. Tests swap them with ``use_social_registers``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import requests

from engine.handlers import TaskContext, handler
from forms.common import VIETNAM
from forms.identity import normalise

from .adapters import AdapterSlot
from .identity import current_register

TOPIC = "eligibility.lookup"
ENVIRONMENT_VARIABLE = "LIENTHONG_SOCIAL_REGISTERS_URL"


@dataclass(frozen=True)
class ReceivedBenefits:
    """What a person was receiving on a given day, under the names the DMN reads."""

    monthlySocialAllowance: bool = False
    childOfPoorSingleParent: bool = False
    monthlySocialInsuranceAllowance: bool = False
    socialInsurancePensioner: bool = False
    meritoriousPerson: bool = False

    @classmethod
    def schemes(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReceivedBenefits:
        """Every scheme, each a JSON boolean: a register that leaves one out has not answered."""
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object, not {type(data).__name__}")
        wrong = [name for name in cls.schemes() if not isinstance(data.get(name), bool)]
        if wrong:
            raise ValueError(f"no boolean for {', '.join(wrong)}")
        return cls(**{name: data[name] for name in cls.schemes()})

    def to_variables(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in self.schemes()}


@runtime_checkable
class SocialRegisters(Protocol):
    def benefits_on(self, id_number: str, on: date) -> ReceivedBenefits:
        """What the person with this personal ID number was receiving on `on` (nothing, for a stranger)."""
        ...


class SocialRegistersUnavailable(Exception):
    """The social registers could not answer (technical failure: the job is retried, then an incident)."""


# --- the registers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BenefitPeriod:
    scheme: str
    start: date
    end: date | None  # the last day received; None: still received

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class LocalSocialRegisters:
    """In memory; by default the shipped sample file handlers/data/social_registers_sample.json."""

    def __init__(self, periods: Mapping[str, list[BenefitPeriod]] | None = None):
        self._periods = {normalise(k): list(v) for k, v in (load_sample() if periods is None else periods).items()}

    def benefits_on(self, id_number: str, on: date) -> ReceivedBenefits:
        received = {period.scheme for period in self._periods.get(normalise(id_number), ()) if period.covers(on)}
        return ReceivedBenefits(**{scheme: True for scheme in received})


def load_sample() -> dict[str, list[BenefitPeriod]]:
    """The sample's benefit periods by personal ID number."""
    text = resources.files(__package__).joinpath("data", "social_registers_sample.json").read_text(encoding="utf-8")
    schemes = ReceivedBenefits.schemes()
    periods: dict[str, list[BenefitPeriod]] = {}
    for person in json.loads(text)["people"]:
        for benefit in person["benefits"]:
            if benefit["scheme"] not in schemes:
                raise ValueError(f"social registers sample: {person['idNumber']} has an unknown scheme {benefit['scheme']!r}")
            periods.setdefault(person["idNumber"], []).append(BenefitPeriod(
                benefit["scheme"], date.fromisoformat(benefit["from"]),
                date.fromisoformat(benefit["until"]) if benefit.get("until") else None))
    return periods


class HttpSocialRegisters:
    """GET {base_url}/people/{idNumber}/benefits?on=YYYY-MM-DD: 200 with a JSON object giving each
    scheme (monthlySocialAllowance, childOfPoorSingleParent, monthlySocialInsuranceAllowance,
    socialInsurancePensioner, meritoriousPerson) as a boolean, all false for a person the
    registers do not know.

    Anything else (any other status, 404 included: money must not be refused because a URL is
    wrong; a timeout; no connection; an answer without every scheme as a boolean) means the
    registers could not answer.
    """

    def __init__(self, base_url: str, timeout: float = 5):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def benefits_on(self, id_number: str, on: date) -> ReceivedBenefits:
        url = f"{self.base_url}/people/{quote(normalise(id_number), safe='')}/benefits"
        where = f"GET {url}?on={on.isoformat()}"
        try:
            response = requests.get(url, params={"on": on.isoformat()}, timeout=self.timeout,
                                    headers={"Accept": "application/json"})
        except requests.Timeout as exc:
            raise SocialRegistersUnavailable(f"social registers timed out after {self.timeout}s: {where}") from exc
        except requests.RequestException as exc:
            raise SocialRegistersUnavailable(f"social registers unreachable: {where}: {exc}") from exc
        if response.status_code != 200:
            raise SocialRegistersUnavailable(
                f"social registers answered {response.status_code} to {where}: {response.text[:200]}")
        try:
            return ReceivedBenefits.from_json(response.json())
        except (ValueError, TypeError) as exc:
            raise SocialRegistersUnavailable(f"social registers sent an unreadable answer to {where}: {exc}") from exc


def social_registers_from_environment() -> SocialRegisters:
    url = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return HttpSocialRegisters(url) if url else LocalSocialRegisters()


_registers: AdapterSlot[SocialRegisters] = AdapterSlot(social_registers_from_environment)


def current_social_registers() -> SocialRegisters:
    """The social registers, created on first use from the environment."""
    return _registers.current()


def use_social_registers(registers: SocialRegisters):
    """Use `registers` inside the block, then put the previous ones back (for tests)."""
    return _registers.use(registers)


# --- the lookup -----------------------------------------------------------------------------------

def died_on(value: Any) -> date:
    """The day of death from ``death.diedAt``: an ISO date, or an ISO date-time (Vietnam's day)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"the date of death is neither an ISO date nor an ISO date-time: {value!r}") from None
    else:
        raise ValueError(f"the date of death is missing or not an ISO date: {value!r}")
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(VIETNAM)
    return moment.date()


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day` (born on 29 February: a year older on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def deceased_id_number(declaration: Any, where: str) -> str:
    """The deceased's personal ID number, from the death declaration."""
    if not isinstance(declaration, Mapping):
        raise ValueError(f"{where}: process variable 'declaration' (the death declaration) is missing or not an object")
    deceased = declaration.get("deceased")
    id_number = normalise(deceased.get("idNumber") or "") if isinstance(deceased, Mapping) else ""
    if not id_number:
        raise ValueError(f"{where}: the declaration gives no deceased.idNumber")
    return id_number


def deceased_and_day_of_death(declaration: Any, where: str) -> tuple[str, date]:
    """The deceased's personal ID number and the day of death, from the death declaration."""
    id_number = deceased_id_number(declaration, where)
    death = declaration.get("death")
    if not isinstance(death, Mapping):
        raise ValueError(f"{where}: the declaration gives no death section")
    try:
        return id_number, died_on(death.get("diedAt"))
    except ValueError as exc:
        raise ValueError(f"{where}: death.diedAt: {exc}") from None


@handler(TOPIC)
def look_up_eligibility(task: TaskContext) -> dict:
    where = f"service task '{task.activity_id}' ({TOPIC})"
    id_number, day = deceased_and_day_of_death(task.variables.get("declaration"), where)
    citizen = current_register(getattr(task.engine, "db", None)).find(id_number)
    if citizen is None:
        raise ValueError(f"{where}: the population register does not know the deceased {id_number}")
    born = date.fromisoformat(citizen.date_of_birth)
    if day < born:
        raise ValueError(f"{where}: the date of death {day.isoformat()} is before the birth of {id_number} "
                         f"({citizen.date_of_birth})")
    benefits = current_social_registers().benefits_on(id_number, day)
    return {"dateOfDeath": day.isoformat(), "deceasedAge": age_on(born, day), **benefits.to_variables()}
