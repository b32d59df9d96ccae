"""Elements: the three-layer layout (Meta → Type → instance), each a folder with ``e.json``.

An instance names its Type in ``type``; the Type names the Meta; the Meta's ``type`` is empty.
``backendBundleEntry`` ("module:attr") is the Python class that runs the element. A new IM
platform is a new Type folder under the same Meta, with its own backend package.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

ELEMENTS_DIR = Path(__file__).resolve().parent / "elements"
REQUIRED = ("title", "description", "type", "backendBundleEntry")


@dataclass(frozen=True)
class Element:
    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.manifest["type"])

    def entry(self) -> Any:
        """Import the class named by ``backendBundleEntry``."""
        target = str(self.manifest["backendBundleEntry"])
        module_name, _, attr = target.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"{self.path / 'e.json'}: backendBundleEntry {target!r} cannot be loaded ({exc})"
            ) from None


def read_json_object(path: Path, missing: str) -> dict[str, Any]:
    """A JSON object from ``path``; ``missing`` is the error text when the file is absent."""
    if not path.is_file():
        raise ConfigError(missing)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def load_element(path: Path) -> Element:
    manifest_path = path / "e.json"
    manifest = read_json_object(
        manifest_path, f"{path} is not an element: expected a file {manifest_path}")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise ConfigError(f"{manifest_path}: missing field(s) {', '.join(missing)}; "
                          f"an e.json needs {', '.join(REQUIRED)}")
    return Element(path.name, path, manifest)


def lineage(instance_dir: Path, search: Path = ELEMENTS_DIR) -> list[Element]:
    """The instance, its Type and its Meta, in that order (checks the chain ends at a Meta)."""
    chain = [load_element(instance_dir)]
    seen = {chain[0].name}
    while chain[-1].type:
        parent = chain[-1].type
        if parent in seen:
            raise ConfigError(f"element types form a loop at {parent!r}")
        candidates = [instance_dir.parent / parent, search / parent]
        found = next((p for p in candidates if (p / "e.json").is_file()), None)
        if found is None:
            raise ConfigError(f"{chain[-1].path / 'e.json'}: type {parent!r} not found in "
                              f"{instance_dir.parent} or {search}")
        chain.append(load_element(found))
        seen.add(parent)
    if len(chain) < 3:
        raise ConfigError(f"{instance_dir}: expected instance → Type → Meta, found "
                          f"{' → '.join(e.name for e in chain)}")
    return chain
