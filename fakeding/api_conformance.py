"""Both fakes are ``FakeDingAPI``: checked by mypy (``python3 dev.py lint``), never run.

Why: the protocol is the one interface every consumer uses (the control API, the pytest
fixtures, the scenario runner, the live view); an implementation that drifts from it — a
method missing, a parameter renamed — fails the lint, not a user's test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakeding.core.api import FakeDingAPI
    from fakeding.server import FakeDing
    from fakeding.threaded import ThreadedFakeDing

    def _both_are_the_api(on_loop: FakeDing, threaded: ThreadedFakeDing) -> list[FakeDingAPI]:
        return [on_loop, threaded]
