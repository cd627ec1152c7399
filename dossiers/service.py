"""Dossier commands and queries: file a dossier, supplement a part, read its status and documents.

Filing is one transaction: the dossier code, the dossier and part rows, the attachments and the
process instance (whose business key is the code) are stored together, or nothing is.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from engine.errors import ConcurrentModification, InvalidRequest, NotFound
from engine.form_registry import FormRegistry, flatten_errors
from engine.runtime import new_id

from . import codes
from .models import Dossier, DossierAttachment, DossierDocument, DossierEvent, DossierPart

log = logging.getLogger("lienthong.dossiers")
DEFAULT_AGENCY_CODE = "H19.87.001"  # a fictional commune's agency code; LIENTHONG_AGENCY_CODE sets the real one

STATE_LABELS = {
    "received": "Đã tiếp nhận",
    "processing": "Đang giải quyết",
    "verifying": "Đang xác minh",
    "awaiting-supplement": "Chờ công dân bổ sung hồ sơ",
    "handed-off": "Đã chuyển cơ quan chuyên môn",
    "awaiting-card": "Chờ cấp số thẻ",
    "approved": "Đã có kết quả",
    "refused": "Bị từ chối",
    "rejected": "Không được tiếp nhận",
    "not-processed": "Không thực hiện",
    "completed": "Đã hoàn thành",
    "checking-eligibility": "Đang tra cứu chế độ được hưởng",
    "not-eligible": "Không thuộc diện được hưởng",
    "cancelled": "Đã hủy",
}
ATTACHMENT_TYPES = {  # media type -> the bytes a real file of that type starts with
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20


@dataclass(frozen=True)
class Procedure:
    """A linked procedure group the dossier API files: its declaration (a registered form
    schema), its process, the names of its parts and of its printed forms."""

    key: str
    process_key: str
    schema_name: str  # in the engine's form registry (forms/ registers them)
    part_names: dict[str, str]
    form_titles: dict[str, str]
    # Start variables beyond the common ones, e.g. {"wantsBhyt": True}: what the diagram's gateways read.
    flags: dict[str, str]  # variable -> the part whose choice sets it

    def schema(self, registry: FormRegistry, timezone: tzinfo) -> Schema:
        schema_class = registry.get(self.schema_name)
        if schema_class is None:
            raise LookupError(f"no form schema '{self.schema_name}' is registered (is `forms` imported?)")
        return schema_class(timezone=timezone)

    def variables(self, declaration: dict) -> dict:
        parts = declaration["parts"]
        return {"procedure": self.key, "parts": parts, "delivery": declaration["delivery"],
                **{flag: part in parts for flag, part in self.flags.items()}}


PROCEDURES = {
    "birth": Procedure(
        "birth", "birth_linked", "birth-declaration",
        part_names={"birth": "Đăng ký khai sinh", "residence": "Đăng ký thường trú",
                    "bhyt": "Cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi"},
        form_titles={"birth": "Tờ khai đăng ký khai sinh",
                     "residence": "Tờ khai thay đổi thông tin cư trú (CT01)",
                     "bhyt": "Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)"},
        flags={"wantsResidence": "residence", "wantsBhyt": "bhyt"}),
    "death": Procedure(
        "death", "death_linked", "death-declaration",
        part_names={"death": "Đăng ký khai tử", "residence": "Xóa đăng ký thường trú",
                    "funeral": "Hỗ trợ chi phí mai táng, trợ cấp mai táng", "survivor": "Trợ cấp tuất"},
        form_titles={"death": "Tờ khai đăng ký khai tử",
                     "residence": "Tờ khai thay đổi thông tin cư trú (CT01): xóa đăng ký thường trú",
                     "funeral": "Tờ khai đề nghị hỗ trợ chi phí mai táng (mẫu 04)"},
        flags={"wantsFuneral": "funeral", "wantsSurvivor": "survivor"}),
}


@dataclass(frozen=True)
class Upload:
    kind: str
    filename: str
    media_type: str
    content: bytes


def agency_code_from_environment() -> str:
    return os.environ.get("LIENTHONG_AGENCY_CODE", "").strip() or DEFAULT_AGENCY_CODE


class DossierService:
    def __init__(self, engine, agency_code: str | None = None):
        self.engine = engine
        self.agency_code = agency_code or agency_code_from_environment()

    # --- commands ------------------------------------------------------------------------------

    def submit(self, body: Any, uploads: list[Upload] = ()) -> dict:
        """Validate everything, then store the dossier and start its process in one transaction."""
        if not isinstance(body, dict):
            raise InvalidRequest("The dossier must be a JSON object", {"body": ["Dữ liệu gửi lên không đúng dạng."]})
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(body) - {"procedure", "agencyCode", "declaration"})
        for name in unknown:
            errors[name] = ["Hồ sơ không có mục này."]
        procedure = PROCEDURES.get(body.get("procedure"))
        if procedure is None:
            errors["procedure"] = [f"Vui lòng chọn thủ tục liên thông: {', '.join(sorted(PROCEDURES))}."]
        agency_code = body.get("agencyCode", self.agency_code)
        if not isinstance(agency_code, str) or not codes.AGENCY_CODE.match(agency_code):
            errors["agencyCode"] = ["Mã cơ quan tiếp nhận chỉ gồm chữ in hoa, chữ số và dấu chấm, ví dụ H19.87.001."]
        declaration = None
        if procedure is not None:
            if "declaration" not in body:
                errors["declaration"] = ["Vui lòng gửi tờ khai."]
            else:
                try:
                    declaration = procedure.schema(self.engine.forms, self.engine.timezone).load(body["declaration"])
                except ValidationError as exc:
                    errors.update(flatten_errors(exc.messages, "declaration"))
        errors.update(_check_uploads(uploads))
        if errors:
            raise InvalidRequest("Hồ sơ chưa hợp lệ: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)

        engine = self.engine
        with engine.command() as session:
            now = engine.clock.now()
            code = codes.new_code(session, agency_code, now, engine.timezone)
            parts = list(declaration["parts"])
            session.add(Dossier(code=code, procedure=procedure.key, agency_code=agency_code, instance_id="",
                                state="received", received_at=now, delivery=declaration.get("delivery", "desk"),
                                phone=(declaration.get("requester") or {}).get("phone"), declaration=declaration))
            session.flush()
            for part in parts:
                session.add(DossierPart(dossier_code=code, part=part, state="received", updated_at=now))
            for upload in uploads:
                session.add(_attachment(code, None, upload, now))
            session.flush()
            variables = {"dossierCode": code, "receivedAt": now.astimezone(engine.timezone).isoformat(),
                         "declaration": declaration, **procedure.variables(declaration)}
            instance_id = engine.start_in(session, procedure.process_key, variables, business_key=code)
            session.get(Dossier, code).instance_id = instance_id  # when no element of the diagram is marked
        log.info("dossier filed", extra={"dossier": code, "instance": instance_id, "procedure": procedure.key,
                                         "parts": parts, "attachments": len(uploads)})
        return self.status(code)

    def add_attachments(self, code: str, uploads: list[Upload]) -> list[dict]:
        if not uploads:
            raise InvalidRequest("No file was attached", {"files": ["Vui lòng đính kèm ít nhất một tệp."]})
        errors = _check_uploads(uploads)
        if errors:
            raise InvalidRequest("Tệp đính kèm chưa hợp lệ", errors)
        with self.engine.command() as session:
            dossier = _dossier(session, code)
            if dossier.state in ("completed", "rejected", "refused", "cancelled"):
                raise ConcurrentModification(f"Hồ sơ {code} đã kết thúc ({STATE_LABELS[dossier.state]}); không thể đính kèm thêm.")
            rows = [_attachment(code, None, upload, self.engine.clock.now()) for upload in uploads]
            session.add_all(rows)
            return [_attachment_view(code, row) for row in rows]

    def supplement(self, code: str, part: Any, uploads: list[Upload], note: str | None = None) -> dict:
        """The citizen's supplement for a part an officer sent back: stored, and the part resumes."""
        errors = _check_uploads(uploads)
        if not uploads:
            errors["files"] = ["Vui lòng đính kèm giấy tờ bổ sung."]
        if not isinstance(part, str) or not part:
            errors["part"] = ["Vui lòng chọn thủ tục cần bổ sung."]
        if note is not None and (not isinstance(note, str) or len(note) > 1000):
            errors["note"] = ["Ghi chú phải là chữ, tối đa 1000 ký tự."]
        if errors:
            raise InvalidRequest("Hồ sơ bổ sung chưa hợp lệ", errors)
        engine = self.engine

        def command():
            with engine.command() as session:
                dossier = _dossier(session, code)
                row = session.get(DossierPart, (code, part))
                names = PROCEDURES[dossier.procedure].part_names
                if row is None:
                    raise InvalidRequest(f"Hồ sơ {code} không có thủ tục {part}",
                                         {"part": ["Hồ sơ không có thủ tục này; chọn một trong: " + ", ".join(names) + "."]})
                if row.state != "awaiting-supplement":
                    raise ConcurrentModification(f"Thủ tục {names.get(part, part)} của hồ sơ {code} không chờ bổ sung "
                                                 f"(trạng thái: {STATE_LABELS.get(row.state, row.state)}).")
                now = engine.clock.now()
                for upload in uploads:
                    session.add(_attachment(code, part, upload, now))
                session.flush()
                message = f"dossier.supplemented.{part}"
                # One message per request (its round): a second upload in the same round only adds its files.
                rounds = session.scalar(select(func.count()).select_from(DossierEvent).where(
                    DossierEvent.dossier_code == code, DossierEvent.part == part,
                    DossierEvent.state == "awaiting-supplement"))
                # Per part: two parts may be supplemented while both wait.
                engine.deliver_or_schedule_in(
                    session, message, dossier.code, job_id=f"{code}:{message}:{rounds}",
                    variables={f"{part}SupplementedAt": now.astimezone(engine.timezone).isoformat(),
                               f"{part}SupplementNote": note or ""})

        engine.retrying(command)  # an officer's or a job's command on the same instance may come first
        log.info("dossier supplemented", extra={"dossier": code, "part": part, "attachments": len(uploads)})
        return self.status(code)

    # --- queries -------------------------------------------------------------------------------

    def status(self, code: str) -> dict:
        zone = self.engine.timezone
        with self.engine.db.reading() as session:
            dossier = _dossier(session, code)
            parts = {row.part: row for row in session.scalars(select(DossierPart).where(DossierPart.dossier_code == code))}
            events = session.scalars(select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(DossierEvent.seq))
            forms = session.scalars(select(DossierDocument.form).where(DossierDocument.dossier_code == code))
            attachments = session.scalars(select(DossierAttachment).where(DossierAttachment.dossier_code == code)
                                          .order_by(DossierAttachment.created))
            procedure = PROCEDURES[dossier.procedure]
            order = list(dossier.declaration["parts"])
            return {
                "code": dossier.code,
                "procedure": dossier.procedure,
                "state": dossier.state,
                "stateLabel": STATE_LABELS.get(dossier.state, dossier.state),
                "reason": dossier.state_reason,
                "agencyCode": dossier.agency_code,
                "receivedAt": _local(dossier.received_at, zone),
                "dueAt": _local(dossier.due_at, zone),
                "completedAt": _local(dossier.completed_at, zone),
                "delivery": dossier.delivery,
                "parts": [_part_view(parts[name], dossier, procedure, zone) for name in order if name in parts],
                "timeline": [{"at": _local(e.at, zone), "part": e.part, "state": e.state, "title": e.title} for e in events],
                "declarations": [{"form": form, "title": procedure.form_titles.get(form, form),
                                  "url": f"/api/dossiers/{code}/declarations/{form}.pdf"}
                                 for form in sorted(forms, key=lambda f: (order.index(f) if f in order else len(order), f))],
                "attachments": [_attachment_view(code, a) for a in attachments],
            }

    def document(self, code: str, form: str) -> DossierDocument:
        with self.engine.db.reading() as session:
            _dossier(session, code)
            row = session.get(DossierDocument, (code, form))
            if row is None:
                raise NotFound(f"Hồ sơ {code} chưa có tờ khai '{form}' (tờ khai được in sau khi tiếp nhận; hãy thử lại sau ít giây).")
            session.expunge(row)
            return row


