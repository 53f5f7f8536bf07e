"""Render the example trials as journal-style PDFs from ``trials.csv`` and ``outcomes.csv``.

Three realistic layouts rotate over the trials so the extractor meets what real papers do:
"M (SD)" cells in one column, "M ± SD" cells in a two-column article, and separate Mean / SD
columns. Every number printed comes from the two tables, so the demo can check its extraction
and pooled result against them. Run: ``python examples/make_pdfs.py`` (needs reportlab, a dev extra).
"""

from __future__ import annotations

import csv
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

HERE = Path(__file__).resolve().parent / "social_media"
# One typesetting slip, as real papers have: T07's control-arm post-test PHQ-9 SD printed ten times too
# large. The extractor's checks must send it to a human; verify_answers.csv holds the corrected value.
MISPRINT = ("T07", "PHQ-9", "post_sd_2")
STYLES = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=STYLES["BodyText"], fontSize=9, leading=11.5)
HEAD = ParagraphStyle("head", parent=STYLES["Heading3"], fontSize=10.5, spaceBefore=6, spaceAfter=3)
TITLE = ParagraphStyle("title", parent=STYLES["Title"], fontSize=15, leading=18)
CAPTION = ParagraphStyle("caption", parent=BODY, fontName="Helvetica-Bold")


def _read(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _control(t: dict) -> str:
    return {"waitlist": "a waitlist control", "care as usual": "care as usual",
            "attention control": "an attention control (general health information)"}[t["control_type"]]


def _control_arm(t: dict) -> str:
    return {"waitlist": "was placed on a waitlist", "care as usual": "received care as usual",
            "attention control": "received general health information on the same platform"}[t["control_type"]]


def _cell(mean: str, sd: str, layout: int) -> list[str]:
    if layout == 0:
        return [f"{float(mean):.2f} ({float(sd):.2f})"]
    if layout == 1:
        return [f"{float(mean):.2f} ± {float(sd):.2f}"]
    return [f"{float(mean):.2f}", f"{float(sd):.2f}"]


def _table(rows: list[list[str]], header_rows: int = 1) -> Table:
    table = Table(rows, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", 8),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.5, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
    ]))
    return table


def _group_headers(layout: int, n1: int, n2: int) -> list[list[str]]:
    if layout == 2:
        return [["Measure", f"Intervention (n = {n1})", "", f"Control (n = {n2})", ""],
                ["", "Mean", "SD", "Mean", "SD"]]
    unit = "M (SD)" if layout == 0 else "M ± SD"
    return [["Measure", f"Intervention (n = {n1}), {unit}", f"Control (n = {n2}), {unit}"]]


