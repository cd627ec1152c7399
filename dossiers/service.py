"""Dossier commands and queries: file a dossier, supplement a part, read its status and documents.

Filing is one transaction: the dossier code, the dossier and part rows, the attachments and the
process instance (whose business key is the code) are stored together, or nothing is.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import func, or_, select

from agencies.sms import queue_in as queue_sms
from engine.errors import ConcurrentModification, InvalidRequest, LostRace, NotFound
from engine.form_registry import FormRegistry, flatten_errors
from engine.runtime import new_id
from forms.birth import children_of
from forms.extraction import PROCEDURES as EXTRACTIONS
from forms.extraction import declaration_key, part_of

from . import codes, file_content, filenames, tracking, withdrawal
from .agencies import AgencyCatalogue, catalogue
from .projection import FINAL_DOSSIER_STATES
from .models import Dossier, DossierAttachment, DossierDocument, DossierEvent, DossierPart, DossierSubject, FilingKey
from .subjects import duplicate_message, subjects_of

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
    "ready-for-collection": "Đã có kết quả, mời nhận tại Bộ phận Một cửa",
    "completed": "Đã hoàn thành",
    "checking-eligibility": "Đang tra cứu chế độ được hưởng",
    "not-eligible": "Không thuộc diện được hưởng",
    "cancelled": "Đã hủy",
    "withdrawn": "Đã rút hồ sơ",
    "terminated": "Đã dừng giải quyết",
}
# A part in one of these states has its outcome; its last change is when it was completed.
FINAL_PART_STATES = frozenset({"approved", "refused", "rejected", "not-processed", "not-eligible", "completed", "cancelled",
                               "withdrawn", "terminated"})
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20  # in one request


@dataclass(frozen=True)
class Procedure:
    """A linked procedure group the dossier API files: its declaration (a registered form
    schema), its process, the names of its parts and of its printed forms."""

    key: str
    process_key: str
    schema_name: str  # in the engine's form registry (forms/ registers them)
    title: str  # what citizens and officers call the linked procedure
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
        title="Liên thông đăng ký khai sinh, thường trú, cấp thẻ BHYT",
        part_names={"birth": "Đăng ký khai sinh", "residence": "Đăng ký thường trú",
                    "bhyt": "Cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi"},
        form_titles={"birth": "Tờ khai đăng ký khai sinh",
                     "residence": "Tờ khai thay đổi thông tin cư trú (CT01)",
                     "bhyt": "Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)"},
        flags={"wantsResidence": "residence", "wantsBhyt": "bhyt"}),
    "death": Procedure(
        "death", "death_linked", "death-declaration",
        title="Liên thông đăng ký khai tử, xóa thường trú, hỗ trợ mai táng",
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


@dataclass(frozen=True)
class Filing:
    """A filing that passed every check, ready to be stored (DossierService.file)."""

    procedure: Procedure
    agency_code: str
    declaration: dict
    uploads: tuple[Upload, ...]


def agency_code_from_environment() -> str:
    return os.environ.get("LIENTHONG_AGENCY_CODE", "").strip() or DEFAULT_AGENCY_CODE


@dataclass(frozen=True)
class UploadLimits:
    """What one dossier may hold in all (at filing, attachments and supplements together), beside
    the per-file limit: a dossier is a few scans, not storage anyone can fill."""

    files: int = 30
    total_bytes: int = 50 * 1024 * 1024

    @classmethod
    def from_environment(cls) -> "UploadLimits":
        """LIENTHONG_DOSSIER_MAX_FILES (default 30), LIENTHONG_DOSSIER_MAX_MB (default 50)."""
        def number(name: str, default: float) -> float:
            text = os.environ.get(name, "").strip()
            try:
                value = float(text) if text else default
            except ValueError:
                raise ValueError(f"{name} must be a number, not {text!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be above 0")
            return value
        return cls(files=int(number("LIENTHONG_DOSSIER_MAX_FILES", cls.files)),
                   total_bytes=int(number("LIENTHONG_DOSSIER_MAX_MB", cls.total_bytes / 1024 / 1024) * 1024 * 1024))

    def check(self, uploads, held_files: int = 0, held_bytes: int = 0) -> dict[str, list[str]]:
        files, size = held_files + len(uploads), held_bytes + sum(len(u.content) for u in uploads)
        if files <= self.files and size <= self.total_bytes:
            return {}
        held = f" (hồ sơ đã có {held_files} tệp, {_megabytes(held_bytes)})" if held_files else ""
        return {"files": [f"Mỗi hồ sơ nhận tối đa {self.files} tệp, tổng cộng {_megabytes(self.total_bytes)}{held}; "
                          f"không thể nhận thêm {len(uploads)} tệp ({_megabytes(size - held_bytes)})."]}


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


class DossierService:
    def __init__(self, engine, agency_code: str | None = None, agencies: AgencyCatalogue | None = None,
                 upload_limits: UploadLimits | None = None):
        self.engine = engine
        self.agency_code = agency_code or agency_code_from_environment()
        self.agencies = agencies or catalogue()
        self.upload_limits = upload_limits or UploadLimits.from_environment()

    # --- commands ------------------------------------------------------------------------------

    def submit(self, body: Any, uploads: list[Upload] = (), *, owner_id: str | None = None,
               agency_code: str | None = None, filer: str | None = None, idempotency_key: str | None = None) -> dict:
        """Validate everything, then store the dossier and start its process in one transaction.
        The answer is the dossier's status plus `trackingSecret`, given this once (and by SMS).

        `owner_id`: the citizen filing it (they alone, and the receiving agency, see it later);
        `agency_code`: the receiving agency when the filer is bound to one (an officer at the desk);
        `idempotency_key`: the filer's (`filer`) key for this filing: the same key again with the same
        filing answers the dossier already filed (without the secret, which went by SMS), the same
        key with another filing is refused (409)."""
        fingerprint = _fingerprint(body, uploads)
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 255:
                raise InvalidRequest("The Idempotency-Key must have 1 to 255 characters",
                                     {"Idempotency-Key": ["Khóa Idempotency-Key phải có từ 1 đến 255 ký tự."]})
            filed = self._filed_with(filer or "", idempotency_key, fingerprint)
            if filed is not None:
                return filed
        return self.file(self.validate(body, uploads, agency_code=agency_code), owner_id=owner_id, filer=filer,
                         idempotency_key=idempotency_key, fingerprint=fingerprint)

    def validate(self, body: Any, uploads: list[Upload] = (), *, agency_code: str | None = None) -> Filing:
        """The filing checked whole (every field's problem at once, as InvalidRequest), not yet stored."""
        if not isinstance(body, dict):
            raise InvalidRequest("The dossier must be a JSON object", {"body": ["Dữ liệu gửi lên không đúng dạng."]})
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(body) - {"procedure", "agencyCode", "declaration"})
        for name in unknown:
            errors[name] = ["Hồ sơ không có mục này."]
        procedure = PROCEDURES.get(body.get("procedure"))
        if procedure is None:
            errors["procedure"] = [f"Vui lòng chọn thủ tục liên thông: {', '.join(sorted(PROCEDURES))}."]
        bound_agency = agency_code
        agency_code = body.get("agencyCode", bound_agency or self.agency_code)
        if not isinstance(agency_code, str) or not codes.AGENCY_CODE.match(agency_code):
            errors["agencyCode"] = ["Mã cơ quan tiếp nhận chỉ gồm chữ in hoa, chữ số và dấu chấm, ví dụ H19.87.001."]
        elif bound_agency is not None and agency_code != bound_agency:
            errors["agencyCode"] = [f"Cán bộ chỉ tiếp nhận hồ sơ cho cơ quan của mình ({bound_agency})."]
        elif agency_code not in self.agencies:
            errors["agencyCode"] = [f"Cơ quan tiếp nhận {agency_code} không có trong danh mục; "
                                    "chọn một cơ quan trong danh sách GET /api/agencies."]
        declaration = None
        if procedure is not None:
            if "declaration" not in body:
                errors["declaration"] = ["Vui lòng gửi tờ khai."]
            else:
                try:
                    declaration = procedure.schema(self.engine.forms, self.engine.timezone).load(body["declaration"])
                except ValidationError as exc:
                    errors.update(flatten_errors(exc.messages, "declaration"))
        errors.update(_check_uploads(uploads) or self.upload_limits.check(uploads))
        if errors:
            raise InvalidRequest("Hồ sơ chưa hợp lệ: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)
        return Filing(procedure, agency_code, declaration, tuple(uploads))

    def file(self, filing: Filing, *, owner_id: str | None = None, filer: str | None = None,
             idempotency_key: str | None = None, fingerprint: str = "") -> dict:
        """Store a validated filing and start its process: one transaction (see submit)."""
        secret = tracking.new_secret()
        secret_hash = tracking.hash_secret(secret)  # before the transaction: Argon2 takes a while
        subjects, _ = subjects_of(filing.procedure.key, filing.declaration)
        (subject, subject_field) = subjects[0]
        try:
            code, instance_id = self._store(filing, subjects, secret, secret_hash, owner_id,
                                            filer, idempotency_key, fingerprint)
        except LostRace:
            # A twin filing of the same subject committed between our look-up and our insert: the
            # unique index on standing subjects refused this one. Name the dossier that won.
            with self.engine.db.reading() as session:
                earlier = self._standing_dossier(session, subject)
            if earlier is None:
                raise
            raise DuplicateFiling(f"Hồ sơ trùng với hồ sơ {earlier}, nộp cùng lúc",
                                  {subject_field: [duplicate_message(filing.procedure.key, earlier)]}) from None
        log.info("dossier filed", extra={"dossier": code, "instance": instance_id, "procedure": filing.procedure.key,
                                         "parts": list(filing.declaration["parts"]), "attachments": len(filing.uploads)})
        return {**self.status(code), "trackingSecret": secret}

    def _store(self, filing: Filing, subjects: list[tuple[str, str]], secret: str, secret_hash: str,
               owner_id: str | None, filer: str | None, idempotency_key: str | None,
               fingerprint: str) -> tuple[str, str]:
        """The filing's one transaction: the dossier, its parts, attachments and process instance."""
        engine, procedure, declaration = self.engine, filing.procedure, filing.declaration
        phone = (declaration.get("requester") or {}).get("phone")
        with engine.command() as session:
            now = engine.clock.now()
            duplicates, first = {}, None
            for subject, field in subjects:
                earlier = self._standing_dossier(session, subject)
                if earlier is not None:
                    first = first or earlier
                    duplicates[field] = [duplicate_message(procedure.key, earlier)]
            if duplicates:
                raise InvalidRequest(f"Hồ sơ trùng với hồ sơ {first}", duplicates)
            code = codes.new_code(session, filing.agency_code, now, engine.timezone)
            session.add(Dossier(code=code, procedure=procedure.key, agency_code=filing.agency_code, instance_id="",
                                state="received", received_at=now, delivery=declaration.get("delivery", "desk"),
                                phone=phone, declaration=declaration, owner_id=owner_id,
                                tracking_secret_hash=secret_hash, subject_key=subjects[0][0]))
            session.flush()
            session.add_all(DossierSubject(dossier_code=code, subject_key=subject) for subject, _ in subjects[1:])
            queue_sms(session, key=f"tracking:{code}", dossier_code=code, phone=phone,
                      text=tracking.sms_text(code, f"[[{secret}]]"), now=now)
            for part in declaration["parts"]:
                session.add(DossierPart(dossier_code=code, part=part, state="received", updated_at=now))
            for upload in filing.uploads:
                session.add(_attachment(code, None, upload, now))
            session.flush()
            variables = {"dossierCode": code, "receivedAt": now.astimezone(engine.timezone).isoformat(),
                         "declaration": declaration, **procedure.variables(declaration)}
            instance_id = engine.start_in(session, procedure.process_key, variables, business_key=code,
                                          user_id=owner_id, tenant_id=filing.agency_code)
            session.get(Dossier, code).instance_id = instance_id  # when no element of the diagram is marked
            if idempotency_key is not None:  # a concurrent twin fails on this key's primary key (409)
                session.add(FilingKey(filer=filer or "", key=idempotency_key, body_hash=fingerprint,
                                      dossier_code=code, created=now))
        return code, instance_id

    def _filed_with(self, filer: str, key: str, fingerprint: str) -> dict | None:
        with self.engine.db.reading() as session:
            row = session.get(FilingKey, (filer, key))
            if row is None:
                return None
            if row.body_hash != fingerprint:
                raise KeyReused(f"The Idempotency-Key '{key}' was used for another filing ({row.dossier_code})")
            code = row.dossier_code
        log.info("dossier filing replayed", extra={"dossier": code})
        return {**self.status(code), "trackingSecret": None, "replayed": True}

    @staticmethod
    def _standing_dossier(session, subject: str) -> str | None:
        """The code of an earlier dossier for this subject that still stands, if any."""
        return session.scalar(
            select(Dossier.code)
            .where(or_(Dossier.subject_key == subject,
                       Dossier.code.in_(select(DossierSubject.dossier_code).where(DossierSubject.subject_key == subject))),
                   Dossier.subject_standing)
            .order_by(Dossier.received_at).limit(1))

    def add_attachments(self, code: str, uploads: list[Upload]) -> list[dict]:
        if not uploads:
            raise InvalidRequest("No file was attached", {"files": ["Vui lòng đính kèm ít nhất một tệp."]})
        errors = _check_uploads(uploads)
        if errors:
            raise InvalidRequest("Tệp đính kèm chưa hợp lệ", errors)
        with self.engine.command() as session:
            dossier = _dossier(session, code, lock=True)
            if dossier.state in FINAL_DOSSIER_STATES:
                raise ConcurrentModification(f"Hồ sơ {code} đã kết thúc ({STATE_LABELS[dossier.state]}); không thể đính kèm thêm.")
            self._within_limits(session, code, uploads)
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
                dossier = _dossier(session, code)  # not locked: the engine's own save orders the locks here
                row = session.get(DossierPart, (code, part))
                names = PROCEDURES[dossier.procedure].part_names
                if row is None:
                    raise InvalidRequest(f"Hồ sơ {code} không có thủ tục {part}",
                                         {"part": ["Hồ sơ không có thủ tục này; chọn một trong: " + ", ".join(names) + "."]})
                if row.state != "awaiting-supplement":
                    raise ConcurrentModification(f"Thủ tục {names.get(part, part)} của hồ sơ {code} không chờ bổ sung "
                                                 f"(trạng thái: {STATE_LABELS.get(row.state, row.state)}).")
                self._within_limits(session, code, uploads)
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

    def withdraw(self, code: str, reason: Any, actor: str | None = None) -> dict:
        """The citizen (or a desk officer for them) withdraws a dossier no officer has decided yet:
        409 once one has, or once it ended."""
        withdrawal.withdraw(self.engine, code, reason, actor, STATE_LABELS)
        return self.status(code)

    def _within_limits(self, session, code: str, uploads: list[Upload]) -> None:
        """400 when these files would take the dossier over its limits. Attachments lock the dossier
        row first, so two at once cannot both pass; two supplements at once could, by one
        request's worth at most (the app refuses a request over MAX_CONTENT_LENGTH, 16 MB)."""
        held_files, held_bytes = session.execute(
            select(func.count(), func.coalesce(func.sum(DossierAttachment.size), 0))
            .where(DossierAttachment.dossier_code == code)).one()
        errors = self.upload_limits.check(uploads, held_files, int(held_bytes))
        if errors:
            raise InvalidRequest(f"Hồ sơ {code} đã đạt giới hạn tệp đính kèm", errors)

    # --- queries -------------------------------------------------------------------------------

    def visible(self, code: str, *, owner_id: str | None = None, agency_codes: list[str] | None = None) -> bool:
        """Whether a dossier with this code is within these filters (a citizen's own, an agency's)."""
        stmt = select(Dossier.code).where(Dossier.code == code)
        if owner_id is not None:
            stmt = stmt.where(Dossier.owner_id == owner_id)
        if agency_codes is not None:
            stmt = stmt.where(Dossier.agency_code.in_(agency_codes))
        with self.engine.db.reading() as session:
            return session.execute(stmt).first() is not None

    def list(self, *, owner_id: str | None = None, agency_codes: list[str] | None = None,
             state: str | None = None, first: int = 0, max_results: int = 50) -> list[dict]:
        """The dossiers within these filters, newest first: code, procedure, state, dates."""
        stmt = select(Dossier.code, Dossier.procedure, Dossier.state, Dossier.agency_code, Dossier.received_at,
                      Dossier.due_at, Dossier.completed_at)
        if owner_id is not None:
            stmt = stmt.where(Dossier.owner_id == owner_id)
        if agency_codes is not None:
            stmt = stmt.where(Dossier.agency_code.in_(agency_codes))
        if state is not None:
            stmt = stmt.where(Dossier.state == state)
        stmt = stmt.order_by(Dossier.received_at.desc(), Dossier.code.desc()).offset(first).limit(max_results)
        zone = self.engine.timezone
        with self.engine.db.reading() as session:
            return [{"code": r.code, "procedure": r.procedure, "state": r.state,
                     "stateLabel": STATE_LABELS.get(r.state, r.state), "agencyCode": r.agency_code,
                     "receivedAt": _local(r.received_at, zone), "dueAt": _local(r.due_at, zone),
                     "completedAt": _local(r.completed_at, zone)} for r in session.execute(stmt)]

    def counts_by_state(self) -> list[tuple[str, str, int]]:
        """(procedure, state, dossiers): what the service holds, for its metrics."""
        with self.engine.db.reading() as session:
            return [tuple(row) for row in session.execute(
                select(Dossier.procedure, Dossier.state, func.count()).group_by(Dossier.procedure, Dossier.state))]

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
                "declarations": [{"form": form, "title": _form_title(procedure, form),
                                  "url": f"/api/dossiers/{code}/declarations/{form}.pdf"}
                                 for form in sorted(forms, key=lambda f: (order.index(part_of(f)) if part_of(f) in order
                                                                          else len(order), f))],
                "attachments": [_attachment_view(code, a) for a in attachments],
            }

    def track(self, code: Any, secret: Any) -> dict:
        """Tracking without an account: the dossier's progress for its code and tracking secret.
        No personal data: no names, ID numbers, addresses, phone, results, notes or attachments.
        An unknown code and a wrong secret are the same NotFound."""
        with self.engine.db.reading() as session:
            dossier = session.get(Dossier, code) if isinstance(code, str) and isinstance(secret, str) else None
            stored = dossier.tracking_secret_hash if dossier is not None else None
        if not tracking.verify(stored, secret if isinstance(secret, str) else ""):
            raise NotFound("Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này.")
        zone = self.engine.timezone
        with self.engine.db.reading() as session:
            dossier = _dossier(session, code)
            parts = {row.part: row for row in session.scalars(select(DossierPart).where(DossierPart.dossier_code == code))}
            events = session.scalars(select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(DossierEvent.seq))
            procedure = PROCEDURES[dossier.procedure]
            agency = self.agencies.get(dossier.agency_code)
            return {
                "code": dossier.code,
                "procedure": dossier.procedure,
                "state": dossier.state,
                "stateLabel": STATE_LABELS.get(dossier.state, dossier.state),
                "agencyCode": dossier.agency_code,
                "agencyName": agency.name if agency else None,
                "receivedAt": _local(dossier.received_at, zone),
                "dueAt": _local(dossier.due_at, zone),
                "completedAt": _local(dossier.completed_at, zone),
                "parts": [{"part": row.part, "name": procedure.part_names.get(row.part, row.part), "state": row.state,
                           "stateLabel": STATE_LABELS.get(row.state, row.state), "agency": row.agency,
                           "receivedAt": _local(dossier.received_at, zone), "dueAt": _local(row.due_at, zone),
                           "completedAt": _local(row.updated_at, zone) if row.state in FINAL_PART_STATES else None,
                           "overdue": row.overdue}
                          for name in dossier.declaration["parts"] if (row := parts.get(name)) is not None],
                "timeline": [{"at": _local(e.at, zone), "part": e.part, "state": e.state, "title": e.title} for e in events],
            }

    def document(self, code: str, form: str) -> DossierDocument:
        with self.engine.db.reading() as session:
            dossier = _dossier(session, code)
            forms = _forms_of(dossier)
            if form not in forms:
                raise NotFound(f"Hồ sơ {code} không có tờ khai '{form}'; các tờ khai của hồ sơ: {', '.join(forms)}.")
            row = session.get(DossierDocument, (code, form))
            if row is None:
                raise NotFound(f"Hồ sơ {code} chưa có tờ khai '{form}' (tờ khai được in sau khi tiếp nhận; hãy thử lại sau ít giây).")
            session.expunge(row)
            return row


