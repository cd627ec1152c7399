"""Printing: CPU per declaration with each WeasyPrint option that could make it cheaper (the
renderer's choice, by measurement), and the memory of printing many dossiers.

    python -m bench.printing [--scale smoke|full] [--dossiers N]

1. Options, in this process, each declaration of the example birth dossier rendered R times after
   one warm-up: as printed (forms.printing.html_to_pdf), with one FontConfiguration kept across
   renders, without font subsetting (full_fonts), without subsetting or compression, and the
   layout alone (HTML → pages, no PDF written): the floor of anything WeasyPrint can do.
2. Memory: N dossiers' three declarations printed through forms.printing.render_declaration (the
   printing process, replaced every LIENTHONG_PRINT_RENDERS_PER_PROCESS renders); RSS of this
   process and of the printing process every N/10 dossiers, the printing processes seen, and the
   printing process's CPU per declaration.
Sizes: BENCH_PRINT_REPEATS, BENCH_PRINT_DOSSIERS.
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import date

from . import raw
from .common import emit, save, scale, size, table


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or 'self'}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def examples() -> dict:
    return raw.handler_results(raw.filing_variables())["Task_Extract"]["declarations"]


def options(repeats: int) -> dict:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from forms.printing import TEMPLATES, _fetcher, html_to_pdf, render_declaration_html

    fonts = FontConfiguration()
    document = lambda html: HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_fetcher())  # noqa: E731
    ways = {
        "as printed": html_to_pdf,
        "one FontConfiguration kept": lambda html: document(html).write_pdf(font_config=fonts),
        "full_fonts (no subsetting)": lambda html: document(html).write_pdf(font_config=fonts, full_fonts=True),
        "full_fonts + uncompressed_pdf": lambda html: document(html).write_pdf(font_config=fonts, full_fonts=True,
                                                                               uncompressed_pdf=True),
        "layout only (no PDF)": lambda html: document(html).render(font_config=fonts) and b"",
    }
    figures: dict = {}
    for form, data in examples().items():
        html = render_declaration_html(form, data, place=data.get("place"), on=date.fromisoformat(data["declaredOn"]))
        for way, render in ways.items():
            render(html)
            cpu = time.process_time()
            for _ in range(repeats):
                pdf = render(html)
            figures.setdefault(way, {})[form] = {"cpu_ms": (time.process_time() - cpu) / repeats * 1000,
                                                 "pdf_bytes": len(pdf)}
    return figures


def printed_in_process() -> tuple[int, float, float]:
    """(pid, RSS MB, CPU seconds) of the printing process, asked of it (forms/print_process.py)."""
    return os.getpid(), rss_mb(), time.process_time()


def memory(dossiers: int) -> dict:
    from forms import print_process
    from forms.printing import render_declaration

    declarations = examples()
    every = max(1, dossiers // 10)
    samples, pids, renders, cpu = [], set(), 0, 0.0
    for n in range(1, dossiers + 1):
        pid, _, before = print_process.run(printed_in_process)
        for form, data in declarations.items():
            render_declaration(form, data, place=data.get("place"), on=date.fromisoformat(data["declaredOn"]))
            renders += 1
        pid_after, rss, after = print_process.run(printed_in_process)
        if pid_after == pid:  # the same process before and after: its CPU is these renders'
            cpu += after - before
        pids.add(pid)
        if n % every == 0 or n == 1:
            samples.append({"dossiers": n, "caller_rss_mb": round(rss_mb(), 1), "printing_rss_mb": round(rss, 1)})
    return {"dossiers": dossiers, "renders": renders, "renders_per_process": print_process.renders_per_process(),
            "printing_processes": len(pids), "samples": samples,
            "printing_cpu_ms_per_declaration": cpu * 1000 / renders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale")
    parser.add_argument("--dossiers", type=int)
    args = parser.parse_args()
    chosen = scale(args.scale)
    os.environ.setdefault("LIENTHONG_PRINT_RENDERS_PER_PROCESS", "200")
    memory_figures = memory(args.dossiers or size("print_dossiers", 3, 1000, chosen))
    option_figures = options(size("print_repeats", 1, 5, chosen))
    forms = list(next(iter(option_figures.values())))
    print(table([[way] + [f"{f[form]['cpu_ms']:.0f} ({f[form]['pdf_bytes'] // 1024} kB)" for form in forms]
                 for way, f in option_figures.items()], ["WeasyPrint, CPU ms per declaration (PDF size)"] + forms))
    print(f"\nprinting {memory_figures['dossiers']} dossiers ({memory_figures['renders']} declarations) in the printing "
          f"process, replaced every {memory_figures['renders_per_process']} calls "
          f"({memory_figures['printing_processes']} processes): "
          f"{memory_figures['printing_cpu_ms_per_declaration']:.0f} ms CPU per declaration")
    print(table([[s["dossiers"], s["caller_rss_mb"], s["printing_rss_mb"]] for s in memory_figures["samples"]],
                ["dossiers printed", "RSS of the caller (MB)", "RSS of the printing process (MB)"]))
    figures = {"scale": chosen, "options": option_figures, "memory": memory_figures}
    save("printing", figures)
    emit("printing", figures)


if __name__ == "__main__":
    main()
