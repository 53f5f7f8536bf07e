"""p-values as journals print them (APA 7th ed.), for every text a reader sees: the report, the stopping
test's sentences, the status line."""

from __future__ import annotations

import math


def p_text(p: float | None) -> str:
    """A p-value as journals print it: "< .001", ".032", "> .999"; no leading zero."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "< .001"
    text = f"{p:.3f}"
    return "> .999" if text == "1.000" else text.removeprefix("0")


def format_p(p: float | None) -> str:
    """"p < .001" or "p = .032": ``p_text`` with the p, for running text."""
    text = p_text(p)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"
