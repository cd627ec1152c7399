"""The social registers: what a person was receiving (social allowance, pension, merit...) on a day.

Chosen on first use: ``HttpSocialRegisters`` when ``LIENTHONG_SOCIAL_REGISTERS_URL`` is set, otherwise
``LocalSocialRegisters`` over the shipped sample registers/data/social_registers_sample.json. Tests swap
them with ``use_social_registers``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import requests

from forms.personal_id import normalise

from .adapter_slot import AdapterSlot

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
    """In memory; by default the shipped sample file registers/data/social_registers_sample.json."""

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
