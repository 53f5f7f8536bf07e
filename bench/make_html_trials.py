"""The generated trial reports typeset by a browser instead of reportlab: wrapped header cells, real line breaking.

Run: .venv/bin/python bench/make_html_trials.py [--n 24] [--out bench/out/html] [--first 1000 --name html]
(needs chromium; a second corpus: --first 2000 --name html2 --out bench/out/html2; traps v2:
--traps v2 --first 7000 --name html6 --out bench/out/html6, see make_generated_trials.add_traps_v2)

``make_generated_trials.py`` lays its papers out with reportlab, which never wraps a table cell: a long arm name
overflows its column, and the layouts stay cleaner than a publisher's. This script draws papers from the same
generator (seeds ``generated-1000`` on, so none is a paper of that corpus), builds the same story of paragraphs,
tables and the CONSORT drawing, and writes it as HTML that headless Chromium prints to PDF: one or two text
columns, tables across the page or inside a column, header cells that wrap, the flow diagram as inline SVG (a
text layer). Truth is found in the printed PDF exactly as for the other corpora (``make_synthetic_trials.
validate``); a paper whose wrapped text leaves a truth quote unfindable is left out and said so.

Truth goes to ``OUT/truth/<stem>.json``, split "html-tune" / "html-holdout" by ``random.Random(16).sample``.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_generated_trials as gen  # sibling scripts, not a package
import make_synthetic_trials as syn

OUT = syn.REPO / "bench" / "out" / "html"
CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: %(face)s; font-size: %(size)spt; line-height: 1.3; }
.cols { column-count: %(cols)s; column-gap: 7mm; text-align: justify; }
h1 { font-size: 15pt; column-span: all; } h2 { font-size: 11pt; margin: 8pt 0 3pt; } h3 { font-size: 10pt; margin: 5pt 0 2pt; }
table { border-collapse: collapse; font-family: Helvetica, Arial, sans-serif; font-size: 7.6pt; margin: 4pt 0;
        break-inside: avoid; width: 100%%; %(span)s }
thead td { font-weight: bold; border-bottom: 0.5pt solid black; } table { border-top: 0.8pt solid black;
        border-bottom: 0.8pt solid black; } td { padding: 1pt 3pt; vertical-align: bottom; }
td.num { text-align: %(align)s; } .small { font-size: 7.8pt; } .caption { font-weight: bold; font-size: 8.5pt; }
.figure { column-span: all; break-inside: avoid; } .page-break { break-before: page; }
"""


def paragraph_html(par) -> str:
    """A reportlab Paragraph as HTML: its mini-markup (<b>, <i>) is HTML already."""
    tag = {"title": "h1", "h1": "h2", "h2": "h3"}.get(par.style.name, "p")
    cls = {"small": ' class="small"', "caption": ' class="caption"'}.get(par.style.name, "")
    return f"<{tag}{cls}>{par.text}</{tag}>"


