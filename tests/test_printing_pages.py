"""The printed declarations keep their layout: every page, rendered to an image, against the
pages the renderer printed before printing moved into its own process (tests/fixtures/printing,
written by `python tests/test_printing_pages.py --write` from the commit whose pages are kept).

A page matches when its grey levels differ from the kept page's by less than 1 % on average (at
50 dpi; anti-aliasing and font hinting move a few pixels by a level or two, a moved field moves
hundreds by a lot), and the kept page's ink is where the page's is.
"""
from __future__ import annotations

import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEPT = Path(__file__).resolve().parent / "fixtures" / "printing"
RECEIVED = date(2026, 11, 25)
DPI = 50
GROUPS = {"birth": ("BirthDeclarationSchema", "forms.birth"), "death": ("DeathDeclarationSchema", "forms.death")}


def declarations(procedure: str) -> dict:
    import importlib

    from forms.extraction import extract_declarations

    schema_name, module = GROUPS[procedure]
    schema = getattr(importlib.import_module(module), schema_name)()
    declaration = schema.load(json.loads((ROOT / "examples" / f"{procedure}_declaration.json").read_text(encoding="utf-8")))
    declaration = json.loads(json.dumps(declaration, default=str))
    return json.loads(json.dumps(extract_declarations(declaration, procedure=procedure, received_on=RECEIVED), default=str))


def pages(pdf: bytes) -> list:
    import pypdfium2

    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    return [page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for page in document]


def printed(procedure: str, form: str) -> bytes:
    from forms.printing import render_declaration

    data = declarations(procedure)[form]
    return render_declaration(form, data, place=data.get("place"), on=date.fromisoformat(data["declaredOn"]))


CASES = [(procedure, form) for procedure, forms in (("birth", ("birth", "residence", "bhyt")),
                                                     ("death", ("death", "residence", "funeral"))) for form in forms]


@pytest.mark.parametrize(("procedure", "form"), CASES)
def test_the_printed_pages_look_as_they_did(procedure, form):
    from PIL import ImageChops, ImageStat

    now = pages(printed(procedure, form))
    kept = sorted(KEPT.glob(f"{procedure}-{form}-p*.png"))
    assert kept, f"no kept pages for {procedure}/{form}"
    assert len(now) == len(kept), f"{procedure}/{form}: {len(now)} pages, {len(kept)} before"
    from PIL import Image

    for page, path in zip(now, kept):
        before = Image.open(path).convert("L")
        assert page.size == before.size, f"{path.name}: page size {page.size}, before {before.size}"
        difference = ImageChops.difference(page, before)
        mean = ImageStat.Stat(difference).mean[0] / 255
        assert mean < 0.01, f"{path.name}: the page differs from before by {mean:.2%} on average"
        # The ink's bounding box: a field moved to another line moves it.
        ink_now = ImageChops.invert(page).getbbox()
        ink_before = ImageChops.invert(before).getbbox()
        assert ink_now == ink_before, f"{path.name}: ink within {ink_now}, before {ink_before}"


def test_printing_runs_in_a_process_of_its_own():
    """The process that asks (an API process with its embedded worker, a worker) never loads
    WeasyPrint: a fresh interpreter prints through the handler's path and is checked after."""
    import subprocess

    script = ("import json, os, sys; from datetime import date; from forms import print_process; "
              "from forms.printing import render_declaration; "
              "pdf = render_declaration('bhyt', json.loads(sys.argv[1]), on=date(2026, 11, 25)); "
              "print(pdf[:5].decode(), 'weasyprint' in sys.modules, print_process.child_pid() != os.getpid())")
    data = declarations("birth")["bhyt"]
    out = subprocess.run([sys.executable, "-c", script, json.dumps(data)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["%PDF-", "False", "True"]


def write() -> None:
    """Keep the pages the current renderer prints (run from the commit whose layout is the reference)."""
    from forms.printing import render_here

    KEPT.mkdir(parents=True, exist_ok=True)
    for procedure, form in CASES:
        data = declarations(procedure)[form]
        pdf = render_here(form, data, place=data.get("place"), on=date.fromisoformat(data["declaredOn"]))
        for number, page in enumerate(pages(pdf), start=1):
            page.save(KEPT / f"{procedure}-{form}-p{number}.png", optimize=True)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
