"""Tail probabilities and quantiles of the normal, t, chi² and F distributions, as scipy.stats gives them.

Why not scipy: importing ``scipy.stats`` cost 0.4 s, and even ``scipy.special`` alone about 0.2 s (its
array-API layer imports ``numpy.f2py``), in every ``metasift meta`` whose fit takes 3 ms (issue #15: the
whole command in < 0.6 s). The models need only these eight functions, so their kernels are written here
on the standard library's ``math``: the normal from ``erfc`` and ``statistics.NormalDist``; t and F from the
regularised incomplete beta function and chi² from the regularised incomplete gamma function, both as the
continued fractions of Numerical Recipes (Press et al. 2007, §6.2 and §6.4) with Lentz's method, with the
log-gamma prefactors taken by Stirling's series where large arguments would cancel; quantiles by Brent's
root finder (``analysis._roots``) on those tails. They run inside the same shell as scipy.stats'
``rv_continuous.sf``/``isf``/``ppf`` (NaN for a bad parameter or a NaN argument, the support's ends for x
outside it and q = 0 or 1, a NumPy scalar for scalar input). Parameters outside [0.05, 1e5] or infinite
(never produced by the models, whose degrees of freedom are below k) go to ``scipy.special`` itself.
tests/test_startup.py compares every function with scipy.stats on a grid of ordinary and edge-case values
(relative difference < 1e-11, the edge cases identical).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np

from metasift.analysis._roots import brentq

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
    return _sf(_elementwise(_norm_sf), x, (), -np.inf)


def norm_isf(q: ArrayLike) -> Any:
    """``scipy.stats.norm.isf``."""
    return _quantile(_elementwise(lambda p: -_STD_NORMAL.inv_cdf(p)), q, (), np.inf, -np.inf)


def norm_ppf(q: ArrayLike) -> Any:
    """``scipy.stats.norm.ppf``."""
    return _quantile(_elementwise(_STD_NORMAL.inv_cdf), q, (), -np.inf, np.inf)


def t_sf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.sf``."""
    return _sf(_elementwise(_t_sf, "stdtr", lambda v, d: (d, -v)), x, (df,), -np.inf)


def t_isf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.isf``."""
    return _quantile(_elementwise(_t_upper, "stdtrit", lambda p, d: (d, p), lambda p, out: -out), q, (df,),
                     np.inf, -np.inf)


def t_ppf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.t.ppf``."""
    return _quantile(_elementwise(_t_lower, "stdtrit", lambda p, d: (d, p)), q, (df,), -np.inf, np.inf)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.chi2.sf``."""
    return _sf(_elementwise(lambda v, d: _gamma_pq(d / 2, v / 2)[1], "chdtrc", lambda v, d: (d, v)), x, (df,),
               0.0)


def chi2_ppf(q: ArrayLike, df: ArrayLike) -> Any:
    """``scipy.stats.chi2.ppf``."""
    return _quantile(_elementwise(_chi2_lower, "gammaincinv", lambda p, d: (d / 2, p),
                                  lambda p, out: 2 * out), q, (df,), 0.0, np.inf)


def f_sf(x: ArrayLike, dfn: ArrayLike, dfd: ArrayLike) -> Any:
    """``scipy.stats.f.sf``."""
    return _sf(_elementwise(_f_sf, "fdtrc", lambda v, m, n: (m, n, v)), x, (dfn, dfd), 0.0)


# --- kernels: one value at a time, on the math module ----------------------------------------------------

_STD_NORMAL = NormalDist()
_EPS = 2.220446049250313e-16
_TINY = 1e-300
_OWN_PARAMS = (0.05, 1e5)   # degrees of freedom the kernels below serve; others go to scipy.special
_MAX_ITER = 100_000


def _elementwise(kernel: Callable[..., float], scipy_name: str | None = None,
                 scipy_args: Callable[..., tuple[float, ...]] | None = None,
                 scipy_out: Callable[[float, float], float] | None = None) -> Callable[..., np.ndarray]:
    """``kernel`` applied element by element to broadcast arrays (x first, then the parameters). Where a
    parameter is outside ``_OWN_PARAMS`` or the kernel cannot bracket its answer, ``scipy.special``'s
    ``scipy_name`` is called instead on ``scipy_args(x, *params)`` (imported only then), its result passed
    through ``scipy_out(x, result)``."""

    def run(*arrays: np.ndarray) -> np.ndarray:
        parts = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
        out = np.empty(parts[0].shape)
        for idx in np.ndindex(out.shape):
            args = tuple(float(a[idx]) for a in parts)
            value = None
            if all(_OWN_PARAMS[0] <= p <= _OWN_PARAMS[1] for p in args[1:]):
                value = kernel(*args)
            if value is None:
                if scipy_name is None or scipy_args is None:
                    raise ArithmeticError(f"no fallback for {kernel.__name__}{args}")
                from scipy import special  # rare: see _OWN_PARAMS

                value = float(getattr(special, scipy_name)(*scipy_args(*args)))
                value = scipy_out(args[0], value) if scipy_out else value
            out[idx] = value
        return out

    return run


def _norm_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _stirling_delta(x: float) -> float:
    """lgamma(x) − ((x − ½)·ln x − x + ½·ln 2π), for x ≥ 10 (error below 1e-17 relative to lgamma)."""
    x2 = x * x
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / (1680 * x2)) / x2) / x2) / x


def _lbeta(a: float, b: float) -> float:
    """ln B(a, b); for a large argument the difference lgamma(a) − lgamma(a + b) by Stirling's series, so
    the large terms do not cancel (DiDonato & Morris 1992, ALGDIV)."""
    big, small = (a, b) if a >= b else (b, a)
    if big < 10:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    diff = (-(big - 0.5) * math.log1p(small / big) - small * math.log(big + small) + small
            + _stirling_delta(big) - _stirling_delta(big + small))   # lgamma(big) - lgamma(big + small)
    return math.lgamma(small) + diff


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (Numerical Recipes ``betacf``, modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) >= _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) >= _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) >= _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _ibeta(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> tuple[float, float]:
    """(I_x(a, b), 1 − I_x(a, b)) with y = 1 − x given separately (and both logs) so that neither is
    computed by a subtraction that loses digits; the smaller tail is the one computed directly."""
    if log_x == -math.inf:
        return 0.0, 1.0
    if log_y == -math.inf:
        return 1.0, 0.0
    front = math.exp(a * log_x + b * log_y - _lbeta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        i = front * _betacf(a, b, x) / a
        return i, 1.0 - i
    j = front * _betacf(b, a, y) / b
    return 1.0 - j, j


def _t_sf(x: float, d: float) -> float:
    """P(T > x) for Student's t with d degrees of freedom: ½·I_{d/(d+x²)}(d/2, ½) for x ≥ 0."""
    if math.isinf(x):
        return 0.0 if x > 0 else 1.0
    t2 = x * x
    if t2 == 0.0:
        return 0.5
    if math.isinf(t2):   # |x| > 1e154: z = d / x² (to the last digit), 1 − z = 1
        log_z = math.log(d) - 2 * math.log(abs(x))
        i, j = _ibeta(d / 2, 0.5, math.exp(log_z), 1.0, log_z, -math.exp(log_z))
    else:
        i, j = _ibeta(d / 2, 0.5, d / (d + t2), t2 / (d + t2), -math.log1p(t2 / d), -math.log1p(d / t2))
    return 0.5 * i if x > 0 else 0.5 + 0.5 * j


