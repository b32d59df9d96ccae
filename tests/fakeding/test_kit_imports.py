"""The kit's imports: it knows a robot protocol, never our robot (no module under fakeding/
imports bot), and its modules form no circle (every import counts, at any depth, so a circle
cannot hide behind ``TYPE_CHECKING`` or a lazy import)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "fakeding"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_kit_module_imports_the_robot() -> None:
    modules = sorted(KIT.rglob("*.py"))
    assert len(modules) > 20, f"expected the kit's modules under {KIT}, found {len(modules)}"
    offending = [
        f"{path.relative_to(KIT.parent)}:{line}: import {name}"
        for path in modules
        for line, name in imported_modules(path)
        if name == "bot" or name.startswith("bot.")
    ]
    assert offending == []


def test_the_check_sees_an_import_of_the_robot(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom bot.elements import X\ndef f():\n    import bot.storage.store\n")
    assert [n for _, n in imported_modules(sample) if n.startswith("bot")] == [
        "bot.elements",
        "bot.storage.store",
    ]


ROOT = KIT.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in KIT.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from . import users` names a module
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in known else base


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {
        name: {i for i in _imports(name, path, known) if i in known and i != name}
        for name, path in mods.items()
    }


def test_the_kit_has_no_import_circle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_reader_sees_real_edges() -> None:
    graph = _graph()  # a guard against a reader that finds nothing and so finds no circle
    assert "fakeding.core.platform" in graph["fakeding.server"]
    assert "fakeding.core.users" in graph["fakeding.server"]
    assert "fakeding.core.stream.protocol" in graph["fakeding.server"]
