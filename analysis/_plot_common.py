"""Shared plotting plumbing: pyplot-free Agg figures, saving by file suffix, number formats, scale transforms.

Figures are built as bare ``matplotlib.figure.Figure`` objects on an Agg canvas, never through pyplot, so
nothing is registered globally: no window can open and nothing leaks when thousands of plots are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rc_context, ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from scipy import stats

from metasift.errors import AnalysisError

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
FONT_SIZE = 10.0
DPI = 150
MAX_PIXELS = 60000.0


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches attached to its own Agg canvas (no pyplot state)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def widest_in(texts: list[str], size: float = FONT_SIZE, weight: str = "normal") -> float:
    """Width in inches of the widest of ``texts``; only the 25 longest are measured (fast for k = 10,000)."""
    longest = sorted(set(texts), key=len, reverse=True)[:25]
    return max((text_width_in(t, size, weight) for t in longest), default=0.0)


def text_width_in(text: str, size: float = FONT_SIZE, weight: str = "normal") -> float:
    """Rendered width of ``text`` in inches at ``size`` points (measured with the Agg renderer)."""
    if not text:
        return 0.0
    renderer = _renderer()
    w, _, _ = renderer.get_text_width_height_descent(text, FontProperties(size=size, weight=weight),
                                                     ismath=False)
    return w / renderer.dpi


_RENDERER: Any = None


def _renderer() -> Any:
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = FigureCanvasAgg(Figure(dpi=72)).get_renderer()
    return _RENDERER


def save_figure(fig: Figure, path: str | Path, *, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` in the format named by its suffix (.png, .svg or .pdf); return the path.

    ``tight=False`` keeps the figure's own size: for layouts measured exactly (forest), saving a redraw.
    """
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise AnalysisError(f"cannot write a plot to {out.name!r}: the file name must end in "
                            f"{', '.join(FORMATS)}")
    if not out.parent.exists():
        raise AnalysisError(f"cannot write {out}: folder {out.parent} does not exist")
    # No creation date in the file, so the same plot gives the same bytes.
    metadata: dict[str, Any] = {"png": {"Software": None}, "svg": {"Date": None},
                                "pdf": {"CreationDate": None}}[fmt]
    # Agg cannot rasterise beyond 2^16 pixels a side: lower the resolution of very tall forest plots.
    dpi = min(float(fig.dpi), MAX_PIXELS / max(fig.get_size_inches())) if fmt == "png" else fig.dpi
    extra = {"pil_kwargs": {"compress_level": 4}} if fmt == "png" else {}  # zlib 6 is slow on tall plots
    try:  # a fixed salt makes SVG clip-path ids reproducible too
        with rc_context({"svg.hashsalt": "metasift"}):
            fig.savefig(out, format=fmt, metadata=metadata, bbox_inches="tight" if tight else None,
                        pad_inches=0.15, dpi=dpi, **extra)
    except OSError as exc:
        raise AnalysisError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


def crit_value(level: float, df: float | None = None) -> float:
    """Two-sided critical value for a ``level`` (percent, or a fraction) interval: z, or t with ``df``."""
    alpha = 1.0 - fraction(level)
    if df is None:
        return float(stats.norm.isf(alpha / 2))
    return float(stats.t.isf(alpha / 2, df))


def fraction(level: float) -> float:
    """A confidence level as a fraction: 95 -> 0.95, 0.95 -> 0.95."""
    lv = float(level)
    frac = lv / 100.0 if lv > 1 else lv
    if not 0 < frac < 1:
        raise AnalysisError(f"a confidence level must lie between 0 and 100 percent; got {level}")
    return frac


def pct_label(level: float) -> str:
    """'95%' for 95 or 0.95 (one decimal only when needed)."""
    return f"{100 * fraction(level):g}%"


def fmt_num(x: float, digits: int) -> str:
    """Fixed-point number with a real minus sign; '-0.00' is shown as '0.00'."""
    if x is None or not math.isfinite(x):
        return "NA"
    s = f"{x:.{digits}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", "\u2212")


def fmt_p(p: float) -> str:
    """A p-value as journals print it: 'p < 0.001' or 'p = 0.042'."""
    if p is None or not math.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass(frozen=True)
class Scale:
    """How estimates map to the x axis: a value transform and whether the axis is logarithmic."""

    fn: Callable[[np.ndarray], np.ndarray]
    log_axis: bool
    name: str

    def __call__(self, x: Any) -> np.ndarray:
        return np.asarray(self.fn(np.asarray(x, dtype=float)), dtype=float)

    @property
    def reference(self) -> float:
        """Where 'no effect' sits: transform(0), i.e. 0, or 1 for ratio measures shown with exp."""
        return float(self(0.0))


def make_scale(transform: Callable[..., Any] | str | None) -> Scale:
    """Build a Scale from None, 'exp' or a callable; exp puts ratios on a log axis, as metafor's atransf."""
    if transform is None or transform == "none":
        return Scale(lambda x: x, False, "none")
    if transform == "exp" or transform is np.exp or transform is math.exp:
        return Scale(np.exp, True, "exp")
    if isinstance(transform, str):
        raise AnalysisError(f"unknown transform {transform!r}; use 'exp' (ratio measures) or none")
    if not callable(transform):
        raise AnalysisError("transform must be a function such as numpy.exp")
    fn = transform if isinstance(transform, np.ufunc) else np.vectorize(transform, otypes=[float])
    return Scale(fn, False, getattr(transform, "__name__", "custom"))


def interval(scale: Scale, est: Any, lb: Any, ub: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transform an estimate and its bounds; bounds are re-ordered in case the transform decreases."""
    e, a, b = scale(est), scale(lb), scale(ub)
    return e, np.minimum(a, b), np.maximum(a, b)


def set_xaxis(ax: Any, lo: float, hi: float, scale: Scale) -> None:
    """Limits with a little room, and readable ticks (1-2-5 steps on a log axis)."""
    if scale.log_axis:
        llo, lhi = np.log10(lo), np.log10(hi)
        pad = 0.04 * max(lhi - llo, 1e-6)
        ax.set_xlim(10 ** (llo - pad), 10 ** (lhi + pad))
        ticks = log_ticks(lo, hi)
        ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        pad = 0.04 * max(hi - lo, 1e-6)
        ax.set_xlim(lo - pad, hi + pad)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis over [lo, hi]: decades, else 1-2-5 steps, else every integer multiple."""
    for subs in ((1.0,), (1.0, 2.0, 5.0), tuple(float(m) for m in range(1, 10))):
        ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
                 for m in subs]
        ticks = [t for t in ticks if lo * 0.9999 <= t <= hi * 1.0001]
        if len(ticks) >= 4 or (len(ticks) >= 3 and subs != (1.0,)):
            return ticks
    return [float(t) for t in ticker.MaxNLocator(nbins=5).tick_values(lo, hi) if lo <= t <= hi]
