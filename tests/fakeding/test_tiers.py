"""Every test file has a tier (``tests/tiers.py``), and the table names no file that is gone."""

from __future__ import annotations

from pathlib import Path

from tests.tiers import TABLE, TIERS, tier_of

ROOT = Path(__file__).resolve().parents[2]


def _test_files() -> list[str]:
    found = [p for p in (ROOT / "tests").rglob("test_*.py") if "node_modules" not in p.parts]
    found += [p for p in (ROOT / "scenarios").rglob("*.yaml") if "node_modules" not in p.parts]
    return sorted(p.relative_to(ROOT).as_posix() for p in found)


def test_every_test_file_has_a_tier() -> None:
    unlisted = [f for f in _test_files() if tier_of(f) is None]
    assert unlisted == [], f"add these to tests/tiers.py with one of {TIERS}: {unlisted}"


def test_the_table_names_only_what_exists_and_known_tiers() -> None:
    gone = [path for path in TABLE if not (ROOT / path).exists()]
    assert gone == [], f"tests/tiers.py lists paths that do not exist: {gone}"
    unknown = {tier for tier in TABLE.values() if tier not in TIERS}
    assert unknown == set(), f"expected tiers from {TIERS}, found {sorted(unknown)}"
