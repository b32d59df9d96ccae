"""Optional dependencies: the fake needs only aiohttp, the rest comes with an extra.

A part of the kit behind an extra calls ``require`` when it is imported, so a missing package
fails at once with the command that fixes it, not with a bare ``No module named 'yaml'`` from
deep inside.
"""

from __future__ import annotations

import importlib.util

# extra -> (import name, distribution name) of each package it brings
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "scenarios": (
        ("yaml", "PyYAML"),
        ("jsonschema", "jsonschema"),
        ("looptime", "looptime"),
        ("freezegun", "freezegun"),
        ("syrupy", "syrupy"),
    ),
    "sdk": (("dingtalk_stream", "dingtalk-stream"),),
}


class MissingExtra(ModuleNotFoundError):
    """A package of an extra is not installed; the message names the extra to install."""


def missing(extra: str) -> list[str]:
    """Distribution names of ``extra`` whose packages cannot be imported here."""
    return [dist for module, dist in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def require(extra: str, feature: str) -> None:
    """Raise ``MissingExtra`` naming ``pip install 'fakeding[extra]'`` unless all is there."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(
            f"{feature} needs {', '.join(absent)}, not installed here; "
            f"install them with: pip install 'fakeding[{extra}]'",
            name=absent[0],
        )
