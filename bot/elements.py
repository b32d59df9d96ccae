"""Elements: the three-layer layout (Meta → Type → instance), each a folder with ``e.json``.

An instance names its Type in ``type``; the Type names the Meta; the Meta's ``type`` is empty.
``backendBundleEntry`` ("module:attr") is the Python class that runs the element; ``"."``, as
instances written after the JitAi tutorial say it, means "my Type's backend" (``backend``
walks up the chain). A new IM platform is a new Type folder under the same Meta, with its own
backend package. Every e.json problem is one line naming the file and the field.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

ELEMENTS_DIR = Path(__file__).resolve().parent / "elements"
REQUIRED = ("title", "type", "backendBundleEntry")  # "description" is optional, as in JitAi
INHERIT = "."  # backendBundleEntry: the Type's backend
_ENTRY = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


@dataclass(frozen=True)
class Element:
    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.manifest["type"])

    @property
    def inherits(self) -> bool:
        return bool(self.manifest["backendBundleEntry"] == INHERIT)

    def entry(self) -> Any:
        """Import the class named by ``backendBundleEntry`` (see ``backend`` for ".")."""
        target = str(self.manifest["backendBundleEntry"])
        if target == INHERIT:
            raise ConfigError(
                f"{self.path / 'e.json'}: backendBundleEntry '.' names no class "
                "itself; it takes its Type's (bot.elements.backend)"
            )
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
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def load_element(path: Path) -> Element:
    manifest_path = path / "e.json"
    manifest = read_json_object(manifest_path, f"{path} is not an element: expected a file {manifest_path}")
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise ConfigError(
            f"{manifest_path}: missing field(s) {', '.join(missing)}; an e.json needs {', '.join(REQUIRED)}"
        )
    check_fields(manifest, manifest_path)
    return Element(path.name, path, manifest)


def check_fields(manifest: dict[str, Any], where: Path) -> None:
    """The fields the loader reads, each checked; the error names the file and the field."""

    def fail(name: str, expected: str) -> ConfigError:
        value = manifest[name]
        return ConfigError(
            f"{where}: field {name} must be {expected}, found {value!r} ({type(value).__name__})"
        )

    if not isinstance(manifest["title"], str) or not manifest["title"].strip():
        raise fail("title", "a non-empty string")
    if "description" in manifest and not isinstance(manifest["description"], str):
        raise fail("description", "a string")
    kind = manifest["type"]
    if not isinstance(kind, str) or (kind and not re.fullmatch(r"[\w.]+", kind)):
        raise fail(
            "type", "the name of a Type element (e.g. imRobots.dingTalkStreamType), or empty for a Meta"
        )
    entry = manifest["backendBundleEntry"]
    if not isinstance(entry, str) or (entry != INHERIT and not _ENTRY.match(entry)):
        raise fail("backendBundleEntry", "'module.path:ClassName', or '.' for the Type's backend")


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
            raise ConfigError(
                f"{chain[-1].path / 'e.json'}: type {parent!r} not found in {instance_dir.parent} or {search}"
            )
        chain.append(load_element(found))
        seen.add(parent)
    if len(chain) < 3:
        raise ConfigError(
            f"{instance_dir}: expected instance → Type → Meta, found {' → '.join(e.name for e in chain)}"
        )
    return chain


def backend(chain: list[Element]) -> Any:
    """The class that runs the instance ``chain[0]``: its own ``backendBundleEntry``, or with
    ``"."`` the first one up its chain (the Type decides); it must be a subclass of the Meta's
    class when the Meta names one."""
    owner = next((e for e in chain if not e.inherits), None)
    if owner is None or owner is chain[-1] and len(chain) > 1:
        raise ConfigError(
            f"{chain[0].path / 'e.json'}: backendBundleEntry is '.', but no Type "
            f"up the chain ({' → '.join(e.name for e in chain)}) names a class"
        )
    found = owner.entry()
    meta = chain[-1]
    base = None if meta.inherits or meta is owner else meta.entry()
    if isinstance(base, type) and not (isinstance(found, type) and issubclass(found, base)):
        raise ConfigError(
            f"{owner.path / 'e.json'}: backendBundleEntry "
            f"{owner.manifest['backendBundleEntry']!r} must name a subclass of "
            f"{base.__module__}.{base.__qualname__} (the Meta's class), found "
            f"{found!r}"
        )
    return found
