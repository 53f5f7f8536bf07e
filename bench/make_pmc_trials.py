"""Real trial reports, typeset: open-access RCT articles from PubMed Central set as PDFs by a browser.

Run: .venv/bin/python bench/make_pmc_trials.py [--src DIR ...] [--out bench/out/pmc]
(needs chromium; skips cleanly when the source folder is absent; how the folder was made: docs/extraction.md,
"A corpus of published trial reports")

Every generated corpus (``make_generated_trials.py``, ``make_html_trials.py``) is written by the same hand that
writes the extractor's rules, so a trap the author never thought of is in neither. These papers are not: their
prose and tables are the published articles' own (PMC open-access subset, Creative Commons licences), transcribed
from the JATS XML to plain HTML (``<article>`` with ``h1``-``h4``, ``p``, ``figure.table`` holding a ``table``,
``figure.fig`` with the caption only, since PMC keeps figures as images). Only the page layout is ours: one or two
columns, serif or sans, tables across the page or in a column, drawn per paper from its PMCID. A flow diagram
is an image in these articles and we have none: its box is printed empty, so numbers only in a figure are not
printed and the truth says so.

The articles are the JATS XML files PubMed Central publishes (``PMC<id>.nxml``, reference list left out),
converted to plain HTML by ``pmc_nxml.py``. The 55 under a CC BY licence are in this repository
(``bench/corpus/pmc/``, attribution in its README); the 11 under CC BY-NC or BY-NC-SA stay beside it
(``../corpus/pmc/``), so a fresh clone builds 55 and the rest are left out with a note. Per-field truth is
``tests/fixtures/extraction_truth/pmc/<PMCID>.json`` (schema in ``tests/fixtures/extraction_truth/README.md``,
plus ``source``: PMCID, DOI, licence), written by reading the articles; this script fills each value's ``pages``
from the printed PDF and writes ``OUT/truth/<PMCID>.json``. A quote found on no page, a value not in its quote,
dropout parts that do not add up are reported and the paper left out, so no truth is guessed.

Split: by a hash of the PMCID (``split_of``), so a paper's half does not change when papers are added:
"pmc-tune" (rules may be written against them) and "pmc-holdout" (totals only, never read per field), and
"pmc-probe": half of the first held-out half, released for reading on 2026-12-07, "pmc-probe2", half of
the rest, released on 2026-12-07, and "pmc-probe3", the rest, released once a fresh batch held out in its place
("pmc-fresh": totals only), itself released a session later as "pmc-probe5" when an eleventh batch took its place
("pmc-fresh2": totals only) (``split_of``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_html_trials as typeset  # sibling scripts, not a package
import make_synthetic_trials as syn
import pmc_nxml

from metasift.extractor._text import _MID_DOT, COUNT, count_value

SOURCES = [syn.REPO / "bench" / "corpus" / "pmc", syn.REPO.parent / "corpus" / "pmc"]
TRUTH = syn.REPO / "tests" / "fixtures" / "extraction_truth" / "pmc"
OUT = syn.REPO / "bench" / "out" / "pmc"
CSS = """
@page { size: A4; margin: 17mm 15mm; }
body { font-family: %(face)s; font-size: %(size)spt; line-height: 1.28; }
.cols { column-count: %(cols)s; column-gap: 7mm; text-align: justify; }
h1 { font-size: 15pt; } h2 { font-size: 11pt; margin: 8pt 0 3pt; } h3 { font-size: 10pt; margin: 5pt 0 2pt; }
h4 { font-size: %(size)spt; margin: 4pt 0 1pt; } .authors { font-size: 9pt; } .abstract { font-size: 9pt; }
figure { margin: 6pt 0; break-inside: avoid; } figure.table { %(span)s }
figcaption { font-size: 8.4pt; font-weight: bold; margin-bottom: 2pt; }
table { border-collapse: collapse; font-family: %(table_face)s; font-size: %(table_size)spt; width: 100%%;
        border-top: 0.8pt solid black; border-bottom: 0.8pt solid black; }
