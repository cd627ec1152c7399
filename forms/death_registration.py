"""The death registration declaration (tờ khai đăng ký khai tử), as extracted from the citizen's
death declaration by forms/extraction.py: what the civil-status officer receives and what is printed.

Same conventions as forms/common.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings, the time of death as Vietnam time "YYYY-MM-DDTHH:MM". Every key is required.

    {"receivingAgency",
     "requester": {fullName, dateOfBirth, residence, idNumber, relationship},
     "deceased": {fullName, dateOfBirth, sex, ethnicity, nationality, lastResidence, idNumber},
     "death": {diedAt, place, cause, noticeNumber, noticeIssuedBy, noticeIssuedOn},
     "copies", "place", "declaredOn"}
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.form_registry import form_schema

from .common import CivilStatusDeclaration, Form, IsoDate, Problems, Section, Text, id_matches_person, iso_date
from .death import DeathSchema, DeceasedSchema
from .personal_id import PersonalIdField


class RequesterSchema(Form):
    fullName = Text("họ, chữ đệm, tên người yêu cầu")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người yêu cầu")
    residence = Text("nơi cư trú của người yêu cầu")
    idNumber = PersonalIdField(required=True)  # the ID document: the personal ID number (CCCD)
    relationship = Text("quan hệ với người đã chết")

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)


@form_schema("death-registration")
class DeathRegistrationSchema(CivilStatusDeclaration):
    receivingAgency = Text("cơ quan đăng ký khai tử")
    requester = Section(RequesterSchema, "thông tin người yêu cầu")
    deceased = Section(DeceasedSchema, "thông tin người đã chết")
    death = Section(DeathSchema, "thông tin về việc chết")

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        # born <= died <= notice issued <= declared (ISO strings compare as dates; diedAt by its day).
        problems = Problems()
        born, died = iso_date(data["deceased"]["dateOfBirth"]), iso_date(data["death"]["diedAt"])
        notice, declared = iso_date(data["death"]["noticeIssuedOn"]), iso_date(data["declaredOn"])
        if died < born:
            problems.add("death.diedAt", "Ngày chết không được trước ngày sinh của người đã chết.")
        if died > declared:
            problems.add("death.diedAt", "Ngày chết không được sau ngày làm tờ khai.")
        if notice < died:
            problems.add("death.noticeIssuedOn", "Ngày cấp giấy báo tử không được trước ngày chết.")
        elif notice > declared:
            problems.add("death.noticeIssuedOn", "Ngày cấp giấy báo tử không được sau ngày làm tờ khai.")
        if data["requester"]["idNumber"] == data["deceased"]["idNumber"]:
            problems.add("requester.idNumber", "Số định danh cá nhân của người yêu cầu trùng với của người đã chết.")
        problems.raise_any()