def _forms_of(dossier: Dossier) -> list[str]:
    """The declarations a dossier has (printed or to be): one per part that has a form, and for a
    birth with several children one birth and BHYT declaration per child (birth-2, bhyt-2...)."""
    titled = PROCEDURES[dossier.procedure].form_titles
    per_child = EXTRACTIONS[dossier.procedure].per_child
    children = len(children_of(dossier.declaration)) if per_child else 1
    return [declaration_key(part, index) for part in dossier.declaration["parts"] if part in titled
            for index in range(children if part in per_child else 1)]


def _form_title(procedure: Procedure, form: str) -> str:
    part = part_of(form)
    title = procedure.form_titles.get(part, form)
    return title if form == part else f"{title} (trẻ thứ {form.rsplit('-', 1)[1]})"


class DuplicateFiling(ConcurrentModification):
    """The same subject was filed at the same moment by someone else, whose dossier stands (409);
    the field errors name it, as the 400 for a dossier filed earlier does."""

    def __init__(self, message: str, field_errors: dict):
        self.field_errors = field_errors
        super().__init__(message)


class KeyReused(ConcurrentModification):
    """An Idempotency-Key sent again with a different filing (HTTP 409)."""

    field_errors = {"Idempotency-Key": ["Khóa này đã được dùng cho một hồ sơ khác; hãy dùng khóa mới cho hồ sơ mới."]}


