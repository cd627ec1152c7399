"""Tracking without an account: the dossier code and the secret the citizen received by SMS.

The same answer as `POST /api/tracking` (DossierService.track), under the same rate limits: parts,
their states, agencies and dates, in plain Vietnamese; no personal data (the results themselves
are on the citizen's logged-in page and on the papers handed over)."""
from __future__ import annotations

from dossiers.service import PROCEDURES, DossierService
from engine.errors import NotFound

def lookup(engine, code: str, secret: str) -> dict | None:
    """The citizen's view of the dossier if the secret matches, else None (no hint which was wrong).
    It is the tracking API's answer (DossierService.track): states, agencies and dates, no
    personal data, since whoever holds a code and its secret need not be the citizen."""
    try:
        status = DossierService(engine).track(code.strip().upper(), secret)
    except NotFound:
        return None
    return {
        **status, "procedure": PROCEDURES[status["procedure"]].title,
        "agencyLabel": status.get("agencyName") or status["agencyCode"],
    }
