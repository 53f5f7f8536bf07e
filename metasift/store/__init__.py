"""The project store: the single source of truth, reached only through ``Store``."""

from metasift.store.repo import Store

__all__ = ["Store"]
