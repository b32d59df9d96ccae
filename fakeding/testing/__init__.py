"""Helpers to test any robot against the fake from pytest (installed with the kit).

``from fakeding.testing import running_fake`` is the one name a test needs for a fake on its own
event loop (virtual time under ``@pytest.mark.fakeding_virtual``); it is loaded on first use, so
importing this package costs nothing the pytest plugin does not already load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakeding.testing.scenarios.harness import running_fake

__all__ = ["running_fake"]


def __getattr__(name: str) -> Any:
    if name == "running_fake":
        from fakeding.testing.scenarios.harness import running_fake

        return running_fake
    raise AttributeError(f"module 'fakeding.testing' has no attribute {name!r}")
