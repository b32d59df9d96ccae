"""The kit knows a robot protocol, never our robot: no module under fakeding/ imports bot."""

from __future__ import annotations

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "fakeding"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_kit_module_imports_the_robot() -> None:
    modules = sorted(KIT.rglob("*.py"))
    assert len(modules) > 20, f"expected the kit's modules under {KIT}, found {len(modules)}"
    offending = [f"{path.relative_to(KIT.parent)}:{line}: import {name}"
                 for path in modules for line, name in imported_modules(path)
                 if name == "bot" or name.startswith("bot.")]
    assert offending == []


def test_the_check_sees_an_import_of_the_robot(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom bot.elements import X\ndef f():\n    import bot.store\n")
    assert [n for _, n in imported_modules(sample) if n.startswith("bot")] == [
        "bot.elements", "bot.store"]