def table_html(t) -> str:
    """A reportlab Table as HTML: its header rows (repeatRows) in <thead>, SPAN commands as colspans."""
    spans = {(sc, sr): ec - sc + 1 for _, (sc, sr), (ec, _) in getattr(t, "_spanCmds", [])}
    covered = {(c, r) for (sc, sr), width in spans.items() for c, r in ((sc + k, sr) for k in range(1, width))}
    head = t.repeatRows if isinstance(t.repeatRows, int) else len(t.repeatRows)
    rows = []
    for r, row in enumerate(t._cellvalues):
        cells = []
        for c, value in enumerate(row):
            if (c, r) in covered:
                continue
            text = html.escape(str(value)).replace("\n", "<br>")
            colspan = f' colspan="{spans[(c, r)]}"' if (c, r) in spans else ""
            cells.append(f'<td{colspan}{"" if c == 0 else " class=num"}>{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead>{''.join(rows[:head])}</thead><tbody>{''.join(rows[head:])}</tbody></table>"


def story_html(items: list) -> str:
    from reportlab.graphics import renderSVG
    from reportlab.graphics.shapes import Drawing
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Table

    out = []
    for item in items:
        if isinstance(item, KeepTogether):  # a caption stays on the page of its table, as journals print it
            out.append('<div style="break-inside: avoid">' + story_html(item._content) + "</div>")
        elif isinstance(item, Paragraph):
            out.append(paragraph_html(item))
        elif isinstance(item, Table):
            out.append(table_html(item))
        elif isinstance(item, syn.Picture):  # a raster flow diagram (traps v3), at the size it has in print
            data = base64.b64encode(item.data).decode("ascii")
            out.append(f'<div class="figure"><img src="data:{item.mime};base64,{data}" '
                       f'style="width: {item.drawWidth}pt"></div>')
        elif isinstance(item, Drawing):
            svg = renderSVG.drawToString(item)
            out.append('<div class="figure">' + svg[svg.index("<svg"):] + "</div>")
        elif isinstance(item, PageBreak):
            out.append('<div class="page-break"></div>')
    return "\n".join(out)


def paper_html(p: syn.Paper, truth: syn.Truth, g: random.Random) -> str:
    """The whole paper, the same story ``make_synthetic_trials.build`` lays out, as one HTML page."""
    rng = random.Random(f"{syn.SEED}-{p.stem}-text")
    st, width = syn.styles(p.layout), 460.0
    story = syn.title_block(p, truth, st, rng)
    story += [syn.Paragraph("Introduction", st["h1"])]
    story += [syn.Paragraph(t, st["body"]) for t in syn.filler(rng, syn.INTRO, p, 4, 4)]
    story += syn.methods(p, truth, st) + syn.results(p, truth, st, width)
    tables = syn.baseline_table(p, truth, st, width) + syn.outcome_table(p, truth, st, width, rng)
    if "tables_at_end" in p.flags:
        story += syn.closing(p, st, rng) + [syn.PageBreak()] + tables + syn.figure(p, truth, st, width)
    else:
        story += tables + syn.closing(p, st, rng)
    cols = 1 if p.layout == "jmir" else 2
    css = CSS % {"face": "Georgia, serif" if p.layout == "plain" else "Helvetica, Arial, sans-serif",
                 "size": 9.4 if cols == 2 else 10, "cols": cols,
                 "span": "column-span: all;" if cols == 1 or g.random() < 0.5 else "",
                 # traps v4: the value and header cells set flush left in half the papers, as some journals do
                 "align": random.Random(f"{p.stem}-v4").choice(["center", "left"]) if p.v2.get("v4") else "center"}
    title, rest = story_html(story[:1]), story_html(story[1:])
    return f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head><body>{title}" \
           f"<div class='cols'>{rest}</div></body></html>"


def print_pdf(page: str, pdf: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("chromium not found: `make browser` installs it")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "paper.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={pdf}",
                        "--no-pdf-header-footer", str(source)], check=True, capture_output=True, timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    gen.draw_options(ap, n=24, out=OUT, first=1000, name="html",
                     name_help="stem prefix and split name (NAME-tune / NAME-holdout)")
    args = ap.parse_args()
    truth_dir = args.out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    tune = set(random.Random(16).sample(range(args.n), args.n // 2))
    for i in range(args.n):
        p = gen.draw_paper(args.first + i, args.traps)
        p.stem = f"{args.name}_{i:02d}"
        p.flags.discard("continued")  # a browser breaks tables by itself; the reportlab hook does not apply
        if p.kind == "cluster":  # the cluster attrition sentence prints those lost to follow-up only
            for a in p.arms:
                a.disc, a.analysed = 0, a.n if "itt" in p.flags else a.n - a.lost
        truth, pdf = syn.Truth(), args.out / f"{p.stem}.pdf"
        print_pdf(paper_html(p, truth, random.Random(f"html-{i}")), pdf)
        syn.save_picture_text(p, pdf)
        try:
            data = syn.truth_json(p, truth, syn.page_texts(pdf))
            data["split"] = f"{args.name}-tune" if i in tune else f"{args.name}-holdout"
            text = json.dumps(data, indent=2, ensure_ascii=False)
            (truth_dir / f"{p.stem}.json").write_text(text + "\n", encoding="utf-8")
            checks = syn.validate(pdf, data)
        except SystemExit as exc:  # wrapped text split a truth quote: no truth rather than a wrong one
            (truth_dir / f"{p.stem}.json").unlink(missing_ok=True)
            print(f"{p.stem} left out: {exc}")
            continue
        print(f"{p.stem} {data['split']:13} {p.kind:9} {p.layout:5} {p.style:10} {len(p.arms)} arms  "
              f"{checks:3d} checks ok  {' '.join(sorted(p.flags))}{gen.v2_summary(p)}")


if __name__ == "__main__":
    main()
