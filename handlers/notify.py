"""SMS notices to the citizen, through an outbox (topic ``notify.sms``).

The text is the service task's camunda property ``text``, written by the analyst in the diagram,
with ``{name}`` or ``{name.path}`` placeholders filled from the process variables (``{a|b}``: the
first that has a value). Filling is one
strict regex pass: no str.format, no expressions, and a value (which a citizen may have typed,
"{declaration}" included) is inserted as it is, never expanded again. A placeholder naming no
variable is a ValueError naming it. Whole numbers print with dots between thousands ("23.400.000
dong"); the text goes out without Vietnamese marks (GSM 7-bit). Dates print the Vietnamese way: "04/03/2026" for an ISO date,
and "17:00 ngày 04/03/2026" (Vietnam time) for the ISO date-time of a variable whose name ends
in "Due" or "At" (dossierDue, receivedAt).

The phone is the requester's (declaration.requester.phone). The SMS is first written to
``sms_outbox`` under the job's idempotency key, then sent, then marked sent: a retried job reuses
its row and never sends a sent SMS again; the gateway also gets the key (``reference``) to drop a
resend after a crash between sending and marking. Outcomes:

* sent (or sent before): ``{"lastSmsId": <outbox id>}``;
* no phone in the declaration, or the gateway refuses the message itself (400/422): the row is
  ``failed`` and the process goes on (the citizen can still follow the dossier online);
* the gateway cannot answer: the row stays ``pending`` with ``last_error`` and a
  ``next_attempt_at``, and the process goes on all the same: a notice never stops a procedure.
  ``retry_outbox`` (run by every worker between jobs) tries it again with a growing pause; after
  ``MAX_ATTEMPTS`` the row is ``failed`` and an incident of type ``smsUndeliverable`` on the
  dossier's instance tells the operators (the dossier goes on; they reach the citizen otherwise).
  Before, an unreachable gateway failed the job, and its incident halted the dossier.

An SMS can also be queued by a command in its own transaction (agencies/sms.py ``queue_in``: the
tracking secret, at filing). The dossier's next ``notify.sms`` job sends it before its own SMS (the
receipt or rejection notice, which every diagram sends right after filing). Such an SMS may hold a
secret: the outbox stores it between ``[[`` and ``]]``, the gateway gets the text without the
brackets, logs never show it, and the row keeps it masked once sent (or refused).

The gateway and the outbox are agencies/sms.py's.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from agencies.models import SmsOutbox
from agencies.sms import QUEUED, Sms, SmsRejected, current_gateway, mask, masked_secrets, secrets_in, unaccented, unmarked
from dossiers.models import Dossier
from engine import models as m
from engine.clock import default_zone
from engine.handler_registry import TaskContext, handler
from engine.runtime import new_id
from engine.redaction import hide_credentials


log = logging.getLogger("lienthong.handlers.notify")

# {identifier} or {identifier.path}, or alternatives {a|b} (the first with a value: an agency may
# answer in either shape); anything else in braces stays as written.
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
PLACEHOLDER = re.compile(rf"\{{({_PATH}(?:\|{_PATH})*)\}}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
TEMPORAL_SUFFIXES = ("Due", "At")


# --- the text ------------------------------------------------------------------------------------

def render(template: str, variables: Mapping[str, Any], zone: tzinfo | None = None) -> str:
    """Fill each {name} / {name.path} of `template` from `variables`, in one pass; the whole text
    then without Vietnamese marks (see `unaccented`)."""
    filled = PLACEHOLDER.sub(lambda match: _as_text(*_first(variables, match.group(1)), zone or default_zone()), template)
    return unaccented(filled)


def _first(variables: Mapping[str, Any], alternatives: str) -> tuple[str, Any]:
    """(path, value) of the first of `alternatives` ("a|b") with a value."""
    paths = alternatives.split("|")
    for path in paths[:-1]:
        try:
            return path, _lookup(variables, path)
        except ValueError:
            continue
    try:
        return paths[-1], _lookup(variables, paths[-1])
    except ValueError:
        if len(paths) == 1:
            raise
        raise ValueError(f"the SMS text names {{{alternatives}}}, but the process has a value for none of them") from None


def _lookup(variables: Mapping[str, Any], path: str) -> Any:
    value: Any = variables
    for name in path.split("."):
        if not isinstance(value, Mapping) or value.get(name) is None:
            raise ValueError(f"the SMS text names {{{path}}}, but the process has no value for '{path}'")
        value = value[name]
    return value


def _as_text(path: str, value: Any, zone: tzinfo) -> str:
    if isinstance(value, (Mapping, list)):
        raise ValueError(f"the SMS text names {{{path}}}, which is not a single value")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")  # amounts the Vietnamese way: 23.400.000
    if not isinstance(value, str):
        return str(value)
    if ISO_DATE.fullmatch(value):
        try:
            return f"{date.fromisoformat(value):%d/%m/%Y}"
        except ValueError:
            return value
    if path.rsplit(".", 1)[-1].endswith(TEMPORAL_SUFFIXES) and ISO_DATE_TIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        # A moment without an offset is taken in the service's zone, the only time citizens read.
        local = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
        return f"{local:%H:%M} ngày {local:%d/%m/%Y}"
    return value



@dataclass(frozen=True)
class Queued:
    id: int
    phone: str | None
    text: str
    state: str


def _queue(task: TaskContext, code: str) -> Queued:
    """The job's outbox row, written on its first run; a pending one counts one more attempt."""
    for _ in range(2):  # a concurrent redo of the same job may insert first: then read its row
        try:
            with task.session() as session:
                row = session.scalars(select(SmsOutbox).where(SmsOutbox.idempotency_key == task.idempotency_key)).first()
                if row is None:
                    row = _new_row(task, code)
                    session.add(row)
                if row.state == "pending":
                    row.attempts += 1  # counted before sending: a send that crashes the worker still counts
                session.flush()
                return Queued(row.id, row.phone, row.text, row.state)
        except IntegrityError:
            continue
    raise RuntimeError(f"notify.sms: could not write the outbox row {task.idempotency_key}")


