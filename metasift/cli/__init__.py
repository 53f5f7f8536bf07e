"""The ``metasift`` command line. One module per command group, each with ``register(app)``."""

from __future__ import annotations

import sys

import typer

from metasift import __version__
from metasift.errors import MetasiftError

app = typer.Typer(
    name="metasift",
    help="Systematic reviews in the terminal: import, deduplicate, screen, extract, analyse, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"metasift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Systematic reviews in the terminal."""


def _register_all() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"metasift.cli.{name}")
        except ModuleNotFoundError as exc:  # a command group still being written
            if exc.name and exc.name.startswith("metasift.cli."):
                continue
            raise
        module.register(app)


# Order here is the order in --help.
_COMMAND_MODULES = ["project", "records", "screening", "review", "fulltext", "analysis", "plots", "report", "simulate"]
_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a MetasiftError becomes one red line and its exit code."""
    from metasift.cli._common import err_console, print_error

    try:
        app(args=argv, prog_name="metasift")
    except MetasiftError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(_INTERRUPTED)
        sys.exit(130)
    except SystemExit as exc:  # typer turns Ctrl-C into a silent exit 130: say what it means
        if exc.code == 130 and _caused_by_interrupt(exc):
            err_console.print(_INTERRUPTED)
        raise


_INTERRUPTED = "[yellow]interrupted[/yellow]: everything decided so far is saved; re-run to resume."


def _caused_by_interrupt(exc: BaseException) -> bool:
    """True when a KeyboardInterrupt is somewhere in the exception's chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
