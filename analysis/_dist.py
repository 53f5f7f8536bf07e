"""Tail probabilities and quantiles of the normal, t, chi² and F distributions, bit for bit scipy.stats'.

Why not ``scipy.stats`` itself: importing it cost 0.4 s of CPU time (of ~1 s) in every ``metasift meta``
on a loaded 2-CPU machine (issue #15), although the models need only these eight functions. Each one here
calls the same ``scipy.special`` ufunc that scipy.stats' ``norm``/``t``/``chi2``/``f`` call (``ndtr``,
``ndtri``, ``stdtr``, ``stdtrit``, ``chdtrc``, ``gammaincinv``, ``fdtrc``), inside the same shell as
``rv_continuous.sf``/``isf``/``ppf`` (NaN for a bad parameter or a NaN argument, the support's ends for
x outside it and q = 0 or 1, a NumPy scalar for scalar input), so the results are identical;
tests/test_startup.py compares them on a grid of ordinary and edge-case values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special as sc

ArrayLike = Any


def _params_ok(params: tuple[np.ndarray, ...]) -> Any:
    """scipy's default ``_argcheck``: every shape parameter > 0 (NaN fails)."""
    ok: Any = True
    for p in params:
        ok = np.logical_and(ok, p > 0)
    return ok


def _finish(out: np.ndarray) -> Any:
    """A NumPy scalar for 0-d results, as scipy.stats returns them."""
    return out[()] if out.ndim == 0 else out


def _sf(fn: Callable[..., Any], x: ArrayLike, params: tuple[ArrayLike, ...], lower: float) -> Any:
    """``rv_continuous.sf`` with support (lower, inf) and loc 0, scale 1: ``fn(x, *params)`` inside it."""
    x = np.asarray(x)
    ps = tuple(np.asarray(p) for p in params)
    x = np.asarray(x, dtype=np.promote_types(x.dtype, np.float64))
    ok = _params_ok(ps)
    with np.errstate(invalid="ignore"):
        inside = (lower < x) & (x < np.inf)
    cond = ok & inside
    out = np.zeros(np.shape(cond), x.dtype)
    np.place(out, np.logical_not(ok) | np.isnan(x), np.nan)
    np.place(out, ok & (x <= lower), 1.0)
    if np.any(cond):
        good = np.atleast_1d(*(v for v in (x, *ps)))
        good = (good,) if isinstance(good, np.ndarray) else good
        np.place(out, cond, fn(*_reduce(cond, good)))
    return _finish(out)


def _quantile(fn: Callable[..., Any], q: ArrayLike, params: tuple[ArrayLike, ...], at_zero: float,
              at_one: float) -> Any:
    """``rv_continuous.ppf``/``isf`` with loc 0, scale 1: ``fn(q, *params)`` for 0 < q < 1, the support's
    ends at q = 0 and 1, NaN otherwise (``* 1 + 0`` as scipy does: -0.0 becomes 0.0)."""
    q = np.asarray(q)
    ps = tuple(np.asarray(p) for p in params)
    ok = _params_ok(ps)
    cond = ok & (0 < q) & (q < 1)
    out = np.full(np.shape(cond), fill_value=np.nan)
    np.place(out, ok & (q == 0), at_zero)
    np.place(out, ok & (q == 1), at_one)
    if np.any(cond):
        good = np.atleast_1d(*(v for v in (q, *ps)))
        good = (good,) if isinstance(good, np.ndarray) else good
        np.place(out, cond, fn(*_reduce(cond, good)) * 1 + 0)
    return _finish(out)


def _reduce(cond: np.ndarray, args: tuple[np.ndarray, ...] | list[np.ndarray]) -> list[np.ndarray]:
    """scipy's ``argsreduce``: each argument at the entries where ``cond`` holds (size-1 ones kept)."""
    if np.all(cond):
        *args, cond = np.broadcast_arrays(*args, cond)
        return [np.ravel(a) for a in args]
    return [a if np.size(a) == 1 else np.extract(cond, np.broadcast_to(a, np.shape(cond))) for a in args]


def norm_sf(x: ArrayLike) -> Any:
    """``scipy.stats.norm.sf``."""
    return _sf(lambda v: sc.ndtr(-v), x, (), -np.inf)


def norm_isf(q: ArrayLike) -> Any:
    """``scipy.stats.norm.isf``."""
    return _quantile(lambda p: -sc.ndtri(p), q, (), np.inf, -np.inf)


def norm_ppf(q: ArrayLike) -> Any:
    """``scipy.stats.norm.ppf``."""
    return _quantile(sc.ndtri, q, (), -np.inf, np.inf)


def t_sf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.sf``."""
    return _sf(lambda v, d: sc.stdtr(d, -v), x, (df,), -np.inf)


def t_isf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.isf``."""
    return _quantile(lambda p, d: -sc.stdtrit(d, p), q, (df,), np.inf, -np.inf)


def t_ppf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.ppf``."""
    return _quantile(lambda p, d: sc.stdtrit(d, p), q, (df,), -np.inf, np.inf)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.chi2.sf``."""
    return _sf(lambda v, d: sc.chdtrc(d, v), x, (df,), 0.0)


def chi2_ppf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.chi2.ppf``."""
    return _quantile(lambda p, d: 2 * sc.gammaincinv(d / 2, p), q, (df,), 0.0, np.inf)


def f_sf(x: ArrayLike, dfn: ArrayLike, dfd: ArrayLike) -> Any:
    """``scipy.stats.f.sf``."""
    return _sf(lambda v, m, n: sc.fdtrc(m, n, v), x, (dfn, dfd), 0.0)