def _new_row(task: TaskContext, code: str) -> SmsOutbox:
    template = task.properties.get("text")
    if not template:
        raise ValueError(f"the service task {task.activity_id} has no camunda property 'text' for the SMS")
    text = render(template, task.variables, task.timezone)
    requester = (task.variables.get("declaration") or {}).get("requester") or {}
    phone = requester.get("phone") or None
    return SmsOutbox(idempotency_key=task.idempotency_key, dossier_code=code, phone=phone, text=text,
                     state="pending" if phone else "failed", attempts=0,
                     last_error=None if phone else "the declaration gives no phone number",
                     created=task.now())


MAX_ATTEMPTS = 8
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)


def pause_after(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour: 8 attempts span about two hours."""
    return min(FIRST_PAUSE * 2 ** max(attempts - 1, 0), LONGEST_PAUSE)


def _mark(task, sms_id: int, state: str, error: str | None = None, text: str | None = None) -> None:
    """`task`: a TaskContext, or anything with session() and now() (the outbox retry)."""
    with task.session() as session:
        row = session.get(SmsOutbox, sms_id)
        row.state, row.last_error = state, hide_credentials(error) if error else error
        if text is not None:
            row.text = text
        if state == "sent":
            row.sent_at = task.now()
        if state == "pending":
            row.next_attempt_at = task.now() + pause_after(row.attempts)
        else:
            row.next_attempt_at = None


def _send_queued(task: TaskContext, code: str) -> None:
    """Send what commands queued for this dossier, oldest first (an unavailable gateway: later)."""
    with task.session() as session:
        rows = session.scalars(select(SmsOutbox).where(
            SmsOutbox.dossier_code == code, SmsOutbox.state == "pending",
            SmsOutbox.idempotency_key.startswith(QUEUED)).order_by(SmsOutbox.id)).all()
        for row in rows:
            row.attempts += 1
        pending = [(row.id, row.phone, row.text, row.idempotency_key) for row in rows]
    for sms_id, phone, text, key in pending:
        sms = Sms(to=phone, text=unmarked(text), reference=key, dossier_code=code, secrets=secrets_in(text))
        try:
            current_gateway().send(sms)
        except SmsRejected as exc:
            _mark(task, sms_id, "failed", str(exc), text=masked_secrets(text))
            log.warning("sms refused", extra={"dossier": code, "sms": sms_id, "error": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - the gateway is down: retry_outbox tries again
            _mark(task, sms_id, "pending", str(exc)[:4000])
            log.warning("sms not sent yet", extra={"dossier": code, "sms": sms_id, "error": hide_credentials(str(exc))[:500]})
            continue
        _mark(task, sms_id, "sent", text=masked_secrets(text))
        log.info("sms sent", extra={"dossier": code, "sms": sms_id, "phone": mask(phone)})


@handler("notify.sms")
def send_sms(task: TaskContext) -> dict:
    code = task.variables.get("dossierCode") or task.business_key
    context = {"dossier": code, "activity": task.activity_id}
    _send_queued(task, code)
    queued = _queue(task, code)
    if queued.state != "pending":  # sent by an earlier run, or failed for good
        if queued.state == "failed":
            log.warning("sms not sent", extra={**context, "sms": queued.id})
        return {"lastSmsId": queued.id}
    try:
        current_gateway().send(Sms(to=queued.phone, text=queued.text, reference=task.idempotency_key, dossier_code=code))
    except SmsRejected as exc:
        _mark(task, queued.id, "failed", str(exc))
        log.warning("sms refused", extra={**context, "sms": queued.id, "error": str(exc)})
        return {"lastSmsId": queued.id}
    except Exception as exc:  # noqa: BLE001 - the gateway is down: the dossier goes on, retry_outbox tries again
        _mark(task, queued.id, "pending", str(exc)[:4000])
        log.warning("sms not sent yet", extra={**context, "sms": queued.id, "error": hide_credentials(str(exc))[:500]})
        return {"lastSmsId": queued.id}
    _mark(task, queued.id, "sent")
    log.info("sms sent", extra={**context, "sms": queued.id, "phone": mask(queued.phone)})
    return {"lastSmsId": queued.id}


# --- the outbox, retried on its own -----------------------------------------------------------


@dataclass(frozen=True)
class _Outbox:
    """What _mark needs, outside any job."""

    engine: Any

    def session(self):
        return self.engine.db.session()

    def now(self) -> datetime:
        return self.engine.clock.now()


def retry_outbox(engine, limit: int = 20) -> int:
    """Send again the pending SMS whose pause is over; answer how many were tried. Workers run
    it between jobs; two workers never try one row at once (each claims it by moving its
    next_attempt_at first)."""
    outbox = _Outbox(engine)
    now = outbox.now()
    with engine.db.reading() as session:
        due = session.execute(select(SmsOutbox.id, SmsOutbox.next_attempt_at).where(
            SmsOutbox.state == "pending", SmsOutbox.next_attempt_at <= now)
            .order_by(SmsOutbox.next_attempt_at).limit(limit)).all()
    tried = 0
    for sms_id, planned in due:
        with engine.db.session() as session:
            claimed = session.execute(update(SmsOutbox).where(
                SmsOutbox.id == sms_id, SmsOutbox.state == "pending", SmsOutbox.next_attempt_at == planned)
                .values(next_attempt_at=now + LONGEST_PAUSE, attempts=SmsOutbox.attempts + 1)).rowcount
            row = session.get(SmsOutbox, sms_id) if claimed else None
            sms = None if row is None else (row.phone, row.text, row.idempotency_key, row.dossier_code, row.attempts)
        if sms is None:
            continue
        tried += 1
        _retry_one(outbox, sms_id, *sms)
    return tried


def _retry_one(outbox: _Outbox, sms_id: int, phone: str, text: str, key: str, code: str, attempts: int) -> None:
    context = {"dossier": code, "sms": sms_id, "attempts": attempts}
    try:
        current_gateway().send(Sms(to=phone, text=unmarked(text), reference=key, dossier_code=code,
                                   secrets=secrets_in(text)))
    except SmsRejected as exc:
        _mark(outbox, sms_id, "failed", str(exc), text=masked_secrets(text))
        log.warning("sms refused", extra={**context, "error": str(exc)})
        return
    except Exception as exc:  # noqa: BLE001 - the gateway is still down
        if attempts < MAX_ATTEMPTS:
            _mark(outbox, sms_id, "pending", str(exc)[:4000])
            log.warning("sms not sent yet", extra={**context, "error": hide_credentials(str(exc))[:500]})
            return
        _mark(outbox, sms_id, "failed", str(exc)[:4000], text=masked_secrets(text))
        _open_incident(outbox, sms_id, code, attempts, str(exc))
        log.error("sms undeliverable", extra={**context, "error": hide_credentials(str(exc))[:500]})
        return
    _mark(outbox, sms_id, "sent", text=masked_secrets(text))
    log.info("sms sent", extra={**context, "phone": mask(phone)})


def _open_incident(outbox: _Outbox, sms_id: int, code: str, attempts: int, error: str) -> None:
    """The operators' sign that a citizen was not told: on the dossier's instance, which goes on."""
    with outbox.session() as session:
        dossier = session.get(Dossier, code)
        instance = session.get(m.ProcessInstance, dossier.instance_id) if dossier and dossier.instance_id else None
        session.add(m.Incident(
            id=new_id(), type="smsUndeliverable", instance_id=instance.id if instance else None,
            definition_id=instance.definition_id if instance else "", activity_id="sms-outbox",
            configuration=f"sms:{sms_id}", created=outbox.now(),
            message=hide_credentials(f"SMS {sms_id} for dossier {code} not sent after {attempts} attempts: {error}")[:4000]))
