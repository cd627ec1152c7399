"""The SMS gateway: ``HttpSmsGateway`` when ``LIENTHONG_SMS_GATEWAY_URL`` is set, else ``LogSink``,
which writes each SMS as a structured log line. Tests swap it with ``use_gateway(...)``.

Also the one way into the outbox (agencies/models.py ``SmsOutbox``) for a command: ``queue_in``
adds an SMS in the caller's transaction (the tracking secret, at filing); the handler
``notify.sms`` sends it. Its text marks a secret as ``[[secret]]``: the gateway gets the text
without the brackets, logs and the row once sent show the secret as asterisks."""
from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import requests

from registers.adapter_slot import AdapterSlot

from .models import SmsOutbox

log = logging.getLogger("lienthong.handlers.notify")


def mask(phone: str) -> str:
    """Only the last 3 digits show in logs: "0912345678" -> "*******678"."""
    return "*" * max(len(phone) - 3, 0) + phone[-3:]


# --- the gateways ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sms:
    to: str
    text: str
    reference: str  # the outbox key; the gateway drops a second SMS with the same one
    dossier_code: str
    secrets: tuple[str, ...] = ()  # parts of the text never to log (a tracking secret)

    def loggable_text(self) -> str:
        text = self.text
        for secret in self.secrets:
            text = text.replace(secret, "*" * len(secret))
        return text


class SmsRejected(Exception):
    """The gateway refuses this message for good (a bad number): retrying cannot help."""


class SmsUnavailable(Exception):
    """The gateway could not take the message now (technical failure: the job is retried)."""


@runtime_checkable
class SmsGateway(Protocol):
    def send(self, sms: Sms) -> None:
        ...


class LogSink:
    """Sends nothing: logs each SMS (phone masked), for development and for sites without a gateway."""

    def send(self, sms: Sms) -> None:
        log.info("sms", extra={"dossier": sms.dossier_code, "phone": mask(sms.to), "text": sms.loggable_text(),
                               "reference": sms.reference})


class HttpSmsGateway:
    """POST {"to", "text", "reference"} as JSON with an Idempotency-Key header (the reference)."""

    def __init__(self, url: str, timeout: float = 10):
        self.url = url
        self.timeout = timeout

    def send(self, sms: Sms) -> None:
        try:
            response = requests.post(self.url, json={"to": sms.to, "text": sms.text, "reference": sms.reference},
                                     headers={"Idempotency-Key": sms.reference}, timeout=(self.timeout, self.timeout))
        except requests.Timeout as exc:
            raise SmsUnavailable(f"SMS gateway timed out after {self.timeout}s: POST {self.url}") from exc
        except requests.RequestException as exc:
            raise SmsUnavailable(f"SMS gateway unreachable: POST {self.url}: {exc}") from exc
        if response.status_code in (400, 422):
            raise SmsRejected(f"SMS gateway refused the message ({response.status_code}): {response.text[:200]}")
        if not 200 <= response.status_code < 300:
            raise SmsUnavailable(f"SMS gateway answered {response.status_code} to POST {self.url}: {response.text[:200]}")


def gateway_from_environment() -> SmsGateway:
    url = os.environ.get("LIENTHONG_SMS_GATEWAY_URL", "").strip()
    if not url:
        return LogSink()
    return HttpSmsGateway(url, timeout=float(os.environ.get("LIENTHONG_SMS_TIMEOUT_SECONDS", "10")))


_gateways: AdapterSlot[SmsGateway] = AdapterSlot(gateway_from_environment)


def current_gateway() -> SmsGateway:
    """The SMS gateway, created on first use from the environment."""
    return _gateways.current()


def use_gateway(gateway: SmsGateway):
    """Use `gateway` inside the block, then put the previous one back (for tests)."""
    return _gateways.use(gateway)


# --- the outbox -----------------------------------------------------------------------------------

QUEUED = "queued:"  # idempotency keys of SMS queued by a command (a job's key is its job id)
_SECRET = re.compile(r"\[\[(.*?)\]\]")


def queue_in(session, *, key: str, dossier_code: str, phone: str | None, text: str, now: datetime,
             by_workers: bool = False) -> None:
    """Queue an SMS in the caller's transaction; `text` may mark secrets as [[secret]]. The dossier's
    next `notify.sms` job sends it; `by_workers` when none will come (the instance has ended): the
    workers' outbox round (handlers.notify.retry_outbox) sends it at once."""
    session.add(SmsOutbox(idempotency_key=QUEUED + key, dossier_code=dossier_code, phone=phone,
                          text=text if phone else masked_secrets(text), state="pending" if phone else "failed",
                          attempts=0, last_error=None if phone else "the declaration gives no phone number",
                          created=now, next_attempt_at=now if by_workers and phone else None))


def unaccented(text: str) -> str:
    """The text without Vietnamese marks ("Nguyễn Đức" -> "Nguyen Duc"): one accented letter would
    make the whole SMS Unicode (UCS-2: 70 characters a part instead of GSM 7-bit's 160, double the
    cost), and the marked names and "ngày" of the filled values did so."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D")


def masked_secrets(text: str) -> str:
    """The text as the outbox keeps it once sent: each [[secret]] as asterisks."""
    return _SECRET.sub(lambda m: "*" * len(m.group(1)), text)


def unmarked(text: str) -> str:
    """The text the citizen gets: the secrets without their brackets."""
    return _SECRET.sub(r"\1", text)


def secrets_in(text: str) -> tuple[str, ...]:
    return tuple(_SECRET.findall(text))
