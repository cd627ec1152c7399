"""Uploaded files' names are stored cleaned: no path, NFC, no control characters; a name with
bidirectional controls or invisible characters is refused with a clear message."""
from __future__ import annotations

import io
import unicodedata

import pytest

from tests.birth_examples import birth_declaration
from tests.citizens import PDF, start_service


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _attach(service, name: str):
    citizen = service.citizen("087084000999")
    code = citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()["code"]
    response = citizen.post(f"/api/dossiers/{code}/attachments", content_type="multipart/form-data",
                            data={"giay-to": (io.BytesIO(PDF), name, "application/pdf")})
    return citizen, code, response


@pytest.mark.parametrize("sent, stored", [
    ("../../../../etc/passwd.pdf", "passwd.pdf"),
    (unicodedata.normalize("NFD", "giấy khai sinh.pdf"), "giấy khai sinh.pdf"),
    ("..hidden.pdf", "hidden.pdf"),
])
def test_a_name_is_stored_cleaned(service, sent, stored):
    citizen, code, response = _attach(service, sent)
    assert response.status_code == 201, response.get_json()
    [attachment] = citizen.get(f"/api/dossiers/{code}").get_json()["attachments"]
    assert attachment["filename"] == stored
    assert unicodedata.is_normalized("NFC", attachment["filename"])


@pytest.mark.parametrize("name", ["NAHK\u202efdp.exe.pdf", "giay\u200bto.pdf", "to\u2067khai.pdf"])
def test_bidi_controls_and_invisible_characters_are_refused(service, name):
    citizen, code, response = _attach(service, name)
    assert response.status_code == 400, response.get_json()
    [message] = response.get_json()["fieldErrors"]["files.giay-to"]
    assert "ký tự điều khiển hướng chữ" in message and "\\u" in message
    assert citizen.get(f"/api/dossiers/{code}").get_json()["attachments"] == []


def test_a_windows_path_keeps_only_its_last_part():
    # (the test client's multipart encoding drops backslashes, so this one is checked directly)
    from dossiers.filenames import cleaned
    assert cleaned("C:\\Users\\An\\giấy tờ.pdf") == "giấy tờ.pdf"
    assert cleaned("a\x00b\x1f.pdf") == "ab.pdf" and cleaned("../..", "giay-to") == "giay-to"
