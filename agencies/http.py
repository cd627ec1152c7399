"""The HTTP adapter to an agency's software (``LIENTHONG_AGENCY_<PART>_URL``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from engine.handler_registry import TaskContext

from .port import AgencyUnavailable, refused


class HttpAgency:
    """POST the hand-off as JSON with an Idempotency-Key header; the answer's JSON is the result.

    2xx: the result variables. 4xx with a JSON {"reason": ...}: the agency refused the dossier
    (a business outcome). Anything else (5xx, 408/429, a 4xx without a reason such as a wrong
    URL's 404, a timeout, no connection, no JSON object): the agency could not answer.
    """

    def __init__(self, agency: str, url: str, timeout: float = 10):
        self.agency = agency
        self.url = url
        self.timeout = timeout

    def submit(self, task: TaskContext, request: Mapping[str, Any]) -> dict:
        try:
            response = requests.post(self.url, json=dict(request), timeout=(self.timeout, self.timeout),
                                     headers={"Idempotency-Key": task.idempotency_key, "Accept": "application/json"})
        except requests.Timeout as exc:
            raise AgencyUnavailable(f"{self.agency}: timed out after {self.timeout}s: POST {self.url}") from exc
        except requests.RequestException as exc:
            raise AgencyUnavailable(f"{self.agency}: unreachable: POST {self.url}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        status = response.status_code
        reason = answer.get("reason") if isinstance(answer, dict) else None
        if 400 <= status < 500 and status not in (408, 429) and isinstance(reason, str) and reason.strip():
            raise refused(self.agency, reason.strip())
        if not 200 <= status < 300:
            raise AgencyUnavailable(f"{self.agency}: answered {status} to POST {self.url}: {response.text[:200]}")
        if not isinstance(answer, dict):
            raise AgencyUnavailable(f"{self.agency}: answered no JSON object to POST {self.url}: {response.text[:200]}")
        return answer
