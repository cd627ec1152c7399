"""Languages of the console: Vietnamese by default (the texts in the templates are Vietnamese, the
gettext message ids), English from console/translations/en. The choice is kept in the session."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"


def current_language() -> str:
    chosen = session.get("lang") if request else None
    return chosen if chosen in LANGUAGES else DEFAULT


def compile_catalogues() -> int:
    """Compile each messages.po whose messages.mo is missing or older; answers how many were compiled."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = 0
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        with mo.open("wb") as target:
            write_mo(target, catalogue)
        compiled += 1
    return compiled


def install(app: Flask) -> None:
    compile_catalogues()  # a checkout that skipped `make console-assets` still gets its English pages
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    Babel(app, locale_selector=current_language, default_translation_directories=str(TRANSLATIONS))
