"""The console's static files that come from npm packages (bpmn-js's viewer and its CSS, htmx),
copied from node_modules into console/static/vendor/, and its message catalogues compiled.

Run by `make run` and `make test` (after `npm ci`); the copies are git-ignored: their versions are
pinned in package-lock.json, so a clean clone rebuilds the same files, and no CDN is ever asked."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "console" / "static" / "vendor"
FILES = {
    "node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-navigated-viewer.min.js",
    "node_modules/bpmn-js/dist/assets/diagram-js.css": "diagram-js.css",
    "node_modules/bpmn-js/dist/assets/bpmn-js.css": "bpmn-js.css",
    "node_modules/htmx.org/dist/htmx.min.js": "htmx.min.js",
}


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    missing = [source for source in FILES if not (ROOT / source).is_file()]
    if missing:
        print(f"console assets: missing {', '.join(missing)}; run `npm ci` first", file=sys.stderr)
        return 1
    for source, target in FILES.items():
        shutil.copyfile(ROOT / source, VENDOR / target)
    sys.path.insert(0, str(ROOT))
    from console.i18n import compile_catalogues

    compiled = compile_catalogues()
    print(f"console assets: {len(FILES)} files in {VENDOR.relative_to(ROOT)}, {compiled} catalogue(s) compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
