"""The gateway each agency uses, chosen per part on first use: ``HttpAgency`` when
``LIENTHONG_AGENCY_<PART>_URL`` is set (the part upper-cased, "-" as "_"), else the local stand-in.
Tests swap one with ``use_gateway(part, ...)``."""
from __future__ import annotations

import os

from registers.adapter_slot import AdapterSlot

from .http import HttpAgency
from .local import LOCAL_GATEWAYS
from .port import AgencyGateway


def url_variable(part: str) -> str:
    """LIENTHONG_AGENCY_BIRTH_URL, LIENTHONG_AGENCY_RESIDENCE_DELETION_URL..."""
    return f"LIENTHONG_AGENCY_{part.upper().replace('-', '_')}_URL"


def gateway_from_environment(part: str) -> AgencyGateway:
    url = os.environ.get(url_variable(part), "").strip()
    if not url:
        return LOCAL_GATEWAYS[part]()
    return HttpAgency(part, url, timeout=float(os.environ.get("LIENTHONG_AGENCY_TIMEOUT_SECONDS", "10")))


_gateways: AdapterSlot[AgencyGateway] = AdapterSlot(gateway_from_environment)


def current_gateway(part: str) -> AgencyGateway:
    """The part's gateway, created on first use from the environment."""
    return _gateways.current(part)


def use_gateway(part: str, gateway: AgencyGateway):
    """Use `gateway` for `part` inside the block, then put the previous one back (for tests)."""
    return _gateways.use(gateway, part)
