"""The Terraform stack under infra/terraform, parsed with python-hcl2 (no providers, no network)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import hcl2

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "infra" / "terraform"

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
_WHOLE_REF = re.compile(r"^\$\{(local|var)\.([A-Za-z0-9_]+)\}$")


@dataclass
class Module:
    """One Terraform module: its folder and its top-level blocks, merged over its .tf files."""

    path: Path
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type -> name -> body
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)  # the `terraform {}` blocks
    text: str = ""

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]

    def resolve(self, value: Any) -> Any:
        """Replace a value that is exactly `${local.x}` (recursively) by the local's value."""
        if isinstance(value, str) and (m := _WHOLE_REF.match(value)) and m.group(1) == "local":
            return self.resolve(self.locals[m.group(2)])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def _blocks(doc: dict[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in doc.get(key, []):
        yield from block.items()


def load_module(path: Path) -> Module:
    module = Module(path)
    for tf in sorted(path.glob("*.tf")):
        text = tf.read_text(encoding="utf-8")
        module.text += text
        doc = hcl2.loads(text, serialization_options=_OPTIONS)
        for kind, named in _blocks(doc, "resource"):
            module.resources.setdefault(kind, {}).update(named)
        for kind, named in _blocks(doc, "data"):
            module.data.setdefault(kind, {}).update(named)
        module.variables.update(_blocks(doc, "variable"))
        module.outputs.update(_blocks(doc, "output"))
        module.modules.update(_blocks(doc, "module"))
        module.terraform += doc.get("terraform", [])
        for block in doc.get("locals", []):
            module.locals.update(block)
    return module


@cache
def modules() -> dict[str, Module]:
    """Every module of the stack by its path relative to infra/terraform ('.' is the root)."""
    found = {".": load_module(ROOT)}
    for call in found["."].modules.values():
        rel = call["source"].removeprefix("./")
        found[rel] = load_module(ROOT / rel)
    return found


def root() -> Module:
    return modules()["."]


def module(rel: str) -> Module:
    return modules()[rel]


def all_resources(kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(module, name, body) of every resource of one type, in every module."""
    for rel, mod in modules().items():
        for name, body in mod.resources.get(kind, {}).items():
            yield rel, name, body


def walk(value: Any) -> Iterator[Any]:
    """Every scalar inside a parsed HCL value."""
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)
    else:
        yield value


def load_tfvars(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=_OPTIONS)
