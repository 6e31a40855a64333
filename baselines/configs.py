"""Reading a bundled model's training config: `--config full|tiny|file.yaml`, checked strictly.

Shared by the config modules of every trainable baseline (svg, vrnn, vgan): each keeps its own
dataclass, paper-size and tiny values; this module only reads and checks what the user gives.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import yaml

from vbench.suite import key_hints

BASES = ("full", "tiny")


class ConfigRecord:
    """`to_dict` / `from_dict` of the baselines' frozen config dataclasses (a base class with no fields).

    `to_dict` is JSON-ready (tuples as lists); `from_dict` checks the keys strictly: every key must be a
    field, and the error names the `KIND` of config (e.g. "SVG") and the `source` file."""

    KIND: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>"):
        check_keys(data, [f.name for f in dataclasses.fields(cls)], cls.KIND, source)
        return cls(**data)


def check_keys(data: Any, fields: list[str], kind: str, source: str) -> None:
    """`data` must be a mapping whose keys are all `fields` of the `kind` (e.g. "SVG") config."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a {kind} config must be a mapping of keys to values")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{source}: unknown {kind} config key {key_hints(unknown, fields)}; known: {', '.join(fields)}")


def read_spec(spec: str, fields: list[str], kind: str, variant: str, model: str) -> tuple[str, dict[str, Any]]:
    """`spec` = full | tiny | path.yaml -> (base, keys the file sets). A file names its `base` (default
    full) and overrides any field; its `variant`, if given, must be the trained model's."""
    if spec in BASES:
        return spec, {}
    path = Path(spec)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        raise ValueError(f"--config {spec!r}: expected 'full', 'tiny' or an existing .yaml file")
    try:
        keys = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(keys, dict):
        raise ValueError(f"{path}: a {kind} config must be a mapping of keys to values")
    base = keys.pop("base", "full")
    if base not in BASES:
        raise ValueError(f"{path}: 'base' must be 'full' or 'tiny', got {base!r}")
    check_keys(keys, fields, kind, str(path))
    if "variant" in keys and keys["variant"] != variant:
        raise ValueError(f"{path}: variant {keys['variant']!r} does not match the model ({model})")
    return base, keys
