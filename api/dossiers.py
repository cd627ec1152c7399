"""The citizens' and the portal's API under /api: file a dossier, follow it, fetch its declarations,
attach files, send a supplement. Every rule lives in dossiers/ and forms/; routes only translate."""
from __future__ import annotations

import json

import marshmallow as ma
from flask import Response, request, url_for
from marshmallow import fields

from dossiers.results import result_copy
from dossiers.service import DossierService, Upload
from engine.errors import Forbidden, InvalidRequest, NotFound

from identity.permissions import requires

from identity import audit, scope
from identity.principal import AGENCY_BOUND

from .common import Blueprint, caller, engine
from .contract import DECLARATIONS, example, ref
from .errors import ErrorSchema

blp = Blueprint("dossiers", __name__, description="Dossiers (hồ sơ liên thông): filing, status, declarations, supplements")

_JSON = "application/json"
_MULTIPART = "multipart/form-data"
_FORM = "application/x-www-form-urlencoded"


def _service() -> DossierService:
    return DossierService(engine())


# --- documentation of the shapes (the answers are built by dossiers.service) ---------------------

class PartSchema(ma.Schema):
    part = fields.String(metadata={"description": "birth: birth | residence | bhyt; death: death | residence | funeral | survivor"})
    name = fields.String()
    state = fields.String(metadata={"description": "received, processing, verifying, awaiting-supplement, handed-off, "
                                                   "awaiting-card, checking-eligibility, approved, refused, not-eligible, rejected, not-processed"})
    stateLabel = fields.String()
    agency = fields.String(allow_none=True, metadata={"description": "Who handles it now (the diagram's lane)"})
    receivedAt = fields.String()
    dueAt = fields.String(allow_none=True, metadata={"description": "Statutory due moment, Vietnamese working days, 15:00 rule"})
    overdue = fields.Boolean()
    note = fields.String(allow_none=True)
    result = fields.Dict(metadata={"description": "What the agency issued, e.g. childIdNumber, birthCertificateNumber; "
                                                  "for several children (twins) births[] and bhytCards[], one entry per child"})
    updatedAt = fields.String()


class TimelineSchema(ma.Schema):
    at = fields.String()
    part = fields.String(allow_none=True)
    state = fields.String()
    title = fields.String()


class DocumentLinkSchema(ma.Schema):
    form = fields.String(metadata={"description": "birth, residence, bhyt...; birth-2, bhyt-2... for the next children of a birth"})
    title = fields.String()
    url = fields.String()


