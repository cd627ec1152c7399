"""The electronic copies of a dossier's results, for the citizen who filed it and chose electronic
delivery: each approved part's paper as a PDF (forms/results.py), made when asked from what the
agency recorded (the part's result), so a later correction of the record shows in the next copy."""
from __future__ import annotations

from engine.errors import NotFound
from forms.results import paper_of, render_result_copy

from .models import Dossier, DossierPart
from .service import PROCEDURES, DossierService


def result_copy(dossiers: DossierService, code: str, part: str, *, owner_id: str | None) -> bytes:
    """The PDF; NotFound when the dossier is not the owner's (as if absent), was not for electronic
    delivery, or the part has no result yet (the message says which)."""
    engine = dossiers.engine
    with engine.db.reading() as session:
        dossier = session.get(Dossier, code)
        if dossier is None or (owner_id is not None and dossier.owner_id != owner_id):
            raise NotFound(f"Không tìm thấy hồ sơ có mã {code}.")
        if dossier.delivery != "electronic":
            raise NotFound(f"Hồ sơ {code} không chọn nhận kết quả điện tử; kết quả được trả "
                           f"{'tại Bộ phận Một cửa' if dossier.delivery == 'desk' else 'qua bưu chính'}.")
        row = session.get(DossierPart, (code, part))
        name = PROCEDURES[dossier.procedure].part_names.get(part, part)
        paper = paper_of(dossier.procedure, part)
        if row is None or paper is None:
            raise NotFound(f"Hồ sơ {code} không có kết quả điện tử cho {name}.")
        if row.state != "approved" or not row.result:
            raise NotFound(f"Thủ tục {name} của hồ sơ {code} chưa có kết quả.")
        declaration, result, issued = dict(dossier.declaration), dict(row.result), row.updated_at
        agency = dossiers.agencies.get(dossier.agency_code)
    return render_result_copy(paper, declaration=declaration, result=result, dossier_code=code,
                              agency=agency.name if agency else dossier.agency_code,
                              issued_on=issued.astimezone(engine.timezone).date())
