"""Deterministic criterion rules from review.toml, e.g. ``year > 2005``.

A rule states when its criterion is *met*. It is a Python-like expression over a record's fields,
evaluated by a small whitelist interpreter (no ``eval``): comparisons, ``and``/``or``/``not``,
``in``/``not in`` with list or tuple literals, arithmetic, and ``lower(x)``/``len(x)``/``abs(x)``.
A rule that refers to a missing value (None) is ``unclear``, never ``not_met``: a rule excludes only
on evidence.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from typing import Any, Literal

from metasift.errors import ConfigError

Verdict = Literal["met", "not_met", "unclear"]

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCS = {"lower": lambda s: s.lower() if isinstance(s, str) else s, "len": len, "abs": abs}


class _Missing(Exception):
    """A field the rule needs has no value."""


class Rule:
    """A compiled rule; ``evaluate(fields)`` gives met / not_met / unclear."""

    def __init__(self, expression: str, criterion_id: str = "") -> None:
        self.expression, self.criterion_id = expression, criterion_id
        try:
            self._tree = ast.parse(expression, mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"rule for {criterion_id or 'criterion'}: {expression!r}: {exc.msg}") from None
        self._check(self._tree)

    @property
    def fields(self) -> set[str]:
        """Names of the record fields the rule reads."""
        return {n.id for n in ast.walk(self._tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}

    def _check(self, node: ast.AST) -> None:
        allowed = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Name, ast.Constant, ast.List, ast.Tuple,
                   ast.Call, ast.And, ast.Or, ast.Not, ast.USub, ast.Load, *_CMP, *_BIN)
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ConfigError(f"rule for {self.criterion_id or 'criterion'}: {self.expression!r}: "
                                  f"{type(sub).__name__} is not allowed in rules")
            if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _FUNCS):
                raise ConfigError(f"rule for {self.criterion_id}: only {sorted(_FUNCS)} may be called")

    def evaluate(self, fields: Mapping[str, Any]) -> Verdict:
        try:
            return "met" if bool(self._eval(self._tree, fields)) else "not_met"
        except _Missing:
            return "unclear"
        except TypeError:
            return "unclear"

    def _eval(self, node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            value = env.get(node.id)
            if value is None or value == "":
                raise _Missing(node.id)
            return value.lower() if isinstance(value, str) else value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._eval(e, env) for e in node.elts]
        if isinstance(node, ast.BoolOp):
            values = (self._eval(v, env) for v in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, env)
            return (not value) if isinstance(node.op, ast.Not) else -value
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](self._eval(node.left, env), self._eval(node.right, env))
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*(self._eval(a, env) for a in node.args))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = self._eval(comp, env)
                if isinstance(right, list):
                    right = [r.lower() if isinstance(r, str) else r for r in right]
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        raise ConfigError(f"rule {self.expression!r}: cannot evaluate {type(node).__name__}")


def classify_publication_type(title: str | None, raw_type: str | None) -> str | None:
    """A coarse publication type for rules: protocol, erratum, comment, review, retraction or article."""
    text = f"{raw_type or ''} {title or ''}".lower()
    checks = [("retraction", ("retraction", "retracted")), ("erratum", ("erratum", "correction to", "corrigendum")),
              ("protocol", ("study protocol", "protocol for", "trial protocol", ": protocol", "protocol of")),
              ("comment", ("comment on", "re:", "reply to", "letter to the editor", "editorial")),
              ("review", ("systematic review", "meta-analysis", "scoping review", "literature review",
                          "narrative review"))]
    for kind, needles in checks:
        if any(n in text for n in needles):
            return kind
    return "article" if (title or raw_type) else None
