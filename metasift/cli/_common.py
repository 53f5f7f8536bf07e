"""Shared CLI plumbing: consoles, JSON output, project lookup, error handling."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

# Messages, warnings and progress go to stderr. soft_wrap: a message stays one line (the terminal wraps
# it), so logs and tests see "already imported" whatever the width and the path length.
err_console = Console(stderr=True, soft_wrap=True)

ProjectOption = typer.Option(
    None, "--project", "-p", help="Review project directory (default: the current directory).",
    envvar="METASIFT_PROJECT",
)
JsonOption = typer.Option(False, "--json", help="Print one JSON object on stdout (messages go to stderr).")


def _clean(obj: Any) -> Any:
    """Make numpy scalars, NaN and infinities JSON-safe (NaN/inf become null)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON alone on stdout."""
    sys.stdout.write(json.dumps(_clean(obj), indent=2, default=str) + "\n")
    sys.stdout.flush()


# C0/C1 controls (ESC starts terminal escape sequences), DEL, and the bidi overrides that reorder text.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_KEEP_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, one_line: bool = True, limit: int | None = None) -> str:
    """``text`` safe to print on a terminal: control characters and escape sequences (from file names or
    file contents) shown escaped as ``\\x1b`` instead of acting on the terminal, newlines too when
    ``one_line``; cut to ``limit`` characters with an ellipsis."""
    pattern = _UNPRINTABLE if one_line else _KEEP_LINES
    text = pattern.sub(lambda m: repr(m.group())[1:-1], text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class _SafeConsole(Console):
    """A console whose strings (table cells included) show control characters escaped: a record's title
    with a terminal escape sequence prints as ``\x1b[31m`` instead of recolouring the terminal."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(printable(text, one_line=False), **kwargs)


console = _SafeConsole(markup=False)  # results: tables go to stdout; record text in them is never markup


ERROR_LIMIT = 1500  # an error is one line: a path, a line, what is wrong (and, for effects, each study why)


def print_error(exc: BaseException) -> None:
    """The one red line a user sees for a ``MetasiftError`` (control characters escaped, length capped)."""
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(printable(str(exc), limit=ERROR_LIMIT))}", highlight=False,
                      soft_wrap=True)


def warn(message: str) -> None:
    from rich.markup import escape

    text = escape(printable(message, one_line=False))
    err_console.print(f"[yellow]warning:[/yellow] {text}", highlight=False)


def info(message: str) -> None:
    """A message on stderr; ``message`` may carry rich markup, so put names in it through ``shown``."""
    err_console.print(printable(message, one_line=False), highlight=False)


def shown(name: object) -> str:
    """A file name or other outside text for an ``info`` message: rich markup and control characters inert."""
    from rich.markup import escape

    return escape(printable(str(name)))


def multilevel_columns(spec: str) -> tuple[str, str]:
    """``--multilevel STUDYCOL/ESCOL`` as its two column names; anything else is one AnalysisError."""
    from metasift.errors import AnalysisError

    parts = spec.split("/")
    if len(parts) != 2 or not all(parts):
        raise AnalysisError(f"--multilevel wants STUDYCOL/ESCOL, got {spec!r}")
    return parts[0], parts[1]


def project_dir(project: Path | None) -> Path:
    return (project or Path.cwd()).resolve()


def two_column_table(title: str, rows: Any, headers: tuple[str, str] = ("", "count")) -> Any:
    """A rich table of (label, value) rows, values right-aligned: the shape of most command summaries."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column(headers[0])
    table.add_column(headers[1], justify="right")
    for label, value in rows:
        table.add_row(str(label), str(value))
    return table