def story(t: dict, outs: list[dict], layout: int) -> list:
    n1, n2 = int(t["n_randomised_1"]), int(t["n_randomised_2"])
    a1, a2 = int(t["n_analysed_1"]), int(t["n_analysed_2"])
    measures = ", ".join(f"the {o['measure']} ({o['outcome']})" for o in outs)
    authors = "; ".join(t["authors"].split("; "))
    parts = [
        Paragraph(t["title"], TITLE),
        Paragraph(authors, BODY),
        Paragraph(f"<i>{t['journal']}</i> {t['year']};{t['volume']}({t['issue']}):{t['pages']}. "
                  f"doi:{t['doi']}", BODY),
        Spacer(1, 4 * mm),
        Paragraph("Abstract", HEAD),
        Paragraph(f"<b>Background:</b> {t['population'].capitalize()} often report symptoms of "
                  f"{' and '.join(o['outcome'] for o in outs)}. <b>Methods:</b> We conducted a two-arm randomized "
                  f"controlled trial of a {t['intervention']} intervention delivered via {t['platform']} by "
                  f"{t['deliverer']}, compared with {_control(t)}. <b>Results:</b> A total of {n1 + n2} "
                  f"participants were randomized. <b>Conclusions:</b> The intervention was feasible.", BODY),
        Paragraph("Introduction", HEAD),
        Paragraph("Social media platforms reach large populations at low cost and may offer a route to deliver "
                  "psychological support outside clinical settings. Evidence from randomized trials remains "
                  "limited, and few interventions have been delivered by non-researchers.", BODY),
        Paragraph("Methods", HEAD),
        Paragraph(f"Participants were {t['population']} recruited online. Eligible participants were randomly "
                  f"assigned (1:1) using computer-generated block randomization. The intervention group joined a "
                  f"closed {t['platform']} group run by {t['deliverer']} for eight weeks; the control group "
                  f"{_control_arm(t)}. Of the participants, {t['female_pct']}% were women. Outcomes were measured at baseline and post-intervention using "
                  f"{measures}.", BODY),
        Paragraph("Statistical analysis", HEAD),
        Paragraph("Analyses followed the intention-to-treat principle where possible; completers are reported in "
                  "the tables. Between-group differences were tested with linear models adjusted for baseline.",
                  BODY),
        PageBreak(),
        Paragraph("Results", HEAD),
        Paragraph(f"Participant flow. Of the {n1 + n2} participants randomized, {n1} were allocated to the "
                  f"intervention group and {n2} to the control group. In the intervention group {n1 - a1} were "
                  f"lost to follow-up and {a1} were analysed; in the control group {n2 - a2} were lost to "
                  f"follow-up and {a2} were analysed.", BODY),
        Spacer(1, 3 * mm),
        Paragraph("Table 1. Baseline characteristics of participants by group.", CAPTION),
    ]
    base = _group_headers(layout, n1, n2)  # baseline: everyone randomised
    for o in outs:
        base.append([f"{o['measure']} ({o['outcome']})", *_cell(o["baseline_mean_1"], o["baseline_sd_1"], layout),
                     *_cell(o["baseline_mean_2"], o["baseline_sd_2"], layout)])
    parts += [_table(base, 2 if layout == 2 else 1), Spacer(1, 4 * mm),
              Paragraph("Table 2. Outcomes at post-intervention.", CAPTION)]
    post = _group_headers(layout, a1, a2)  # post: completers
    for o in outs:
        sd2 = o["post_sd_2"]
        if (t["trial_id"], o["measure"], "post_sd_2") == MISPRINT:
            sd2 = str(float(sd2) * 10)
        post.append([f"{o['measure']} ({o['outcome']})", *_cell(o["post_mean_1"], o["post_sd_1"], layout),
                     *_cell(o["post_mean_2"], sd2, layout)])
    parts += [_table(post, 2 if layout == 2 else 1), Spacer(1, 4 * mm),
              Paragraph("Discussion", HEAD),
              Paragraph("The findings suggest that brief social-media-delivered support is acceptable. Larger "
                        "trials with longer follow-up are needed.", BODY)]
    return parts


def render(t: dict, outs: list[dict], path: Path) -> None:
    layout = (int(t["trial_id"][1:]) - 1) % 3
    doc = BaseDocTemplate(str(path), pagesize=A4, title=t["title"], author=t["authors"].split(";")[0],
                          subject=f"doi:{t['doi']}", leftMargin=18 * mm, rightMargin=18 * mm,
                          topMargin=18 * mm, bottomMargin=18 * mm)
    width, height = doc.width, doc.height
    if layout == 1:  # two-column article
        gap = 6 * mm
        frames = [Frame(doc.leftMargin, doc.bottomMargin, (width - gap) / 2, height, id="left"),
                  Frame(doc.leftMargin + (width + gap) / 2, doc.bottomMargin, (width - gap) / 2, height, id="right")]
    else:
        frames = [Frame(doc.leftMargin, doc.bottomMargin, width, height, id="one")]

    def footer(canvas, _doc) -> None:
        canvas.setFont("Helvetica", 7)
        canvas.drawString(doc.leftMargin, 10 * mm, f"{t['journal']} {t['year']}")
        canvas.drawRightString(doc.leftMargin + width, 10 * mm, str(canvas.getPageNumber()))

    doc.addPageTemplates([PageTemplate(id="p", frames=frames, onPage=footer)])
    doc.build(story(t, outs, layout))


def main() -> None:
    trials, outcomes = _read("trials.csv"), _read("outcomes.csv")
    out = HERE / "pdfs"
    out.mkdir(exist_ok=True)
    for t in trials:
        render(t, [o for o in outcomes if o["trial_id"] == t["trial_id"]], out / f"{t['trial_id']}.pdf")
    trial = next(t for t in trials if t["trial_id"] == MISPRINT[0])
    truth = next(o for o in outcomes if o["trial_id"] == MISPRINT[0] and o["measure"] == MISPRINT[1])
    with open(HERE / "verify_answers.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["doi", "field", "arm", "measure", "value"])
        writer.writerow([trial["doi"], "outcome_sd", "Control", f"{truth['measure']} ({truth['outcome']})",
                         truth["post_sd_2"]])
    print(f"wrote {len(trials)} PDFs and verify_answers.csv to {out}")


if __name__ == "__main__":
    main()
