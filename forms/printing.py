"""Printing the declarations as PDF, laid out like the official paper forms.

    pdf = render_declaration("birth", extracted["birth"], place="UBND xã Mỹ An", on=date(2026, 5, 20))

`form` is one of FORMS, the part whose declaration it is (forms/extraction.py):
- "birth": tờ khai đăng ký khai sinh (forms/birth_registration.py);
- "death": tờ khai đăng ký khai tử (forms/death_registration.py);
- "residence": form CT01, tờ khai thay đổi thông tin cư trú (forms/residence.py), for both groups:
  its request (item 10) and members (item 11) say whether a newborn is registered or a deceased
  member's permanent residence is deleted;
- "bhyt": form TK1-TS, tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (forms/bhyt.py);
- "funeral": form 04 of Decree 20/2021, tờ khai đề nghị hỗ trợ chi phí mai táng (forms/funeral.py).
`data` is that declaration as forms/extraction.py extracts it (plain JSON, dates as ISO strings,
nullable fields may be None). The birth and death forms also print the citizen's own declaration
(forms/birth.py, forms/death.py): they read only the keys the two share.

`place` and `on` fill "..., ngày ... tháng ... năm ..."; left None they print as dotted blanks for
the citizen to write by hand, as does every missing value.

HTML comes from a Jinja2 template in forms/templates with autoescaping on: whatever the citizen
typed is printed as text, never interpreted as HTML. WeasyPrint turns the HTML into PDF; the fonts
are the system's DejaVu fonts (fonts-dejavu-core), which carry every Vietnamese diacritic.
Rendering never touches the network: only file: URLs inside forms/templates (and inline data:
URIs) are fetched.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import print_process

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


def _figures(value: Any) -> str | None:
    day = _as_date(value)
    return date_in_figures(day) if day else None


def birth_declaration_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """What the template sees: the declaration plus the values computed for printing."""
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
        "childBornWords": child.get("dateOfBirthInWords") or (date_in_words(born) if born else None),
        "childSex": SEX_LABELS.get(child.get("sex"), child.get("sex")),
        "mother": _section(declaration, "mother"),
        "father": _section(declaration, "father"),
        "marriage": marriage,
        "copies": declaration.get("copies"),
        "place": place,
        "on": on,
    }


def residence_declaration_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """Form CT01: the extracted residence declaration plus the values computed for printing."""
    declarant = declaration["declarant"]
    members = [{**member, "born": _figures(member.get("dateOfBirth")),
                "sexLabel": SEX_LABELS.get(member.get("sex"), member.get("sex"))}
               for member in declaration["members"]]
    head = _section(declaration, "headOfHousehold")
    # A head who is one of the members changed (a deceased head) cannot give an opinion: their
    # signature block stays blank for whoever speaks for the household.
    head_changes = head is not None and any(m.get("idNumber") and m.get("idNumber") == head.get("idNumber")
                                            for m in members)
    return {
        "receivingAgency": declaration.get("receivingAgency"),
        "declarant": declarant,
        "declarantBorn": _figures(declarant.get("dateOfBirth")),
        "declarantSex": SEX_LABELS.get(declarant.get("sex"), declarant.get("sex")),
        "head": head,
        "headSignature": head.get("fullName") if head and not head_changes else None,
        "request": declaration.get("request"),
        "members": members,
        "blankRows": max(0, MEMBER_ROWS - len(members)),
        "place": place,
        "on": on,
    }


def bhyt_declaration_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """Form TK1-TS: the extracted BHYT declaration plus the values computed for printing."""
    keys = ("fullName", "nationality", "ethnicity", "birthRegistrationPlace", "resultAddress", "idNumber",
            "phone", "guardianName", "contributionLevel", "clinic", "declarantName")
    return {
        **{key: declaration.get(key) for key in keys},
        "born": _figures(declaration.get("dateOfBirth")),
        "sexLabel": SEX_LABELS.get(declaration.get("sex"), declaration.get("sex")),
        "place": place,
        "on": on,
    }


def _moment(value: Any) -> dict:
    """The parts of a date or date-time ("2026-11-20T05:30") as the paper forms write them, each
    None when unknown: {"hour": "05", "minute": "30", "day": "20", "month": "11", "year": 2026}."""
    if isinstance(value, str) and value:
        moment = datetime.fromisoformat(value)
        timed = "T" in value or " " in value
    elif isinstance(value, (date, datetime)):
        moment, timed = value, isinstance(value, datetime)
    else:
        return dict.fromkeys(("hour", "minute", "day", "month", "year"))
    return {"hour": f"{moment.hour:02d}" if timed else None, "minute": f"{moment.minute:02d}" if timed else None,
            "day": f"{moment.day:02d}", "month": f"{moment.month:02d}", "year": moment.year}


def death_declaration_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """The death registration declaration plus the values computed for printing."""
    requester, deceased = declaration["requester"], declaration["deceased"]
    death = _section(declaration, "death") or {}
    return {
        "receivingAgency": declaration.get("receivingAgency"),
        "requester": requester,
        "requesterBorn": _figures(requester.get("dateOfBirth")),
        "deceased": deceased,
        "deceasedBorn": _figures(deceased.get("dateOfBirth")),
        "deceasedSex": SEX_LABELS.get(deceased.get("sex"), deceased.get("sex")),
        "death": death,
        "died": _moment(death.get("diedAt")),
        "noticeIssuedOn": _figures(death.get("noticeIssuedOn")),
        "copies": declaration.get("copies"),
        "place": place,
        "on": on,
    }


def funeral_support_context(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> dict:
    """Form 04: the extracted funeral support request plus the values computed for printing."""
    deceased, organiser = declaration["deceased"], declaration["organiser"]
    burial = _section(declaration, "burial") or {}
    return {
        "receivingAgency": declaration.get("receivingAgency"),
        "deceased": deceased,
        "deceasedBorn": _figures(deceased.get("dateOfBirth")),
        "deceasedSex": SEX_LABELS.get(deceased.get("sex"), deceased.get("sex")),
        "died": _moment(deceased.get("diedOn")),
        "burial": burial,
        "buriedOn": _figures(burial.get("date")),
        "organiser": organiser,
        "organiserBorn": _figures(organiser.get("dateOfBirth")),
        "place": place,
        "on": on,
    }


MEMBER_ROWS = 3  # CT01's members table has room for at least this many rows (blank ones to fill by hand)
# form -> (template, context builder); the order in which a dossier's declarations are printed.
FORMS: dict[str, tuple[str, Callable[..., dict]]] = {
    "birth": ("birth_declaration.html", birth_declaration_context),
    "death": ("death_declaration.html", death_declaration_context),
    "residence": ("residence_declaration.html", residence_declaration_context),
    "bhyt": ("bhyt_declaration.html", bhyt_declaration_context),
    "funeral": ("funeral_support.html", funeral_support_context),
}


def render_declaration_html(form: str, data: Mapping, *, place: str | None = None, on: date | None = None) -> str:
    """One declaration as HTML (its stylesheet is templates/declaration.css, linked relatively)."""
    try:
        template, context = FORMS[form]
    except KeyError:
        raise ValueError(f"no printed form {form!r}; known: {', '.join(FORMS)}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"the {form} declaration to print must be an object, not {type(data).__name__}")
    return _env.get_template(template).render(context(data, place=place, on=on))


def render_html(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> str:
    """The birth declaration as HTML."""
    return render_declaration_html("birth", declaration, place=place, on=on)


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


_fonts = None  # one FontConfiguration for the printing process's life (it is replaced every N renders)


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango through cffi, which costs ~0.5 s once per process;
    # importing forms (the schemas) should not pay for it.
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import FatalURLFetchingError

    global _fonts
    if _fonts is None:  # kept across renders: 15-30 % less CPU a declaration, the same bytes (bench/printing.py)
        _fonts = FontConfiguration()
    try:
        return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_fetcher()).write_pdf(font_config=_fonts)
    except FatalURLFetchingError as refused:  # a BaseException: would slip past callers' `except Exception`
        raise RuntimeError(f"printing needs a resource it may not fetch: {refused}") from refused


def render_template_pdf(template: str, context: Mapping) -> bytes:
    """Any template of templates/ rendered to PDF (the results' electronic copies: forms/results.py)."""
    return html_to_pdf(_env.get_template(template).render(context))


def render_declaration(form: str, data: Mapping, *, place: str | None = None, on: date | None = None) -> bytes:
    """The printed declaration `form` (one of FORMS) as PDF bytes, rendered in the printing
    process (forms/print_process.py), never in the caller's.

    Raises ValueError for an unknown form; a template reading a key `data` lacks raises
    jinja2's UndefinedError (StrictUndefined) rather than printing a blank.
    """
    return print_process.run(render_here, form, data, place=place, on=on)


def render_here(form: str, data: Mapping, *, place: str | None = None, on: date | None = None) -> bytes:
    """render_declaration in this process (what the printing process runs)."""
    return html_to_pdf(render_declaration_html(form, data, place=place, on=on))


def render_birth_declaration(declaration: Mapping, *, place: str | None = None, on: date | None = None) -> bytes:
    """The printed birth declaration (tờ khai đăng ký khai sinh) as PDF bytes: render_declaration("birth", ...).

    Missing father/marriage print as dotted blank lines.
    """
    return render_declaration("birth", declaration, place=place, on=on)
