"""Moderator expressions of ``[analysis] moderators``: a field name, or a field compared with a literal.

``female_pct`` (numeric: a slope; text: a categorical moderator coded as dummies against its first level),
``female_pct > 70`` (a threshold: 1 where true, 0 where false), ``control_type == "waitlist"`` (one level
against the rest). Kept in the kernel so that ``config`` can reject a malformed expression on load, naming the
key, and ``analysis.metareg`` reads the same expression the same way; which fields exist is only known once
the effect sizes and the study fields are gathered, so an unknown field is reported there.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from metasift.errors import AnalysisError

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
_FIELD = r"[A-Za-z_][A-Za-z0-9_]*"
_EXPR = re.compile(rf"^\s*({_FIELD})\s*(?:({'|'.join(re.escape(o) for o in OPERATORS)})\s*(.+?))?\s*$")
_COMPARE = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
            "<": operator.lt}
_QUOTED = re.compile(r"""^(?:"([^"]*)"|'([^']*)')$""")


@dataclass(frozen=True, slots=True)
class Moderator:
    """One parsed moderator: ``field`` alone, or ``field op value`` (a 0/1 indicator)."""

    text: str                       # as written, whitespace normalised: the coefficient's name
    field: str
    op: str | None = None
    value: float | str | None = None

    @property
    def is_indicator(self) -> bool:
        return self.op is not None

    def holds(self, x: object) -> bool | None:
        """Whether ``field op value`` holds for ``x`` (None for a missing value or a text compared by order)."""
        if x is None or (isinstance(x, float) and x != x):
            return None
        if isinstance(self.value, float):
            try:
                x = float(x)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return None
        else:
            x = str(x)
            if self.op not in ("==", "!="):
                return None
        return bool(_COMPARE[self.op](x, self.value))  # type: ignore[index]


def is_field_name(text: str) -> bool:
    """Whether ``text`` is a bare field name (what a subgroup variable must be)."""
    return re.fullmatch(_FIELD, text or "") is not None


def parse_moderator(text: str) -> Moderator:
    """``"female_pct > 70"`` -> Moderator(field="female_pct", op=">", value=70.0); AnalysisError when malformed."""
    m = _EXPR.match(text or "")
    if m is None:
        raise AnalysisError(f"moderator {text!r}: expected a field name, optionally compared with a value "
                            f"({', '.join(OPERATORS)}), e.g. 'female_pct > 70'")
    field, op, raw = m.groups()
    if op is None:
        return Moderator(text=field, field=field)
    quoted = _QUOTED.match(raw)
    value: float | str
    if quoted:
        value = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
        if op not in ("==", "!="):
            raise AnalysisError(f"moderator {text!r}: text can only be compared with == or !=")
        shown = f'"{value}"'
    else:
        try:
            value = float(raw)
        except ValueError:
            raise AnalysisError(f"moderator {text!r}: {raw!r} is neither a number nor quoted text") from None
        shown = f"{value:g}"
    return Moderator(text=f"{field} {op} {shown}", field=field, op=op, value=value)
