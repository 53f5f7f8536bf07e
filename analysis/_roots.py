"""Brent's root finder, as ``scipy.optimize.brentq``, without importing scipy.optimize.

Why: importing ``scipy.optimize`` takes about 0.18 s (it pulls in scipy.linalg, scipy.sparse and more),
longer than a whole REML fit, and the models use only this one routine (the Paule–Mandel estimator, the
Q-profile confidence intervals of tau² and the distributions' quantiles in ``analysis._dist``; issue #15).
This is a line-for-line port of scipy's C ``brentq`` (scipy/optimize/Zeros/brentq.c, itself after Brent
1973, "Algorithms for Minimization without Derivatives", ch. 4), so it takes the same steps and returns the
same root; tests/test_startup.py compares the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def brentq(f: Callable[[float], float], xa: float, xb: float, *, xtol: float = 2e-12,
           rtol: float = 8.881784197001252e-16, maxiter: int = 100) -> float:
    """A root of ``f`` in [xa, xb], where f(xa) and f(xb) have opposite signs; ArithmeticError otherwise
    or when ``maxiter`` steps do not reach |step| < (xtol + rtol·|x|) / 2."""
    xpre, xcur = float(xa), float(xb)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = f(xpre), f(xcur)
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ArithmeticError("f(a) and f(b) must have different signs")
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and math.copysign(1.0, fpre) != math.copysign(1.0, fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:   # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:              # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                denom = dblk * dpre * (fblk - fpre)
                # C divides by zero into inf/NaN, which fails the test below: a bisection step
                stry = -fcur * (fblk * dblk - fpre * dpre) / denom if denom != 0 else math.inf
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):   # a good short step
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = f(xcur)
    raise ArithmeticError(f"brentq did not converge in {maxiter} iterations")