class AttachmentSchema(ma.Schema):
    id = fields.String()
    part = fields.String(allow_none=True)
    kind = fields.String()
    filename = fields.String()
    mediaType = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class DossierStatusSchema(ma.Schema):
    code = fields.String(metadata={"description": "<agency code>-<YYMMDD>-<NNNN>; also the process instance's business key"})
    procedure = fields.String()
    state = fields.String(metadata={"description": "received, processing, ready-for-collection (the results wait at the "
                                                   "one-stop desk: `reason` says where and when), completed, rejected, "
                                                   "refused; or how the instance ended otherwise: cancelled, withdrawn, "
                                                   "terminated (an uncaught error)"})
    stateLabel = fields.String()
    reason = fields.String(allow_none=True)
    agencyCode = fields.String()
    receivedAt = fields.String()
    dueAt = fields.String(allow_none=True)
    completedAt = fields.String(allow_none=True)
    delivery = fields.String()
    parts = fields.List(fields.Nested(PartSchema))
    timeline = fields.List(fields.Nested(TimelineSchema))
    declarations = fields.List(fields.Nested(DocumentLinkSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class FiledDossierSchema(DossierStatusSchema):
    trackingSecret = fields.String(metadata={
        "description": "Given once, here and by SMS to the requester's phone: with the code, it lets anyone holding it "
                       "follow the dossier without an account (POST /api/tracking). Only its hash is stored. "
                       "null when a retried filing (same Idempotency-Key) answers the dossier already filed."},
        allow_none=True)


class FilingSchema(ma.Schema):
    """A filing (the route reads it itself: as JSON, or as the `dossier` part of a multipart form);
    the declaration is validated by the procedure's form, field by field."""

    procedure = fields.String(required=True, validate=ma.validate.OneOf(sorted(DECLARATIONS)),
                              metadata={"description": "Which linked procedure group: birth or death"})
    agencyCode = fields.String(metadata={"description": "Receiving agency, one of GET /api/agencies (default: "
                                                        "LIENTHONG_AGENCY_CODE; an officer files for their own agency)"})
    declaration = fields.Raw(required=True, metadata={
        "description": "The citizen's one declaration: a BirthDeclaration for birth, a DeathDeclaration for death "
                       "(examples/birth_declaration.json, examples/death_declaration.json)",
        "oneOf": [ref(name) for name, _form, _example in DECLARATIONS.values()]})


_FILING_BODY = {
    "required": True,
    "content": {
        _JSON: {"schema": ref("DossierFiling"),
                "example": {"procedure": "birth", "declaration": example(DECLARATIONS["birth"][2]).get("example", {})}},
        _MULTIPART: {"schema": {"type": "object", "required": ["dossier"], "properties": {
            "dossier": {"type": "string", "description": "A DossierFiling (the JSON body above), as text"},
            "attachments": {"type": "string", "format": "binary",
                            "description": "File parts (PDF, JPEG, PNG, ≤ 10 MB each; ≤ 30 files, 50 MB a dossier by default); the part name is the "
                                           "document kind, e.g. giay-chung-sinh"},
        }}},
    },
}
_FILES_BODY = {"required": True, "content": {_MULTIPART: {"schema": {"type": "object", "properties": {
    "part": {"type": "string", "description": "Supplements only: the part sent back (birth, residence, bhyt, death, funeral, survivor)"},
    "note": {"type": "string"},
    "files": {"type": "string", "format": "binary", "description": "File parts; the part name is the document kind"},
}}}}}


def _uploads() -> list[Upload]:
    uploads = []
    for kind, upload in request.files.items(multi=True):
        content = upload.read()
        uploads.append(Upload(kind=kind, filename=upload.filename or kind,
                              media_type=(upload.mimetype or "application/octet-stream").lower(), content=content))
    return uploads


def _json_field(text: str | None, name: str):
    if text is None:
        raise InvalidRequest(f"The multipart form needs a '{name}' part with the JSON", {name: ["Vui lòng gửi hồ sơ."]})
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"'{name}' is not valid JSON: {exc}", {name: ["Dữ liệu hồ sơ không đúng định dạng JSON."]}) from None


def _visible(code: str) -> None:
    """404 unless the caller may see this dossier: its citizen, or its receiving agency's staff."""
    if not _service().visible(code, **scope.dossiers(caller())):
        raise NotFound(f"Không tìm thấy hồ sơ có mã {code}.")


def _status_response(status: dict, code: int) -> Response:
    schema = FiledDossierSchema() if code == 201 else DossierStatusSchema()
    response = Response(json.dumps(schema.dump(status), ensure_ascii=False), status=code, mimetype=_JSON)
    if code == 201:
        response.headers["Location"] = url_for("dossiers.dossier_status", code=status["code"])
    return response


@blp.route("/dossiers", methods=["POST"])
@requires("dossier.file")
@blp.doc(requestBody=_FILING_BODY, parameters=[{
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 255},
    "description": "The filer's key for this filing (e.g. a UUID): sent again with the same filing (the answer was "
                   "lost), it answers the dossier already filed (header `Idempotent-Replayed: true`, no tracking "
                   "secret: it went by SMS); with another filing, 409."}])
@blp.response(201, FiledDossierSchema, description="Filed: the dossier code, its parts and their due dates, and the "
                                                  "tracking secret (given this once)")
@blp.alt_response(400, schema=ErrorSchema, description="Invalid: `fieldErrors` names every field (nothing is stored)")
def file_dossier():
    """File a dossier: the citizen declares once (JSON, or multipart with attachments).

    Every field error is reported at once (400, `fieldErrors` keyed by path, Vietnamese
    messages); nothing is stored from an invalid submission."""
    if request.mimetype == _FORM and "dossier" not in request.form:
        # What `curl -d '{...}'` sends when the header is forgotten: the JSON, labelled as a form.
        raise InvalidRequest("The body came as application/x-www-form-urlencoded: send the JSON with the header "
                             "'Content-Type: application/json', or a multipart/form-data body with a 'dossier' part",
                             {"Content-Type": ["Thiếu tiêu đề Content-Type: application/json."]})
    if request.mimetype in (_MULTIPART, _FORM):
        body = _json_field(request.form.get("dossier"), "dossier")
        uploads = _uploads()
    else:
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError as exc:
            raise InvalidRequest(f"Malformed JSON body: {exc}", {"body": ["Dữ liệu hồ sơ không đúng định dạng JSON."]}) from None
        uploads = []
    who = caller()
    owner = who.id if "citizen" in who.roles else None
    agency = who.agency if who.roles & AGENCY_BOUND and not who.is_admin else None
    if agency is None and who.roles & AGENCY_BOUND and not who.is_admin:
        raise Forbidden(f"The user '{who.id}' belongs to no agency and cannot receive dossiers.")
    status = _service().submit(body, uploads, owner_id=owner, agency_code=agency, filer=who.id,
                               idempotency_key=request.headers.get("Idempotency-Key"))
    replayed = status.pop("replayed", False)
    audit.concerns(status["code"], status["code"])
    audit.read("dossier", status["code"], status["code"])
    response = _status_response(status, 201)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


class DossierSummarySchema(ma.Schema):
    code = fields.String()
    procedure = fields.String()
    state = fields.String()
    stateLabel = fields.String()
    agencyCode = fields.String()
    receivedAt = fields.String()
    dueAt = fields.String(allow_none=True)
    completedAt = fields.String(allow_none=True)


