"""A PubMed Central article's JATS XML as the plain HTML that ``make_pmc_trials.py`` typesets.

Run: python3 bench/pmc_nxml.py SRC.nxml [OUT.html]   (standard library only)

What is kept: the title, authors, abstract, every section with its heading (``h2``-``h4`` by depth), paragraphs,
lists, every table (``figure.table``: label and caption, each row with its cells, rowspans and colspans, footnotes)
and figure captions (``figure.fig``; PMC keeps the figure itself as an image, so only its caption is text),
back-matter notes and appendices. Left out: the reference list, and what prints nothing (ids, metadata).
Citations stay as printed ("[12]"). Inline styles (italic, bold, superscript, subscript) are kept; a line break
inside a cell is kept as ``<br>``.

The conversion is written here rather than taken from a library because the output must be this exact small
subset (the bench's truth quotes are the printed text), and no package on PyPI converts JATS to plain HTML without
pulling in a publishing toolchain.
"""

from __future__ import annotations

import html
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# The inline styles kept; every other inline element (xref, ext-link, named-content, ...) is reduced to its text.
STYLES = {"italic": "i", "bold": "b", "sup": "sup", "sub": "sub", "underline": "u"}
BLOCK = {"table-wrap", "fig", "list", "disp-quote", "boxed-text", "disp-formula", "table-wrap-group",
         "fig-group", "def-list", "statement", "supplementary-material", "preformat", "speech"}
SKIP = {"ref-list", "object-id", "graphic", "media", "tex-math", "permissions", "alt-text", "long-desc"}


def local(tag: str) -> str:
    """A tag without its namespace ("{http://www.w3.org/1998/Math/MathML}math" -> "math")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=False)


def inline(el: ET.Element) -> str:
    """An element's content as inline HTML: text, styles kept, everything else reduced to its text."""
    out = [esc(el.text)]
    for child in el:
        tag = local(child.tag)
        if tag == "break":
            out.append("<br>")
        elif tag == "alternatives":
            out.append(inline_alternatives(child))
        elif tag in BLOCK:
            out.append(" " + block(child) + " ")
        elif tag not in SKIP:
            html_tag = STYLES.get(tag)
            inner = inline(child)
            out.append(f"<{html_tag}>{inner}</{html_tag}>" if html_tag else inner)
        out.append(esc(child.tail))
    return "".join(out)


def inline_alternatives(el: ET.Element) -> str:
    """Of an ``<alternatives>`` group, the MathML or plain form (the TeX and image forms print nothing here)."""
    for child in el:
        if local(child.tag) in {"math", "textual-form"}:
            return inline(child)
    return ""


def paragraph(el: ET.Element, cls: str = "") -> str:
    """A ``<p>``; a table or figure set inside it (some journals do) closes the paragraph and follows it."""
    attr = f' class="{cls}"' if cls else ""
    parts, current = [], [esc(el.text)]
    for child in el:
        if local(child.tag) in BLOCK:
            parts.append(("p", "".join(current)))
            parts.append(("block", block(child)))
            current = [esc(child.tail)]
        else:
            wrapper = ET.Element("x")
            wrapper.append(child)
            current.append(inline(wrapper))  # the child with its tail
            wrapper.remove(child)
    parts.append(("p", "".join(current)))
    return "\n".join(f"<p{attr}>{body.strip()}</p>" if kind == "p" else body
                     for kind, body in parts if kind == "block" or body.strip())


def caption(el: ET.Element) -> str:
    """A table's or figure's label and caption as one line ("Table 2. Baseline characteristics")."""
    label = el.find("label")
    cap = el.find("caption")
    bits = []
    if label is not None:
        bits.append(inline(label).strip())
    if cap is not None:
        for part in cap:
            if local(part.tag) in {"title", "p"}:
                bits.append(inline(part).strip())
    return " ".join(b for b in bits if b)


