"""Printing the declarations as PDF, laid out like the official paper forms.

    pdf = render_birth_declaration(loaded, place="Mỹ An", on=date(2026, 5, 20))

`loaded` is the birth declaration as `forms.birth.BirthDeclarationSchema` loads it (plain JSON,
dates as ISO strings, `father`/`marriage` may be None). HTML comes from a Jinja2 template in
forms/templates with autoescaping on: whatever the citizen typed is printed as text, never
interpreted as HTML. WeasyPrint turns the HTML into PDF; the fonts are the system's DejaVu fonts
(fonts-dejavu-core), which carry every Vietnamese diacritic. Rendering never touches the network:
only file: URLs inside forms/templates (and inline data: URIs) are fetched.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # the citizen's text is data: "<b>" prints as "<b>"
    undefined=StrictUndefined,  # a misspelt key in the template fails loudly instead of printing blank
    trim_blocks=True,
    lstrip_blocks=True,
)

SEX_LABELS = {"male": "Nam", "female": "Nữ"}

# --- Vietnamese numbers in words --------------------------------------------------------------

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_MONTHS = (None, "một", "hai", "ba", "tư", "năm", "sáu", "bảy", "tám", "chín", "mười", "mười một", "mười hai")


def _below_thousand(n: int, *, full: bool) -> list[str]:
    """0 < n < 1000. `full`: a higher group precedes, so read "không trăm", "linh" in full."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append("linh")  # 105 "một trăm linh năm"; 2001 "... không trăm linh một"
            words.append(_DIGITS[units])
        return words
    if tens == 1:
        words.append("mười")
    else:
        words += [_DIGITS[tens], "mươi"]
    if units == 1:
        words.append("một" if tens == 1 else "mốt")  # mười một, hai mươi mốt
    elif units == 5:
        words.append("lăm")  # mười lăm, hai mươi lăm
    elif units:
        words.append(_DIGITS[units])
    return words


def number_in_words(n: int) -> str:
    """A non-negative integer below one billion in Vietnamese words: 2026 → "hai nghìn không trăm hai mươi sáu"."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 1_000_000_000:
        raise ValueError(f"cannot read {n!r} in words")
    if n == 0:
        return "không"
    words: list[str] = []
    for scale, name in ((1_000_000, "triệu"), (1_000, "nghìn"), (1, "")):
        group = n // scale % 1000
        if group:
            words += _below_thousand(group, full=bool(words))
            if name:
                words.append(name)
    return " ".join(words)


def date_in_words(day: date) -> str:
    """20 May 2026 → "Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi sáu" (as on a birth certificate)."""
    return f"Ngày {number_in_words(day.day)} tháng {_MONTHS[day.month]} năm {number_in_words(day.year)}"


def date_in_figures(day: date) -> str:
    return day.strftime("%d/%m/%Y")


# --- rendering --------------------------------------------------------------------------------

def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _section(declaration: Mapping, key: str) -> Mapping | None:
    value = declaration.get(key)
    return value if isinstance(value, Mapping) and value else None


def birth_declaration_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """What the template sees: the loaded declaration plus the values computed for printing."""
    child = dict(declaration["child"])
    born = _as_date(child.get("dateOfBirth"))
    marriage = _section(declaration, "marriage")
    if marriage:
        marriage = dict(marriage)
        issued = _as_date(marriage.get("issuedOn"))
        marriage["issuedOnFigures"] = date_in_figures(issued) if issued else None
    return {
        "receivingAgency": declaration.get("receivingAgency"),
        "requester": declaration["requester"],
        "child": child,
        "childBornFigures": date_in_figures(born) if born else None,
        "childBornWords": date_in_words(born) if born else None,
        "childSex": SEX_LABELS.get(child.get("sex"), child.get("sex")),
        "mother": _section(declaration, "mother"),
        "father": _section(declaration, "father"),
        "marriage": marriage,
        "copies": declaration.get("copies"),
        "place": place,
        "on": on,
    }


def render_html(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> str:
    """The birth declaration as HTML (its stylesheet is templates/declaration.css, linked relatively)."""
    context = birth_declaration_context(declaration, place=place, on=on)
    return _env.get_template("birth_declaration.html").render(context)


def _fetcher():
    """WeasyPrint's URL fetcher, limited to files under forms/templates and data: URIs: no network.

    A refused or missing resource stops the rendering (fail_on_errors) rather than printing an
    unstyled form.
    """
    from weasyprint.urls import URLFetcher

    class LocalTemplatesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            from urllib.parse import unquote, urlparse

            parsed = urlparse(url)
            if parsed.scheme == "data":  # inline, e.g. the dotted-line pattern in declaration.css
                return super().fetch(url, headers)
            path = Path(unquote(parsed.path)).resolve()
            if parsed.scheme != "file" or TEMPLATES not in path.parents:
                raise ValueError(f"refusing to fetch {url!r} while printing")
            return super().fetch(url, headers)

    return LocalTemplatesOnly(allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=True)


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango through cffi, which costs ~0.5 s once per process;
    # importing forms (the schemas) should not pay for it.
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    try:
        return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_fetcher()).write_pdf()
    except FatalURLFetchingError as refused:  # a BaseException: would slip past callers' `except Exception`
        raise RuntimeError(f"printing needs a resource it may not fetch: {refused}") from refused


def render_birth_declaration(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> bytes:
    """The printed birth declaration (tờ khai đăng ký khai sinh) as PDF bytes.

    `place` and `on` fill "Làm tại ..., ngày ... tháng ... năm ..."; left None they print as dotted
    blanks for the citizen to write by hand. Missing father/marriage print as dotted blank lines.
    """
    return html_to_pdf(render_html(declaration, place=place, on=on))
