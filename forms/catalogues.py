"""The catalogues a declaration is checked against: the 54 ethnic groups, the countries (for a
nationality), the relationships a requester may have, the mobile network prefixes, and the limits
of plausible ages. They are data files in forms/data/ (each names its source), which an analyst
changes without touching code; each is read once.

Matching is lenient about how a citizen writes a name: case, Unicode composition, and spaces,
hyphens and apostrophes between syllables do not count ("gia rai" is "Gia-rai", "H'Mông" is
"Hmông"). A matched ethnicity or nationality loads as the catalogue's own name."""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

_SEPARATORS = re.compile(r"[\s\-'’‘.]+")


def key(text: str) -> str:
    """The form of a name that matching compares."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFC", text).casefold())


def _read(name: str) -> dict:
    return json.loads(resources.files("forms").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def _index(entries: list[dict], *extra: str) -> dict[str, str]:
    """key(name or alias or code) -> the entry's name."""
    index: dict[str, str] = {}
    for entry in entries:
        for written in (entry["name"], *entry.get("aliases", ()), *(entry.get(field) for field in extra)):
            if written:
                index.setdefault(key(written), entry["name"])
    return index


@lru_cache(maxsize=1)
def _ethnicities() -> dict[str, str]:
    return _index(_read("ethnicities.json")["ethnicities"])


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    return _index(_read("countries.json")["countries"], "code", "alpha3")


@lru_cache(maxsize=1)
def _relationships() -> dict[str, frozenset[str]]:
    data = _read("relationships.json")
    return {kind: frozenset(key(r) for r in data[kind]) for kind in ("birth", "death")}


@lru_cache(maxsize=1)
def _prefixes() -> dict[str, str]:
    return _read("mobile_prefixes.json")["prefixes"]


@lru_cache(maxsize=1)
def limits() -> dict:
    return _read("limits.json")


def ethnicity(written: str) -> str | None:
    """The ethnic group's catalogue name, or None when it is not one of the 54."""
    return _ethnicities().get(key(written))


def nationality(written: str) -> str | None:
    """The country's catalogue name (its Vietnamese name), or None when it is no country."""
    return _countries().get(key(written))


def relationship_known(kind: str, written: str) -> bool:
    """Whether a requester of a `kind` ("birth" or "death") registration may be this to the person."""
    return key(written) in _relationships()[kind]


def relationships(kind: str) -> list[str]:
    return list(_read("relationships.json")[kind])


def mobile_network(number: str) -> str | None:
    """The network of a 10-digit national mobile number by its prefix, or None when unassigned."""
    return _prefixes().get(number[:3])


def is_name(text: str) -> bool:
    """Letters of the Latin alphabet (Vietnamese ones with their marks), with single spaces, hyphens
    or apostrophes between them ("Nguyễn Thị Ánh", "H'Hen Niê", "Lê-Trần Minh")."""
    words = re.split(r"[ \-'’]", unicodedata.normalize("NFC", text))
    return all(word and all(unicodedata.category(c).startswith("L") and "LATIN" in unicodedata.name(c, "") for c in word)
               for word in words)
