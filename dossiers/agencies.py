"""The catalogue of receiving agencies (portal step 1: the citizen chooses the commune that
receives the dossier). A dossier's agency is chosen at filing from this list, and it becomes the
first part of the dossier code and the process instance's tenant.

The shipped file `dossiers/data/agencies.json` lists a few fictional communes; a deployment
points `LIENTHONG_AGENCY_CATALOGUE` at its own file of the same shape:
`[{"code": "H19.87.001", "name": "Ủy ban nhân dân xã Mỹ An", "province": "Tỉnh Đồng Tháp"}, ...]`,
optionally with where and when its one-stop desk hands out results (the last SMS says them):
`"address": "số 1 đường 30/4, ấp 1, xã Mỹ An"`, `"hours": "T2-T6 7h30-11h30, 13h30-17h"`."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .codes import AGENCY_CODE

CATALOGUE_VARIABLE = "LIENTHONG_AGENCY_CATALOGUE"


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    province: str
    address: str = ""  # of its one-stop desk (bộ phận một cửa), where results are collected
    hours: str = ""  # its opening hours, as the citizen is told them

    def as_dict(self) -> dict:
        return asdict(self)


class AgencyCatalogue:
    def __init__(self, agencies: list[Agency]):
        self._by_code = {agency.code: agency for agency in agencies}

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def all(self) -> list[Agency]:
        return sorted(self._by_code.values(), key=lambda a: (a.province, a.code))

    @classmethod
    def parse(cls, text: str, source: str) -> "AgencyCatalogue":
        """Reads the JSON list; a malformed entry is a ValueError naming the file and the entry."""
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{source}: not JSON ({exc})") from None
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{source}: expected a non-empty JSON list of {{code, name, province}}")
        agencies, seen = [], set()
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                                      for k in ("code", "name", "province")):
                raise ValueError(f"{source}: entry {n} needs the texts code, name and province")
            if any(not isinstance(entry.get(k, ""), str) for k in ("address", "hours")):
                raise ValueError(f"{source}: entry {n}: address and hours, when given, are texts")
            if not AGENCY_CODE.match(entry["code"]):
                raise ValueError(f"{source}: entry {n}: {entry['code']!r} is not an agency code (e.g. H19.87.001)")
            if entry["code"] in seen:
                raise ValueError(f"{source}: the code {entry['code']} is listed twice")
            seen.add(entry["code"])
            agencies.append(Agency(entry["code"], entry["name"].strip(), entry["province"].strip(),
                                   entry.get("address", "").strip(), entry.get("hours", "").strip()))
        return cls(agencies)


def catalogue() -> AgencyCatalogue:
    """The catalogue in force: LIENTHONG_AGENCY_CATALOGUE's file, else the shipped one (read once each)."""
    return _load(os.environ.get(CATALOGUE_VARIABLE, "").strip() or None)


@lru_cache(maxsize=4)
def _load(path: str | None) -> AgencyCatalogue:
    if path is None:
        text = resources.files("dossiers").joinpath("data/agencies.json").read_text(encoding="utf-8")
        return AgencyCatalogue.parse(text, "dossiers/data/agencies.json")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{CATALOGUE_VARIABLE}={path}: cannot be read ({exc.strerror})") from None
    return AgencyCatalogue.parse(text, path)
