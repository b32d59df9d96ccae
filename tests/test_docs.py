"""The docs site and the front page: the site's reference pages are fresh from the code, it
builds with ``mkdocs build --strict``, README.md stays a front page (at most 250 lines, every
relative link resolving), and the pytest example both show passes as a user would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_reference_pages_are_fresh() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-q",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").exists()


README_MAX_LINES = 250
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(text: str) -> list[str]:
    """Markdown link and image targets that are paths in the repository (not URLs or anchors)."""
    outside_code = re.sub(r"```.*?```", "", text, flags=re.S)
    return [t for t in LINK.findall(outside_code) if not re.match(r"[a-z]+:|#", t)]


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, the front page allows {README_MAX_LINES}: move the "
        "details into a page under docs/ and link it"
    )


def test_relative_links_resolve() -> None:
    """Every path README.md and the robot's readme link to exists (the site's own links are
    checked by the strict build)."""
    broken = []
    for readme in (ROOT / "README.md", ROOT / "bot" / "README.md"):
        for target in relative_links(readme.read_text(encoding="utf-8")):
            path = (readme.parent / target.split("#")[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                broken.append(f"{readme.relative_to(ROOT)}: {target}")
    assert broken == [], broken


def test_the_link_check_sees_links() -> None:
    assert relative_links("[a](docs/x.md) ![p](p.png) [u](https://x) [h](#top)\n```\n[c](no.md)\n```") == [
        "docs/x.md",
        "p.png",
    ]
    assert len(relative_links((ROOT / "README.md").read_text(encoding="utf-8"))) >= 20


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_front_pages_pytest_example_passes(tmp_path: Path, page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", text, re.S)
    (tmp_path / "test_example.py").write_text(example, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_example.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_readme_scenario_is_the_tutorials() -> None:
    """The front page's scenario is the one the tutorial runs (tests/packaging executes it), so
    it cannot drift into one that fails."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    (scenario,) = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    lines = [re.sub(r"\s+#.*$", "", line) for line in scenario.splitlines()]
    assert "\n".join(lines) in tutorial, scenario
