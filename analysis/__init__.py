"""Statistics for meta-analysis, matching R's metafor: effect sizes, models, bias, influence, subgroups,
multilevel models and robust variance estimation (engineer B), plots (engineer C), meta-regression and
subgroups on dependent effect sizes with robust tests (``metareg``).

Pure functions on arrays; the CLI (``metasift.cli.analysis``) does the I/O. Every name is
loaded from its submodule on first use, so that ``import analysis`` pulls in neither matplotlib
nor statsmodels nor scipy.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Every public name and the submodule that defines it, imported on first access (PEP 562): ``from analysis
# import rma`` loaded bias (statsmodels, 0.8 s of a loaded machine's start-up) and everything else before.
_WHERE: dict[str, str] = {
    **dict.fromkeys(("HeterogeneityCI", "RMAFit", "heterogeneity_ci", "rma", "tau2_ci"), "_rma"),
    "Control": "_tau2",
    **dict.fromkeys(("EggerTest", "FailSafeN", "PetPeese", "RankTest", "TrimFill", "fsn", "pet_peese",
                     "ranktest", "regtest", "trimfill"), "bias"),
    **dict.fromkeys(("EffectSizes", "SDResult", "escalc", "hedges_j", "log_or", "log_rr", "md", "rd",
                     "sd_from_ci", "sd_from_se", "smcc", "smcr", "smd", "smd_change", "smd_from_f",
                     "smd_from_or", "smd_from_p", "smd_from_t", "smd_prepost"), "effect_sizes"),
    **dict.fromkeys(("Influence", "LeaveOneOut", "hat_values", "influence", "leave1out"), "influence"),
    **dict.fromkeys(("MultilevelFit", "rma_mv"), "multilevel"),
    **dict.fromkeys(("LeaveOneStudyOut", "MetaRegression", "SubgroupTable", "leave_one_study_out", "metareg",
                     "subgroups"), "metareg"),
    **dict.fromkeys(("Aggregated", "MultilevelI2", "RhoRow", "aggregate_cs", "aggregated_rma", "has_dependence",
                     "multilevel_i2", "rho_sensitivity"), "dependence"),
    **dict.fromkeys(("RobuFit", "RobustFit", "meta_rve", "robu", "robust"), "rve"),
    **dict.fromkeys(("SubgroupResult", "subgroup"), "subgroup"),
    **dict.fromkeys(("forest", "funnel", "leave1out_plot", "leave_one_study_out_plot"), "plots"),
}

if TYPE_CHECKING:
    from metasift.analysis._rma import HeterogeneityCI, RMAFit, heterogeneity_ci, rma, tau2_ci
    from metasift.analysis._tau2 import Control
    from metasift.analysis.bias import (
        EggerTest,
        FailSafeN,
        PetPeese,
        RankTest,
        TrimFill,
        fsn,
        pet_peese,
        ranktest,
        regtest,
        trimfill,
    )
    from metasift.analysis.dependence import (
        Aggregated,
        MultilevelI2,
        RhoRow,
        aggregate_cs,
        aggregated_rma,
        has_dependence,
        multilevel_i2,
        rho_sensitivity,
    )
    from metasift.analysis.effect_sizes import (
        EffectSizes,
        SDResult,
        escalc,
        hedges_j,
        log_or,
        log_rr,
        md,
        rd,
        sd_from_ci,
        sd_from_se,
        smcc,
        smcr,
        smd,
        smd_change,
        smd_from_f,
        smd_from_or,
        smd_from_p,
        smd_from_t,
        smd_prepost,
    )
    from metasift.analysis.influence import Influence, LeaveOneOut, hat_values, influence, leave1out
    from metasift.analysis.metareg import (
        LeaveOneStudyOut,
        MetaRegression,
        SubgroupTable,
        leave_one_study_out,
        metareg,
        subgroups,
    )
    from metasift.analysis.multilevel import MultilevelFit, rma_mv
    from metasift.analysis.plots import forest, funnel, leave1out_plot, leave_one_study_out_plot
    from metasift.analysis.rve import RobuFit, RobustFit, meta_rve, robu, robust
    from metasift.analysis.subgroup import SubgroupResult, subgroup

__all__ = [
    "Aggregated", "Control", "EffectSizes", "EggerTest", "FailSafeN", "HeterogeneityCI", "Influence",
    "LeaveOneOut", "LeaveOneStudyOut", "MetaRegression", "MultilevelFit", "MultilevelI2", "PetPeese",
    "RMAFit", "RankTest", "RhoRow", "RobuFit", "RobustFit", "SDResult", "SubgroupResult", "SubgroupTable",
    "TrimFill", "aggregate_cs", "aggregated_rma", "escalc", "forest", "fsn", "funnel", "has_dependence",
    "hat_values", "hedges_j", "heterogeneity_ci", "influence", "leave1out", "leave1out_plot",
    "leave_one_study_out", "leave_one_study_out_plot", "log_or", "log_rr", "md", "meta_rve", "metareg",
    "multilevel_i2", "pet_peese", "ranktest", "rd", "regtest", "rho_sensitivity", "rma", "rma_mv", "robu",
    "robust", "sd_from_ci", "sd_from_se", "smcc", "smcr", "smd", "smd_change", "smd_from_f", "smd_from_or",
    "smd_from_p", "smd_from_t", "smd_prepost", "subgroup", "subgroups", "tau2_ci", "trimfill",
]


def __getattr__(name: str) -> Any:
    """A public name, from its submodule on first access (the plots, matplotlib's, only when asked for)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
