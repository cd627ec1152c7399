"""The portal's steps around filing: pre-fill from the population register, a draft to review (the
extracted declarations, printed) before confirming it. Every rule lives in dossiers/; routes translate."""
from __future__ import annotations

import json

import marshmallow as ma
from flask import Response, request
from marshmallow import fields

from dossiers.drafts import DraftService
from dossiers.prefill import prefill
from dossiers.service import DossierService
from engine.errors import Forbidden, InvalidRequest
from identity import audit
from identity.permissions import requires
from identity.principal import AGENCY_BOUND
from registers.population import current_register

from .common import Blueprint, caller, engine
from .dossiers import _FILING_BODY, FiledDossierSchema, _status_response
from .errors import ErrorSchema

blp = Blueprint("drafts", __name__, description="The portal's steps before filing: pre-filling from the population "
                                                "register, drafts to review and print, confirmation")


def _drafts() -> DraftService:
    return DraftService(DossierService(engine()))


def _bound_agency() -> str | None:
    """The agency an officer files for (their own), as POST /api/dossiers binds it."""
    who = caller()
    if not who.roles & AGENCY_BOUND or who.is_admin:
        return None
    if who.agency is None:
        raise Forbidden(f"The user '{who.id}' belongs to no agency and cannot receive dossiers.")
    return who.agency


class DraftDeclarationSchema(ma.Schema):
    form = fields.String(metadata={"description": "The part: birth, residence, bhyt; death, residence, funeral"})
    title = fields.String()
    url = fields.String(metadata={"description": "The declaration printed (PDF), to review or to print and sign"})
    data = fields.Dict(metadata={"description": "The extracted official declaration, as the receipt will extract it"})


class DraftSchema(ma.Schema):
    id = fields.String()
    procedure = fields.String()
    agencyCode = fields.String()
    createdAt = fields.String()
    state = fields.String(metadata={"description": "draft, or confirmed once filed"})
    dossierCode = fields.String(allow_none=True, metadata={"description": "The dossier it was filed as"})
    declarations = fields.List(fields.Nested(DraftDeclarationSchema))
    confirmUrl = fields.String(metadata={"description": "POST here to file it"})
    filing = fields.Dict(metadata={"description": "The filing as sent (to correct it: a new draft)"})


class PrefillArgs(ma.Schema):
    procedure = fields.String(required=True, validate=ma.validate.OneOf(["birth", "death"]),
                              metadata={"description": "birth or death"})


class HouseholdMemberSchema(ma.Schema):
    fullName = fields.String()
    relationship = fields.String(metadata={"description": "To the head of household (Chủ hộ, Vợ, Con...)"})


class PrefilledHouseholdSchema(ma.Schema):
    householdId = fields.String()
    address = fields.String()
    head = fields.String()
    members = fields.List(fields.Nested(HouseholdMemberSchema))


class PrefillSchema(ma.Schema):
    procedure = fields.String()
    declaration = fields.Dict(metadata={"description": "The fields the register fills: requester; for a birth the "
                                                       "mother and father (the citizen and their spouse)"})
    household = fields.Nested(PrefilledHouseholdSchema, allow_none=True)


@blp.route("/dossiers/prefill", methods=["GET"])
@requires("dossier.prefill")
@blp.arguments(PrefillArgs, location="query")
@blp.response(200, PrefillSchema)
@blp.alt_response(404, schema=ErrorSchema, description="The register does not know the citizen logged in")
def prefill_declaration(args):
    """What the population register knows of the citizen logged in (their personal ID number is
    their login), to pre-fill the declaration: the requester, the parents, the household."""
    who = caller()
    answer = prefill(args["procedure"], who.id, current_register(engine().db))
    audit.read("population", who.id)
    return answer


@blp.route("/dossiers/drafts", methods=["POST"])
@requires("dossier.draft")
@blp.doc(requestBody=_FILING_BODY)
@blp.response(201, DraftSchema, description="Valid: the extracted declarations to review; nothing is filed yet")
@blp.alt_response(400, schema=ErrorSchema, description="Invalid: `fieldErrors` names every field, as for a filing")
def create_draft():
    """A draft of a filing (the JSON body of POST /api/dossiers): validated, with the official
    declarations extracted and printable for review (on paper: to print and sign). Confirm it to file."""
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as exc:
        raise InvalidRequest(f"Malformed JSON body: {exc}", {"body": ["Dữ liệu hồ sơ không đúng định dạng JSON."]}) from None
    who = caller()
    draft = _drafts().create(body, filer=who.id, owner_id=who.id if "citizen" in who.roles else None,
                             agency_code=_bound_agency())
    audit.concerns(draft["id"])
    return draft, 201


@blp.route("/dossiers/drafts/<draft_id>", methods=["GET"])
@requires("dossier.draft")
@blp.response(200, DraftSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No draft of the caller has this id")
def get_draft(draft_id):
    """One of the caller's drafts (only the account that made it sees it)."""
    who = caller()
    draft = _drafts().get(draft_id, caller=who.id, sees_all=who.is_admin)
    audit.read("draft", draft_id)
    return draft


@blp.route("/dossiers/drafts/<draft_id>/declarations/<form>.pdf", methods=["GET"])
@requires("dossier.draft")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
              description="The extracted declaration, printed")
@blp.alt_response(404, schema=ErrorSchema, description="No such draft of the caller, or no such declaration in it")
def draft_declaration_pdf(draft_id, form):
    """One extracted declaration of the draft, printed: to review, or to print and sign."""
    who = caller()
    pdf = _drafts().declaration_pdf(draft_id, form, caller=who.id, sees_all=who.is_admin)
    audit.read("draft-declaration", f"{draft_id}/{form}")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="ban-nhap-{form}.pdf"'
    return response


@blp.route("/dossiers/drafts/<draft_id>/confirm", methods=["POST"])
@requires("dossier.file")
@blp.response(201, FiledDossierSchema, description="Filed, as POST /api/dossiers answers")
@blp.alt_response(400, schema=ErrorSchema, description="No longer valid (e.g. the same child was filed meanwhile)")
@blp.alt_response(404, schema=ErrorSchema, description="No draft of the caller has this id")
@blp.alt_response(409, schema=ErrorSchema, description="The draft was confirmed already (the message names its dossier)")
def confirm_draft(draft_id):
    """File the draft: the dossier is received as if POST /api/dossiers had been called with it."""
    who = caller()
    status = _drafts().confirm(draft_id, caller=who.id, sees_all=who.is_admin, agency_code=_bound_agency())
    audit.concerns(draft_id, status["code"])
    audit.read("dossier", status["code"], status["code"])
    return _status_response(status, 201)