def _fingerprint(body: Any, uploads) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode())
    for upload in uploads:
        digest.update(f"\0{upload.kind}\0{upload.filename}\0".encode())
        digest.update(hashlib.sha256(upload.content).digest())
    return digest.hexdigest()


def _dossier(session, code: str, lock: bool = False) -> Dossier:
    dossier = session.get(Dossier, code, with_for_update=lock) if isinstance(code, str) else None
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
    return DossierAttachment(id=new_id(), dossier_code=code, part=part, kind=upload.kind,
                             filename=filenames.cleaned(upload.filename, upload.kind),
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
        if (refused := filenames.refusal(upload.filename)) is not None:
            errors.setdefault(where, []).append(refused)
        if not upload.content:
            errors.setdefault(where, []).append(f"Tệp {upload.filename} rỗng.")
        elif len(upload.content) > MAX_ATTACHMENT_BYTES:
            errors.setdefault(where, []).append(f"Tệp {upload.filename} lớn hơn 10 MB.")
        elif (unusable := file_content.refusal(upload.media_type, upload.content, upload.filename)) is not None:
            errors.setdefault(where, []).append(unusable)
    return errors


def install(engine) -> None:
    """Let the engine keep dossiers' status (idempotent: the API and the worker may both call it)."""
    from .projection import observe
    if observe not in engine.observers:
        engine.observers.append(observe)
