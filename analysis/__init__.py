"""Statistics for meta-analysis, matching R's metafor: effect sizes, models, bias, influence, subgroups,
multilevel models and robust variance estimation (engineer B), plots (engineer C).

Pure functions on arrays; the CLI (``metasift.cli.analysis``) does the I/O. The plotting functions are
loaded on first use so that ``import analysis`` does not pull in matplotlib.
"""

from typing import Any

from analysis._rma import HeterogeneityCI, RMAFit, heterogeneity_ci, rma, tau2_ci
from analysis._tau2 import Control
from analysis.bias import (EggerTest, FailSafeN, PetPeese, RankTest, TrimFill, fsn, pet_peese, ranktest, regtest,
                           trimfill)
from analysis.effect_sizes import (EffectSizes, SDResult, escalc, hedges_j, log_or, log_rr, md, rd, sd_from_ci,
                                   sd_from_se, smcc, smcr, smd, smd_change, smd_from_f, smd_from_or, smd_from_p,
                                   smd_from_t, smd_prepost)
from analysis.influence import Influence, LeaveOneOut, hat_values, influence, leave1out
from analysis.multilevel import MultilevelFit, rma_mv
from analysis.rve import RobuFit, RobustFit, meta_rve, robu, robust
from analysis.subgroup import SubgroupResult, subgroup

_PLOTS = ("forest", "funnel", "leave1out_plot")

__all__ = [
    "Control", "EffectSizes", "EggerTest", "FailSafeN", "HeterogeneityCI", "Influence", "LeaveOneOut",
    "MultilevelFit", "PetPeese", "RMAFit", "RankTest", "RobuFit", "RobustFit", "SDResult", "SubgroupResult",
    "TrimFill", "escalc", "forest", "fsn", "funnel", "hat_values", "hedges_j", "heterogeneity_ci", "influence",
    "leave1out", "leave1out_plot", "log_or", "log_rr", "md", "meta_rve", "pet_peese", "ranktest", "rd", "regtest",
    "rma", "rma_mv", "robu", "robust", "sd_from_ci", "sd_from_se", "smcc", "smcr", "smd", "smd_change",
    "smd_from_f", "smd_from_or", "smd_from_p", "smd_from_t", "smd_prepost", "subgroup", "tau2_ci", "trimfill",
]


def __getattr__(name: str) -> Any:
    """Plot functions (engineer C's analysis.plots) on first access."""
    if name in _PLOTS:
        from analysis import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
