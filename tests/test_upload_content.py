"""Uploads are checked by what they are, not by their first bytes: a real PDF/JPEG/PNG parser,
page and pixel limits. A file that starts with `%PDF-` and is an HTML page or a zip bomb after it
is refused with a 400 naming the file's field, and nothing is stored."""
from __future__ import annotations

import io
import zlib

import pypdf
import pytest
from pypdf.generic import NameObject, StreamObject

from dossiers import file_content
from tests import documents
from tests.birth_examples import another_child
from tests.citizens import start_service


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _attach(service, content: bytes, name: str = "giay-to.pdf", media_type: str = "application/pdf"):
    citizen = service.citizen("087084000999")
    code = citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child()}).get_json()["code"]
    response = citizen.post(f"/api/dossiers/{code}/attachments", content_type="multipart/form-data",
                            data={"giay-to": (io.BytesIO(content), name, media_type)})
    return citizen, code, response


def _zip_bomb() -> bytes:
    """A one-page PDF of 300 KB whose content stream inflates to 300 MB."""
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = StreamObject()
    stream.set_data(zlib.compress(b"0" * 300_000_000, 9))
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _refused(service, content: bytes, **kwargs) -> str:
    citizen, code, response = _attach(service, content, **kwargs)
    assert response.status_code == 400, response.get_json()
    [message] = response.get_json()["fieldErrors"]["files.giay-to"]
    assert citizen.get(f"/api/dossiers/{code}").get_json()["attachments"] == []
    return message


@pytest.mark.parametrize("content, name, media_type", [
    (documents.pdf(), "giay-to.pdf", "application/pdf"),
    (documents.image("image/jpeg"), "anh.jpg", "image/jpeg"),
    (documents.image("image/png"), "anh.png", "image/png"),
])
def test_real_files_are_taken(service, content, name, media_type):
    citizen, code, response = _attach(service, content, name, media_type)
    assert response.status_code == 201, response.get_json()
    [attachment] = citizen.get(f"/api/dossiers/{code}").get_json()["attachments"]
    assert (attachment["mediaType"], attachment["size"]) == (media_type, len(content))


def test_html_after_a_pdf_header_is_refused(service):
    message = _refused(service, b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n")
    assert "không phải là tệp PDF hợp lệ" in message and "giay-to.pdf" in message


def test_a_pdf_zip_bomb_is_refused(service):
    message = _refused(service, _zip_bomb())
    assert "quá lớn khi giải nén" in message


def test_a_pdf_over_the_page_cap_is_refused(service, monkeypatch):
    monkeypatch.setattr(file_content, "MAX_PDF_PAGES", 3)
    assert _attach(service, documents.pdf(pages=3))[2].status_code == 201
    message = _refused(service, documents.pdf(pages=4))
    assert "có 4 trang" in message and "tối đa 3 trang" in message


def test_an_image_over_the_pixel_cap_is_refused(service, monkeypatch):
    monkeypatch.setattr(file_content, "MAX_IMAGE_PIXELS", 40 * 30 - 1)
    message = _refused(service, documents.image("image/png", 40, 30), name="anh.png", media_type="image/png")
    assert "40×30 điểm ảnh" in message


def test_a_decompression_bomb_png_is_refused_before_its_pixels_are_decoded(service):
    buffer = io.BytesIO()
    from PIL import Image
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 million pixels in ~50 KB
    message = _refused(service, buffer.getvalue(), name="anh.png", media_type="image/png")
    assert "anh.png" in message and "điểm ảnh" in message


@pytest.mark.parametrize("content, media_type", [
    (documents.image("image/png"), "image/jpeg"),  # a PNG sent as a JPEG
    (documents.image("image/jpeg")[:200], "image/jpeg"),  # a truncated JPEG
    (b"\xff\xd8\xff<html>not a photo</html>", "image/jpeg"),
])
def test_an_image_that_is_not_what_it_says_is_refused(service, content, media_type):
    message = _refused(service, content, name="anh.jpg", media_type=media_type)
    assert "không phải là ảnh JPEG hợp lệ" in message
