"""A citizen withdraws a dossier that no officer has decided yet (rút hồ sơ).

The diagram does the rest: its event subprocess started by the message `dossier.withdrawn`
(interrupting) cancels whatever is under way, marks the dossier `withdrawn` (its camunda
properties, dossiers/projection.py) and sends the SMS. Here only the rule of when a dossier may
still be withdrawn, checked in the same transaction as the message, so an officer's decision
committed first wins and the withdrawal is refused.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from engine.errors import ConcurrentModification, InvalidRequest

from .models import Dossier, DossierPart

log = logging.getLogger("lienthong.dossiers")

MESSAGE = "dossier.withdrawn"
MAX_REASON = 1000
# A part in one of these has an officer's (or an agency's) decision: the dossier can no longer be
# withdrawn. (not-eligible is the decision table's reading of the declaration, not an officer's.)
DECIDED_PART_STATES = frozenset({"handed-off", "awaiting-card", "approved", "refused", "rejected", "completed"})
OPEN_DOSSIER_STATES = frozenset({"received", "processing"})


def withdraw(engine, code: str, reason, actor: str | None, labels: dict) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("Vui lòng cho biết lý do rút hồ sơ", {"reason": ["Vui lòng cho biết lý do rút hồ sơ."]})
    if len(reason) > MAX_REASON:
        raise InvalidRequest("Lý do quá dài", {"reason": [f"Lý do tối đa {MAX_REASON} ký tự."]})

    def command():
        with engine.command() as session:
            dossier = session.get(Dossier, code, with_for_update=True)
            if dossier.state not in OPEN_DOSSIER_STATES:
                raise ConcurrentModification(f"Hồ sơ {code} đã kết thúc ({labels.get(dossier.state, dossier.state)}); "
                                             "không thể rút hồ sơ.")
            decided = session.scalars(select(DossierPart.part).where(
                DossierPart.dossier_code == code, DossierPart.state.in_(DECIDED_PART_STATES))).all()
            if decided:
                raise ConcurrentModification(f"Hồ sơ {code} đã có thủ tục được cán bộ giải quyết; không thể rút hồ sơ. "
                                             "Vui lòng liên hệ Bộ phận một cửa.")
            try:
                engine.messages.correlate_in(session, MESSAGE, business_key=code, waiting_only=True,
                                             variables={"withdrawalReason": reason.strip(), "withdrawnBy": actor or ""})
            except InvalidRequest:  # its instance does not (or no longer) wait for a withdrawal
                raise ConcurrentModification(f"Hồ sơ {code} hiện không thể rút; vui lòng liên hệ Bộ phận một cửa.") from None

    engine.retrying(command)  # an officer's or a job's command on the same instance may come first
    log.info("dossier withdrawn", extra={"dossier": code, "actor": actor})
