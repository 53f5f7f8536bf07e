"""Prompt templates: a TOML file in ``prompts/`` (package data) becomes a validated, hashed ``PromptTemplate``.

A template file has exactly these keys: ``name``, ``version``, ``description``, ``output_schema`` (the name the
answer schema is sent under) and ``system`` / ``user`` — jinja2 text (``{{ var }}``, ``{% for %}``) rendered in
a sandbox with strict undefined, so a missing variable is an error, never an empty string. ``hash`` is the
sha256 of the file's bytes: every LLM call records it, so a changed prompt is visible in the log and the cache.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from metasift.errors import ConfigError

PROMPTS_PACKAGE = "metasift.prompts"
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


class TemplateError(ConfigError):
    """A prompt template that cannot be loaded or rendered (message names the template)."""


class PromptTemplate(BaseModel):
    """One prompt: system and user messages rendered from variables, plus the hash of its file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    description: str = ""
    output_schema: str
    system: str
    user: str

    _hash: str = PrivateAttr("")
    _source: str = PrivateAttr("")
    _compiled: dict[str, jinja2.Template] = PrivateAttr(default_factory=dict)
    _variables: frozenset[str] = PrivateAttr(frozenset())

    @property
    def hash(self) -> str:
        """sha256 (hex) of the template file's bytes."""
        return self._hash

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of ``hash``, for display."""
        return self._hash[:12]

    @property
    def source(self) -> str:
        """Where the template was read from."""
        return self._source

    @property
    def variables(self) -> frozenset[str]:
        """Names the template needs at render time."""
        return self._variables

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """The chat messages (system, then user) for these variables; TemplateError if one is missing."""
        missing = sorted(self._variables - variables.keys())
        if missing:
            raise TemplateError(f"prompt {self.name!r}: missing variable(s): {', '.join(missing)}")
        try:
            return [{"role": role, "content": self._compiled[role].render(**variables).strip()}
                    for role in ("system", "user")]
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"prompt {self.name!r}: {exc.message}") from None

    def partial(self, **fixed: Any) -> Callable[..., list[dict[str, str]]]:
        """A renderer with ``fixed`` rendered once, so each call only fills in the other variables.

        Equivalent to ``render(**fixed, **rest)``: the fast path (string substitution into the pre-rendered
        text) is used only when two probe renders prove it gives the same messages; a template that filters
        or tests one of the remaining variables is rendered in full each time.
        """
        rest = sorted(self._variables - fixed.keys())
        slots = {name: f"\x00{name}\x00" for name in rest}
        probes = [{name: f"probe {name} {i}\n  x " for name in rest} for i in (1, 2)]
        try:
            pre = {m["role"]: m["content"] for m in self._render_raw(**fixed, **slots)}
            fast = all(self._substitute(pre, probe) == self.render(**fixed, **probe) for probe in probes)
        except TemplateError:
            fast = False

        def render(**values: Any) -> list[dict[str, str]]:
            if fast and values.keys() == slots.keys() and not any("\x00" in str(v) for v in values.values()):
                return self._substitute(pre, values)
            return self.render(**fixed, **values)

        return render

    def _render_raw(self, **variables: Any) -> list[dict[str, str]]:
        try:
            return [{"role": role, "content": self._compiled[role].render(**variables)}
                    for role in ("system", "user")]
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"prompt {self.name!r}: {exc.message}") from None

    @staticmethod
    def _substitute(pre: dict[str, str], values: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for role in ("system", "user"):
            text = pre[role]
            for name, value in values.items():
                text = text.replace(f"\x00{name}\x00", str(value))
            out.append({"role": role, "content": text.strip()})
        return out


def parse_template(data: bytes, source: str) -> PromptTemplate:
    """Build a template from a file's bytes; errors name ``source``."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
        template = PromptTemplate.model_validate(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"{source}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TemplateError(f"{source}: {loc}: {first['msg']}") from None
    compiled: dict[str, jinja2.Template] = {}
    names: set[str] = set()
    for role in ("system", "user"):
        text = getattr(template, role)
        try:
            compiled[role] = _ENV.from_string(text)
            names |= meta.find_undeclared_variables(_ENV.parse(text))
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{source}: {role}: line {exc.lineno}: {exc.message}") from None
    template._hash = hashlib.sha256(data).hexdigest()
    template._source = source
    template._compiled = compiled
    template._variables = frozenset(names)
    return template


def template_from_file(path: Path | str) -> PromptTemplate:
    """Load a template from any file (e.g. a project's own edited prompt)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read prompt template: {exc.strerror}") from None
    return parse_template(data, str(path))


def load_template(name: str) -> PromptTemplate:
    """Load ``prompts/<name>.toml`` from the installed package."""
    resource = resources.files(PROMPTS_PACKAGE).joinpath(f"{name}.toml")
    if not resource.is_file():
        raise TemplateError(f"no prompt template named {name!r} (available: {', '.join(list_templates())})")
    return parse_template(resource.read_bytes(), f"{PROMPTS_PACKAGE}/{name}.toml")


def list_templates() -> list[str]:
    """Names of the bundled prompt templates."""
    return sorted(p.name[:-5] for p in resources.files(PROMPTS_PACKAGE).iterdir() if p.name.endswith(".toml"))
