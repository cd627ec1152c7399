"""The printed declarations of a dossier: stored once per form, replaced when printed again."""
from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from .models import DossierDocument


def save_document(session: Session, dossier_code: str, form: str, content: bytes, now,
                  media_type: str = "application/pdf") -> None:
    """Store (or replace: a reprint after a supplement) one printed declaration of a dossier."""
    digest = hashlib.sha256(content).hexdigest()
    row = session.get(DossierDocument, (dossier_code, form))
    if row is None:
        session.add(DossierDocument(dossier_code=dossier_code, form=form, media_type=media_type,
                                    content=content, sha256=digest, created=now))
    elif row.sha256 != digest:
        row.content, row.sha256, row.media_type, row.created = content, digest, media_type, now