class DossierListArgs(ma.Schema):
    state = fields.String(load_default=None)
    firstResult = fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10_000_000))
    maxResults = fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


@blp.route("/dossiers", methods=["GET"])
@requires("dossier.list")
@blp.arguments(DossierListArgs, location="query")
@blp.response(200, DossierSummarySchema(many=True))
def list_dossiers(args):
    """The dossiers the caller may see, newest first: a citizen's own, or the agency's."""
    return _service().list(**scope.dossiers(caller()), state=args["state"], first=args["firstResult"],
                           max_results=args["maxResults"])


@blp.route("/dossiers/<code>", methods=["GET"])
@requires("dossier.read")
@blp.response(200, DossierStatusSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No dossier has this code")
def dossier_status(code):
    """Where the dossier stands: overall and per part (state, agency, received, due, result), the
    timeline, and the printed declarations."""
    _visible(code)
    audit.read("dossier", code, code)
    return _status_response(_service().status(code), 200)


@blp.route("/dossiers/<code>/declarations/<form>.pdf", methods=["GET"])
@requires("dossier.read")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
              description="The printed declaration")
@blp.alt_response(404, schema=ErrorSchema, description="No such dossier; a form the dossier does not have (the message lists "
                                                       "those it has); or the declaration is not printed yet")
def declaration_pdf(code, form):
    """One printed declaration of the dossier: birth, residence or bhyt (birth-2, bhyt-2... for twins)."""
    _visible(code)
    audit.read("declaration", f"{code}/{form}", code)
    document = _service().document(code, form)
    response = Response(document.content, mimetype=document.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{code}-{form}.pdf"'
    response.headers["ETag"] = f'"{document.sha256}"'
    return response


@blp.route("/dossiers/<code>/results/<part>.pdf", methods=["GET"])
@requires("dossier.results")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
              description="The electronic copy of the part's result (giấy khai sinh, thẻ BHYT...)")
@blp.alt_response(404, schema=ErrorSchema, description="Not the caller's dossier; not for electronic delivery; or the "
                                                       "part has no result yet (the message says which)")
def result_pdf(code, part):
    """The electronic copy of one result (birth, residence, bhyt; death, residence), for the citizen
    who filed the dossier and chose electronic delivery."""
    who = caller()
    pdf = result_copy(_service(), code, part, owner_id=None if who.is_admin else who.id)
    audit.read("result", f"{code}/{part}", code)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{code}-{part}.pdf"'
    return response


@blp.route("/dossiers/<code>/attachments", methods=["POST"])
@requires("dossier.update")
@blp.doc(requestBody=_FILES_BODY)
@blp.response(201, AttachmentSchema(many=True))
@blp.alt_response(400, schema=ErrorSchema, description="A file that is not a PDF, JPEG or PNG, empty, or over 10 MB; "
                                                       "or more than the dossier may hold (30 files, 50 MB by default)")
@blp.alt_response(409, schema=ErrorSchema, description="The dossier has ended")
def attach_files(code):
    """Attach more documents to a dossier (the separate upload call)."""
    _visible(code)
    return _service().add_attachments(code, _uploads())


@blp.route("/dossiers/<code>/supplements", methods=["POST"])
@requires("dossier.update")
@blp.doc(requestBody=_FILES_BODY)
@blp.response(200, DossierStatusSchema)
@blp.alt_response(400, schema=ErrorSchema, description="Invalid part or files, or more than the dossier may hold")
@blp.alt_response(409, schema=ErrorSchema, description="That part is not waiting for a supplement")
def supplement(code):
    """Send the documents an officer asked for; the part goes back to the same officer.
    409 when that part is not waiting for a supplement."""
    _visible(code)
    status = _service().supplement(code, request.form.get("part"), _uploads(), request.form.get("note"))
    return _status_response(status, 200)


class WithdrawalBody(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    # Checked by the service, which answers in Vietnamese (required, at most 1000 characters).
    reason = fields.Raw(load_default=None, metadata={"type": "string", "maxLength": 1000,
                                                     "description": "Why the citizen withdraws the dossier"})


@blp.route("/dossiers/<code>/withdrawal", methods=["POST"])
@requires("dossier.update")
@blp.arguments(WithdrawalBody)
@blp.response(200, DossierStatusSchema)
@blp.alt_response(400, schema=ErrorSchema, description="No reason, or a reason over 1000 characters")
@blp.alt_response(409, schema=ErrorSchema, description="An officer has already decided a part, or the dossier has ended")
def withdraw(body, code):
    """Withdraw a dossier (rút hồ sơ) that no officer has decided yet: the citizen who filed it, or
    the receiving agency's desk officer on their behalf. Its status becomes `withdrawn` (Đã rút),
    and the citizen gets an SMS. 409 once an officer decided any part."""
    _visible(code)
    status = _service().withdraw(code, body["reason"], caller().id)
    return _status_response(status, 200)
