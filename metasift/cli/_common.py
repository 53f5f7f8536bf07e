"""Shared CLI plumbing: consoles, JSON output, project lookup, error handling."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

console = Console()  # results: tables go to stdout
err_console = Console(stderr=True)  # messages, warnings, progress go to stderr

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


def print_error(exc: BaseException) -> None:
    """The one red line a user sees for a ``MetasiftError``."""
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    from rich.markup import escape

    err_console.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


def info(message: str) -> None:
    err_console.print(message, highlight=False)


def project_dir(project: Path | None) -> Path:
    return (project or Path.cwd()).resolve()


class LazyModule:
    """A module imported on first attribute access: heavy libraries (pandas, scikit-learn) stay out of
    the start-up of every ``metasift`` command and load only in the commands that use them."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            import importlib

            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


def two_column_table(title: str, rows: Any, headers: tuple[str, str] = ("", "count")) -> Any:
    """A rich table of (label, value) rows, values right-aligned: the shape of most command summaries."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column(headers[0])
    table.add_column(headers[1], justify="right")
    for label, value in rows:
        table.add_row(str(label), str(value))
    return table
