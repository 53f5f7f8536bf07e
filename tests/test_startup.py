"""Start-up (issue #15): what each command path imports, the tables that let ``metasift`` import only what a
command needs, and the scipy.stats stand-ins of ``analysis._dist`` (bit for bit)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules loaded by a fresh interpreter after running ``code`` (which may exit)."""
    out = tmp_path / "modules.txt"
    dump = f"open({str(out)!r}, 'w').write('\\n'.join(sys.modules))"
    prog = f"import atexit, sys\natexit.register(lambda: {dump})\n{code}\n"
    subprocess.run([sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True, check=False,
                   timeout=120)
    return set(out.read_text().split("\n"))


def test_version_does_not_import_typer(tmp_path: Path) -> None:
    mods = _modules_after("from metasift.cli import main\nmain(['--version'])", tmp_path)
    assert "metasift.cli" in mods
    assert not {"typer", "rich", "numpy"} & mods


def test_root_help_imports_no_command_module(tmp_path: Path) -> None:
    mods = _modules_after("from metasift.cli import main\nmain(['--help'])", tmp_path)
    assert not {m for m in mods if m.startswith("metasift.cli.") and m != "metasift.cli._common"}
    assert not {"sqlalchemy", "pydantic", "numpy", "metasift.store"} & mods


def test_meta_imports_only_what_the_fit_needs(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("yi,vi\n0.1,0.02\n0.3,0.05\n0.2,0.01\n0.5,0.04\n", encoding="utf-8")
    run = f"main(['meta', {str(csv)!r}, '--yi', 'yi', '--vi', 'vi'])"
    mods = _modules_after(f"from metasift.cli import main\n{run}", tmp_path)
    assert "metasift.analysis._rma" in mods
    heavy = {"scipy.stats", "statsmodels", "matplotlib", "sqlalchemy", "metasift.store", "metasift.config",
             "textual", "sklearn", "metasift.analysis.bias", "metasift.analysis.plots"}
    assert not heavy & mods


def _real_app():
    from metasift.cli import build_app

    return build_app()


def _listing(app) -> list[tuple[str, str]]:
    """(name, help) of the app's top-level commands in --help order."""
    import click
    import typer.main

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    return [(name, group.get_command(ctx, name).help or "") for name in group.list_commands(ctx)]


def test_command_modules_name_every_command_of_its_module() -> None:
    from metasift.cli import COMMAND_MODULES, ROOT_HELP, build_app

    for module, names in COMMAND_MODULES.items():
        assert sorted(n for n, _ in _listing(build_app([module]))) == sorted(names), module
    assert sorted(sum(COMMAND_MODULES.values(), ())) == sorted(ROOT_HELP)


def test_root_help_lists_what_the_real_app_lists() -> None:
    """The stubs' summaries render exactly as the real commands' do (names, order, first paragraphs)."""
    import inspect

    from metasift.cli import root_help_app

    def first_paragraphs(app) -> list[tuple[str, str]]:
        return [(n, inspect.cleandoc(h).split("\n\n")[0]) for n, h in _listing(app)]

    stubs = root_help_app()
    assert stubs is not None, "a ROOT_HELP entry names a function that is not in its module"
    assert first_paragraphs(stubs) == first_paragraphs(_real_app()), (
        "metasift/cli/__init__.py ROOT_HELP is out of date: a command was added, renamed or moved")


@pytest.mark.parametrize("width", [80, 200])
def test_root_help_output_is_unchanged(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from metasift.cli import root_help_app

    monkeypatch.setenv("COLUMNS", str(width))
    real = CliRunner().invoke(_real_app(), ["--help"], prog_name="metasift")
    lazy = CliRunner().invoke(root_help_app(), ["--help"], prog_name="metasift")
    assert lazy.exit_code == real.exit_code == 0
    assert lazy.output == real.output


def test_module_for_picks_the_registering_module() -> None:
    from metasift.cli import module_for

    assert module_for(["meta", "x.csv"]) == "analysis"
    assert module_for(["export", "--json"]) == "records"
    assert module_for(["rob", "import"]) == "report"
    assert module_for(["--help"]) is None
    assert module_for([]) is None
    assert module_for(["no-such-command"]) is None


def test_analysis_names_load_lazily(tmp_path: Path) -> None:
    import metasift.analysis as analysis

    assert sorted(analysis.__all__) == sorted(analysis._WHERE)
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None
    mods = _modules_after("import metasift.analysis\nfrom metasift.analysis import rma", tmp_path)
    assert not {"scipy.stats", "statsmodels", "matplotlib"} & mods


# --- analysis._dist against scipy.stats --------------------------------------------------------------------

XS = [np.nan, -np.inf, -30.0, -1.0, -0.0, 0.0, 1e-300, 1e-8, 0.5, 1.0, 1.96, 3.3, 30.0, 1e6, np.inf]
QS = [np.nan, -0.1, 0.0, 1e-300, 1e-12, 0.001, 0.025, 0.5, 0.975, 1 - 1e-12, 1.0, 1.1]
DFS = [np.nan, -1.0, 0.0, 0.3, 1.0, 2.5, 7, 999.0, 1e7, np.inf]


def _pairs():
    from scipy import stats

    from metasift.analysis import _dist

    return [(_dist.norm_sf, stats.norm.sf, XS, 0), (_dist.norm_isf, stats.norm.isf, QS, 0),
            (_dist.norm_ppf, stats.norm.ppf, QS, 0), (_dist.t_sf, stats.t.sf, XS, 1),
            (_dist.t_isf, stats.t.isf, QS, 1), (_dist.t_ppf, stats.t.ppf, QS, 1),
            (_dist.chi2_sf, stats.chi2.sf, XS, 1), (_dist.chi2_ppf, stats.chi2.ppf, QS, 1),
            (_dist.f_sf, stats.f.sf, XS, 2)]


def _identical(a: object, b: object) -> bool:
    """Same type, shape, values (NaN = NaN) and signs of zero."""
    return (type(a) is type(b) and np.shape(a) == np.shape(b)
            and np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


@pytest.mark.parametrize("index", range(9))
def test_dist_is_scipy_stats_bit_for_bit(index: int) -> None:
    mine, ref, grid, n_params = _pairs()[index]
    rng = np.random.default_rng(index)
    for params in itertools.product(DFS, repeat=n_params):
        for x in grid:
            assert _identical(mine(x, *params), ref(x, *params)), (mine.__name__, x, params)
        vector = np.array(grid)
        assert _identical(mine(vector, *params), ref(vector, *params)), (mine.__name__, params)
    if n_params:
        for x in grid:
            args = (np.array(DFS),) * n_params
            assert _identical(mine(x, *args), ref(x, *args)), (mine.__name__, x)
    xs = rng.uniform(0.001, 0.999, 500) if grid is QS else rng.normal(0, 3, 500)
    args = tuple(rng.uniform(0.5, 200, 500) for _ in range(n_params))
    assert _identical(mine(xs, *args), ref(xs, *args))
