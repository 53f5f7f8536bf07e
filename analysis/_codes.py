"""Missing values and group codes of label columns (study, effect-size id, cluster), without pandas.

Importing pandas takes about 0.35 s, more than everything else a whole ``metasift meta`` on 1,000 effect
sizes does (the REML fit itself takes 3 ms; issue #15 asks for < 0.6 s whole command). The models need
only these few operations on label columns, so they are written here on plain Python and numpy; they
give what ``pandas.isna``, ``pandas.factorize`` and ``value_counts(sort=False)`` gave on the same input.
Moderator tables (``mods``) still come as pandas DataFrames: pandas is imported only when there are some.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT (as ``pandas.isna`` says of one value)."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    return type(value).__name__ in ("NAType", "NaTType")


def isna(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Boolean mask of the missing entries of a label column (``pandas.isna`` on an array)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind in "iub":
        return np.zeros(arr.shape, dtype=bool)
    return np.fromiter((is_missing(v) for v in arr.ravel()), dtype=bool, count=arr.size).reshape(arr.shape)


def factorize(values: Iterable[Any], *, sort: bool) -> tuple[np.ndarray, list[Any]]:
    """(codes, levels): each value's index into its distinct levels, sorted or in order of first
    appearance (``pandas.factorize``). Values must be present (drop missing rows first)."""
    items = list(values)
    levels = sorted(set(items)) if sort else list(dict.fromkeys(items))
    index = {level: i for i, level in enumerate(levels)}
    return np.fromiter((index[v] for v in items), dtype=np.intp, count=len(items)), levels


def counts(values: Iterable[Any]) -> dict[Any, int]:
    """How often each distinct present value occurs, in order of first appearance (missing ones skipped)."""
    out: dict[Any, int] = {}
    for v in values:
        if is_missing(v):
            continue
        out[v] = out.get(v, 0) + 1
    return out


def as_text(values: Iterable[Any]) -> np.ndarray:
    """The labels as text, as ``pandas.Series(values).astype(str)`` writes them."""
    return np.array([str(v) for v in values], dtype=object)
