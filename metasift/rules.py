"""Deterministic criterion rules from review.toml, e.g. ``year > 2005``.

A rule states when its criterion is *met*. It is a Python-like expression over a record's fields,
evaluated by a small whitelist interpreter (no ``eval``): comparisons, ``and``/``or``/``not``,
``in``/``not in`` with list or tuple literals, arithmetic, and ``lower(x)``/``len(x)``/``abs(x)``.
Text compares case-insensitively. A rule that refers to a missing value (None) is ``unclear``, never
``not_met``: a rule excludes only on evidence.

Rules are checked when the protocol loads (``check_rule``): a field the stage does not have, a number
compared with text, an operator that cannot apply or a publication type that does not exist would make
a rule that silently never fires, so each is a review.toml error naming the criterion. The rule
interpreter lives in the kernel because the protocol validates with it and both the screening and the
full-text stages evaluate it.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Mapping
from typing import Any, Literal

from metasift.errors import ConfigError

Verdict = Literal["met", "not_met", "unclear"]
Kind = Literal["number", "text", "bool", "list"]

# What the publication-type classifier can answer (screener.pubtype); a rule naming anything else never fires.
PUBLICATION_TYPES = ("article", "protocol", "erratum", "comment", "review", "retraction")

# The fields a rule may read at each stage, and their kinds. Title/abstract fields come from the record;
# full-text fields are computed from extracted values (extractor.eligibility.facts).
STAGE_FIELDS: dict[str, dict[str, Kind]] = {
    "title_abstract": {"year": "number", "language": "text", "title": "text", "abstract": "text",
                       "journal": "text", "publication_type": "text"},
    "full_text": {"min_arm_n": "number", "differential_attrition": "number", "baseline_diff_sd": "number",
                  "outcome_items": "number"},
}
# Fields whose values come from a closed set: a literal outside it is a typo.
FIELD_VALUES: dict[str, tuple[str, ...]] = {"publication_type": PUBLICATION_TYPES}

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCS = {"lower": lambda s: s.lower() if isinstance(s, str) else s, "len": len, "abs": abs}
# (argument kinds accepted, result kind) per function
_FUNC_KINDS: dict[str, tuple[tuple[Kind, ...], Kind]] = {
    "lower": (("text",), "text"), "len": (("text", "list"), "number"), "abs": (("number",), "number")}


class _Missing(Exception):
    """A field the rule needs has no value."""


class Rule:
    """A compiled rule; ``evaluate(fields)`` gives met / not_met / unclear.

    With ``stage`` the rule is also checked against that stage's fields (``check_rule``).
    """

    def __init__(self, expression: str, criterion_id: str = "", stage: str | None = None) -> None:
        self.expression, self.criterion_id = expression, criterion_id
        try:
            self._tree = ast.parse(expression, mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"rule for {criterion_id or 'criterion'}: {expression!r}: {exc.msg}") from None
        self._check(self._tree)
        if stage is not None:
            problem = _Typer(STAGE_FIELDS.get(stage, {})).problem(self._tree)
            if problem:
                raise ConfigError(f"rule for {criterion_id or 'criterion'}: {expression!r}: {problem}")

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
        except (_Missing, TypeError):
            return "unclear"

    def _eval(self, node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value.lower() if isinstance(node.value, str) else node.value
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
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        raise ConfigError(f"rule {self.expression!r}: cannot evaluate {type(node).__name__}")


def check_rule(expression: str, criterion_id: str, stage: str) -> None:
    """Raise ``ConfigError`` naming the criterion when the rule is unsafe or could never fire as meant."""
    Rule(expression, criterion_id, stage)


class _Typer:
    """Infers each sub-expression's kind over a stage's fields; ``problem`` names the first misuse."""

    def __init__(self, fields: dict[str, Kind]) -> None:
        self.fields = fields

    def problem(self, tree: ast.AST) -> str | None:
        try:
            self.kind(tree)
        except _Misuse as exc:
            return str(exc)
        return None

    def kind(self, node: ast.AST) -> Kind:
        if isinstance(node, ast.Constant):
            return _constant_kind(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.fields:
                close = difflib.get_close_matches(node.id, self.fields, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise _Misuse(f"{node.id!r} is not a field rules can read here{hint}; "
                              f"known: {', '.join(sorted(self.fields))}")
            return self.fields[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            kinds = {self.kind(e) for e in node.elts}
            if len(kinds) > 1:
                raise _Misuse("a list mixes numbers and text")
            return "list"
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.kind(value)
            return "bool"
        if isinstance(node, ast.UnaryOp):
            inner = self.kind(node.operand)
            if isinstance(node.op, ast.USub) and inner != "number":
                raise _Misuse(f"'-' needs a number, not {inner}")
            return "bool" if isinstance(node.op, ast.Not) else "number"
        if isinstance(node, ast.BinOp):
            left, right = self.kind(node.left), self.kind(node.right)
            if left != "number" or right != "number":
                raise _Misuse(f"arithmetic needs numbers, not {left} and {right}")
            return "number"
        if isinstance(node, ast.Call):
            accepts, result = _FUNC_KINDS[node.func.id]  # type: ignore[attr-defined]
            if len(node.args) != 1:
                raise _Misuse(f"{node.func.id}() takes one argument")  # type: ignore[attr-defined]
            arg = self.kind(node.args[0])
            if arg not in accepts:
                raise _Misuse(f"{node.func.id}() cannot take {arg}")  # type: ignore[attr-defined]
            return result
        if isinstance(node, ast.Compare):
            self._compare(node)
            return "bool"
        raise _Misuse(f"{type(node).__name__} cannot be used here")

    def _compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for op, left_node, right_node in zip(node.ops, operands, operands[1:]):
            left, right = self.kind(left_node), self.kind(right_node)
            if isinstance(op, (ast.In, ast.NotIn)):
                if right != "list":
                    raise _Misuse(f"'in' needs a list on its right, e.g. {_source(left_node)} in [...]")
                self._same_kind(left_node, left, right_node.elts)  # type: ignore[attr-defined]
                continue
            if left == "list" or right == "list":
                raise _Misuse("a list can only follow 'in' or 'not in'")
            if left != right:
                raise _Misuse(f"compares {_source(left_node)} ({left}) with {_source(right_node)} ({right})")
            if isinstance(op, _ORDERING) and left not in ("number",):
                raise _Misuse(f"'<'/'>' compare numbers; {_source(left_node)} is {left}")
            self._known_values(left_node, [right_node])
            self._known_values(right_node, [left_node])

    def _same_kind(self, left_node: ast.AST, left: Kind, elements: list[ast.AST]) -> None:
        for element in elements:
            kind = self.kind(element)
            if kind != left:
                raise _Misuse(f"{_source(left_node)} is {left} but the list holds {_source(element)} ({kind})")
        self._known_values(left_node, elements)

    @staticmethod
    def _known_values(field_node: ast.AST, literals: list[ast.AST]) -> None:
        if not isinstance(field_node, ast.Name) or field_node.id not in FIELD_VALUES:
            return
        allowed = FIELD_VALUES[field_node.id]
        for lit in literals:
            if isinstance(lit, ast.Constant) and isinstance(lit.value, str) and lit.value.lower() not in allowed:
                raise _Misuse(f"{field_node.id} is never {lit.value!r}; it is one of {', '.join(allowed)}")


class _Misuse(Exception):
    """A rule that parses but could not fire as its author meant."""


def _constant_kind(value: Any) -> Kind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    raise _Misuse(f"{value!r} is not a number or text")


def _source(node: ast.AST) -> str:
    return ast.unparse(node)
