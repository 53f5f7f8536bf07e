"""Start-up (issue #15): what each command path imports, the tables that let ``metasift`` import only what a
command needs, and the scipy stand-ins of ``analysis._dist`` and ``analysis._roots``."""

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


HEAVY = {"pandas", "scipy", "pydantic", "statsmodels", "matplotlib", "sqlalchemy", "metasift.store",
         "metasift.config", "textual", "sklearn", "metasift.analysis.bias", "metasift.analysis.plots"}


@pytest.mark.parametrize("options", [(), ("--multilevel", "study/es", "--cluster", "study", "--rve", "CR2")])
def test_meta_imports_only_what_the_fit_needs(tmp_path: Path, options: tuple[str, ...]) -> None:
    """Neither pandas nor scipy nor pydantic (typer 0.29's option validators): together they took longer
    than everything else a whole ``metasift meta`` on 1,000 effect sizes does."""
    csv = tmp_path / "d.csv"
    csv.write_text("study,es,yi,vi\n1,1,0.1,0.02\n1,2,0.3,0.05\n2,1,0.2,0.01\n2,2,0.5,0.04\n3,1,0.4,0.03\n"
                   "3,2,0.1,0.02\n", encoding="utf-8")
    run = f"main(['meta', {str(csv)!r}, '--yi', 'yi', '--vi', 'vi', *{options!r}])"
    mods = _modules_after(f"from metasift.cli import main\n{run}", tmp_path)
    assert "metasift.analysis._rma" in mods and ("metasift.analysis.rve" in mods) == bool(options)
    assert not HEAVY & mods


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


def _agree(a: object, b: object) -> bool:
    """Same type and shape, NaN where the other is NaN, the same infinities and signs of zero, and finite
    values within 1e-11 of each other (relative)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if type(a) is not type(b) or x.shape != y.shape:
        return False
    exact = (x == y) | (np.isnan(x) & np.isnan(y))
    if not np.array_equal(np.signbit(x[exact]), np.signbit(y[exact])):
        return False
    near = np.isfinite(x) & np.isfinite(y) & ~exact
    return bool(np.all(exact | near) and np.all(np.abs(x[near] - y[near]) <= 1e-11 * np.abs(y[near])))


def _cauchy_sf(x: object) -> object:
    """t with 1 df is the Cauchy distribution: P(T > x) = ½ − atan(x)/π, exactly."""
    return 0.5 - np.arctan(x) / np.pi


# Grid points where scipy 1.17 itself is wrong, each checked against the truth instead: the Cauchy closed
# form, and t quantiles of q = 1e-300 that scipy gives as infinities of the wrong sign (the truth, ~1e120
# for 2.5 df, is finite: ours maps back to q through t_sf).
SCIPY_WRONG = {("t_sf", 1e-8, (1.0,)), ("t_isf", 1e-300, (2.5,)), ("t_isf", 1e-300, (7,)),
               ("t_ppf", 1e-300, (2.5,)), ("t_ppf", 1e-300, (7,))}


def _true_value_holds(name: str, x: float, df: float) -> bool:
    from metasift.analysis import _dist

    if name == "t_sf":
        return abs(_dist.t_sf(x, df) - _cauchy_sf(x)) <= 1e-15
    t = _dist.t_isf(x, df) if name == "t_isf" else -_dist.t_ppf(x, df)
    return np.isfinite(t) and abs(_dist.t_sf(t, df) - x) <= 1e-11 * x


@pytest.mark.parametrize("index", range(9))
def test_dist_agrees_with_scipy_stats(index: int) -> None:
    mine, ref, grid, n_params = _pairs()[index]
    rng = np.random.default_rng(index)
    for params in itertools.product(DFS, repeat=n_params):
        for x in grid:
            if (mine.__name__, x, params) in SCIPY_WRONG:
                assert _true_value_holds(mine.__name__, x, *params)
                continue
            assert _agree(mine(x, *params), ref(x, *params)), (mine.__name__, x, params)
        vector = np.array([x for x in grid if (mine.__name__, x, params) not in SCIPY_WRONG])
        assert _agree(mine(vector, *params), ref(vector, *params)), (mine.__name__, params)
    if n_params:
        for x in grid:
            if any((mine.__name__, x, (d,) * n_params) in SCIPY_WRONG for d in DFS):
                continue
            args = (np.array(DFS),) * n_params
            assert _agree(mine(x, *args), ref(x, *args)), (mine.__name__, x)
    xs = rng.uniform(0.001, 0.999, 500) if grid is QS else rng.normal(0, 3, 500)
    args = tuple(rng.uniform(0.5, 200, 500) for _ in range(n_params))
    assert _agree(mine(xs, *args), ref(xs, *args))


def test_t_tail_near_zero_is_exact_where_scipy_loses_digits() -> None:
    """scipy's stdtr(1, -1e-8) is off in its 9th digit; the Cauchy closed form shows ours is right."""
    from scipy import stats

    from metasift.analysis import _dist

    for x in (1e-8, 1e-5, 0.3, 2.0, 40.0):
        assert abs(_dist.t_sf(x, 1.0) - _cauchy_sf(x)) <= 1e-15
    assert abs(stats.t.sf(1e-8, 1.0) - _cauchy_sf(1e-8)) > 1e-9


def test_brentq_takes_scipys_steps() -> None:
    from scipy import optimize

    from metasift.analysis._roots import brentq

    for f, a, b in ((lambda x: np.cos(x) - x, 0.0, 2.0), (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),
                    (lambda x: np.exp(x) - 1e-8, -30.0, 5.0), (lambda x: (x - 0.3) ** 3, 0.0, 1.0)):
        for xtol, rtol in ((2e-12, 8.881784197001252e-16), (1e-300, 4 * np.finfo(float).eps)):
            assert brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=500) == optimize.brentq(
                f, a, b, xtol=xtol, rtol=rtol, maxiter=500)
    with pytest.raises(ArithmeticError):
        brentq(lambda x: x * x + 1, -1.0, 1.0)
