"""Names of people, and every text of a declaration, are stored in NFC; bidirectional controls and
zero-width characters are refused with a Vietnamese message on the field (U+202E made the printed
declaration read "KHAN" where "NAHK" was typed; a name in NFD was kept in NFD)."""
from __future__ import annotations

import unicodedata

import pytest

from dossiers.models import Dossier
from tests.birth_examples import another_child
from tests.citizens import start_service
from tests.death_examples import death_declaration


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _file(service, declaration: dict, procedure: str = "birth"):
    return service.citizen("087084000999").post("/api/dossiers", json={"procedure": procedure, "declaration": declaration})


def test_a_name_in_nfd_is_stored_in_nfc(service):
    declaration = another_child()
    typed = declaration["child"]["fullName"].replace("Nguyễn", unicodedata.normalize("NFD", "Nguyễn"))
    declaration["child"]["fullName"] = typed
    declaration["mother"]["fullName"] = unicodedata.normalize("NFD", "Trần Thị Bình")
    declaration["requester"]["residence"] = unicodedata.normalize("NFD", "Ấp 1, xã Mỹ An, Đồng Tháp")
    assert not unicodedata.is_normalized("NFC", typed)
    response = _file(service, declaration)
    assert response.status_code == 201, response.get_json()
    with service.engine.db.reading() as session:
        stored = session.get(Dossier, response.get_json()["code"]).declaration
    assert stored["child"]["fullName"] == unicodedata.normalize("NFC", typed)
    assert stored["mother"]["fullName"] == "Trần Thị Bình" and stored["requester"]["residence"] == "Ấp 1, xã Mỹ An, Đồng Tháp"


@pytest.mark.parametrize("field, value, code", [
    ("child__fullName", "Nguyễn \u202eNAHK", "U+202E"),
    ("mother__fullName", "Trần Thị\u200b Bình", "U+200B"),
    ("requester__residence", "Ấp 1, xã Mỹ An\u2067, Đồng Tháp", "U+2067"),
])
def test_bidi_controls_and_zero_width_characters_are_refused_on_the_field(service, field, value, code):
    response = _file(service, another_child(**{field: value}))
    assert response.status_code == 400, response.get_json()
    [message] = response.get_json()["fieldErrors"]["declaration." + field.replace("__", ".")]
    assert "ký tự điều khiển hướng chữ hoặc ký tự vô hình" in message and code in message
    with service.engine.db.reading() as session:
        assert session.query(Dossier).count() == 0


def test_the_death_declaration_refuses_them_too(service):
    response = _file(service, death_declaration(deceased__fullName="Nguyễn Văn \u202eMáT"), "death")
    assert response.status_code == 400
    assert "U+202E" in response.get_json()["fieldErrors"]["declaration.deceased.fullName"][0]