def _dossier(session, code: str) -> Dossier:
    dossier = session.get(Dossier, code) if isinstance(code, str) else None
    if dossier is None:
        raise NotFound(f"Không tìm thấy hồ sơ có mã {code}.")
    return dossier


def _local(moment: datetime | None, zone: tzinfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment is not None else None


def _part_view(row: DossierPart, dossier: Dossier, procedure: Procedure, zone: tzinfo) -> dict:
    return {"part": row.part, "name": procedure.part_names.get(row.part, row.part), "state": row.state,
            "stateLabel": STATE_LABELS.get(row.state, row.state), "agency": row.agency,
            "receivedAt": _local(dossier.received_at, zone), "dueAt": _local(row.due_at, zone), "overdue": row.overdue,
            "note": row.note, "result": row.result or {}, "updatedAt": _local(row.updated_at, zone)}


def _attachment(code: str, part: str | None, upload: Upload, now: datetime) -> DossierAttachment:
    return DossierAttachment(id=new_id(), dossier_code=code, part=part, kind=upload.kind, filename=upload.filename,
                             media_type=upload.media_type, size=len(upload.content),
                             sha256=hashlib.sha256(upload.content).hexdigest(), content=upload.content, created=now)


def _attachment_view(code: str, row: DossierAttachment) -> dict:
    return {"id": row.id, "part": row.part, "kind": row.kind, "filename": row.filename, "mediaType": row.media_type,
            "size": row.size, "sha256": row.sha256}


def _check_uploads(uploads) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(uploads) > MAX_ATTACHMENTS:
        errors["files"] = [f"Tối đa {MAX_ATTACHMENTS} tệp đính kèm."]
    for upload in uploads:
        where = f"files.{upload.kind}"
        signatures = ATTACHMENT_TYPES.get(upload.media_type)
        if signatures is None:
            errors.setdefault(where, []).append(f"Tệp {upload.filename}: chỉ nhận PDF, JPEG hoặc PNG.")
        elif not upload.content.startswith(signatures):
            errors.setdefault(where, []).append(f"Tệp {upload.filename} không phải là tệp {upload.media_type} hợp lệ.")
        if not upload.content:
            errors.setdefault(where, []).append(f"Tệp {upload.filename} rỗng.")
        elif len(upload.content) > MAX_ATTACHMENT_BYTES:
            errors.setdefault(where, []).append(f"Tệp {upload.filename} lớn hơn 10 MB.")
    return errors


def install(engine) -> None:
    """Let the engine keep dossiers' status (idempotent: the API and the worker may both call it)."""
    from .projection import observe
    if observe not in engine.observers:
        engine.observers.append(observe)