def table(el: ET.Element) -> str:
    """A ``<table>``: rows in order (head, bodies, foot), cells with their spans."""
    rows = []
    for tr in el.iter():
        if local(tr.tag) != "tr":
            continue
        cells = []
        for cell in tr:
            tag = local(cell.tag)
            if tag not in {"th", "td"}:
                continue
            spans = "".join(f' {k}="{cell.get(k)}"' for k in ("rowspan", "colspan") if cell.get(k, "1") != "1")
            cells.append(f"<{tag}{spans}>{inline(cell).strip()}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def block(el: ET.Element) -> str:
    """A block element: table, figure, list, quote, box, formula."""
    tag = local(el.tag)
    if tag == "table-wrap":
        tables = [table(t) for t in el.iter() if local(t.tag) == "table"]
        foot = [paragraph(p, "table-foot") for f in el if local(f.tag) == "table-wrap-foot"
                for p in f.iter() if local(p.tag) in {"p", "attrib"}]
        return (f'<figure class="table"><figcaption>{caption(el)}</figcaption>\n' + "\n".join(tables) + "\n"
                + "\n".join(foot) + "</figure>")
    if tag == "fig":
        notes = "".join(paragraph(p) for p in el if local(p.tag) == "p")  # a legend set beside the caption
        return f'<figure class="fig"><figcaption>{caption(el)}</figcaption>{notes}</figure>'
    if tag in {"table-wrap-group", "fig-group"}:
        return "\n".join(block(c) for c in el if local(c.tag) in BLOCK)
    if tag == "list":
        items = []
        for item in el:
            if local(item.tag) == "list-item":
                items.append("<li>" + " ".join(paragraph(p) if local(p.tag) == "p" else block(p)
                                               for p in item if local(p.tag) in BLOCK | {"p"}) + "</li>")
        return "<ul>" + "".join(items) + "</ul>"
    if tag == "def-list":
        items = [f"<p>{inline(t).strip()}: {' '.join(inline(d).strip() for d in item.iter() if local(d.tag) == 'p')}</p>"
                 for item in el if local(item.tag) == "def-item" for t in item if local(t.tag) == "term"]
        return "\n".join(items)
    if tag == "disp-formula":
        return f"<p>{inline(el).strip()}</p>"
    if tag == "supplementary-material":
        text = caption(el)
        return f"<p>{text}</p>" if text else ""
    return "\n".join(section_body(el, 4))  # disp-quote, boxed-text, statement, preformat, speech


def section_body(el: ET.Element, depth: int) -> list[str]:
    """A section's or body's children in order; nested sections one heading level down."""
    out = []
    for child in el:
        tag = local(child.tag)
        if tag in SKIP:
            continue
        if tag in {"title", "label"}:
            continue  # printed by the parent as the heading
        if tag == "p":
            out.append(paragraph(child))
        elif tag in {"sec", "app", "ack", "glossary", "fn-group", "notes", "app-group", "bio"}:
            out.extend(section(child, depth))
        elif tag == "fn":
            out.extend(paragraph(p) for p in child if local(p.tag) == "p")
        elif tag in BLOCK:
            out.append(block(child))
        elif tag == "sec-meta":
            continue
        else:
            text = inline(child).strip()
            if text:
                out.append(f"<p>{text}</p>")
    return out


def section(el: ET.Element, depth: int) -> list[str]:
    title = el.find("title")
    label = el.find("label")
    heading = " ".join(inline(x).strip() for x in (label, title) if x is not None)
    if not heading and local(el.tag) == "ack":
        heading = "Acknowledgements"
    out = [f"<h{min(depth, 4)}>{heading}</h{min(depth, 4)}>"] if heading else []
    return out + section_body(el, depth + 1)


def convert(xml_text: str) -> str:
    """The article's HTML (``<article>`` with ``h1`` title, authors, abstract, body, back matter, floats)."""
    xml_text = re.sub(r"<!DOCTYPE[^>]*>", "", xml_text, count=1)
    root = ET.fromstring(xml_text)
    meta = root.find("front/article-meta")
    out = ["<article>"]
    if meta is not None:
        title = meta.find("title-group/article-title")
        out.append(f"<h1>{inline(title).strip() if title is not None else ''}</h1>")
        names = []
        for name in meta.iterfind("contrib-group/contrib/name"):
            given, surname = name.findtext("given-names") or "", name.findtext("surname") or ""
            names.append(esc(f"{given} {surname}".strip()))
        if names:
            out.append(f'<p class="authors">{", ".join(names)}</p>')
        for abstract in meta.findall("abstract"):
            if abstract.get("abstract-type") in {"toc", "teaser", "graphical"}:
                continue
            out.append('<div class="abstract"><h2>Abstract</h2>')
            out.extend(section_body(abstract, 3))
            out.append("</div>")
    for part in ("body", "back", "floats-group", "floats-wrap"):  # floats-wrap: the older NLM DTDs' name
        el = root.find(part)
        if el is not None:
            out.extend(section_body(el, 2))
    out.append("</article>")
    return "\n".join(x for x in out if x) + "\n"


def main() -> None:
    src = Path(sys.argv[1])
    page = convert(src.read_text(encoding="utf-8"))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(page, encoding="utf-8")
    else:
        sys.stdout.write(page)


if __name__ == "__main__":
    main()