th { font-weight: bold; text-align: %(align)s; vertical-align: bottom; border-bottom: 0.5pt solid black;
     padding: 1pt 3pt; }
td { padding: 1pt 3pt; vertical-align: baseline; text-align: %(align)s; } td:first-child { text-align: left; }
.table-foot { font-size: 7.4pt; margin: 2pt 0 0; }
figure.fig { column-span: all; } .picture { height: 55mm; border: 0.6pt solid #999; background: #eee; }
"""


def split_of(stem: str) -> str:
    """A paper's half, fixed by its PMCID alone (so adding papers moves none). Half of the held-out half, again
    by a hash, was released for reading on 2026-12-07 as "pmc-probe": papers never tuned on, read per field
    to find which failures the current rules make on unseen reports; the other half stays held out. Half of
    what was still held out, by a third hash, was released in the next session as "pmc-probe2", to read the wrong
    values the checks let through on unseen reports. The rest was released as "pmc-probe3" in the session after
    (its 9 wrong values auto-verified had not been read in four sessions), once the ninth batch of articles,
    written that session and never read by anyone tuning the rules, had taken its place: "pmc-fresh" (a truth
    file whose ``source.batch`` is "ninth"), scored as totals only. A tenth batch, written in the same session
    after the ninth, is released for reading from the start ("pmc-probe4"): it finds failures on unseen reports
    while the ninth measures them. The session after, the ninth was released as "pmc-probe5" (its 9 wrong values
    auto-verified had been scored twice and never read) and an eleventh batch, written then, held out whole in
    its place: "pmc-fresh2", totals only."""
    batch = _batch(stem)
    if batch == "eleventh":
        return "pmc-fresh2"
    if batch == "ninth":  # held out as "pmc-fresh" for one session, then released for reading
        return "pmc-probe5"
    if batch == "tenth":  # written to be read per field: where the checks fail on reports nobody tuned to
        return "pmc-probe4"
    if hashlib.sha256(f"16-{stem}".encode()).digest()[0] % 2 == 0:
        return "pmc-tune"
    if hashlib.sha256(f"probe-{stem}".encode()).digest()[0] % 2 == 0:
        return "pmc-probe"
    return "pmc-probe2" if hashlib.sha256(f"probe2-{stem}".encode()).digest()[0] % 2 == 0 else "pmc-probe3"


def _batch(stem: str) -> str | None:
    """The batch a truth file names (``source.batch``), or None for the batches before the ninth."""
    path = TRUTH / f"{stem}.json"
    return json.loads(path.read_text(encoding="utf-8"))["source"].get("batch") if path.exists() else None


def page_html(article: str, stem: str, name: str = "pmc") -> str:
    """The article inside a layout drawn from its PMCID; a figure gets an empty box where its image was.

    ``name`` other than "pmc" draws a relayout (``--name pmc2``): the same article in a layout drawn from a
    wider range (type sizes, leading, cell alignment, header alignment), so a reading that holds only for
    the layout a paper was tuned on shows up as a loss on its relayout."""
    g = random.Random(f"{name}-{stem}")
    if name == "pmc":  # the corpus every figure so far was measured on: its draws stay byte for byte
        cols = g.choice([1, 2])
        css = CSS % {"face": g.choice(["Georgia, serif", "Times New Roman, serif", "Helvetica, Arial, sans-serif"]),
                     "size": 9.2 if cols == 2 else 10, "cols": cols,
                     "span": "column-span: all;" if cols == 1 or g.random() < 0.5 else "",
                     "table_face": g.choice(["Helvetica, Arial, sans-serif", "Georgia, serif"]),
                     "table_size": g.choice([7.2, 7.6, 8.0]), "align": g.choice(["center", "left"])}
    else:
        cols = g.choice([1, 2, 2])
        css = CSS % {"face": g.choice(["Georgia, serif", "Times New Roman, serif", "Helvetica, Arial, sans-serif",
                                       "DejaVu Sans, sans-serif", "Liberation Serif, serif"]),
                     "size": g.choice([8.6, 9.0, 9.4]) if cols == 2 else g.choice([9.6, 10.0, 10.6]), "cols": cols,
                     "span": "column-span: all;" if cols == 1 or g.random() < 0.4 else "",
                     "table_face": g.choice(["Helvetica, Arial, sans-serif", "Georgia, serif", "DejaVu Sans Condensed, "
                                             "sans-serif", "Times New Roman, serif"]),
                     "table_size": g.choice([6.8, 7.2, 7.6, 8.0, 8.6]), "align": g.choice(["center", "left", "right"])}
        css = css.replace("line-height: 1.28", f"line-height: {g.choice([1.15, 1.22, 1.28, 1.36])}")
        css = css.replace("vertical-align: bottom", f"vertical-align: {g.choice(['bottom', 'middle', 'top'])}")
    article = re.sub(r'(<figure class="fig"[^>]*>)', r'\1<div class="picture"></div>', article)
    head, _, body = article.partition("</h1>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head><body>{head}</h1>"
            f"<div class='cols'>{body}</div></body></html>")


def quote_numbers(s: str) -> list[float]:
    """The numbers a quote prints, in digits or words ("Sixty-one patients"), with a decimal comma ("27,62") or a
    minus sign. A raised decimal dot (the Lancet's "0·5") is read as the decimal point."""
    if _MID_DOT.search(s):  # as the extractor reads it, and as the dot alone was read before
        return quote_numbers(_MID_DOT.sub(".", s)) + quote_numbers(_MID_DOT.sub(" ", s))
    words = (count_value(m.group(1)) for m in re.finditer(COUNT, s, re.IGNORECASE) if not m.group(1).isdigit())
    commas = (float(m.group().replace(",", ".")) for m in re.finditer(r"(?<![\d,])\d+,\d{1,2}(?![\d,])", s))
    minus = (-x for x in syn.numbers(" ".join(re.findall(r"[-\u2212]\s?\d+(?:\.\d+)?", s)).replace("\u2212", "-")))
    return syn.numbers(s) + [float(v) for v in words if v is not None] + list(commas) + list(minus)


def pages_for(texts: list[list[str]], quote: str) -> list[int]:
    """Pages that print ``quote`` (pieces joined by "; "). A table row whose cells the layout broke is found by
    its words and its numbers on one page."""
    pages = set()
    for piece in quote.split("; "):
        found = syn.pages_of(texts, piece)
        if not found:
            words, nums = set(re.findall(r"[A-Za-z]{3,}", piece)), syn.numbers(piece)
            found = [i for i, views in enumerate(texts, 1)
                     if words <= set(re.findall(r"[A-Za-z]{3,}", " ".join(views)))
                     and all(any(abs(x - n) < 1e-9 for x in syn.numbers(" ".join(views))) for n in nums)]
        if not found:
            raise LookupError(piece)
        pages.update(found)
    return sorted(pages)


def fill_pages(data: dict, texts: list[list[str]]) -> list[str]:
    """Each truth value's ``pages`` from the printed PDF; the problems: quotes found on no page, a value not in
    its quote, dropout parts that do not add up, a baseline on an arm the truth does not have."""
    lost, arms = [], {a["name"] for a in data["arms"]}

    def fill(where: str, obj: dict | None, *values) -> None:
        if not obj or not obj.get("quote"):
            return
        printed = quote_numbers(obj["quote"])
        if re.search(r"\b(all|none|no)\b|\b(\d+) of \2\b", obj["quote"], re.IGNORECASE):
            printed.append(0.0)  # "all completed the trial", "50 of 50 completed": no dropout
        lost.extend(f"{where}: {v:g} is not in {obj['quote']!r}" for v in values
                    if v is not None and not any(abs(x - v) < 1e-9 for x in printed))
        try:
            obj["pages"] = pages_for(texts, obj["quote"])
        except LookupError as exc:
            lost.append(f"{where}: {exc.args[0]!r}")

    fill("n_total", data.get("n_total"), (data.get("n_total") or {}).get("value"))
    for a in data["arms"]:
        for key in ("n_randomised", "n_analysed", "n_dropout"):
            obj = a.get(key) or {}  # a dropout printed as its total, or as parts
            total_printed = obj.get("value") in quote_numbers(obj.get("quote") or "")
            fill(f"{a['name']}.{key}", a.get(key), *([obj.get("value")] if total_printed or not obj.get("parts")
                                                     else obj["parts"]))
        drop = a.get("n_dropout") or {}
        if drop.get("parts") and sum(drop["parts"]) != drop["value"]:
            lost.append(f"{a['name']}.n_dropout: parts {drop['parts']} do not add up to {drop['value']}")
    for o in data["outcomes"]:
        q = o.get("primary_quote")
        if q and q.get("quote"):
            try:
                q["page"] = pages_for(texts, q["quote"])[0]
            except LookupError as exc:
                lost.append(f"{o['label']} primary_quote: {exc.args[0]!r}")
        for b in o["baseline"]:
            if b["arm"] not in arms:
                lost.append(f"{o['label']} baseline on {b['arm']!r}, not an arm")
            if b.get("printed_as") != "not reported":
                fill(f"{b['arm']}.{o['label']} baseline", b, b.get("mean"), b.get("sd"))
    return lost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", type=Path, nargs="+", default=SOURCES,
                    help="folders of the articles, PMC<id>.nxml (JATS XML; default: bench/corpus/pmc, ../corpus/pmc)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--truth", type=Path, default=TRUTH, help="folder of the truth files, PMC<id>.json")
    ap.add_argument("--only", nargs="+", metavar="PMCID", help="build these papers alone (to check new truth)")
    ap.add_argument("--name", default="pmc", help="layout draw and split name (NAME-tune / NAME-holdout): "
                    "another name sets the same articles in other layouts (default: pmc)")
    ap.add_argument("--half", choices=("tune", "probe", "probe2", "probe3", "probe4", "probe5", "fresh2", "both"), default="both",
                    help="build one half alone (a relayout of the tune half: --name pmc2 --half tune)")
    args = ap.parse_args()
    (args.out / "truth").mkdir(parents=True, exist_ok=True)
    for truth_file in sorted(args.truth.glob("PMC*.json")):
        stem = truth_file.stem
        if args.only and stem not in args.only:
            continue
        half = split_of(stem).removeprefix("pmc-")
        if args.half not in ("both", half):
            continue
        source = next((d / f"{stem}.nxml" for d in args.src if (d / f"{stem}.nxml").exists()), None)
        if source is None:
            print(f"{stem} left out: no {stem}.nxml in " + ", ".join(map(str, args.src)))
            (args.out / "truth" / f"{stem}.json").unlink(missing_ok=True)
            continue
        pdf = args.out / f"{stem}.pdf"
        typeset.print_pdf(page_html(pmc_nxml.convert(source.read_text(encoding="utf-8")), stem, args.name), pdf)
        data = json.loads(truth_file.read_text(encoding="utf-8"))
        data["file"], data["split"] = pdf.name, f"{args.name}-{half}"
        texts = syn.page_texts(pdf)
        lost = fill_pages(data, texts)
        target = args.out / "truth" / f"{stem}.json"
        if lost:
            target.unlink(missing_ok=True)
            print(f"{stem} left out: " + "; ".join(lost))
            continue
        target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{stem} {data['split']:12} {len(data['arms'])} arms  {len(texts)} pages")


if __name__ == "__main__":
    main()
