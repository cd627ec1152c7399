"""Real files for the tests' uploads, made here rather than typed as bytes: the service reads every
upload with a PDF or image parser (dossiers/file_content.py), so a fake `%PDF-1.4...` is refused."""
from __future__ import annotations

import io
from functools import lru_cache

import pypdf
from PIL import Image
from pypdf.generic import DecodedStreamObject, NameObject


@lru_cache(maxsize=None)
def pdf(size: int = 0, pages: int = 1) -> bytes:
    """A PDF of `pages` blank A4 pages, `size` bytes long when larger than a blank one (the padding is a comment in the
    first page's content stream, so the file stays valid)."""
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    plain = _written(writer)
    if size <= len(plain):
        return plain
    contents = DecodedStreamObject()
    writer.pages[0][NameObject("/Contents")] = writer._add_object(contents)
    padding = size - len(plain)
    for _ in range(3):  # the stream's /Length grows by a digit now and then: converge on `size` exactly
        contents.set_data(b"%" + b"0" * max(padding, 0) + b"\n")
        written = _written(writer)
        if len(written) == size:
            break
        padding += size - len(written)
    return written

def image(media_type: str = "image/jpeg", width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(buffer, {"image/jpeg": "JPEG", "image/png": "PNG"}[media_type])
    return buffer.getvalue()


def _written(writer: pypdf.PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
