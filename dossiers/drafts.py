"""Drafts: the portal's step before filing (seed: extract, check, print and sign, then file).

The citizen sends the filing as they would to POST /api/dossiers; it is validated the same way
(every field's problem at once), and the official declarations of each chosen part are extracted as
the receipt will extract them, so the citizen reviews what the agencies will read and, filing on
paper, prints and signs them. Nothing is received yet: no code, no process, no SMS. Confirming the
draft files it (DossierService.file, validated again: a day may have passed) and the draft then
names its dossier; a draft is confirmed once.

Only the account that made a draft sees it (a citizen their own; an officer at the desk theirs).
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import select

from engine.errors import ConcurrentModification, InvalidRequest, NotFound
from engine.runtime import new_id
from forms.extraction import PROCEDURES as EXTRACTIONS
from forms.extraction import ExtractionError, extract_declarations
from forms.printing import render_declaration
from registers.population import RegisterUnavailable, current_register

from .models import DossierDraft
from .service import PROCEDURES, DossierService

log = logging.getLogger("lienthong.dossiers.drafts")


class DraftService:
    def __init__(self, dossiers: DossierService):
        self.dossiers = dossiers
        self.engine = dossiers.engine

    def create(self, body: Any, *, filer: str, owner_id: str | None = None, agency_code: str | None = None) -> dict:
        """Validate the filing and extract its declarations; store nothing else (400 when invalid)."""
        filing = self.dossiers.validate(body, agency_code=agency_code)
        today = self.engine.clock.now().astimezone(self.engine.timezone).date()
        declarations = self._extract(filing.procedure.key, filing.declaration, today)
        with self.engine.command() as session:
            draft = DossierDraft(id=new_id(), owner_id=owner_id, filer=filer, procedure=filing.procedure.key,
                                 agency_code=filing.agency_code, body=body, declarations=declarations,
                                 created=self.engine.clock.now())
            session.add(draft)
        log.info("dossier draft made", extra={"draft": draft.id, "procedure": draft.procedure})
        return self._view(draft)

    def get(self, draft_id: str, *, caller: str, sees_all: bool = False) -> dict:
        with self.engine.db.reading() as session:
            return self._view(self._draft(session, draft_id, caller, sees_all))

    def declaration_pdf(self, draft_id: str, form: str, *, caller: str, sees_all: bool = False) -> bytes:
        """The extracted declaration `form` printed, as the receipt will print it."""
        with self.engine.db.reading() as session:
            draft = self._draft(session, draft_id, caller, sees_all)
        data = draft.declarations.get(form)
        if data is None:
            raise NotFound(f"Bản nháp {draft_id} không có tờ khai {form}.")
        return render_declaration(form, data, place=data.get("place"), on=date.fromisoformat(data["declaredOn"]))

    def confirm(self, draft_id: str, *, caller: str, sees_all: bool = False, agency_code: str | None = None) -> dict:
        """File the draft: the answer of POST /api/dossiers (201, with the tracking secret)."""
        with self.engine.db.reading() as session:
            draft = self._draft(session, draft_id, caller, sees_all)
        if draft.dossier_code is not None:
            raise ConcurrentModification(f"Bản nháp này đã được nộp thành hồ sơ {draft.dossier_code}.")
        filing = self.dossiers.validate(draft.body, agency_code=agency_code)
        # A second confirmation racing this one files the same child (or death) again: the duplicate
        # refusal stops it (dossiers/subjects.py), so a draft becomes one dossier at most.
        status = self.dossiers.file(filing, owner_id=draft.owner_id, filer=draft.filer)
        with self.engine.command() as session:
            session.get(DossierDraft, draft_id).dossier_code = status["code"]
        log.info("dossier draft confirmed", extra={"draft": draft_id, "dossier": status["code"]})
        return status

    # --- inside ---------------------------------------------------------------------------------

    @staticmethod
    def _draft(session, draft_id: str, caller: str, sees_all: bool) -> DossierDraft:
        query = select(DossierDraft).where(DossierDraft.id == draft_id)
        if not sees_all:
            query = query.where(DossierDraft.filer == caller)
        draft = session.scalars(query).first()
        if draft is None:  # another's draft is as absent as none: nothing tells it exists
            raise NotFound(f"Không tìm thấy bản nháp {draft_id}.")
        session.expunge(draft)  # read after the reading session ends (which expires what it holds)
        return draft

    def _extract(self, procedure: str, declaration: dict, today: date) -> dict:
        household = self._household(procedure, declaration)
        try:
            return extract_declarations(declaration, procedure=procedure, received_on=today, household=household)
        except ExtractionError as exc:
            raise InvalidRequest(f"The declarations could not be extracted: {exc}",
                                 {"declaration": ["Không trích xuất được các tờ khai từ thông tin đã khai; vui lòng "
                                                  "kiểm tra lại thông tin hộ gia đình và người khai."]}) from None

    def _household(self, procedure: str, declaration: dict) -> dict | None:
        """The household the receipt will read for CT01 (the mother's, the deceased's), when the
        citizen chose the residence part and the register knows them; else the CT01 leaves the head
        of household for the receipt to fill."""
        if "residence" not in declaration.get("parts", ()):
            return None
        person = declaration.get(EXTRACTIONS[procedure].household_of) or {}
        register = current_register(self.engine.db)
        try:
            citizen = register.find(str(person.get("idNumber") or ""))
            household = register.household(citizen.household_id) if citizen and citizen.household_id else None
        except (RegisterUnavailable, ValueError):
            return None
        return household.to_json() if household else None

    def _view(self, draft: DossierDraft) -> dict:
        procedure = PROCEDURES[draft.procedure]
        base = f"/api/dossiers/drafts/{draft.id}"
        return {
            "id": draft.id,
            "procedure": draft.procedure,
            "agencyCode": draft.agency_code,
            "createdAt": draft.created.astimezone(self.engine.timezone).isoformat(),
            "state": "confirmed" if draft.dossier_code else "draft",
            "dossierCode": draft.dossier_code,
            "declarations": [{"form": form, "title": procedure.form_titles.get(form, form),
                              "url": f"{base}/declarations/{form}.pdf", "data": data}
                             for form, data in draft.declarations.items()],
            "confirmUrl": f"{base}/confirm",
            "filing": draft.body,
        }
