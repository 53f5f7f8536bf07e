"""The ``metasift`` command line. One module per command group, each with ``register(app)``.

Start-up is kept short (issue #15): ``metasift --version`` answers before typer is imported, and a command
imports only the module that registers it (``COMMAND_MODULES``), so ``metasift meta`` does not load the
store, the protocol or the LLM client. The root ``--help`` (and no command) lists stand-ins carrying each
command's summary (``ROOT_HELP``) and imports no command module; an unknown name registers every module.
The typer app is built on first use: ``from metasift.cli import app`` still gives the whole app.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from metasift import __version__

if TYPE_CHECKING:
    import typer

# Command group modules in --help order, each with the top-level commands (and sub-apps) it registers.
# A name missing here still works (every module is then registered); tests/test_startup.py checks it.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "project": ("init", "confirm", "status", "backup"),
    "records": ("import", "dedup", "export"),
    "screening": ("screen", "calibrate"),
    "review": ("review", "conflicts", "agreement"),
    "fulltext": ("extract-pdf", "extract", "effects", "verify", "eligibility", "gaps", "enter", "fulltext"),
    "analysis": ("meta", "bias", "influence", "subgroup", "effect-size"),
    "plots": ("forest", "funnel"),
    "report": ("report", "prisma", "rob"),
    "studies": ("studies",),
    "simulate": ("simulate",),
    "store": ("store",),
}
# The root --help listing, in its order: a command's summary is the first paragraph of its function's
# docstring ("module:function", read from the source) and a sub-app's is its help text. Importing every
# command module for the listing cost 0.69 s CPU on a loaded 2-CPU box (the protocol, the store and
# SQLAlchemy), reading their sources 0.05 s. tests/test_startup.py checks it against the real app.
ROOT_HELP: dict[str, str] = {
    "init": "project:init", "confirm": "project:confirm", "status": "project:status",
    "backup": "project:backup", "import": "records:import_", "dedup": "records:dedup",
    "export": "export:export", "screen": "screening:screen", "calibrate": "screening:calibrate",
    "review": "review:review", "conflicts": "review:conflicts", "agreement": "review:agreement_cmd",
    "extract-pdf": "fulltext:extract_pdf", "extract": "fulltext:extract_cmd", "effects": "fulltext:effects",
    "verify": "fulltext:verify",
    "eligibility": "fulltext:eligibility", "gaps": "fulltext:gaps", "enter": "fulltext:enter",
    "meta": "analysis:meta", "bias": "analysis:bias",
    "influence": "analysis:influence", "subgroup": "analysis:subgroup", "effect-size": "analysis:effect_size",
    "forest": "plots:forest", "funnel": "plots:funnel", "report": "report:report", "prisma": "report:prisma",
    "simulate": "simulate:simulate",
    "fulltext": "Attach PDFs to records.", "rob": "Risk of bias (RoB 2).",
    "studies": "Study-level fields for moderators and subgroups.",
    "store": "A team's store on a PostgreSQL server (push, pull, reviewers).",
}
_COMMAND_MODULES = list(COMMAND_MODULES)  # the order of --help (kept under its old name)
_HELP = "Systematic reviews in the terminal: import, deduplicate, screen, extract, analyse, report."
_app: typer.Typer | None = None


def _version(value: bool) -> None:
    if value:
        import typer

        typer.echo(f"metasift {__version__}")
        raise typer.Exit()


def build_app(modules: list[str] | None = None) -> typer.Typer:
    """A typer app with the commands of ``modules`` (default: all, in --help order)."""
    import importlib

    import typer

    new = typer.Typer(name="metasift", help=_HELP, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode="markdown")

    @new.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Show the version and exit."),
    ) -> None:
        """Systematic reviews in the terminal."""

    for name in _COMMAND_MODULES if modules is None else modules:
        try:
            module = importlib.import_module(f"metasift.cli.{name}")
        except ModuleNotFoundError as exc:  # a command group still being written
            if exc.name and exc.name.startswith("metasift.cli."):
                continue
            raise
        module.register(new)
    return new


def __getattr__(name: str) -> Any:
    """``app``: the whole app, built on first access (importing this package stays cheap)."""
    if name == "app":
        global _app
        if _app is None:
            _app = build_app()
        return _app
    raise AttributeError(f"module 'metasift.cli' has no attribute {name!r}")


def module_for(args: list[str]) -> str | None:
    """The one command module ``args`` need, or None when they need every module (--help, no command,
    an unknown name). Only the root's options (--version, --help, both answered by every module) can come
    before the command name."""
    if not args or args[0].startswith("-"):
        return None
    return next((m for m, cmds in COMMAND_MODULES.items() if args[0] in cmds), None)


def _docstring(module: str, function: str, cache: dict[str, dict[str, str]]) -> str | None:
    """The docstring of ``function`` in ``metasift/cli/<module>.py``, read with ``ast`` (not imported)."""
    if module not in cache:
        import ast
        from pathlib import Path

        try:
            tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            tree = ast.Module(body=[], type_ignores=[])
        cache[module] = {node.name: ast.get_docstring(node, clean=False) or "" for node in tree.body
                         if isinstance(node, ast.FunctionDef)}
    return cache[module].get(function)


def root_help_app() -> typer.Typer | None:
    """The app for ``metasift`` / ``metasift --help``: no command module imported, each command a stub
    carrying its summary (``ROOT_HELP``); None when a docstring cannot be found (then the real app)."""
    stubs = build_app([])
    cache: dict[str, dict[str, str]] = {}
    for name, where in ROOT_HELP.items():
        module, colon, function = where.partition(":")
        doc = _docstring(module, function, cache) if colon else where
        if doc is None:
            return None
        stubs.command(name, help=doc)(_stub)
    return stubs


def _stub() -> None:
    """Never run: the root help's stand-in for a command."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a MetasiftError becomes one red line and its exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["--version"]:  # answered before typer loads (issue #15); exits 0 as typer's Exit did
        sys.stdout.write(f"metasift {__version__}\n")
        sys.exit(0)
    from metasift.cli._common import err_console, print_error
    from metasift.errors import MetasiftError

    module = module_for(args)
    cli = build_app([module]) if module is not None else None
    if cli is None and args in ([], ["--help"]):
        cli = root_help_app()
    if cli is None:
        cli = __getattr__("app")
    try:
        cli(args=args, prog_name="metasift")
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