def _f_sf(x: float, m: float, n: float) -> float:
    """P(F > x) for F(m, n): I_{n/(n+mx)}(n/2, m/2)."""
    mx = m * x
    if math.isinf(mx):
        return 0.0
    if mx == 0.0:
        return 1.0
    i, _ = _ibeta(n / 2, m / 2, n / (n + mx), mx / (n + mx), -math.log1p(mx / n), -math.log1p(n / mx))
    return i


def _log1pmx(u: float) -> float:
    """ln(1 + u) − u without cancellation for small u."""
    if abs(u) > 0.25:
        return math.log1p(u) - u
    total, power, k = 0.0, u * u, 2
    while True:
        term = power / k
        total += -term if k % 2 == 0 else term
        if abs(term) <= _EPS * abs(total):
            return total
        power *= u
        k += 1


def _gamma_pq(a: float, y: float) -> tuple[float, float]:
    """(P(a, y), Q(a, y)): the regularised lower and upper incomplete gamma functions (Numerical Recipes
    ``gser`` below a + 1, ``gcf`` above), the prefactor by Stirling's series for large a."""
    if y <= 0.0:
        return 0.0, 1.0
    if math.isinf(y):
        return 1.0, 0.0
    if a >= 10 and abs(y - a) < 0.5 * a:
        # near the mode the terms of a·ln y − y − lgamma(a) cancel; the same quantity, term by term:
        # a·(ln(1 + u) − u) + ½·ln(a / 2π) − delta(a), with u = (y − a)/a
        log_front = a * _log1pmx((y - a) / a) + 0.5 * math.log(a / (2 * math.pi)) - _stirling_delta(a)
    else:
        log_front = a * math.log(y) - y - math.lgamma(a)
    if y < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= y / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                p = total * math.exp(log_front)
                return p, 1.0 - p
        raise ArithmeticError(f"incomplete gamma series did not converge (a={a}, y={y})")
    b = y + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) >= _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) >= _TINY else _TINY
        h *= d * c
        if abs(d * c - 1.0) < _EPS:
            q = h * math.exp(log_front)
            return 1.0 - q, q
    raise ArithmeticError(f"incomplete gamma fraction did not converge (a={a}, y={y})")


def _bracket_root(tail: Callable[[float], float], target: float, start: float) -> float | None:
    """The x > 0 where the decreasing ``tail(x)`` equals ``target``: bracketed within a factor of 2 by
    doubling or halving from ``start``, then Brent's method to full precision; None when no bracket
    exists between 1e-300 and 1e300."""
    lo = hi = start
    if tail(start) > target:
        while tail(hi) > target:
            lo, hi = hi, hi * 2.0
            if hi > 1e300:
                return None
    else:
        while tail(lo) <= target:
            lo, hi = lo / 2.0, lo
            if lo < 1e-300:
                return None
    return brentq(lambda v: tail(v) - target, lo, hi, xtol=_TINY, rtol=4 * _EPS, maxiter=1000)


def _t_upper(q: float, d: float) -> float | None:
    """The t with P(T > t) = q (0 < q < 1)."""
    if q == 0.5:
        return 0.0
    if q > 0.5:
        out = _t_upper(1.0 - q, d)
        return None if out is None else -out
    return _bracket_root(lambda v: _t_sf(v, d), q, 1.0)


def _t_lower(p: float, d: float) -> float | None:
    """The t with P(T ≤ t) = p."""
    out = _t_upper(p, d)
    return None if out is None else -out


def _chi2_lower(p: float, d: float) -> float | None:
    """The x with P(X² ≤ x) = p for d degrees of freedom."""
    if p < 0.5:
        root = _bracket_root(lambda v: -_gamma_pq(d / 2, v / 2)[0], -p, max(d, 1.0))
    else:
        root = _bracket_root(lambda v: _gamma_pq(d / 2, v / 2)[1], 1.0 - p, max(d, 1.0))
    return root
