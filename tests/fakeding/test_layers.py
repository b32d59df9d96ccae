"""The layers of the tree (docs/architecture.md): the import-linter contracts of pyproject.toml hold,
each of them fails on a violation planted in a copy of the sources (a contract that cannot fail
checks nothing), ``import fakeding`` stays light, and the one import import-linter cannot see, a
module named in a string, never names the robot."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "fakeding"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    "kit-layers": "the kit's layers",
    "pure-core": "the platform core imports no I/O framework",
    "kit-not-robot": "the kit knows a robot protocol, never our robot",
    "no-circles": "no import circle among the modules and packages",
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages before the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verdicts(output: str) -> dict[str, str]:
    """contract id -> KEPT or BROKEN, read from lint-imports' summary lines."""
    flat = " ".join(output.split())  # long names wrap
    found = {}
    for cid, name in CONTRACTS.items():
        at = flat.find(name)
        assert at >= 0, f"contract {cid!r} ({name!r}) missing from the output:\n{output}"
        rest = flat[at:]
        found[cid] = (
            "BROKEN"
            if rest.find("BROKEN") != -1
            and (rest.find("KEPT") == -1 or rest.find("BROKEN") < rest.find("KEPT"))
            else "KEPT"
        )
    return found


def test_the_contracts_hold_on_the_tree() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(done.stdout) == dict.fromkeys(CONTRACTS, "KEPT")


# the violation planted, per contract: (file, source)
VIOLATIONS = {
    "kit-layers": [("fakeding/core/zz_upward.py", "import fakeding.process\n")],  # a tool, above the core
    "pure-core": [("fakeding/core/zz_yaml.py", "import yaml\n")],
    "kit-not-robot": [("fakeding/testing/zz_robot.py", "import bot.errors\n")],
    "no-circles": [
        ("bot/zz_a.py", "import bot.zz_b\n"),
        ("bot/zz_b.py", "def later() -> None:\n    import bot.zz_a\n"),  # at any depth
    ],
}


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for package in ("fakeding", "bot"):
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_each_contract_fails_on_a_violation(copy: Path, contract: str) -> None:
    planted = [copy / name for name, _ in VIOLATIONS[contract]]
    try:
        for path, (_, source) in zip(planted, VIOLATIONS[contract], strict=True):
            path.write_text(source)
        done = lint_imports(copy)
    finally:
        for path in planted:
            path.unlink(missing_ok=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert verdicts(done.stdout) == {cid: "BROKEN" if cid == contract else "KEPT" for cid in CONTRACTS}


def test_import_fakeding_loads_no_server_until_asked() -> None:
    code = (
        "import sys, fakeding\n"
        "heavy = sorted(m for m in ('aiohttp', 'yaml', 'pytest', 'fakeding.server') if m in sys.modules)\n"
        "assert heavy == [], heavy\n"
        "from fakeding import FakeDing, ThreadedFakeDing, Settings, FakedingError\n"
        "assert FakeDing.__module__ == 'fakeding.server' and 'aiohttp' in sys.modules\n"
        "try:\n    fakeding.Nope\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module 'fakeding' has no attribute 'Nope'"


def _named_modules(path: Path) -> list[tuple[int, str]]:
    """Modules named in ``importlib.import_module("...")`` calls: an import lint-imports cannot see."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_kit_module_names_the_robot_for_import_module() -> None:
    modules = sorted(KIT.rglob("*.py"))
    assert len(modules) > 20, f"expected the kit's modules under {KIT}, found {len(modules)}"
    offending = [
        f"{path.relative_to(ROOT)}:{line}: import_module({name!r})"
        for path in modules
        for line, name in _named_modules(path)
        if name == "bot" or name.startswith("bot.")
    ]
    assert offending == []


def test_the_string_check_sees_a_named_robot_module(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import importlib\ndef f():\n    return importlib.import_module('bot.elements')\n")
    assert _named_modules(sample) == [(3, "bot.elements")]
