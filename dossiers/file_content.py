"""What an uploaded file is, read by a real parser rather than by its first bytes: a file that starts
with `%PDF-` and is an HTML page after it, or a PDF whose streams inflate to gigabytes (a zip bomb),
is refused before it is stored and shown to an officer as a scan.

PDF: pypdf reads the cross-reference table, the pages (at most MAX_PDF_PAGES) and decodes every
stream under its own budget (MAX_PDF_STREAM_BYTES each, MAX_PDF_DECODED_BYTES in all).
JPEG/PNG: Pillow identifies the format, checks the size against MAX_IMAGE_PIXELS (Pillow's own
decompression-bomb limit stands far above it) and decodes the pixels, so a truncated or forged
image fails here and not on the officer's screen."""
from __future__ import annotations

import io
import logging
import warnings

import pypdf
from PIL import Image
from pypdf.errors import PyPdfError

log = logging.getLogger("lienthong.dossiers")

MAX_PDF_PAGES = 100  # a dossier's scans are a few pages; a book is not a civil-status document
MAX_PDF_STREAM_BYTES = 50 * 1024 * 1024  # one decoded stream (a page's content, an image)
MAX_PDF_DECODED_BYTES = 200 * 1024 * 1024  # every stream of one file together
MAX_IMAGE_PIXELS = 40_000_000  # an A4 page scanned at 600 dpi is 35 million pixels

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def refusal(media_type: str, content: bytes, filename: str) -> str | None:
    """Why the content is not a usable file of its declared type (Vietnamese, for the citizen), or None."""
    if media_type == "application/pdf":
        return _pdf_refusal(content, filename)
    if media_type in _FORMATS:
        return _image_refusal(_FORMATS[media_type], content, filename)
    return f"Tệp {filename}: chỉ nhận PDF, JPEG hoặc PNG."


def _pdf_refusal(content: bytes, filename: str) -> str | None:
    broken = f"Tệp {filename} không phải là tệp PDF hợp lệ (không đọc được nội dung); vui lòng quét hoặc xuất lại tệp."
    if not content.startswith(b"%PDF-"):
        return broken
    try:
        with pypdf.apply_configuration(
                zlib_maximum_output_length=MAX_PDF_STREAM_BYTES, lzw_maximum_output_length=MAX_PDF_STREAM_BYTES,
                run_length_maximum_output_length=MAX_PDF_STREAM_BYTES, brotli_maximum_output_length=MAX_PDF_STREAM_BYTES,
                array_based_stream_maximum_output_length=MAX_PDF_STREAM_BYTES,
                maximum_declared_stream_length=MAX_PDF_STREAM_BYTES, image_maximum_buffer_size=MAX_PDF_STREAM_BYTES,
                stream_decoding_work_maximum_length=MAX_PDF_DECODED_BYTES), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every repairable quirk of real scanners' files
            reader = pypdf.PdfReader(io.BytesIO(content))
            if reader.is_encrypted:
                return f"Tệp {filename} được đặt mật khẩu; vui lòng gửi tệp PDF không có mật khẩu."
            pages = len(reader.pages)
            if pages == 0:
                return broken
            if pages > MAX_PDF_PAGES:
                return f"Tệp {filename} có {pages} trang; mỗi tệp PDF tối đa {MAX_PDF_PAGES} trang."
            if _decoded_size(reader) > MAX_PDF_DECODED_BYTES:
                return _bomb(filename)
    except PyPdfError as exc:
        if "limit" in str(exc).casefold():
            return _bomb(filename)
        log.info("upload refused: not a readable PDF", extra={"reason": type(exc).__name__})
        return broken
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError):
        # pypdf's lenient reader lets some malformed structures through as Python errors
        return broken
    return None


def _decoded_size(reader: pypdf.PdfReader) -> int:
    """Decode every stream the file's cross-reference table lists (stops once over MAX_PDF_DECODED_BYTES)."""
    references = [(generation, number) for generation, numbers in reader.xref.items() for number in numbers]
    references += [(0, number) for number in reader.xref_objStm]
    total = 0
    for generation, number in references:
        item = reader.get_object(pypdf.generic.IndirectObject(number, generation, reader))
        if isinstance(item, pypdf.generic.StreamObject):
            total += len(item.get_data())
            if total > MAX_PDF_DECODED_BYTES:
                break
    return total


def _bomb(filename: str) -> str:
    return (f"Tệp {filename} chứa dữ liệu nén quá lớn khi giải nén (tối đa {MAX_PDF_DECODED_BYTES // 1024 // 1024} MB); "
            "vui lòng quét lại tài liệu.")


def _image_refusal(expected: str, content: bytes, filename: str) -> str | None:
    broken = f"Tệp {filename} không phải là ảnh {expected} hợp lệ; vui lòng chụp hoặc quét lại."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return (f"Ảnh {filename} có {width}×{height} điểm ảnh; tối đa {MAX_IMAGE_PIXELS // 1_000_000} "
                            "triệu điểm ảnh, vui lòng giảm độ phân giải.")
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"Ảnh {filename} quá lớn khi giải nén; tối đa {MAX_IMAGE_PIXELS // 1_000_000} triệu điểm ảnh."
    except (OSError, SyntaxError, ValueError, EOFError):  # Pillow's errors for an unreadable or truncated image
        return broken
    return None
