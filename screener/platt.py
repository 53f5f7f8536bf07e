"""Platt scaling: turn a classifier's margins into probabilities (for the SVM ranker's routing opinion).

The sigmoid P(include | f) = 1 / (1 + exp(A f + B)) is fitted by maximum likelihood to margins the model
gave records it was NOT trained on (cross-validated), against Platt's smoothed targets — (N+ + 1)/(N+ + 2)
for includes, 1/(N- + 2) for excludes — which keep a perfectly separated fold from giving 0 or 1.
Platt JC (1999), Probabilistic outputs for support vector machines; Lin, Lin & Weng (2007), Mach Learn 68:267.
The sigmoid is increasing in f (A < 0 whenever includes score higher), so it never changes the ranking.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit


def fit_platt(margins: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(A, B) of Platt's sigmoid fitted to ``margins`` (one per record) and 0/1 ``labels``."""
    f = np.asarray(margins, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=int).ravel()
    n_pos, n_neg = int(y.sum()), int((y == 0).sum())
    if f.size != y.size or n_pos == 0 or n_neg == 0:
        raise ValueError("Platt scaling needs one margin per label and both classes")
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = -(ab[0] * f + ab[1])  # log-odds of include
        loss = -np.sum(t * log_expit(z) + (1.0 - t) * log_expit(-z))
        dz = expit(z) - t  # d loss / d z
        return float(loss), np.array([-np.sum(dz * f), -np.sum(dz)])

    start = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])  # Platt's initial B
    fit = minimize(loss_grad, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-14})
    return float(fit.x[0]), float(fit.x[1])


def platt_proba(margins: np.ndarray, a: float, b: float) -> np.ndarray:
    """P(include) for each margin under the sigmoid (A, B)."""
    return expit(-(a * np.asarray(margins, dtype=np.float64) + b))
