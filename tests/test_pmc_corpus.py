"""The published-report corpus of the extraction bench (bench/corpus/pmc, bench/pmc_nxml.py): JATS XML becomes the
plain HTML the bench prints, with tables whole and the reference list left out, and every committed article has
its truth file and every truth quote is in its article's text."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import pmc_nxml  # a bench script, standard library only

TRUTH = Path(__file__).resolve().parent / "fixtures" / "extraction_truth" / "pmc"

_ARTICLE = """<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.0 20120330//EN"
"JATS-archivearticle1.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta><title-group><article-title>A trial
</article-title></title-group><contrib-group><contrib><name><surname>Roe</surname><given-names>Ann</given-names>
</name></contrib></contrib-group><abstract><p>Eighty-four adults were randomized.</p></abstract></article-meta>
</front><body><sec><title>Results</title><p>See Table 1 [<xref ref-type="bibr" rid="B1">1</xref>].
<table-wrap id="T1"><label>Table 1</label><caption><p>Baseline characteristics</p></caption><table><thead><tr>
<th rowspan="2">Variable</th><th colspan="2">LPA (<italic>n</italic> = 46)</th></tr></thead><tbody><tr><td>FIQ</td>
<td>67.5 &#x000b1; 12.0</td><td>69.7<break/>&#x000b1; 13.4</td></tr></tbody></table><table-wrap-foot><p>Mean
&#x000b1; SD.</p></table-wrap-foot></table-wrap></p><fig id="F1"><label>Figure 1</label><caption><p>Participant
flow</p></caption><p>Of the 84 randomised, 73 completed.</p><graphic xlink:href="f1"/></fig></sec></body>
<back><ref-list><ref id="B1"><mixed-citation>Someone 2001</mixed-citation></ref></ref-list></back></article>"""


def _text(page: str) -> str:
    page = re.sub(r"<br>|</t[dh]>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page))).strip()


def test_jats_becomes_plain_html_with_tables_whole_and_no_reference_list() -> None:
    page = pmc_nxml.convert(_ARTICLE)
    assert "<h1>A trial</h1>" in page and '<p class="authors">Ann Roe</p>' in page
    assert '<th rowspan="2">Variable</th><th colspan="2">LPA (<i>n</i> = 46)</th>' in page
    assert "<td>69.7<br>± 13.4</td>" in page and '<p class="table-foot">Mean' in page and "Mean ± SD." in _text(page)
    # the table set inside its paragraph closes the paragraph and follows it
    assert re.search(r"<p>See Table 1 \[1\]\.</p>\s*<figure class=\"table\">", page)
    assert "Figure 1 Participant flow" in _text(page) and "Of the 84 randomised, 73 completed." in _text(page)
    assert "Someone 2001" not in page


def test_every_committed_article_has_truth_and_every_quote_is_in_its_text() -> None:
    articles = sorted((BENCH / "corpus" / "pmc").glob("PMC*.nxml"))
    assert len(articles) >= 87
    for path in articles:
        truth = json.loads((TRUTH / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert "NC" not in truth["source"]["licence"], path.stem  # only CC BY articles are redistributed
        text = _text(pmc_nxml.convert(path.read_text(encoding="utf-8")))
        quotes = [a[k]["quote"] for a in truth["arms"] for k in ("n_randomised", "n_analysed", "n_dropout")
                  if a.get(k) and a[k].get("quote")]
        quotes += [b["quote"] for o in truth["outcomes"] for b in o["baseline"] if b.get("quote")]
        for quote in quotes:
            for piece in quote.split("; "):
                words = set(re.findall(r"[A-Za-z]{3,}", piece)) - set(re.findall(r"[A-Za-z]{3,}", text))
                assert not words, (path.stem, piece, words)


def test_tables_kept_apart_in_an_older_floats_wrap_are_printed_too() -> None:
    article = _ARTICLE.replace(
        "</article>", '<floats-wrap><table-wrap id="T2"><label>Table 2</label><caption><p>Outcomes</p></caption>'
                      "<table><tbody><tr><td>PHQ-9</td><td>12.1 (4.0)</td></tr></tbody></table></table-wrap>"
                      "</floats-wrap></article>")
    text = _text(pmc_nxml.convert(article))
    assert "Table 2 Outcomes" in text and "PHQ-9 12.1 (4.0)" in text
