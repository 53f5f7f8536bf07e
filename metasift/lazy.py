"""A module imported on first use, for heavy libraries that start-up paths must not load."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A module imported on first attribute access: heavy libraries (numpy, pandas, scikit-learn) stay out of
    the start-up of every ``metasift`` command and of the review screen's first paint, and load only where
    something computes with them."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)
