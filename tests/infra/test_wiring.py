"""The offline part of `terraform validate`: every reference resolves, every module gets the inputs it
declares, and the example variable files fit the root module. (`terraform validate` itself needs the
provider download and runs in infra/ci.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.stack import ROOT, Module, load_tfvars, module, modules, root, walk

META_ARGUMENTS = {"source", "version", "depends_on", "count", "for_each", "providers"}
VAR_REF = re.compile(r"\bvar\.([A-Za-z0-9_]+)")
LOCAL_REF = re.compile(r"\blocal\.([A-Za-z0-9_]+)")
MODULE_REF = re.compile(r"\bmodule\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)")
DATA_REF = re.compile(r"\bdata\.([a-z0-9_]+)\.([A-Za-z0-9_]+)")
RESOURCE_REF = re.compile(r"(?<![.\w])(google_[a-z0-9_]+)\.([A-Za-z0-9_]+)")


def expressions(mod: Module) -> list[str]:
    parts = (mod.resources, mod.data, mod.outputs, mod.locals, mod.modules, mod.variables)
    return [v for part in parts for v in walk(part) if isinstance(v, str) and "${" in v]


def module_params() -> list[str]:
    return list(modules())


@pytest.mark.parametrize("rel", module_params())
def test_every_variable_has_a_type_and_a_description(rel: str) -> None:
    for name, body in module(rel).variables.items():
        assert body.get("description", "").strip(), f"{rel}: variable {name} has no description"
        assert "type" in body, f"{rel}: variable {name} has no type"


@pytest.mark.parametrize("rel", module_params())
def test_every_output_has_a_description(rel: str) -> None:
    for name, body in module(rel).outputs.items():
        assert body.get("description", "").strip(), f"{rel}: output {name} has no description"


@pytest.mark.parametrize("rel", module_params())
def test_references_resolve_inside_their_module(rel: str) -> None:
    mod = module(rel)
    declared_resources = {(kind, name) for kind, named in mod.resources.items() for name in named}
    declared_data = {(kind, name) for kind, named in mod.data.items() for name in named}
    for expr in expressions(mod):
        for name in VAR_REF.findall(expr):
            assert name in mod.variables, f"{rel}: var.{name} is not declared ({expr})"
        for name in LOCAL_REF.findall(expr):
            assert name in mod.locals, f"{rel}: local.{name} is not declared ({expr})"
        for kind, name in DATA_REF.findall(expr):
            assert (kind, name) in declared_data, f"{rel}: data.{kind}.{name} is not declared ({expr})"
        for kind, name in RESOURCE_REF.findall(expr.replace("data.google_", "data.")):
            assert (kind, name) in declared_resources, f"{rel}: {kind}.{name} is not declared ({expr})"


def test_module_calls_pass_exactly_the_declared_inputs() -> None:
    for call_name, call in root().modules.items():
        child = module(call["source"].removeprefix("./"))
        given = set(call) - META_ARGUMENTS
        assert given <= set(child.variables), f"module {call_name}: unknown inputs {given - set(child.variables)}"
        required = {name for name, body in child.variables.items() if "default" not in body}
        assert required <= given, f"module {call_name}: missing inputs {required - given}"


def test_module_outputs_used_by_the_root_exist() -> None:
    for expr in expressions(root()):
        for call_name, output in MODULE_REF.findall(expr):
            assert call_name in root().modules, f"module.{call_name} is not declared"
            child = module(root().modules[call_name]["source"].removeprefix("./"))
            assert output in child.outputs, f"module.{call_name} has no output {output}"


@pytest.mark.parametrize("path", sorted((ROOT / "envs").glob("*.tfvars.example")), ids=lambda p: p.name)
def test_example_tfvars_set_only_declared_variables_and_every_required_one(path: Path) -> None:
    values = load_tfvars(path)
    variables = root().variables
    assert set(values) <= set(variables), f"{path.name}: unknown variables {set(values) - set(variables)}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(values), f"{path.name}: missing {required - set(values)}"
    assert values["environment"] == path.name.split(".")[0]


def test_prod_example_keeps_deletion_protection_on() -> None:
    assert load_tfvars(ROOT / "envs" / "prod.tfvars.example")["deletion_protection"] is True


def test_state_backend_is_gcs_and_configured_at_init() -> None:
    terraform = [b for b in root().terraform if "backend" in b]
    assert len(terraform) == 1
    assert terraform[0]["backend"] == [{"gcs": {}}], "bucket and prefix come from -backend-config, not the repo"
    for path in sorted((ROOT / "envs").glob("*.gcs.tfbackend.example")):
        assert set(load_tfvars(path)) == {"bucket", "prefix"}, path.name


def test_cross_variable_validation_requires_terraform_1_9() -> None:
    # Before 1.9 a validation block may only refer to its own variable.
    crosses = [
        name
        for name, body in root().variables.items()
        for v in body.get("validation", [])
        if set(VAR_REF.findall(v["condition"])) - {name}
    ]
    assert crosses, "no cross-variable validation left: required_version may be relaxed"
    (required_version,) = [b["required_version"] for b in root().terraform if "required_version" in b]
    assert required_version == ">= 1.9"

